"""The Python API: load a benchmark, run or score a system, compare two results.

Everything the command line does, from a notebook or a script (the README's
"Python API" section is executed by ``tests/test_python_api.py``)::

    import bench.api as bb

    demo = bb.load_benchmark("demo")                      # a Benchmark: splits, KB, card
    tfidf = bb.run("tfidf", "demo", out="runs")           # a RunRecord (a normal run folder)
    mine = bb.score("my_predictions.tsv", "demo")          # any linker's file, as a run
    result = bb.compare(tfidf, mine, ks=(1, 5))           # paired tests per k
    metrics = bb.evaluate(demo, {"mention id": [bb.Candidate("name", frozenset({"D1"}), 1.0)]})

``evaluate`` is BEIR's ``EvaluateRetrieval.evaluate(qrels, results)`` for entity
linking: gold from the benchmark, ranked candidates from you, no file and no run
folder. The functions are thin: each calls the module the CLI calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.benchmark import Benchmark
from bench.linker import Candidate
from bench.metrics import DEFAULT_KS
from bench.protocols import DEFAULT_PROFILE
from bench.results import RunRecord

__all__ = ["Candidate", "compare", "evaluate", "load_benchmark", "load_run", "run", "score"]


def load_benchmark(name: str, profile: str = DEFAULT_PROFILE, data_dir: str | Path | None = None) -> Benchmark:
    """A prepared benchmark (``bioel-bench prepare NAME`` first, except the embedded ``demo``)."""
    from bench.runner import load_benchmark as _load

    return _load(name, profile, data_dir)


def run(
    system: str,
    benchmark: str,
    *,
    settings: Mapping[str, Any] | None = None,
    profile: str = DEFAULT_PROFILE,
    seed: int = 0,
    ks: Sequence[int] = DEFAULT_KS,
    out: str | Path = "runs",
    name: str | None = None,
    data_dir: str | Path | None = None,
    log=print,
) -> RunRecord:
    """``bioel-bench run``: train and evaluate ``system`` (or reuse its finished run)."""
    from bench.runner import RunSpec, execute

    spec = RunSpec(system, benchmark, settings=dict(settings or {}), profile=profile, seed=seed, ks=tuple(ks))
    return execute(spec, out, run_name=name, data_dir=data_dir, log=log)


def score(
    predictions: str | Path,
    benchmark: str,
    *,
    format: str = "auto",
    profile: str = DEFAULT_PROFILE,
    split: str = "test",
    ks: Sequence[int] = DEFAULT_KS,
    out: str | Path = "runs",
    label: str | None = None,
    name: str | None = None,
    force: bool = False,
    data_dir: str | Path | None = None,
    log=print,
) -> RunRecord:
    """``bioel-bench score``: a predictions file (any format of :mod:`bench.prediction_formats`) as a run."""
    from bench.runner import RunSpec, execute

    path = Path(predictions).expanduser().resolve()
    spec = RunSpec(
        "predictions",
        benchmark,
        settings={"path": str(path), "format": format},
        profile=profile,
        split=split,
        ks=tuple(ks),
        label=label or path.stem,
    )
    return execute(spec, out, run_name=name, force=force, data_dir=data_dir, log=log)


def load_run(path: str | Path) -> RunRecord:
    """A finished run folder, validated."""
    from bench.results import load_run as _load

    return _load(path)


def compare(
    a: RunRecord | str | Path,
    b: RunRecord | str | Path,
    ks: Sequence[int] = (1, 5, 10),
    *,
    rule: str = "union",
    n_resamples: int = 10_000,
    seed: int = 0,
) -> dict[str, Any]:
    """``bioel-bench compare``: per k, both accuracies, B - A, bootstrap CI, McNemar and randomization p."""
    from bench.compare import compare_runs

    a = a if isinstance(a, RunRecord) else load_run(a)
    b = b if isinstance(b, RunRecord) else load_run(b)
    return compare_runs(a, b, ks, rule=rule, n_resamples=n_resamples, seed=seed)  # type: ignore[arg-type]


def evaluate(
    benchmark: Benchmark,
    predictions: Mapping[str, Sequence[Candidate]],
    ks: Sequence[int] = DEFAULT_KS,
    split: str = "test",
) -> dict[str, Any]:
    """acc@k (every rule, composite mode, seen/unseen subsets) of in-memory predictions.

    ``predictions`` maps mention ids to ranked candidates; a mention without an
    entry counts as wrong, and an id that is no mention of the split is an error
    (a typo would otherwise pass as a missing prediction).
    """
    from bench.errors import BenchError
    from bench.metrics import leakage_masks
    from bench.runner import score as _score

    test = list(benchmark.split(split))
    ids = {m.id for m in test} | {p.id for m in test for p in m.parts}
    unknown = sorted(set(predictions) - ids)
    if unknown:
        raise BenchError(
            f"{len(unknown)} prediction id(s) are no mention of {benchmark.name}/{split}, e.g. {unknown[:3]}"
        )
    training = [m for s in ("train", "dev") if s in benchmark.splits and s != split for m in benchmark.split(s)]
    ranked = {m_id: list(c) for m_id, c in predictions.items()}
    full = {m.id: ranked.get(m.id, []) for m in test} | {p.id: ranked.get(p.id, []) for m in test for p in m.parts}
    return {"n_mentions": len(test), **_score(test, full, leakage_masks(test, training), ks)}
