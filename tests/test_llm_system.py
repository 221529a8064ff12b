"""The ``llm`` system: a tiny causal LM from a config, end to end on the demo, both modes.

Also checks that the system and the exported lm-eval task give the same
accuracy for the same model (they share HFLM and the scoring code).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
pytest.importorskip("lm_eval")
pytest.importorskip("torch")

from bench.linker import FitConfig, OptionError  # noqa: E402
from bench.metrics import accuracy_at_k, hit_ranks  # noqa: E402
from bench.runner import RunSpec, execute, load_benchmark  # noqa: E402
from systems.llm import LanguageModelLinker  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def demo():
    return load_benchmark("demo")


@pytest.fixture(scope="module")
def ranker(demo, tmp_path_factory):
    linker = LanguageModelLinker.from_settings({"mode": "rank", "candidates": 10})
    work = tmp_path_factory.mktemp("llm-rank")
    linker.fit(demo.split("train"), demo.split("dev"), demo.kb, FitConfig(seed=0, work_dir=work, progress=False))
    return linker


def test_llm_rank_mode_runs_end_to_end_on_demo(tmp_path):
    record = execute(RunSpec("llm", "demo", ks=(1, 5, 10)), out_dir=tmp_path, log=lambda *_: None)
    metrics = record.metrics
    info = metrics["system_info"]
    assert metrics["n_mentions"] == 195 and info["backend"] == "lm-eval HFLM" and info["model"] == "tiny"
    acc = metrics["acc"]["union"]
    assert 0.0 <= acc["1"] <= acc["5"] <= acc["10"]
    # Re-ranking the retriever's top 10 keeps the same 10 names: acc@10 is the retriever's recall@10.
    assert acc["10"] == pytest.approx(info["retriever_recall@10"])
    assert len(record.rows) == 195


def test_llm_generate_mode_runs_end_to_end_on_demo(tmp_path, demo):
    record = execute(
        RunSpec("llm", "demo", ks=(1,), settings={"mode": "generate", "max_new_tokens": 4}),
        out_dir=tmp_path,
        log=lambda *_: None,
    )
    assert record.metrics["n_mentions"] == 195
    assert 0.0 <= record.metrics["system_info"]["valid_generations"] <= 1.0
    for row in record.rows:  # a random model rarely names a KB concept: no candidate, or a real KB name
        assert all(c["name"] in demo.kb.name_index for c in row["candidates"])


class ScriptedLM:
    """A stand-in for HFLM (as lm-eval's own tests use a DummyLM): fixed generations."""

    def __init__(self, answers):
        self.answers = answers
        self.prompts = []

    def generate_until(self, requests, disable_tqdm=False):
        self.prompts += [r.args[0] for r in requests]
        assert all(r.args[1]["until"] == ["\n"] for r in requests)
        return [self.answers[i % len(self.answers)] for i in range(len(requests))]


def test_generated_names_are_mapped_through_the_kb_index(demo, tmp_path):
    linker = LanguageModelLinker.from_settings({"mode": "generate"})
    linker.fit([], [], demo.kb, FitConfig(work_dir=tmp_path, progress=False))
    linker.lm = ScriptedLM([" Myotonic Dystrophy.\nand more", " no such disease"])
    mentions = demo.split("test")[:2]
    predictions = linker.predict(mentions, demo.kb, 5)
    assert [c.name for c in predictions[0]] == ["myotonic dystrophy"]
    assert predictions[0][0].ids == demo.kb.name_index["myotonic dystrophy"]
    assert predictions[1] == []
    assert linker.lm.prompts[0].endswith(f"Mention: {mentions[0].text.lower()}\nConcept name:")
    assert linker.describe()["valid_generations"] == 0.5


def test_llm_system_and_lm_eval_task_agree(ranker, demo, tmp_path):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from bench.lmeval.export import ExportSettings, export

    test = demo.split("test")
    predictions = dict(zip((m.id for m in test), ranker.predict(test, demo.kb, 5)))
    system_acc = accuracy_at_k(hit_ranks(test, predictions, "union"), (1, 5))
    export("demo", tmp_path, ExportSettings(candidates=10))
    results = simple_evaluate(
        model=ranker.lm,
        tasks=["bioel_demo_rank"],
        task_manager=TaskManager(include_path=str(tmp_path), include_defaults=False),
        bootstrap_iters=0,
    )["results"]["bioel_demo_rank"]
    assert results["acc@1,none"] == pytest.approx(system_acc[1])
    assert results["acc@5,none"] == pytest.approx(system_acc[5])
    assert results["retriever_recall,none"] == pytest.approx(ranker.describe()["retriever_recall@10"])


def test_llm_loads_a_checkpoint_folder_like_any_model_name(ranker, demo, tmp_path):
    folder = tmp_path / "tiny-gpt2"
    ranker.lm.model.save_pretrained(folder)
    ranker.lm.tokenizer.save_pretrained(folder)
    linker = LanguageModelLinker.from_settings({"model": str(folder), "device": "cpu", "dtype": "float32"})
    linker.fit(demo.split("train"), demo.split("dev"), demo.kb, FitConfig(work_dir=tmp_path, progress=False))
    mentions = demo.split("test")[:8]
    assert linker.predict(mentions, demo.kb, 3) == ranker.predict(mentions, demo.kb, 3)
    assert linker.describe()["parameters"] == ranker.describe()["parameters"]


def test_llm_options_are_checked(demo, tmp_path):
    with pytest.raises(OptionError):
        LanguageModelLinker.from_settings({"mode": "beam"})
    linker = LanguageModelLinker.from_settings({"candidates": 0})
    with pytest.raises(ValueError, match="candidates"):
        linker.fit([], [], demo.kb, FitConfig(work_dir=tmp_path, progress=False))
    with pytest.raises(RuntimeError, match="before fit"):
        LanguageModelLinker().predict(demo.split("test")[:1], demo.kb, 1)
