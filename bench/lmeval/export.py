"""Export a benchmark as an lm-evaluation-harness task folder.

``python -m bench.lmeval.export BENCH --out DIR [--retriever tfidf --candidates N]``
writes, for benchmark ``BENCH`` (slug ``bioel_<bench>``, dashes as underscores):

* ``bioel_<bench>_gen.yaml``: the model generates the concept name after the
  prompt (greedy, up to a newline); ``acc@1`` is 1 when the generated name,
  normalised, is a KB name carrying a gold id (``valid_name``: it is a KB name
  at all). Few-shot examples come from the training split (gold preferred name).
* ``bioel_<bench>_rank.yaml``: the top-N names of a first-stage retriever (any
  registered system, ``tfidf`` by default) are scored by the log-likelihood of
  ``" " + name`` after the prompt; ``acc@1``, ``acc@5`` (and ``acc_norm@k`` per
  character) by the union rule, with ``retriever_recall`` (recall@N of the
  retriever, which bounds acc@k) beside them.
* ``bioel_<bench>/test.jsonl`` (and ``train.jsonl``), ``bioel_<bench>/name_index.json``
  (normalised KB name -> ids, which maps generated names to ids), ``utils.py``
  (``bench/lmeval/task_utils.py``: standalone, no bioel-bench needed) and a README.

A suite (``aap``: ten folds) exports every member plus two groups,
``bioel_<suite>_gen`` and ``bioel_<suite>_rank``, averaging the folds.

The data files carry the benchmark's license (COMETA's forbids redistribution):
the folder is the user's, and exporting into this repository is refused except
for the embedded ``demo``.

Run the tasks with ``lm-eval run --model hf --model_args pretrained=NAME
--include_path DIR --tasks bioel_<bench>_gen,bioel_<bench>_rank``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.benchmark import DEV, TRAIN, Benchmark, BenchmarkSuite
from bench.errors import BenchError
from bench.kb import KnowledgeBase
from bench.linker import Candidate, FitConfig
from bench.lmeval import task_utils
from bench.lmeval.prompts import DEFAULT_PROMPT, TARGET_DELIMITER, render_prompt
from bench.mention import Mention
from bench.paths import REPO_ROOT
from bench.results import atomic_write_text, write_json
from bench.runner import load_benchmark, predict_all, seed_everything

TASK_VERSION = 1.0
MAX_GEN_TOKS = 32


@dataclass(frozen=True)
class ExportSettings:
    retriever: str = "tfidf"
    retriever_settings: Mapping[str, Any] | None = None
    candidates: int = 10
    split: str = "test"
    context_words: int = 0
    prompt: str = DEFAULT_PROMPT
    profile: str = "angel"
    seed: int = 0
    #: write the training split as the few-shot pool of the generation task
    fewshot_pool: bool = True


def slug(benchmark: str) -> str:
    return "bioel_" + benchmark.replace("-", "_").replace(".", "_")


def export(
    benchmark: str, out: str | Path, settings: ExportSettings | None = None, data_dir: str | Path | None = None
) -> list[str]:
    """Write the task folder for ``benchmark`` into ``out``; return the task (and group) names."""
    settings = settings or ExportSettings()
    out = Path(out).resolve()
    if benchmark != "demo" and out.is_relative_to(REPO_ROOT.resolve()):
        raise BenchError(
            f"{out} is inside the repository: exported data carries the benchmark's license "
            "(COMETA forbids redistribution); export to a folder of your own"
        )
    if settings.candidates < 1:
        raise BenchError(f"--candidates must be at least 1, got {settings.candidates}")
    loaded = load_benchmark(benchmark, settings.profile, data_dir)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(task_utils.__file__, out / "utils.py")
    if isinstance(loaded, BenchmarkSuite):
        names: list[str] = []
        members = []
        for member in loaded.members:
            member_benchmark = load_benchmark(member, settings.profile, data_dir)
            names += export_one(member_benchmark, member, out, settings)
            members.append(slug(member))
        for variant, metrics in (("gen", ("acc@1", "valid_name")), ("rank", _rank_metrics())):
            group = f"{slug(benchmark)}_{variant}"
            atomic_write_text(out / f"_{group}.yaml", _group_yaml(group, [f"{m}_{variant}" for m in members], metrics))
            names.append(group)
        return names
    return export_one(loaded, benchmark, out, settings)


def export_one(benchmark: Benchmark, name: str, out: Path, settings: ExportSettings) -> list[str]:
    """Data files and the two task YAMLs of one benchmark."""
    base = slug(name)
    folder = out / base
    folder.mkdir(parents=True, exist_ok=True)
    kb = benchmark.kb
    test = benchmark.split(settings.split)
    candidates = retrieve(benchmark, test, settings)
    recall = sum(bool(_hits(candidates[m.id], m.gold_ids)) for m in test) / max(len(test), 1)
    rows = [document(m, kb, base, settings, candidates[m.id]) for m in test]
    _write_jsonl(folder / "test.jsonl", rows)
    if settings.fewshot_pool and TRAIN in benchmark.splits and settings.split != TRAIN:
        _write_jsonl(folder / "train.jsonl", [document(m, kb, base, settings, None) for m in benchmark.split(TRAIN)])
    else:
        (folder / "train.jsonl").unlink(missing_ok=True)
    index = {n: sorted(ids) for n, ids in sorted(kb.name_index.items())}
    atomic_write_text(folder / "name_index.json", json.dumps(index, ensure_ascii=False, separators=(",", ":")))
    info = {
        "benchmark": name,
        "split": settings.split,
        "mentions": len(test),
        "kb": kb.summary(),
        "checksums": benchmark.checksums,
        "flags": {"closed_world_kb": kb.closed_world} | dict(benchmark.flags),
        "retriever": settings.retriever,
        "retriever_settings": dict(settings.retriever_settings or {}),
        "candidates": settings.candidates,
        "retriever_recall": recall,
        "context_words": settings.context_words,
        "prompt": settings.prompt,
    }
    write_json(folder / "export.json", info)
    has_fewshot = (folder / "train.jsonl").is_file()
    atomic_write_text(out / f"{base}_gen.yaml", _gen_yaml(base, name, has_fewshot))
    atomic_write_text(out / f"{base}_rank.yaml", _rank_yaml(base, name, settings))
    atomic_write_text(out / "README.md", _readme())
    return [f"{base}_gen", f"{base}_rank"]


def retrieve(benchmark: Benchmark, test: Sequence[Mention], settings: ExportSettings) -> dict[str, list[Candidate]]:
    """The retriever's top-N candidates for every test mention (fitted on train and dev)."""
    from bench.registry import SYSTEMS

    linker = SYSTEMS.get(settings.retriever).from_settings(dict(settings.retriever_settings or {}))
    train = benchmark.split(TRAIN) if TRAIN in benchmark.splits and settings.split != TRAIN else ()
    dev = benchmark.split(DEV) if DEV in benchmark.splits and settings.split != DEV else ()
    seed_everything(settings.seed)
    with tempfile.TemporaryDirectory(prefix="bioel-export-") as work:
        linker.fit(train, dev, benchmark.kb, FitConfig(seed=settings.seed, work_dir=Path(work), progress=False))
        return predict_all(linker, test, benchmark, settings.candidates)


def document(
    mention: Mention, kb: KnowledgeBase, folder: str, settings: ExportSettings, candidates: Sequence[Candidate] | None
) -> dict[str, Any]:
    """One lm-eval document: the prompt, gold ids, a target name and (ranking) the candidates."""
    row: dict[str, Any] = {
        "id": mention.id,
        "folder": folder,
        "mention": mention.text,
        "prompt": render_prompt(mention, settings.prompt, settings.context_words),
        "gold_ids": sorted(mention.gold_ids),
        "target": target_name(mention, kb),
    }
    if candidates is not None:
        row["candidates"] = [c.name for c in candidates]
        row["candidate_ids"] = [sorted(c.ids) for c in candidates]
        hits = _hits(candidates, mention.gold_ids)
        row["target_index"] = hits[0] if hits else 0  # only for display: scoring uses gold_ids
    return row


def target_name(mention: Mention, kb: KnowledgeBase) -> str:
    """The preferred name of the first gold concept found in the KB (the mention itself if none)."""
    for concept_id in sorted(mention.gold_ids):
        canonical = kb.resolve_id(concept_id)
        if canonical is not None:
            return kb.preferred_name(canonical)
    return mention.text


def _hits(candidates: Sequence[Candidate], gold: frozenset[str]) -> list[int]:
    return [i for i, c in enumerate(candidates) if c.ids & gold]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows))


# --- YAML (written as text: lm-eval's ``!function`` tag is not plain YAML) ------


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _metric_list(metrics: Sequence[str]) -> str:
    return "".join(f"  - metric: {_q(m)}\n    aggregation: mean\n    higher_is_better: true\n" for m in metrics)


def _rank_metrics() -> list[str]:
    ks = task_utils.RANK_KS
    return [*(f"acc@{k}" for k in ks), *(f"acc_norm@{k}" for k in ks), "retriever_recall"]


def _gen_yaml(base: str, benchmark: str, has_fewshot: bool) -> str:
    fewshot = "training_split: train\nfewshot_split: train\n" if has_fewshot else ""
    return (
        f"# bioel-bench: generate the concept name for each {benchmark} mention; acc@1 via the KB name index.\n"
        f"tag:\n  - bioel\n  - bioel_gen\n"
        f"task: {base}_gen\n"
        f"custom_dataset: !function utils.load_docs\n"
        f"dataset_kwargs:\n  folder: {base}\n  variant: gen\n"
        f"output_type: generate_until\n"
        f"test_split: test\n{fewshot}"
        f'doc_to_text: "{{{{prompt}}}}"\n'
        f'doc_to_target: "{{{{target}}}}"\n'
        f"target_delimiter: {_q(TARGET_DELIMITER)}\n"
        f'fewshot_delimiter: "\\n\\n"\n'
        f'generation_kwargs:\n  until:\n    - "\\n"\n  max_gen_toks: {MAX_GEN_TOKS}\n  do_sample: false\n'
        f"process_results: !function utils.process_results_gen\n"
        f"metric_list:\n{_metric_list(['acc@1', 'valid_name'])}"
        f"metadata:\n  version: {TASK_VERSION}\n  bioel_benchmark: {_q(benchmark)}\n"
    )


def _rank_yaml(base: str, benchmark: str, settings: ExportSettings) -> str:
    return (
        f"# bioel-bench: rank the top-{settings.candidates} {settings.retriever} candidates of each {benchmark}\n"
        f"# mention by log-likelihood; retriever_recall (recall@{settings.candidates}) bounds acc@k.\n"
        f"tag:\n  - bioel\n  - bioel_rank\n"
        f"task: {base}_rank\n"
        f"custom_dataset: !function utils.load_docs\n"
        f"dataset_kwargs:\n  folder: {base}\n  variant: rank\n"
        f"output_type: multiple_choice\n"
        f"test_split: test\n"
        f'doc_to_text: "{{{{prompt}}}}"\n'
        f"doc_to_choice: !function utils.doc_to_choice\n"
        f"doc_to_target: target_index\n"
        f"target_delimiter: {_q(TARGET_DELIMITER)}\n"
        f"process_results: !function utils.process_results_rank\n"
        f"metric_list:\n{_metric_list(_rank_metrics())}"
        f"metadata:\n  version: {TASK_VERSION}\n  bioel_benchmark: {_q(benchmark)}\n"
        f"  retriever: {_q(settings.retriever)}\n  candidates: {settings.candidates}\n"
    )


def _group_yaml(group: str, tasks: Sequence[str], metrics: Sequence[str]) -> str:
    entries = "".join(
        f"  - metric: {_q(m)}\n    aggregation: mean\n    weight_by_size: false\n    filter_list: none\n"
        for m in metrics
    )
    listed = "".join(f"  - {t}\n" for t in tasks)
    return (
        f"# bioel-bench: the mean over folds (how AskAPatient is reported)\n"
        f"group: {group}\ntask:\n{listed}aggregate_metric_list:\n{entries}metadata:\n  version: {TASK_VERSION}\n"
    )


def _readme() -> str:
    return """# bioel-bench lm-eval tasks

Written by `python -m bench.lmeval.export` (bioel-bench). The data files carry the license of
their benchmark: keep this folder private when it holds COMETA (redistribution is forbidden).

```bash
lm-eval run --model hf --model_args pretrained=NAME --include_path THIS_FOLDER \\
    --tasks bioel_BENCH_gen,bioel_BENCH_rank
```

* `*_gen`: greedy generation after the prompt, up to a newline; `acc@1` counts the generated name
  (normalised: NFKC, lower case, collapsed spaces, closing period dropped) when it is a KB name
  carrying a gold id; `valid_name` is the share of generations that are KB names at all.
* `*_rank`: the retriever's top-N names scored by log-likelihood after the prompt; `acc@k` (raw
  log-likelihood) and `acc_norm@k` (per character), ties broken by name; `retriever_recall` is the
  retriever's recall@N, an upper bound of every acc@k.
* Each `bioel_BENCH/export.json` records the benchmark checksums, retriever, N and its recall.
* The prompt is pre-rendered in each document (`prompt`); to change it, edit `doc_to_text` with a
  Jinja template over `mention` (and re-export with `--context-words` for a context window).
"""


# --- command line -------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    from bench.cli import parse_settings

    parser = argparse.ArgumentParser(
        prog="python -m bench.lmeval.export",
        description="Export a benchmark as an lm-evaluation-harness task folder (generation and ranking tasks).",
        epilog="Example: python -m bench.lmeval.export ncbi-disease --out ~/bioel-tasks --candidates 20",
    )
    parser.add_argument("benchmark")
    parser.add_argument("--out", required=True, help="task folder to write (outside this repository)")
    parser.add_argument("--retriever", default="tfidf", help="first-stage system for the ranking task")
    parser.add_argument("--retriever-set", action="append", default=[], metavar="KEY=VALUE", help="retriever option")
    parser.add_argument("--candidates", type=int, default=10, help="N: candidates scored per mention")
    parser.add_argument("--split", default="test")
    parser.add_argument("--context-words", type=int, default=0, help="words of context each side in the prompt")
    parser.add_argument("--profile", default="angel")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    settings = ExportSettings(
        retriever=args.retriever,
        retriever_settings=parse_settings(args.retriever_set),
        candidates=args.candidates,
        split=args.split,
        context_words=args.context_words,
        profile=args.profile,
        seed=args.seed,
    )
    try:
        names = export(args.benchmark, args.out, settings, data_dir=args.data_dir)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: tasks {', '.join(names)}")
    print(
        f"run: lm-eval run --model hf --model_args pretrained=NAME --include_path {args.out} --tasks {','.join(names)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
