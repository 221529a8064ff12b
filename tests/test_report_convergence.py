"""The convergence table: each seed's final losses from log.txt, a seed far above the others flagged."""

from __future__ import annotations

from pathlib import Path

from bench.report.convergence import FLAG, convergence_table
from bench.report.timings import read_log

BUDGET = {"pretrain_steps": 200, "pretrain_lr": 0.001, "finetune_steps": 1000, "finetune_lr": 0.001, "warmup_steps": 0}


def log(tmp_path: Path, name: str, finetune_losses: list[float], shared: bool = False) -> Path:
    lines = [
        "2026-12-06 07:00:00 started genbioel on ncbi-disease/test (profile genbioel, seed 0, run key a63d8ec316)",
        "2026-12-06 07:00:00 [pretrain] 200 steps of 64 examples (74,211 examples), learning rate 0.001",
        "2026-12-06 07:00:30 [pretrain] step 50/200 (25%), loss 6.900, 30s elapsed, ETA 1m30s, run ETA 9m",
        "2026-12-06 07:02:00 [pretrain] step 200/200 (100%), loss 6.560, 2m00s elapsed",
    ]
    if shared:
        lines = [lines[0], "2026-12-06 07:00:01 [finetune] reusing the identical stage trained by another run (/x)"]
    for i, loss in enumerate(finetune_losses, start=1):
        lines.append(f"2026-12-06 07:1{i}:00 [finetune] step {100 * i}/1000 ({10 * i}%), loss {loss:.3f}, 1m elapsed")
    path = tmp_path / name
    path.mkdir()
    (path / "log.txt").write_text("\n".join(lines) + "\n")
    return path / "log.txt"


def test_final_losses_are_read_from_the_progress_lines(tmp_path):
    times = read_log(log(tmp_path, "a", [6.5, 4.0, 1.4]))
    assert times.stages["pretrain"].final_loss == 6.56
    assert times.stages["finetune"].final_loss == 1.4


def test_a_seed_far_above_the_others_is_flagged(tmp_path):
    rows = [
        ("genbioel", "ncbi-disease", 0, BUDGET, read_log(log(tmp_path, "s0", [6.5, 1.40]))),
        ("genbioel", "ncbi-disease", 1, BUDGET, read_log(log(tmp_path, "s1", [6.5, 3.42]))),
        ("angel", "ncbi-disease", 2, BUDGET, read_log(log(tmp_path, "s2", [6.5, 1.46]))),
        ("angel", "ncbi-disease", 0, BUDGET, read_log(log(tmp_path, "s0-angel", [], shared=True))),
    ]
    table = convergence_table(rows)
    assert table is not None
    by_seed = {row[2]: row for row in table.rows}
    assert len(table.rows) == 3  # the arm that reused the stage has no row of its own
    assert by_seed["1"][4:] == ["3.42", "1.43", FLAG]  # the median of seeds 0 and 2 (one of them angel's)
    assert by_seed["0"][4:] == ["1.40", "2.44", ""]
    assert by_seed["2"][3] == "6.56"
    assert "(1 of 3 runs)" in table.notes[1]


def test_runs_with_another_budget_are_not_compared(tmp_path):
    short = dict(BUDGET, finetune_steps=150)
    rows = [
        ("genbioel", "ncbi-disease", 0, BUDGET, read_log(log(tmp_path, "long", [1.4]))),
        ("genbioel", "ncbi-disease", 1, short, read_log(log(tmp_path, "short", [5.0]))),
    ]
    table = convergence_table(rows)
    assert table is not None
    assert [row[5:] for row in table.rows] == [["-", ""], ["-", ""]]


def test_no_generative_run_no_table(tmp_path):
    assert convergence_table([("exact", "ncbi-disease", 0, {}, read_log(tmp_path / "missing.txt"))]) is None
