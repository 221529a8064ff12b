"""Scoring functions of the exported lm-eval tasks (copied into each task folder as ``utils.py``).

This file is standalone on purpose: an exported task folder must work with a
plain ``pip install lm-eval``, without bioel-bench installed. It therefore
repeats the three-line name normalisation of ``bench/normalize.py`` (a test
checks the two agree) and imports nothing from ``bench``. The ``llm`` system
imports the same functions, so a language model scored by ``bioel-bench run
--system llm`` and by ``lm-eval run --include_path ...`` is scored by one piece
of code.

Layout of a task folder (written by ``python -m bench.lmeval.export``)::

    utils.py                      this file
    bioel_<bench>_gen.yaml        generate the concept name, acc@1 via the KB name index
    bioel_<bench>_rank.yaml       log-likelihood ranking of a retriever's top-N names, acc@k
    bioel_<bench>/test.jsonl      one document per mention (and train.jsonl: few-shot pool)
    bioel_<bench>/name_index.json normalised KB name -> concept ids
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
RANK_KS = (1, 5)
_WHITESPACE = re.compile(r"\s+")


def normalize_name(text: str) -> str:
    """Unicode NFKC, lower case, collapsed whitespace (same as ``bench.normalize``)."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def clean_generation(text: str) -> str:
    """A generated answer as a KB key: first line, normalised, closing period and quotes removed."""
    lines = text.strip().splitlines()
    first = lines[0] if lines else ""
    return normalize_name(first).strip(" \"'`").rstrip(".").strip()


# --- data ---------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_docs(folder: str, variant: str = "gen", **_metadata):
    """``custom_dataset`` of the tasks: the JSONL files next to this file (paths never absolute).

    lm-eval calls it with the task's ``dataset_kwargs`` and ``metadata``; only
    ``folder`` (the benchmark's data folder) and ``variant`` matter.
    """
    import datasets

    base = HERE / folder
    splits = {"test": _read_jsonl(base / "test.jsonl")}
    if variant == "gen" and (base / "train.jsonl").is_file():
        splits["train"] = _read_jsonl(base / "train.jsonl")
    return datasets.DatasetDict({name: datasets.Dataset.from_list(rows) for name, rows in splits.items()})


@lru_cache(maxsize=8)
def name_index(folder: str) -> dict[str, frozenset[str]]:
    """The KB's normalised name -> concept ids, as exported next to the data."""
    with open(HERE / folder / "name_index.json", encoding="utf-8") as handle:
        return {name: frozenset(ids) for name, ids in json.load(handle).items()}


# --- scoring (shared with systems/llm.py) -----------------------------------


def generated_ids(text: str, index: dict[str, frozenset[str]]) -> tuple[str, frozenset[str]]:
    """The cleaned generated name and the ids it maps to (empty: not a KB name)."""
    name = clean_generation(text)
    return name, index.get(name, frozenset())


def rank_candidates(names: list[str], loglikelihoods: list[float], length_norm: bool = False) -> list[int]:
    """Candidate positions best first: by log-likelihood (per character if ``length_norm``), then name.

    Scores are rounded to 6 decimals, so float noise between batch sizes or
    machines cannot reorder equal candidates; ties fall back to the name (the
    harness's ``rank()`` order).
    """
    scores = [candidate_score(n, ll, length_norm) for n, ll in zip(names, loglikelihoods)]
    return sorted(range(len(names)), key=lambda i: (-scores[i], names[i]))


def candidate_score(name: str, loglikelihood: float, length_norm: bool = False) -> float:
    """The ranking score of a candidate: its log-likelihood (per character of ``" " + name``), rounded."""
    value = loglikelihood / max(len(" " + name), 1) if length_norm else loglikelihood
    return round(float(value), 6)


def hit_at(order: list[int], candidate_ids: list[list[str]], gold: set[str], k: int) -> float:
    """1.0 if the ids of the first ``k`` ranked candidates meet the gold ids (the union rule)."""
    return 1.0 if any(set(candidate_ids[i]) & gold for i in order[:k]) else 0.0


# --- lm-eval hooks ------------------------------------------------------------


def process_results_gen(doc: dict, results: list) -> dict:
    """Generation task: acc@1 if the generated name maps to a gold id; ``valid_name``: it is a KB name."""
    _, ids = generated_ids(results[0], name_index(doc["folder"]))
    return {"acc@1": 1.0 if ids & set(doc["gold_ids"]) else 0.0, "valid_name": 1.0 if ids else 0.0}


def process_results_rank(doc: dict, results: list) -> dict:
    """Ranking task: acc@k from raw and length-normalised log-likelihoods, and the retriever's recall."""
    lls = [float(result[0]) for result in results]
    names, candidate_ids, gold = doc["candidates"], doc["candidate_ids"], set(doc["gold_ids"])
    metrics = {}
    for prefix, norm in (("acc", False), ("acc_norm", True)):
        order = rank_candidates(names, lls, length_norm=norm)
        for k in RANK_KS:
            metrics[f"{prefix}@{k}"] = hit_at(order, candidate_ids, gold, k)
    metrics["retriever_recall"] = hit_at(list(range(len(names))), candidate_ids, gold, len(names))
    return metrics


def doc_to_choice(doc: dict) -> list[str]:
    return list(doc["candidates"])
