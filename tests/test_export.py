"""Exported runs: small, complete, redacted where a card marks a source licensed, and report-equivalent."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import run_cli

from bench.compare import compare_runs
from bench.report.build import build_report
from bench.report.errors import error_analysis, render_markdown
from bench.report.export import export_runs, licensed_sources, redaction_reason
from bench.results import REDACTION, load_run, redact_rows
from bench.runner import RunSpec, execute


def quiet(_: str) -> None:
    pass


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    exact = execute(RunSpec("exact", "demo", ks=(1, 5)), out, run_name="exact", log=quiet)
    tfidf = execute(RunSpec("tfidf", "demo", ks=(1, 5)), out, run_name="tfidf", log=quiet)
    return out, exact, tfidf


def test_cards_mark_cometa_and_umls_sources_licensed_and_nothing_public():
    licensed = licensed_sources()
    assert licensed["cometa/stratified_general/test.csv"] == "cometa"
    assert "cometa/LICENSE" in licensed
    assert set(licensed.values()) == {"cometa", "medmentions-st21pv"}  # UMLS files are licensed
    assert not any(name.startswith(("ncbi-disease/", "askapatient/", "bc5cdr/")) for name in licensed)


def test_redaction_follows_the_sources_a_run_read(demo_runs):
    _, exact, _ = demo_runs
    assert redaction_reason(exact) is None  # the demo is NCBI-derived, public domain
    assert redaction_reason(exact, "always")
    record = load_run(exact.path)
    record.metrics["checksums"]["sources"] = {"cometa/stratified_general/test.csv": "x", "cometa/README": "y"}
    reason = redaction_reason(record)
    assert "cometa/stratified_general/test.csv" in reason and "cometa" in reason
    assert redaction_reason(record, "never") is None
    with pytest.raises(ValueError, match="redact mode"):
        redaction_reason(record, "sometimes")


def test_redacted_rows_keep_everything_but_texts_and_names():
    row = {
        "id": "d:1-5",
        "text": "heart attack",
        "gold": ["D1"],
        "gold_groups": [["D1"]],
        "mention_seen": False,
        "candidates": [{"name": "myocardial infarction", "ids": ["D1"], "score": 0.5}],
        "parts": [
            {
                "id": "d:1-5#0",
                "text": "heart",
                "gold": ["D1"],
                "candidates": [{"name": "x", "ids": ["D2"], "score": 1.0}],
            }
        ],
    }
    (clean,) = redact_rows([row])
    assert clean["text"] == "" and clean["candidates"][0]["name"] == "" and clean["parts"][0]["text"] == ""
    assert clean["parts"][0]["candidates"][0] == {"name": "", "ids": ["D2"], "score": 1.0}
    assert {k: v for k, v in clean.items() if k not in ("text", "candidates", "parts")} == {
        k: v for k, v in row.items() if k not in ("text", "candidates", "parts")
    }
    assert row["text"] == "heart attack"  # the input is not modified


def test_a_redacted_export_gives_the_same_comparison_and_report_tables(demo_runs, tmp_path):
    out, exact, tfidf = demo_runs
    exported = export_runs([exact, tfidf], tmp_path / "redacted", mode="always")
    assert all(reason for _, reason in exported)
    redacted_exact, redacted_tfidf = (load_run(path) for path, _ in exported)
    text = gzip.decompress((redacted_tfidf.path / "predictions.jsonl.gz").read_bytes()).decode()
    assert all(json.loads(line)["text"] == "" for line in text.splitlines())
    assert "predictions.jsonl" not in {p.name for p in redacted_tfidf.path.iterdir()}
    assert json.loads((redacted_tfidf.path / REDACTION).read_text())["removed"] == ["mention text", "candidate names"]

    original = compare_runs(exact, tfidf, ks=(1, 5), n_resamples=500)
    again = compare_runs(redacted_exact, redacted_tfidf, ks=(1, 5), n_resamples=500)
    assert {k: v for k, v in again.items() if k not in ("a", "b")} == {
        k: v for k, v in original.items() if k not in ("a", "b")
    }

    report_a = build_report([exact.path, tfidf.path], tmp_path / "report-a", figures=False, command="x")
    report_b = build_report(
        [redacted_exact.path, redacted_tfidf.path], tmp_path / "report-b", figures=False, command="x"
    )
    tables_a = {p.name: p.read_bytes() for p in report_a.out.glob("*") if p.suffix in (".md", ".tex", ".json")}
    tables_b = {p.name: p.read_bytes() for p in report_b.out.glob("*") if p.suffix in (".md", ".tex", ".json")}
    assert tables_a.keys() == tables_b.keys() and len(tables_a) > 3
    assert tables_a == tables_b

    analysis = error_analysis(redacted_exact, redacted_tfidf)
    assert analysis["redacted"] == ["exact", "tfidf"]
    assert "Texts redacted" in render_markdown(analysis)


def test_export_command_writes_runs_and_says_which_were_redacted(demo_runs, tmp_path):
    out, _, _ = demo_runs
    result = run_cli("export", str(out), "--out", str(tmp_path / "shared"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["exact", "tfidf"]
    assert "redacted" not in result.stdout
    assert not (tmp_path / "shared" / "tfidf" / REDACTION).exists()
    exported = load_run(tmp_path / "shared" / "tfidf")
    assert exported.rows == load_run(Path(out) / "tfidf").rows
    result = run_cli("export", str(out), "--out", str(tmp_path / "private"), "--redact", "always")
    assert result.returncode == 0 and result.stdout.count("redacted") == 2
