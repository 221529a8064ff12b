"""genbioel: trains, decodes only KB names mapped to all their ids, resumes, is deterministic."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402
from generative_fixtures import TINY, tiny_benchmark  # noqa: E402

from bench.linker import FitConfig  # noqa: E402
from bench.registry import SYSTEMS  # noqa: E402


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BIOEL_BENCH_DATA", str(tmp_path / "cache"))


def fit(tmp_path, name="run", seed=0, **overrides):
    """Fit in its own work dir and its own stage cache, so nothing is shared between fits."""
    import os

    os.environ["BIOEL_BENCH_DATA"] = str(tmp_path / f"cache-{name}")
    benchmark = tiny_benchmark()
    linker = SYSTEMS.get("genbioel").from_settings({**TINY, **overrides})
    linker.fit(
        benchmark.split("train"),
        benchmark.split("dev"),
        benchmark.kb,
        FitConfig(seed=seed, work_dir=tmp_path / name, progress=False),
    )
    return linker, benchmark


def weights(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_predictions_are_kb_names_mapped_to_all_their_ids(tmp_path):
    linker, benchmark = fit(tmp_path)
    kb = benchmark.kb
    predictions = linker.predict(benchmark.split("test"), kb, 3)
    assert len(predictions) == 4
    for ranked in predictions:
        assert 1 <= len(ranked) <= 3
        assert [c.score for c in ranked] == sorted((c.score for c in ranked), reverse=True)
        for candidate in ranked:
            assert candidate.name in kb.name_index
            assert candidate.ids == kb.name_index[candidate.name]


def test_same_seed_same_model_and_predictions(tmp_path):
    a, benchmark = fit(tmp_path, "a", seed=3)
    b, _ = fit(tmp_path, "b", seed=3)
    c, _ = fit(tmp_path, "c", seed=4)
    assert torch.equal(weights(a.model), weights(b.model))
    assert not torch.equal(weights(a.model), weights(c.model))
    test = benchmark.split("test")
    assert a.predict(test, benchmark.kb, 3) == b.predict(test, benchmark.kb, 3)


def test_training_resumes_from_its_last_checkpoint(tmp_path, monkeypatch, capsys):
    import transformers

    uninterrupted, _ = fit(tmp_path, "clean")

    original = transformers.Trainer._save_checkpoint
    calls = {"n": 0}

    def save_then_die(self, *args, **kwargs):
        original(self, *args, **kwargs)
        calls["n"] += 1
        if self.state.global_step == 4 and "finetune" in str(self.args.output_dir):
            raise KeyboardInterrupt  # as if the job were stopped after the step-4 checkpoint

    monkeypatch.setattr(transformers.Trainer, "_save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path, "interrupted")
    assert (tmp_path / "interrupted" / "finetune" / "checkpoint-4").is_dir()
    assert (tmp_path / "interrupted" / "pretrain" / "final" / "stage.json").is_file()
    monkeypatch.setattr(transformers.Trainer, "_save_checkpoint", original)
    capsys.readouterr()
    resumed, _ = fit(tmp_path, "interrupted")
    messages = capsys.readouterr().err.splitlines()
    assert any("resuming from" in m and "checkpoint-4" in m for m in messages)
    assert any("pretrain] already trained" in m for m in messages)
    assert torch.allclose(weights(resumed.model), weights(uninterrupted.model), atol=1e-6)


def test_dev_selection_keeps_the_best_checkpoint(tmp_path):
    linker, _ = fit(tmp_path, eval_steps=2, dev_eval_mentions=4)
    import json

    info = json.loads((tmp_path / "run" / "finetune" / "final" / "stage.json").read_text())
    assert len(info["dev_history"]) == 3  # steps 2, 4, 6
    accs = [entry["eval_acc1"] for entry in info["dev_history"]]
    assert info["best_metric"] == max(accs)


def test_an_identical_positive_only_stage_is_trained_once_and_shared(tmp_path, monkeypatch, capsys):
    import os

    from bench.registry import SYSTEMS

    monkeypatch.setenv("BIOEL_BENCH_DATA", str(tmp_path / "shared-cache"))
    benchmark = tiny_benchmark()
    config = dict(seed=0, progress=False)
    first = SYSTEMS.get("genbioel").from_settings(TINY)
    first.fit(
        benchmark.split("train"), benchmark.split("dev"), benchmark.kb, FitConfig(work_dir=tmp_path / "g", **config)
    )
    capsys.readouterr()
    second = SYSTEMS.get("angel").from_settings({**TINY, "chunks": 1, "dpo_lr": 0.0, "patience": 1})
    second.fit(
        benchmark.split("train"), benchmark.split("dev"), benchmark.kb, FitConfig(work_dir=tmp_path / "a", **config)
    )
    messages = capsys.readouterr().err
    assert "[pretrain] reusing the identical stage" in messages and "[finetune] reusing the identical stage" in messages
    positive_only = tmp_path / "a" / "angel" / "positive_only"
    from transformers import AutoModelForSeq2SeqLM

    assert torch.equal(weights(AutoModelForSeq2SeqLM.from_pretrained(positive_only)), weights(first.model))
    # A different seed is a different stage: trained, not reused.
    third = SYSTEMS.get("genbioel").from_settings(TINY)
    third.fit(
        benchmark.split("train"),
        benchmark.split("dev"),
        benchmark.kb,
        FitConfig(work_dir=tmp_path / "g1", seed=1, progress=False),
    )
    assert "reusing" not in capsys.readouterr().err
    assert os.environ["BIOEL_BENCH_DATA"].endswith("shared-cache")
