"""prepare: copy, mirror download with resume, checksum and offline errors (local HTTP server)."""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile
from pathlib import Path

import pytest
from conftest import SHARED_DATA

from bench.benchmarks.prepare import SourceFile, _prepare_one, download, prepare
from bench.errors import BenchError


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves files from ``root`` with HTTP range support; can cut a transfer short."""

    root: Path
    truncate_first: set[str] = set()
    seen_ranges: list[str | None] = []

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        path = self.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        requested = self.headers.get("Range")
        type(self).seen_ranges.append(requested)
        start = 0
        if requested:
            start = int(requested.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in self.truncate_first:
            self.truncate_first.discard(self.path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # drop the connection mid-transfer
            return
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    handler = type("Handler", (RangeHandler,), {"root": root, "truncate_first": set(), "seen_ranges": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root, handler
    httpd.shutdown()
    httpd.server_close()


def toy_card(datasets: Path, sources: list[dict]) -> None:
    import yaml

    (datasets / "toy").mkdir(parents=True)
    header = yaml.safe_dump({"name": "toy", "variants": {}, "sources": sources})
    (datasets / "toy" / "README.md").write_text(f"---\n{header}---\n\n# toy\n")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_mirror_download_resumes_after_a_broken_connection(server, tmp_path, monkeypatch):
    url, root, handler = server
    payload = b"0123456789" * 50_000
    (root / "toy").mkdir()
    (root / "toy" / "big.txt").write_bytes(payload)
    handler.truncate_first.add("/toy/big.txt")
    datasets = tmp_path / "datasets"
    toy_card(datasets, [{"name": "toy/big.txt", "url": "http://unused.invalid/big.txt", "sha256": sha(payload)}])
    monkeypatch.setenv("BIOEL_BENCH_DATASETS", str(datasets))
    data_dir = tmp_path / "data"
    with pytest.raises(BenchError, match="partial download resumes"):
        prepare("toy", data_dir=data_dir, mirror=url, log=lambda *a: None)
    part = data_dir / "raw" / "toy" / "big.txt.part"
    assert 0 < part.stat().st_size < len(payload)
    report = prepare("toy", data_dir=data_dir, mirror=url, log=lambda *a: None)
    assert report[0].status == "downloaded" and report[0].sha256 == sha(payload)
    assert (data_dir / "raw" / "toy" / "big.txt").read_bytes() == payload
    assert handler.seen_ranges[-1] == f"bytes={len(payload) // 2}-"  # the second request resumed
    # A prepared file is reused, not fetched again.
    assert prepare("toy", data_dir=data_dir, mirror=url, log=lambda *a: None)[0].status == "present"


def test_checksum_mismatch_is_refused_and_the_file_set_aside(server, tmp_path, monkeypatch):
    url, root, _ = server
    (root / "toy").mkdir()
    (root / "toy" / "f.txt").write_bytes(b"tampered")
    datasets = tmp_path / "datasets"
    toy_card(datasets, [{"name": "toy/f.txt", "sha256": sha(b"original")}])
    monkeypatch.setenv("BIOEL_BENCH_DATASETS", str(datasets))
    with pytest.raises(BenchError, match="does not match the card"):
        prepare("toy", data_dir=tmp_path / "data", mirror=url, log=lambda *a: None)
    assert (tmp_path / "data" / "raw" / "toy" / "f.txt.bad").is_file()
    assert not (tmp_path / "data" / "raw" / "toy" / "f.txt").exists()


def test_living_source_with_a_new_digest_is_accepted_and_noted(server, tmp_path, monkeypatch):
    url, root, _ = server
    (root / "toy").mkdir()
    (root / "toy" / "f.txt").write_bytes(b"newer release")
    datasets = tmp_path / "datasets"
    toy_card(datasets, [{"name": "toy/f.txt", "sha256": sha(b"old release"), "living": True}])
    monkeypatch.setenv("BIOEL_BENCH_DATASETS", str(datasets))
    report = prepare("toy", data_dir=tmp_path / "data", mirror=url, log=lambda *a: None)
    assert "differs from the card" in report[0].note


def test_offline_gives_a_clear_message(tmp_path, monkeypatch):
    datasets = tmp_path / "datasets"
    toy_card(datasets, [{"name": "toy/f.txt", "url": "http://127.0.0.1:9/f.txt"}])
    monkeypatch.setenv("BIOEL_BENCH_DATASETS", str(datasets))
    with pytest.raises(BenchError, match="Offline\\? Run prepare with --from DIR"):
        prepare("toy", data_dir=tmp_path / "data", log=lambda *a: None)


def test_licensed_file_is_never_downloaded_and_says_how_to_get_it(tmp_path, monkeypatch):
    datasets = tmp_path / "datasets"
    toy_card(datasets, [{"name": "toy/MRCONSO.RRF", "licensed": True, "how_to_get": "Get a UMLS licence."}])
    monkeypatch.setenv("BIOEL_BENCH_DATASETS", str(datasets))
    with pytest.raises(BenchError, match="licensed: Get a UMLS licence"):
        prepare("toy", data_dir=tmp_path / "data", log=lambda *a: None)


def test_optional_missing_file_is_reported_not_fatal(tmp_path, monkeypatch):
    datasets = tmp_path / "datasets"
    (tmp_path / "src" / "toy").mkdir(parents=True)
    (tmp_path / "src" / "toy" / "a.txt").write_text("a")
    toy_card(datasets, [{"name": "toy/a.txt"}, {"name": "toy/b.txt", "required": False, "how_to_get": "later"}])
    monkeypatch.setenv("BIOEL_BENCH_DATASETS", str(datasets))
    report = prepare("toy", from_dir=tmp_path / "src", data_dir=tmp_path / "data", log=lambda *a: None)
    assert [p.status for p in report] == ["copied", "missing (optional)"]


def test_archive_member_is_extracted_and_checked(server, tmp_path):
    url, root, _ = server
    content = b"10192393|t|Title\n"
    with zipfile.ZipFile(root / "corpus.zip", "w") as zf:
        zf.writestr("NCBItrainset_corpus.txt", content)
    source = SourceFile(
        "x/NCBItrainset_corpus.txt", url=f"{url}/corpus.zip", member="NCBItrainset_corpus.txt", sha256=sha(content)
    )
    result = _prepare_one(source, tmp_path / "raw", None, None, lambda *a: None)
    assert result.status == "downloaded"
    assert (tmp_path / "raw" / "x" / "NCBItrainset_corpus.txt").read_bytes() == content


def test_http_error_is_reported(server, tmp_path):
    url, _, _ = server
    with pytest.raises(BenchError, match="HTTP 404"):
        download(f"{url}/missing.txt", tmp_path / "m.txt", log=lambda *a: None)


@pytest.mark.skipif(not (SHARED_DATA / "ncbi-disease").is_dir(), reason="../shared/data is not present")
def test_real_ncbi_card_downloads_from_a_mirror_of_the_shared_data(server, tmp_path):
    url, root, _ = server
    import shutil

    shutil.copytree(SHARED_DATA / "ncbi-disease", root / "ncbi-disease")
    report = prepare("ncbi-disease", data_dir=tmp_path / "data", mirror=url, log=lambda *a: None)
    statuses = {p.name: p.status for p in report}
    assert statuses["ncbi-disease/NCBItrainset_corpus.txt"] == "downloaded"
    assert all(s in {"downloaded", "missing (optional)"} for s in statuses.values())
    from bench.runner import load_benchmark

    benchmark = load_benchmark("ncbi-disease", "official", data_dir=tmp_path / "data")
    assert [len(benchmark.split(s)) for s in ("train", "dev", "test")] == [5145, 787, 960]
