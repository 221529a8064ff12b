"""lm-eval task export: folder layout, loading with lm-eval, and scores against a direct computation.

The model is a tiny GPT-2 created from a config with a tokenizer trained on the
demo (nothing is downloaded); the reference log-likelihoods are computed with
transformers directly, independently of lm-eval.
"""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from bench.errors import BenchError  # noqa: E402
from bench.lmeval import task_utils  # noqa: E402
from bench.lmeval.export import ExportSettings, export, slug  # noqa: E402
from bench.lmeval.prompts import DEFAULT_PROMPT, context_window, render_prompt  # noqa: E402
from bench.mention import Mention  # noqa: E402
from bench.normalize import normalize_name  # noqa: E402
from bench.paths import REPO_ROOT  # noqa: E402
from bench.runner import load_benchmark  # noqa: E402

LIMIT = 20


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (and do not fight a shared machine); restored afterwards."""
    if importlib.util.find_spec("torch") is None:  # the export tests need no torch
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --- pure functions ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Breast  Cancer", "\u00c9PILEPSY\t1", "ﬁbrosis", "  Tooth Agenesis, Selective, 6 "])
def test_task_utils_normalisation_matches_the_harness(text):
    assert task_utils.normalize_name(text) == normalize_name(text)


def test_generated_names_map_to_ids():
    index = {"breast cancer": frozenset({"D1"})}
    assert task_utils.generated_ids(" Breast Cancer.\nsomething else", index) == ("breast cancer", frozenset({"D1"}))
    assert task_utils.generated_ids(' "breast cancer"', index)[1] == {"D1"}
    assert task_utils.generated_ids("lung cancer", index) == ("lung cancer", frozenset())
    assert task_utils.generated_ids("", index) == ("", frozenset())


def test_rank_candidates_orders_by_loglikelihood_then_name():
    names = ["b", "a", "ccc"]
    assert task_utils.rank_candidates(names, [-1.0, -1.0, -0.5]) == [2, 1, 0]
    # per character of " name": -1/2, -1/2, -0.5/4
    assert task_utils.rank_candidates(names, [-1.0, -1.0, -0.5], length_norm=True) == [2, 1, 0]
    assert task_utils.rank_candidates(names, [-1.0, -3.0, -4.0], length_norm=True) == [0, 2, 1]
    assert task_utils.hit_at([2, 0, 1], [["X"], ["Y"], ["Z"]], {"X"}, 1) == 0.0
    assert task_utils.hit_at([2, 0, 1], [["X"], ["Y"], ["Z"]], {"X"}, 2) == 1.0


def test_prompt_renders_mention_and_optional_context():
    text = "Patients with breast cancer were treated ."
    mention = Mention("m", "Breast Cancer", frozenset({"D1"}), span=(14, 27), context=text)
    assert render_prompt(mention) == DEFAULT_PROMPT.format(mention="breast cancer", context="")
    assert context_window(mention, 2) == "Patients with breast cancer were treated"
    assert "Context: Patients with breast cancer were treated\nMention: breast cancer" in render_prompt(
        mention, context_words=2
    )


# --- export -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo():
    return load_benchmark("demo")


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lmeval-tasks")
    names = export("demo", folder, ExportSettings(candidates=6))
    assert names == ["bioel_demo_gen", "bioel_demo_rank"]
    return folder


def test_export_writes_a_self_contained_task_folder(task_dir, demo):
    base = slug("demo")
    for name in ("utils.py", "README.md", f"{base}_gen.yaml", f"{base}_rank.yaml"):
        assert (task_dir / name).is_file(), name
    rows = [json.loads(line) for line in (task_dir / base / "test.jsonl").read_text().splitlines()]
    test = demo.split("test")
    assert [r["id"] for r in rows] == [m.id for m in test]
    assert all(len(r["candidates"]) == 6 == len(r["candidate_ids"]) for r in rows)
    assert rows[0]["prompt"] == render_prompt(test[0])
    index = json.loads((task_dir / base / "name_index.json").read_text())
    assert index == {n: sorted(ids) for n, ids in demo.kb.name_index.items()}
    info = json.loads((task_dir / base / "export.json").read_text())
    recall = sum(bool(set(sum(r["candidate_ids"], [])) & set(r["gold_ids"])) for r in rows) / len(rows)
    assert info["retriever_recall"] == pytest.approx(recall) and info["candidates"] == 6
    assert len((task_dir / base / "train.jsonl").read_text().splitlines()) == len(demo.split("train"))
    assert "import bench" not in (task_dir / "utils.py").read_text()  # usable without bioel-bench


def test_export_refuses_to_write_licensed_data_into_the_repository():
    with pytest.raises(BenchError, match="license"):
        export("cometa", REPO_ROOT / "reports" / "lmeval-tasks")


def test_export_command_line(tmp_path, capsys):
    from bench.lmeval.export import main

    assert main(["demo", "--out", str(tmp_path), "--candidates", "3", "--retriever", "exact"]) == 0
    assert "bioel_demo_rank" in capsys.readouterr().out
    row = json.loads((tmp_path / "bioel_demo" / "test.jsonl").read_text().splitlines()[0])
    assert len(row["candidates"]) <= 1  # exact returns one name or none
    assert main(["demo", "--out", str(tmp_path), "--candidates", "0"]) == 2


# --- loading and scoring with lm-eval ------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_lm(demo):
    pytest.importorskip("lm_eval")
    from bench.lmeval.tiny import tiny_gpt2, train_tiny_tokenizer

    texts = [*demo.kb.names, *(render_prompt(m) for m in demo.split("train"))]
    tokenizer = train_tiny_tokenizer(texts)
    return tiny_gpt2(tokenizer, seed=0), tokenizer


@pytest.fixture(scope="module")
def lm_eval_results(task_dir, tiny_lm):
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    model, tokenizer = tiny_lm
    manager = TaskManager(include_path=str(task_dir), include_defaults=False)
    assert {"bioel_demo_gen", "bioel_demo_rank", "bioel"} <= set(manager.all_tasks)
    return simple_evaluate(
        model=HFLM(pretrained=model, tokenizer=tokenizer, batch_size=16),
        tasks=["bioel_demo_gen", "bioel_demo_rank"],
        task_manager=manager,
        limit=LIMIT,
        log_samples=True,
        bootstrap_iters=0,
    )


def continuation_loglikelihood(model, tokenizer, context: str, continuation: str) -> float:
    """Sum of log p(continuation tokens | context), with transformers directly."""
    import torch

    whole = tokenizer(context + continuation)["input_ids"]
    n_context = len(tokenizer(context)["input_ids"])
    with torch.no_grad():
        logits = model(torch.tensor([whole])).logits[0]
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    return float(sum(log_probs[t - 1, whole[t]] for t in range(n_context, len(whole))))


def test_rank_task_scores_match_a_direct_computation(lm_eval_results, task_dir, tiny_lm):
    model, tokenizer = tiny_lm
    results = lm_eval_results["results"]["bioel_demo_rank"]
    rows = [json.loads(line) for line in (task_dir / "bioel_demo" / "test.jsonl").read_text().splitlines()[:LIMIT]]
    samples = sorted(lm_eval_results["samples"]["bioel_demo_rank"], key=lambda s: s["doc_id"])
    expected = {"acc@1": 0.0, "acc@5": 0.0, "acc_norm@1": 0.0, "retriever_recall": 0.0}
    for row, sample in zip(rows, samples):
        lls = [continuation_loglikelihood(model, tokenizer, row["prompt"], " " + n) for n in row["candidates"]]
        assert [r[0] for r in sample["filtered_resps"]] == pytest.approx(lls, abs=1e-3)
        gold = set(row["gold_ids"])
        order = sorted(range(len(lls)), key=lambda i: (-round(lls[i], 6), row["candidates"][i]))
        norm = sorted(
            range(len(lls)), key=lambda i: (-round(lls[i] / len(" " + row["candidates"][i]), 6), row["candidates"][i])
        )
        expected["acc@1"] += bool(set(row["candidate_ids"][order[0]]) & gold)
        expected["acc@5"] += any(set(row["candidate_ids"][i]) & gold for i in order[:5])
        expected["acc_norm@1"] += bool(set(row["candidate_ids"][norm[0]]) & gold)
        expected["retriever_recall"] += any(set(ids) & gold for ids in row["candidate_ids"])
    for metric, total in expected.items():
        assert results[f"{metric},none"] == pytest.approx(total / LIMIT), metric
    assert results["acc@1,none"] <= results["acc@5,none"] <= results["retriever_recall,none"]


def test_generation_task_maps_generated_names_to_ids(lm_eval_results, task_dir):
    results = lm_eval_results["results"]["bioel_demo_gen"]
    names = json.loads((task_dir / "bioel_demo" / "name_index.json").read_text())
    samples = lm_eval_results["samples"]["bioel_demo_gen"]
    assert len(samples) == LIMIT
    hits = valid = 0
    for sample in samples:
        generated = sample["filtered_resps"][0]
        ids = set(names.get(task_utils.clean_generation(generated), []))
        valid += bool(ids)
        hits += bool(ids & set(sample["doc"]["gold_ids"]))
    assert results["acc@1,none"] == pytest.approx(hits / LIMIT)
    assert results["valid_name,none"] == pytest.approx(valid / LIMIT)


def test_generation_task_outputs_are_greedy_generations(lm_eval_results, tiny_lm):
    import torch

    model, tokenizer = tiny_lm
    for sample in sorted(lm_eval_results["samples"]["bioel_demo_gen"], key=lambda s: s["doc_id"])[:5]:
        ids = tokenizer(sample["doc"]["prompt"], return_tensors="pt")["input_ids"]
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=32, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        text = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).split("\n")[0]
        assert sample["filtered_resps"][0] == text


def test_process_results_hooks_on_a_real_folder(task_dir):
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("exported_utils", task_dir / "utils.py")
    utils = module_from_spec(spec)
    spec.loader.exec_module(utils)
    row = json.loads((task_dir / "bioel_demo" / "test.jsonl").read_text().splitlines()[0])
    gold_name = next(n for n, ids in zip(row["candidates"], row["candidate_ids"]) if set(ids) & set(row["gold_ids"]))
    assert utils.process_results_gen(row, [f" {gold_name.upper()}.\n"]) == {"acc@1": 1.0, "valid_name": 1.0}
    assert utils.process_results_gen(row, [" not a disease at all"]) == {"acc@1": 0.0, "valid_name": 0.0}
    position = row["candidates"].index(gold_name)
    lls = [[-10.0, False] for _ in row["candidates"]]
    lls[position] = [-1.0, False]
    scores = utils.process_results_rank(row, lls)
    assert scores["acc@1"] == 1.0 and scores["retriever_recall"] == 1.0
