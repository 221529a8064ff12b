"""Health checks: a collapsed model, a flat loss, a dev score at zero, an empty negative stage."""

from __future__ import annotations

import math

from bench.health import negative_stage_warnings, prediction_warnings, stage_warnings
from bench.runner import RunSpec, execute


def test_one_name_for_most_mentions_is_a_collapse():
    assert prediction_warnings(["a"] * 15 + [f"n{i}" for i in range(10)])[0].startswith(
        "collapsed predictions: 15 of 25 test mentions get the same top-1 name ('a')"
    )
    assert prediction_warnings([f"n{i % 12}" for i in range(25)]) == []
    assert prediction_warnings(["a"] * 10) == []  # too few mentions to say


def test_a_flat_loss_and_a_dev_score_at_zero():
    flat = {"train_loss": [5.0, 4.99, 5.01, 4.98, 5.0], "dev_history": [{"eval_acc1": 0.0}, {"eval_acc1": 0.01}]}
    warnings = stage_warnings("finetune", flat)
    assert any("the training loss did not move" in w for w in warnings)
    assert any("dev acc@1 stayed near 0 (best 1.0%)" in w for w in warnings)
    learning = {"train_loss": [5.0, 4.0, 3.0, 2.0, 1.0], "dev_history": [{"eval_acc1": 0.3}]}
    assert stage_warnings("finetune", learning) == []


def test_a_negative_stage_with_few_pairs_and_dpo_at_ln2():
    history = [
        {"chunk": 0, "pairs": 3, "dpo_loss": math.log(2), "dpo_reward_margin": 0.0},
        {"chunk": 1, "pairs": 11, "dpo_loss": math.log(2), "dpo_reward_margin": 0.0},
        {"chunk": 2, "dev_acc1": 0.1},  # the closing record: no pairs
    ]
    warnings = negative_stage_warnings(history)
    assert any("only 14 preference pairs over 2 chunk(s)" in w for w in warnings)
    assert any("stayed at ln 2" in w for w in warnings)
    moving = [{"pairs": 400, "dpo_loss": 0.5, "dpo_reward_margin": 0.8}]
    assert negative_stage_warnings(moving) == []


def test_warnings_reach_the_run_and_its_log(tmp_path):
    """A linker that answers one name for everything: the run records and logs it; exact does not."""
    from dataclasses import dataclass

    from bench.linker import Candidate, Linker
    from bench.registry import SYSTEMS

    @dataclass(frozen=True)
    class Options:
        pass

    class AlwaysTheSame(Linker):
        def fit(self, train, dev, kb, config):
            self.name_ = kb.names[0]

        def predict(self, mentions, kb, k):
            return [[Candidate(self.name_, kb.name_index[self.name_], 1.0)] for _ in mentions]

    AlwaysTheSame.Options = Options
    SYSTEMS.register("always-the-same")(AlwaysTheSame)
    messages: list[str] = []
    try:
        record = execute(RunSpec("always-the-same", "demo", ks=(1,)), tmp_path / "runs", log=messages.append)
    finally:
        SYSTEMS._entries.pop("always-the-same", None)  # the registry is the test session's too
    warnings = record.metrics["health"]["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith("collapsed predictions: 195 of 195"), warnings
    assert any(m.startswith("warning: collapsed predictions") for m in messages)
    log_text = (record.path / "log.txt").read_text()
    assert "started always-the-same on demo/test" in log_text and "warning: collapsed predictions" in log_text
    assert "done: acc@1" in log_text
    exact = execute(RunSpec("exact", "demo", ks=(1,)), tmp_path / "runs", log=lambda *_: None)
    assert exact.metrics["health"]["warnings"] == []


def test_plain_progress_lines_for_logs_and_pipes():
    from bench.progress import PlainProgress, format_seconds

    now = [0.0]
    lines: list[str] = []
    progress = PlainProgress("finetune", 400, every=30, log=lines.append, clock=lambda: now[0])
    now[0] = 10
    progress.update(40, loss="3.210")  # within 30 s of the start: quiet
    now[0] = 62
    progress.update(120, loss="3.100")
    assert lines == ["[finetune] step 120/400 (30%), loss 3.100, 1m02s elapsed, ETA 2m25s"]
    now[0] = 200
    progress.update(400, force=True)
    assert lines[-1] == "[finetune] step 400/400 (100%), loss 3.100, 3m20s elapsed"
    assert (format_seconds(3725), format_seconds(42)) == ("1h02m", "42s")


def test_a_sweep_workers_stage_lines_carry_its_tag(capsys):
    from bench.progress import PlainProgress, say, set_line_prefix

    set_line_prefix("[angel ncbi-disease seed1] ")
    try:
        say("[finetune] 400 steps of 64 examples")
        PlainProgress("finetune", 4, every=0).update(2)
    finally:
        set_line_prefix("")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "[angel ncbi-disease seed1] [finetune] 400 steps of 64 examples"
    assert lines[1].startswith("[angel ncbi-disease seed1] [finetune] step 2/4 (50%)")


def test_a_run_level_eta_over_the_stages_and_stage_lines_in_log_txt(tmp_path, monkeypatch):
    from generative_fixtures import TINY

    from bench import progress

    progress.plan_run(600 + 400)
    assert progress.run_eta(0) is None
    progress.stage_done(600)  # pre-training finished
    assert progress.run_eta(100) > 0  # fine-tuning under way: the rest of the run is estimated
    progress.stage_done(400, trained=False)  # a stage reused from the cache leaves the plan
    assert progress._RUN["total"] == 600 and progress.run_eta(0) is None

    monkeypatch.setenv("BIOEL_BENCH_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("BIOEL_BENCH_PROGRESS", "0")
    record = execute(RunSpec("genbioel", "demo", settings=TINY, ks=(1,)), tmp_path / "runs", log=lambda *_: None)
    log_text = (record.path / "log.txt").read_text()
    assert "[pretrain] 4 steps of 8 examples" in log_text and "[finetune] done: 6 steps" in log_text
    assert log_text.index("started genbioel") < log_text.index("[pretrain]") < log_text.index("done: acc@1")
