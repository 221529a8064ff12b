"""Error analysis of two runs: discordant mentions by kind, with examples."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from bench.compare import compare_runs, paired_ranks
from bench.errors import IncomparableRunsError
from bench.report.errors import KINDS, error_analysis, kinds_of, render_markdown
from bench.results import SCHEMA_VERSION, load_run, write_json, write_jsonl
from bench.runner import RunSpec, execute


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("errors")
    quiet = dict(log=lambda *a: None)
    exact = execute(RunSpec("exact", "demo", ks=(1, 5, 10)), out, **quiet)
    tfidf = execute(RunSpec("tfidf", "demo", ks=(1, 5, 10)), out, **quiet)
    return exact, tfidf


@pytest.mark.parametrize("k", [1, 5])
def test_counts_equal_mcnemar_discordant_counts(demo_runs, k):
    exact, tfidf = demo_runs
    result = error_analysis(exact, tfidf, k=k)
    compared = compare_runs(exact, tfidf, ks=(k,), n_resamples=10)["comparisons"][0]
    assert result["a_right_b_wrong"]["count"] == compared["n10"]
    assert result["b_right_a_wrong"]["count"] == compared["n01"]
    assert result["b_right_a_wrong"]["count"] > 0
    total = (
        result["both_right"]
        + result["both_wrong"]
        + result["a_right_b_wrong"]["count"]
        + result["b_right_a_wrong"]["count"]
    )
    assert total == result["n_mentions"] == 195


def test_kinds_and_examples_are_consistent(demo_runs):
    exact, tfidf = demo_runs
    result = error_analysis(exact, tfidf, examples=2)
    rows = {r["id"]: r for r in exact.rows}
    for direction in ("a_right_b_wrong", "b_right_a_wrong"):
        part = result[direction]
        assert set(part["kinds"]) == set(KINDS)
        # Every discordant mention has at least one kind; kinds overlap.
        assert all(n <= part["count"] for n in part["kinds"].values())
        assert sum(part["kinds"].values()) >= part["count"]
        for kind, examples in part["examples"].items():
            assert 1 <= len(examples) <= 2
            assert len(examples) <= part["kinds"][kind]
            assert len({(e["text"].lower(), tuple(e["gold"])) for e in examples}) == len(examples)
            for example in examples:
                assert example["text"] == rows[example["id"]]["text"]
                assert example["gold"] == rows[example["id"]]["gold"]
        assert set(part["examples"]) == {kind for kind, n in part["kinds"].items() if n}
    # exact links only strings in the KB: what tfidf gets and exact misses is often an unseen string.
    b_wins = result["b_right_a_wrong"]
    assert b_wins["kinds"]["gold_not_retrieved"] == b_wins["count"]  # exact returns nothing or a wrong exact match
    # Kind counts recomputed from the rows of the discordant mentions.
    ranks_a, ranks_b = paired_ranks(exact, tfidf)
    ids = [r["id"] for r in exact.rows]
    wins = [ids[i] for i in np.flatnonzero((ranks_b <= 1) & ~(ranks_a <= 1))]
    assert b_wins["kinds"]["mention_unseen"] == sum(not rows[i]["mention_seen"] for i in wins)
    assert b_wins["kinds"]["concept_unseen"] == sum(not rows[i]["concept_seen"] for i in wins)
    assert b_wins["kinds"]["composite"] == sum(len(rows[i]["gold_groups"]) > 1 for i in wins)


def _write_run(path, label, rows, test_checksum="t" * 64):
    write_json(
        path / "config.json",
        {"system": label, "label": label, "benchmark": "hand", "split": "test", "seed": 0, "ks": [1, 5]},
    )
    write_json(path / "environment.json", {})
    write_jsonl(path / "predictions.jsonl", rows)
    write_json(
        path / "metrics.json",
        {
            "schema_version": SCHEMA_VERSION,
            "checksums": {"test": test_checksum, "kb": "k" * 64},
            "ks": [1, 5],
            "acc": {},  # a run's metrics always hold the acc table (load_run checks); errors recomputes from rows
            "n_mentions": len(rows),
        },
    )
    return load_run(path)


def _row(mention_id, text, gold, candidates, *, groups=None, mention_seen=True, concept_seen=True):
    return {
        "id": mention_id,
        "text": text,
        "gold": gold,
        "gold_groups": groups or [gold],
        "mention_seen": mention_seen,
        "concept_seen": concept_seen,
        "candidates": [{"name": n, "ids": ids, "score": 1.0 - i / 10} for i, (n, ids) in enumerate(candidates)],
        "parts": [],
    }


@pytest.fixture
def hand_runs(tmp_path):
    a_rows = [
        _row("m1", "heart attack", ["D1"], [("heart attack", ["D1"])]),
        _row("m2", "cold", ["D3"], [("cold", ["D3", "D4"])], mention_seen=False),
        _row(
            "m3",
            "breast and ovarian cancer",
            ["D1", "D2"],
            [("ovarian cancer", ["D2"])],
            groups=[["D1"], ["D2"]],
            concept_seen=False,
        ),
        _row("m4", "xyz", ["D7"], [("abc", ["D8"])]),
        _row("m5", "fine", ["D5"], [("fine", ["D5"])]),
        _row("m6", "lost", ["D6"], [("other", ["D9"])]),
    ]
    b_rows = [
        _row("m1", "heart attack", ["D1"], [("attack", ["D9"]), ("heart attack", ["D1"])]),
        _row("m2", "cold", ["D3"], [("common flu", ["D5"])], mention_seen=False),
        _row("m3", "breast and ovarian cancer", ["D1", "D2"], [], groups=[["D1"], ["D2"]], concept_seen=False),
        _row("m4", "xyz", ["D7"], [("xyz", ["D7"])]),
        _row("m5", "fine", ["D5"], [("fine", ["D5"])]),
        _row("m6", "lost", ["D6"], [("other", ["D9"]), ("lost", ["D6"])]),
    ]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    return _write_run(tmp_path / "a", "sys-a", a_rows), _write_run(tmp_path / "b", "sys-b", b_rows)


def test_kinds_on_hand_made_runs(hand_runs):
    a, b = hand_runs
    result = error_analysis(a, b, k=1)
    assert result["both_right"] == 1 and result["both_wrong"] == 1
    assert result["a_right_b_wrong"]["count"] == 3
    assert result["a_right_b_wrong"]["kinds"] == {
        "mention_unseen": 1,  # m2
        "concept_unseen": 1,  # m3
        "composite": 1,  # m3
        "shared_name": 1,  # m2: A's top-1 "cold" names D3 and D4
        "gold_not_retrieved": 2,  # m2 and m3: B never ranks a gold id
        "other": 1,  # m1: B has the gold at rank 2
    }
    assert result["b_right_a_wrong"]["count"] == 1
    assert result["b_right_a_wrong"]["kinds"]["gold_not_retrieved"] == 1  # m4
    example = result["a_right_b_wrong"]["examples"]["other"][0]
    assert example == {
        "id": "m1",
        "text": "heart attack",
        "gold": ["D1"],
        "a_top1": {"name": "heart attack", "ids": ["D1"]},
        "b_top1": {"name": "attack", "ids": ["D9"]},
        "a_rank": 1,
        "b_rank": 2,
    }
    # At k=2, m1 and m6 are hits for B as well.
    at2 = error_analysis(a, b, k=2)
    assert at2["a_right_b_wrong"]["count"] == 2 and at2["b_right_a_wrong"]["count"] == 2


def test_shared_name_from_the_mention_string():
    row_a = _row("m", "cold", ["D3"], [("chill", ["D9"]), ("cold", ["D3", "D4"])])
    row_b = _row("m", "cold", ["D3"], [("chill", ["D9"])])
    assert kinds_of(row_a, row_b, 1.0) == ["shared_name"]
    plain = _row("m", "cold", ["D3"], [("chill", ["D9"])])
    assert kinds_of(plain, row_b, float("inf")) == ["gold_not_retrieved"]
    assert kinds_of(plain, row_b, 2.0) == ["other"]


def test_markdown_rendering(hand_runs):
    text = render_markdown(error_analysis(*hand_runs))
    assert text.startswith("# Error analysis: sys-a vs sys-b on hand")
    assert "## A right, B wrong (3)" in text and "## B right, A wrong (1)" in text
    assert "| gold_not_retrieved |" in text
    assert "- `heart attack` (gold D1): A -> heart attack [D1], rank 1; B -> attack [D9], rank 2" in text
    assert "B -> (no prediction)" in text


def test_refuses_runs_on_different_test_data(hand_runs, tmp_path):
    a, _ = hand_runs
    shutil.copytree(a.path, tmp_path / "c")
    metrics = json.loads((tmp_path / "c" / "metrics.json").read_text())
    metrics["checksums"]["test"] = "x" * 64
    write_json(tmp_path / "c" / "metrics.json", metrics)
    with pytest.raises(IncomparableRunsError):
        error_analysis(a, tmp_path / "c")


def test_json_is_serialisable(demo_runs):
    result = error_analysis(*demo_runs, k=1, examples=1)
    again = json.loads(json.dumps(result))
    assert again["a"]["system"] == "exact" and again["b"]["system"] == "tfidf"
    assert np.isfinite(again["n_mentions"])
