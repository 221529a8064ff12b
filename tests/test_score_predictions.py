"""`score`: any linker's predictions file, in five formats, scored as a run.

A tfidf run's own predictions are written out in each format and scored back:
the metrics must be identical. Missing and unmatched rows are counted, an
order-matched file out of order is an error, an edited file is scored again.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli

from bench.errors import DataFormatError
from bench.results import load_run
from bench.runner import RunSpec, execute


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return execute(RunSpec("tfidf", "demo", ks=(1, 2, 5, 10)), out_dir=out, log=lambda *_: None)


def write_tsv(rows, path: Path) -> None:
    lines = ["mention_id\trank\tconcept_ids\tname\tscore"]
    for row in rows:
        for rank, c in enumerate(row["candidates"], 1):
            lines.append(f"{row['id']}\t{rank}\t{'|'.join(c['ids'])}\t{c['name']}\t{c['score']!r}")
    path.write_text("\n".join(lines) + "\n")


def write_belb(rows, path: Path) -> None:
    path.write_text(json.dumps([{"hexdigest": r["id"], "y_pred": [c["ids"] for c in r["candidates"]]} for r in rows]))


def write_biosyn(rows, path: Path) -> None:
    queries = [
        {
            "mentions": [
                {
                    "mention": r["text"],
                    "golden_cui": "|".join(r["gold"]),
                    "candidates": [{"name": c["name"], "cui": "|".join(c["ids"]), "label": 0} for c in r["candidates"]],
                }
            ]
        }
        for r in rows
    ]
    path.write_text(json.dumps({"queries": queries}))


def write_angel(rows, path: Path) -> None:
    entries = [{"count_top1": 0.0}]  # ANGEL's score summary comes first
    for r in rows:
        entries.append(
            {
                "correctness": "correct",
                "given_mention": r["text"].lower(),
                "result": [" " + c["name"] for c in r["candidates"]],
                "cui_label": r["gold"],
                "cui_result": [c["ids"] for c in r["candidates"]],
            }
        )
    path.write_text(json.dumps(entries))


def write_jsonl_gz(rows, path: Path) -> None:
    with gzip.open(path, "wt") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


WRITERS = {
    "jsonl": ("preds.jsonl.gz", write_jsonl_gz),
    "tsv": ("preds.tsv", write_tsv),
    "belb": ("predictions.json", write_belb),
    "biosyn": ("predictions_eval.json", write_biosyn),
    "angel": ("results_test_pos.json", write_angel),
}


def score(path: Path, out: Path, fmt: str = "auto", ks=(1, 2, 5, 10)):
    spec = RunSpec("predictions", "demo", settings={"path": str(path), "format": fmt}, ks=ks)
    return execute(spec, out_dir=out, log=lambda *_: None)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_a_runs_own_predictions_score_back_identically(original, tmp_path, fmt):
    name, write = WRITERS[fmt]
    write(original.rows, tmp_path / name)
    scored = score(tmp_path / name, tmp_path / "runs")  # the format is detected from the file
    assert scored.metrics["system_info"]["format"] == fmt
    assert scored.metrics["system_info"]["matching"]["matched"] == len(original.rows)
    for key in ("acc", "acc_composite", "n_mentions"):
        assert scored.metrics[key] == original.metrics[key], key
    assert scored.metrics["leakage"] == original.metrics["leakage"]


def test_missing_and_unmatched_rows_are_counted(original, tmp_path):
    rows = original.rows[2:]  # two mentions left without a prediction
    write_tsv(rows, tmp_path / "p.tsv")
    with open(tmp_path / "p.tsv", "a") as handle:
        handle.write("no-such-mention\t1\tD000001\tsomething\t1.0\n")
    scored = score(tmp_path / "p.tsv", tmp_path / "runs")
    matching = scored.metrics["system_info"]["matching"]
    assert (matching["matched"], matching["missing"], matching["unmatched"]) == (len(rows), 2, 1)
    assert matching["missing_examples"] == [r["id"] for r in original.rows[:2]]
    hits = [r for r in rows if r["candidates"] and set(r["candidates"][0]["ids"]) & set(r["gold"])]
    assert scored.metrics["acc"]["union"]["1"] == pytest.approx(len(hits) / len(original.rows))


def test_an_order_matched_file_out_of_order_is_an_error(original, tmp_path):
    rows = list(original.rows)
    i = next(i for i in range(len(rows) - 1) if rows[i]["text"].lower() != rows[i + 1]["text"].lower())
    rows[i], rows[i + 1] = rows[i + 1], rows[i]
    write_angel(rows, tmp_path / "results.json")
    with pytest.raises(DataFormatError, match=f"entry {i} is .* but test mention {i}"):
        score(tmp_path / "results.json", tmp_path / "runs")
    write_biosyn(rows[:-1], tmp_path / "short.json")
    with pytest.raises(DataFormatError, match="entries for 195 test mentions"):
        score(tmp_path / "short.json", tmp_path / "runs")


def test_malformed_files_name_the_line(tmp_path):
    (tmp_path / "bad.tsv").write_text("m1\t1\tD1\tname\t0.9\nm1\tx\tD2\tname\t0.5\n")
    with pytest.raises(DataFormatError, match=r"bad.tsv:2: rank 'x'"):
        score(tmp_path / "bad.tsv", tmp_path / "runs")
    (tmp_path / "rising.tsv").write_text("m1\t1\tD1\ta\t0.1\nm1\t2\tD2\tb\t0.5\n")
    with pytest.raises(DataFormatError, match="a score rises with the rank"):
        score(tmp_path / "rising.tsv", tmp_path / "runs")


def test_cli_scores_compares_and_rescores_an_edited_file(original, tmp_path):
    shutil.copyfile(next(original.path.glob("predictions.jsonl*")), tmp_path / "mine.jsonl")
    first = run_cli("score", str(tmp_path / "mine.jsonl"), "--benchmark", "demo", "--out", str(tmp_path / "runs"))
    assert first.returncode == 0, first.stderr
    assert "195 matched" in first.stdout and "acc@1" in first.stdout
    run_dir = Path(first.stdout.strip().splitlines()[-1])
    assert load_run(run_dir).config["label"] == "mine"
    compared = run_cli("compare", str(original.path), str(run_dir), "--k", "1")
    assert compared.returncode == 0 and "+0.0" in compared.stdout
    write_tsv(original.rows[:100], tmp_path / "mine.tsv")
    shutil.move(tmp_path / "mine.tsv", tmp_path / "other.tsv")
    again = run_cli("score", str(tmp_path / "other.tsv"), "--benchmark", "demo", "--out", str(tmp_path / "runs"))
    assert "95 mention(s) have no prediction" in again.stdout
    edited_rows = original.rows[:50]
    write_tsv(edited_rows, tmp_path / "other.tsv")  # the same path, new content: scored again
    edited = run_cli("score", str(tmp_path / "other.tsv"), "--benchmark", "demo", "--out", str(tmp_path / "runs"))
    assert "145 mention(s) have no prediction" in edited.stdout
    bad = run_cli("score", str(tmp_path / "nothing.tsv"), "--benchmark", "demo", "--out", str(tmp_path / "runs"))
    assert bad.returncode == 2 and "no such predictions file" in bad.stderr and "Traceback" not in bad.stderr
