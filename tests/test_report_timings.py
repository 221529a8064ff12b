"""Run times read back from log.txt: stage steps/s, shared stages, the negative stage, sittings."""

from __future__ import annotations

from pathlib import Path

from bench.report.timings import busy_hours, read_log, span_hours, timings_table

GENBIOEL_LOG = """\
2026-12-06 07:00:00 started genbioel on ncbi-disease/test (profile genbioel, seed 0, run key a63d8ec316)
2026-12-06 07:00:00 [pretrain] 200 steps of 64 examples (74,211 examples), learning rate 0.001
2026-12-06 07:00:30 [pretrain] step 50/200 (25%), loss 6.9, 30s elapsed
2026-12-06 07:03:20 [pretrain] done: 200 steps in 3m20s
2026-12-06 07:03:25 [finetune] 1000 steps of 64 examples (7,230 examples), learning rate 0.001
2026-12-06 07:20:05 [finetune] done: 1000 steps in 16m40s
2026-12-06 07:20:05 fit done in 1205.0 s; predicting 960 test mentions
2026-12-06 07:20:20 done: acc@1 80.0% in 1220.0 s
"""

ANGEL_LOG = """\
2026-12-06 07:20:30 started angel on ncbi-disease/test (profile genbioel, seed 0, run key acfac914ac)
2026-12-06 07:20:30 [pretrain] reusing the identical stage trained by another run (/x)
2026-12-06 07:20:30 [pretrain] already trained; loading /y
2026-12-06 07:20:31 [finetune] reusing the identical stage trained by another run (/x)
2026-12-06 07:20:40 [crossfit0] 500 steps of 64 examples (3,600 examples), learning rate 0.001
2026-12-06 07:28:60 garbage line that is not a log line
2026-12-06 07:29:00 [crossfit0] done: 500 steps in 8m20s
2026-12-06 07:29:00 [crossfit1] 500 steps of 64 examples (3,600 examples), learning rate 0.001
2026-12-06 07:37:20 [crossfit1] done: 500 steps in 8m20s
2026-12-06 07:37:20 [angel] negative-aware stage: 10 chunks of about 590 mentions
2026-12-06 07:40:20 [angel] chunk 1/10 (10%), pairs 600, 3m00s elapsed
2026-12-06 07:47:20 fit done in 1610.0 s; predicting 960 test mentions
2026-12-06 07:47:40 done: acc@1 81.0% in 1630.0 s
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_stage_rates_shared_stages_miners_and_the_negative_stage_are_read_back(tmp_path):
    genbioel = read_log(write(tmp_path, "g.txt", GENBIOEL_LOG))
    assert genbioel.stages["pretrain"].rate() == "200 @ 1.00/s"
    assert genbioel.stages["finetune"].rate() == "1000 @ 1.00/s"
    assert genbioel.negative_s is None
    angel = read_log(write(tmp_path, "a.txt", ANGEL_LOG))
    assert angel.stages["pretrain"].rate() == angel.stages["finetune"].rate() == "shared"
    assert angel.stages["crossfit0"].seconds == angel.stages["crossfit1"].seconds == 500
    assert angel.negative_s == 600
    assert span_hours([genbioel, angel]) == (47 * 60 + 40) / 3600

    table = timings_table(
        [
            ("genbioel", "ncbi", 0, {"total_s": 1220.0, "predict_s": 15.0, "mentions_per_s": 64.0}, genbioel),
            ("angel/mining=crossfit", "ncbi", 0, {"total_s": 1630.0, "resumed": True}, angel),
            ("genbioel", "ncbi", 1, {"total_s": 600.0}, read_log(tmp_path / "missing.txt")),
        ],
        {"ncbi": 0},
        ablations=["angel/mining=crossfit"],
    )
    assert table.rows[0][3:] == ["20.3", "200 @ 1.00/s", "1000 @ 1.00/s", "-", "-", "15", "64"]
    assert table.rows[1][3:8] == ["27.2*", "shared", "shared", "16.7", "10.0"]
    assert table.rows[2][3:] == ["10.0", "-", "-", "-", "-", "-", "-"]  # no log: the total only
    assert table.notes[0] == "All runs: 3 runs, 0.96 h of run time, 0.79 h of wall time while any of them ran."
    # the single-seed part leaves out the ablation and the second seed
    assert table.notes[1].startswith("The single-seed part (each benchmark's first seed, main systems): 1 runs, 0.34 h")


def test_a_resumed_run_keeps_the_stage_it_trained_in_an_earlier_sitting(tmp_path):
    log = GENBIOEL_LOG.replace(
        "2026-12-06 07:20:05 fit done",
        "2026-12-06 08:00:00 [pretrain] already trained; loading /z\n"
        "2026-12-06 08:00:00 [finetune] reusing the identical stage trained by another run (/x)\n"
        "2026-12-06 08:00:05 fit done",
    )
    times = read_log(write(tmp_path, "r.txt", log))
    assert times.stages["finetune"].rate() == "1000 @ 1.00/s"


def test_wall_time_leaves_out_the_gap_between_sittings(tmp_path):
    """Runs of two sittings (a benchmark rerun hours later): the gap is not time spent."""
    first = read_log(write(tmp_path, "a.txt", GENBIOEL_LOG))  # 07:00:00 to 07:20:20
    second = read_log(write(tmp_path, "b.txt", GENBIOEL_LOG.replace("07:", "10:")))  # 10:00:00 to 10:20:20
    overlapping = read_log(write(tmp_path, "c.txt", GENBIOEL_LOG.replace("07:0", "07:1").replace("07:20", "07:30")))
    assert span_hours([first, second]) == (3 * 3600 + 20 * 60 + 20) / 3600
    assert busy_hours([first, second]) == 2 * (20 * 60 + 20) / 3600
    assert busy_hours([first, overlapping, second]) == (30 * 60 + 20 + 20 * 60 + 20) / 3600
    assert busy_hours([read_log(tmp_path / "missing.txt")]) is None
    table = timings_table(
        [("genbioel", "ncbi", 0, {"total_s": 1220.0}, first), ("genbioel", "aap", 0, {"total_s": 1220.0}, second)],
        {"ncbi": 0, "aap": 0},
    )
    assert table.notes[0] == (
        "All runs: 2 runs, 0.68 h of run time, 0.68 h of wall time while any of them ran "
        "(3.34 h from the first start to the last finish)."
    )


def test_a_stage_cut_by_a_later_sitting_counts_only_the_time_it_ran(tmp_path):
    """Started at 09:15, interrupted after 5 minutes, resumed at 11:00: the gap is neither stage nor wall time."""
    log = """\
2026-12-06 09:15:00 started genbioel on aap-fold0/test (profile genbioel, seed 2, run key 198eaa1f14)
2026-12-06 09:15:00 [pretrain] 200 steps of 64 examples (1,036 examples), learning rate 0.001
2026-12-06 09:20:00 [pretrain] step 100/200 (50%), loss 3.000, 5m00s elapsed
2026-12-06 11:00:00 resumed genbioel on aap-fold0/test (profile genbioel, seed 2, run key 198eaa1f14)
2026-12-06 11:00:00 [pretrain] 200 steps of 64 examples (1,036 examples), learning rate 0.001
2026-12-06 11:03:00 [pretrain] done: 200 steps in 3m00s
2026-12-06 11:03:00 [angel] negative-aware stage: 10 chunks of about 590 mentions
2026-12-06 11:13:00 fit done in 600.0 s; predicting 867 test mentions
2026-12-06 11:13:20 done: acc@1 83.5% in 620.0 s
"""
    times = read_log(write(tmp_path, "log.txt", log))
    assert times.stages["pretrain"].seconds == 8 * 60
    assert times.negative_s == 10 * 60
    assert [(a.strftime("%H:%M"), b.strftime("%H:%M")) for a, b in times.sittings] == [
        ("09:15", "09:20"),
        ("11:00", "11:13"),
    ]
    assert span_hours([times]) == (2 * 3600 - 100) / 3600
    assert busy_hours([times]) == (5 * 60 + 13 * 60 + 20) / 3600
