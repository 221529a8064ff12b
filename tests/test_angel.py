"""angel: the negative-aware stage runs per chunk, computes reference log-probs once per chunk,
stops early, resumes after an interruption, and records what it did."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from generative_fixtures import TINY, tiny_benchmark  # noqa: E402

import systems.angel as angel_module  # noqa: E402
from bench.linker import FitConfig  # noqa: E402
from bench.registry import SYSTEMS  # noqa: E402

ANGEL = {**TINY, "chunks": 3, "top_k": 4, "dpo_batch_size": 8, "dpo_lr": 1e-3, "dev_eval_mentions": 4, "patience": 3}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BIOEL_BENCH_DATA", str(tmp_path / "cache"))


def fit(tmp_path, name="run", **overrides):
    benchmark = tiny_benchmark()
    linker = SYSTEMS.get("angel").from_settings({**ANGEL, **overrides})
    linker.fit(
        benchmark.split("train"),
        benchmark.split("dev"),
        benchmark.kb,
        FitConfig(seed=0, work_dir=tmp_path / name, progress=False),
    )
    return linker, benchmark


def test_each_chunk_is_recorded_and_reference_logprobs_are_computed_once_per_chunk(tmp_path, monkeypatch):
    calls = []
    original = angel_module.reference_logprobs

    def counting(model, pairs, *args, **kwargs):
        calls.append(len(pairs))
        return original(model, pairs, *args, **kwargs)

    monkeypatch.setattr(angel_module, "reference_logprobs", counting)
    linker, benchmark = fit(tmp_path, patience=10, selection="best")
    history = linker.history
    chunk_records = [r for r in history if "pairs" in r]
    assert len(chunk_records) == 3  # every chunk ran (patience is large)
    assert len(calls) == 3 and calls == [r["pairs"] for r in chunk_records]
    assert sum(r["mentions"] for r in chunk_records) == len(benchmark.split("train"))
    for record in chunk_records:
        assert {
            "dev_acc1",
            "pairs",
            "mentions_with_pairs",
            "all_correct",
            "all_wrong",
            "dpo_loss",
            "dpo_reward_margin",
            "dpo_reward_accuracy",
        } <= set(record)
    assert "dev_acc1" in history[-1]  # the final model is scored too (selection=best)
    assert linker.describe()["negative_stage"] == history
    state = json.loads((tmp_path / "run" / "angel" / "state.json").read_text())
    assert state["done"] and state["next_chunk"] == 3


def test_early_stopping_when_dev_does_not_improve(tmp_path):
    # With a zero learning rate the model never changes, so dev never improves.
    linker, _ = fit(tmp_path, dpo_lr=0.0, patience=1, selection="best")
    state = json.loads((tmp_path / "run" / "angel" / "state.json").read_text())
    assert state["stopped_early"] is True
    assert state["best_chunk"] == 0
    assert len([r for r in state["history"] if "pairs" in r]) == 1  # chunk 0 ran, chunk 1 was not started
    assert linker.describe()["negative_stage_kept"]["model"] == "before chunk 0 (the positive-only model)"


def test_released_selection_keeps_the_model_after_the_chunk_whose_pre_chunk_score_rose(tmp_path, monkeypatch):
    """ANGEL's train_negative_aware.py: the first chunk's score beats 0, so the model after chunk 0 is saved;
    a score equal to the previous one is no rise; no dev score after the last chunk."""
    scores = iter([0.5, 0.5, 0.75])  # before chunks 0, 1, 2

    def scripted(self, model, mentions, kb):
        return {"acc1": next(scores), "acc5": 1.0}

    monkeypatch.setattr(angel_module.AngelLinker, "dev_accuracy", scripted)
    saved = []
    original = angel_module.AngelLinker.save_model

    def recording(self, path, info):
        saved.append((path.name, dict(info)))
        return original(self, path, info)

    monkeypatch.setattr(angel_module.AngelLinker, "save_model", recording)
    linker, _ = fit(tmp_path, patience=2)  # selection=released is the default
    state = json.loads((tmp_path / "run" / "angel" / "state.json").read_text())
    assert [r.get("dev_acc1") for r in state["history"]] == [0.5, 0.5, 0.75, None]  # nothing after the last
    assert [info for name, info in saved if name == "best"] == [
        {"after_chunk": 0, "dev_acc1_before": 0.5},
        {"after_chunk": 2, "dev_acc1_before": 0.75},
    ]
    assert state["best_chunk"] == 2 and not state["stopped_early"]
    assert linker.describe()["negative_stage_kept"] == {"selection": "released", "model": "after chunk 2"}


def test_released_selection_stops_after_patience_chunks_in_a_row_without_a_rise(tmp_path, monkeypatch):
    scores = iter([0.6, 0.5, 0.55, 0.55])  # a rise over the previous chunk (0.5 -> 0.55) resets patience

    monkeypatch.setattr(angel_module.AngelLinker, "dev_accuracy", lambda *a: {"acc1": next(scores), "acc5": 1.0})
    linker, _ = fit(tmp_path, chunks=4, patience=2)
    state = json.loads((tmp_path / "run" / "angel" / "state.json").read_text())
    # 0.6 rises over 0 (kept after chunk 0); 0.5 falls; 0.55 rises over 0.5 (kept after chunk 2) although it
    # is below the best; 0.55 is no rise, and with patience 2 the stage has one chunk left: it runs chunk 3
    assert state["best_chunk"] == 2 and not state["stopped_early"]
    assert linker.describe()["negative_stage_kept"]["model"] == "after chunk 2"


def test_runs_recorded_before_selection_existed_kept_the_best_measured_model():
    recorded = SYSTEMS.get("angel").recorded_options({"chunks": 10}, [1])
    assert recorded["selection"] == "best"
    assert SYSTEMS.get("angel").recorded_options({"selection": "released"}, [1])["selection"] == "released"


def test_an_interrupted_negative_stage_resumes_from_its_last_chunk(tmp_path, monkeypatch):
    clean, _ = fit(tmp_path, "clean", patience=10)
    original = angel_module.dpo_epoch
    count = {"n": 0}

    def die_on_second(*args, **kwargs):
        count["n"] += 1
        if count["n"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(angel_module, "dpo_epoch", die_on_second)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path, "cut", patience=10)
    state = json.loads((tmp_path / "cut" / "angel" / "state.json").read_text())
    assert state["next_chunk"] == 1 and not state["done"]
    monkeypatch.setattr(angel_module, "dpo_epoch", original)
    resumed, _ = fit(tmp_path, "cut", patience=10)
    assert [r["pairs"] for r in resumed.history if "pairs" in r] == [r["pairs"] for r in clean.history if "pairs" in r]

    def dev_scores(history):  # released selection: no dev score after the last chunk
        return [None if r.get("dev_acc1") is None else round(r["dev_acc1"], 6) for r in history]

    assert dev_scores(resumed.history) == dev_scores(clean.history)
    assert resumed.describe()["negative_stage_kept"] == clean.describe()["negative_stage_kept"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"reference": "frozen"},
        {"negatives": "tfidf"},
        {"pair_rule": "all", "inject_gold": True},
        {"negative_pretrain_pairs": 8, "dpo_loss": "ipo"},
    ],
)
def test_ablation_options_run(tmp_path, overrides):
    linker, benchmark = fit(tmp_path, **overrides)
    predictions = linker.predict(benchmark.split("test"), benchmark.kb, 2)
    assert all(c.name in benchmark.kb.name_index for ranked in predictions for c in ranked)
    if "negative_pretrain_pairs" in overrides:
        assert (tmp_path / "run" / "negative_pretrain" / "final" / "stage.json").is_file()


def test_crossfit_mining_uses_models_that_never_saw_the_mentions(tmp_path, monkeypatch):
    """mining=crossfit: each fold is mined by a positive-only model fine-tuned on the other folds only."""
    import bench.generative.training as training

    mined_by: dict[str, object] = {}
    trained_on: dict[str, set[str]] = {}
    decode, run_stage = angel_module.AngelLinker.decode_with, training.run_stage

    def recording_decode(self, model, mentions, kb, k):
        for m in mentions:
            mined_by.setdefault(m.id, model)
        return decode(self, model, mentions, kb, k)

    def recording_stage(name, model, tokenizer, examples, *args, **kwargs):
        trained_on[name] = {e.mention for e in examples}
        return run_stage(name, model, tokenizer, examples, *args, **kwargs)

    monkeypatch.setattr(angel_module.AngelLinker, "decode_with", recording_decode)
    monkeypatch.setattr(training, "run_stage", recording_stage)
    # kb_mix=0: the fold models see mention examples only, so what they saw can be read off
    linker, benchmark = fit(tmp_path, mining="crossfit", crossfit_folds=2, chunks=1, dev_eval_mentions=0, kb_mix=0)
    train = benchmark.split("train")
    folds = linker.fold_of
    assert sorted(set(folds.values())) == [0, 1] and set(folds) == {m.id for m in train}
    for fold in (0, 1):
        own = {m.text for m in train if folds[m.id] == fold}
        others = {m.text for m in train if folds[m.id] != fold}
        assert others <= trained_on[f"crossfit{fold}"]
        assert not (own - others) & trained_on[f"crossfit{fold}"]  # never its own fold's mentions
    for m in train:
        assert mined_by[m.id] is linker.miners[folds[m.id]]  # mined by the model that did not see it
    chunk = next(h for h in linker.history if "pairs" in h)
    assert "mining_margin" in chunk
    self_run, _ = fit(tmp_path, name="self", chunks=1)
    assert "mining_margin" in next(h for h in self_run.history if "pairs" in h)
