"""The memorisation check: seen-mention acc@1 of each system against the floor, and the floor's detection."""

from __future__ import annotations

from bench.report.memorisation import is_floor_run, memorisation_table


def test_each_system_is_set_against_the_floor_with_a_one_point_tolerance():
    seen = {
        ("floor", "ncbi"): [0.984],
        ("genbioel", "ncbi"): [0.975, 0.977, 0.979],  # mean 97.7: 0.7 below, within one point
        ("angel", "ncbi"): [0.970],  # 1.4 below
        ("floor", "cometa"): [0.993],
        ("genbioel", "cometa"): [0.995],
    }
    table = memorisation_table(
        seen, {"ncbi": 642, "cometa": 4319}, ["floor", "genbioel", "angel"], ["ncbi", "cometa"], "floor"
    )
    rows = {(r[0], r[1]): r for r in table.rows}
    assert rows[("ncbi", "genbioel")] == ["ncbi", "genbioel", "642", "97.7 ± 0.2", "98.4", "-0.7", "yes"]
    assert rows[("ncbi", "angel")][5:] == ["-1.4", "no"]
    assert rows[("cometa", "genbioel")][5:] == ["+0.2", "yes"]
    assert ("cometa", "angel") not in rows and not any(r[1] == "floor" for r in table.rows)


def test_exactly_one_point_below_passes_and_a_benchmark_without_floor_is_left_out():
    seen = {("floor", "a"): [0.90], ("genbioel", "a"): [0.89], ("genbioel", "b"): [0.5]}
    table = memorisation_table(seen, {"a": 10, "b": 10}, ["floor", "genbioel"], ["a", "b"], "floor")
    assert [r[-1] for r in table.rows] == ["yes"] and table.rows[0][0] == "a"


def test_the_floor_is_exact_with_training_mentions_and_the_majority_rule():
    assert is_floor_run({"system": "exact", "options": {"use_training_mentions": True, "memory_rule": "majority"}})
    assert not is_floor_run({"system": "exact", "options": {"use_training_mentions": True, "memory_rule": "union"}})
    assert not is_floor_run({"system": "exact", "options": {"use_training_mentions": False}})
    assert not is_floor_run({"system": "tfidf", "options": {"use_training_mentions": True, "memory_rule": "majority"}})


def test_with_a_train_only_floor_the_check_is_made_against_it():
    # COMETA-like: dev strings are seen (train+dev) but the linker never trained on dev
    seen = {("floor", "c"): [0.99], ("floor-train", "c"): [0.55], ("genbioel", "c"): [0.71]}
    labels = ["floor", "floor-train", "genbioel"]
    table = memorisation_table(seen, {"c": 4319}, labels, ["c"], "floor", train_floor="floor-train")
    assert table.headers[4:6] == ["floor", "floor (train)"]
    assert table.rows == [["c", "genbioel", "4319", "71.0", "99.0", "55.0", "+16.0", "yes"]]
    assert "against the train-only floor (floor-train)" in table.notes[0]
