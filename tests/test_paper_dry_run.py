"""The paper-scale dry run's path, at a tiny size on the demo: every stage runs and is reported."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")


def test_every_stage_of_the_paper_config_runs(capsys, tmp_path, monkeypatch):
    from bench.perf.paper_dry_run import main

    monkeypatch.setenv("BIOEL_BENCH_DATA", str(tmp_path))
    args = ["--benchmark", "demo", "--shape", "tiny", "--steps", "1", "--mentions", "2", "--dpo-pairs", "1"]
    assert main([*args, "--threads", "1"]) == 0
    out = capsys.readouterr().out
    for stage in ("KB-guided pre-training", "fine-tuning", "beam mining", "one DPO step", "decoding test mentions"):
        assert stage in out
    assert "convention released, search fairseq, 10 beams" in out
    assert "estimated GPU hours" in out and "medmentions-st21pv" in out
