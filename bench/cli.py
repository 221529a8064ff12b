"""The ``bioel-bench`` command line: run, compare, table, prepare, stats, sweep, report, errors, export, ls.

Every verb has ``--help``; errors from bad input or bad requests are printed
as one line (file:line: problem) with exit status 2, not as a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bench.cli_types import positive_int, run_name
from bench.errors import BenchError
from bench.protocols import ALIASES, DEFAULT_PROFILE, PROFILES

EPILOG = "Example: bioel-bench run --system tfidf --benchmark demo"


def parse_settings(pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are parsed as YAML scalars (3 -> int, true -> bool)."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BenchError(f"--set expects key=value, got {pair!r}")
        try:
            settings[key.strip()] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            settings[key.strip()] = value
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    from bench.runner import RunSpec, execute
    from bench.tables import accuracy_table

    spec = RunSpec(
        system=args.system,
        benchmark=args.benchmark,
        split=args.split,
        ks=tuple(args.k),
        seed=args.seed,
        settings=parse_settings(args.set),
        profile=args.profile,
    )
    log = (lambda message: print(message, file=sys.stderr)) if args.json else print
    record = execute(spec, args.out, run_name=args.name, force=args.force, data_dir=args.data_dir, log=log)
    metrics = record.metrics
    if args.json:
        print(
            json.dumps(
                {
                    "run_dir": str(record.path),
                    "system": record.system,
                    "benchmark": record.benchmark,
                    "split": record.config["split"],
                    "n_mentions": metrics["n_mentions"],
                    "acc": metrics["acc"]["union"],
                    "acc_rules": metrics["acc"],
                    "acc_composite": metrics["acc_composite"],
                    "leakage": metrics["leakage"],
                    "flags": metrics["flags"],
                    "timings": metrics["timings"],
                },
                indent=2,
                sort_keys=True,
            )
        )
    else:
        flag = (
            " [closed-world KB: not comparable with published numbers]"
            if metrics["flags"].get("closed_world_kb")
            else ""
        )
        print(
            f"{record.system} on {record.benchmark}/{record.config['split']} ({metrics['n_mentions']} mentions){flag}"
        )
        print(accuracy_table(metrics, metrics["ks"]))
        print(f"run directory: {record.path}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from bench.compare import compare_runs
    from bench.results import load_run
    from bench.tables import comparison_table

    a, b = load_run(args.run_a), load_run(args.run_b)
    result = compare_runs(
        a,
        b,
        tuple(args.k),
        rule=args.rule,
        composite=args.composite,
        n_resamples=args.resamples,
        seed=args.seed,
    )
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print(f"A = {a.system} ({a.path})\nB = {b.system} ({b.path})")
        print(
            f"{result['n_mentions']} paired mentions of {a.benchmark}, rule {args.rule}"
            + (", composite mode" if args.composite else "")
        )
        print(comparison_table(result))
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from bench.report.collect import scan
    from bench.tables import runs_table

    records = scan(args.runs)  # run directories, or folders of them at any depth
    print(runs_table(records, tuple(args.k), rule=args.rule, fmt=args.format))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from bench.api import score
    from bench.tables import accuracy_table

    path = Path(args.predictions).expanduser().resolve()
    record = score(
        path,
        args.benchmark,
        format=args.format,
        profile=args.profile,
        split=args.split,
        ks=args.k,
        out=args.out,
        label=args.label,
        name=args.name,
        force=args.force,
        data_dir=args.data_dir,
    )
    metrics = record.metrics
    info = metrics["system_info"]
    matching = info.get("matching") or {}
    print(f"{path.name} ({info.get('format')}) on {record.benchmark}/{record.config['split']} "
          f"({metrics['n_mentions']} mentions): {matching.get('matched', 0)} matched")  # fmt: skip
    if matching.get("missing"):
        print(
            f"  {matching['missing']} mention(s) have no prediction and count as wrong, e.g. "
            + ", ".join(matching["missing_examples"][:5])
        )
    if matching.get("unmatched"):
        print(
            f"  {matching['unmatched']} row(s) name no mention of this split and were not scored, e.g. "
            + ", ".join(str(e) for e in matching["unmatched_examples"][:5])
        )
    print(accuracy_table(metrics, metrics["ks"]))
    print(record.path)
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    from bench.describe import benchmark_summary, system_summary
    from bench.registry import BENCHMARKS, SYSTEMS, PluginLoadError

    systems = args.what == "systems"
    registry = SYSTEMS if systems else BENCHMARKS
    rows = []
    for name in registry.names():
        try:
            summary = system_summary(registry.get(name)) if systems else benchmark_summary(name)
        except PluginLoadError as error:
            summary = f"BROKEN: {error}"
        rows.append((name, registry.origin(name), summary))
    for name, problem in registry.broken.items():
        if name not in {r[0] for r in rows}:
            rows.append((name, "?", f"BROKEN: {problem}"))
    for name, origin, summary in rows:  # tab-separated: name, origin, description
        print(f"{name}\t{origin}\t{summary}".rstrip("\t"))
    if systems:
        print("\n(bioel-bench describe SYSTEM lists a system's options)")
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    from bench.describe import option_docs, render_options, system_summary
    from bench.registry import SYSTEMS

    cls = SYSTEMS.get(args.system)
    print(render_options(args.system, system_summary(cls), option_docs(cls.Options), args.format))
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from bench.benchmarks.prepare import prepare

    if args.layout != "official":
        from bench.benchmarks.processed import prepare_processed

        if args.source is None:
            raise BenchError(f"--layout {args.layout} needs --from DIR (the folder of the paper's processed files)")
        prepare_processed(args.benchmark, args.layout, args.source, args.data_dir)
        return 0
    report = prepare(args.benchmark, from_dir=args.source, data_dir=args.data_dir, mirror=args.mirror)
    from tabulate import tabulate

    print(
        tabulate(
            [[p.name, p.status, (p.sha256 or "")[:12], p.note] for p in report],
            headers=["file", "status", "sha256", "note"],
        )
    )
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from bench.benchmark import BenchmarkSuite
    from bench.runner import load_benchmark
    from bench.stats import benchmark_stats

    benchmark = load_benchmark(args.benchmark, args.profile, args.data_dir)
    if isinstance(benchmark, BenchmarkSuite):
        stats = [benchmark_stats(load_benchmark(m, args.profile, args.data_dir)) for m in benchmark.members]
    else:
        stats = benchmark_stats(benchmark)
    if args.json:
        print(json.dumps(stats, indent=2, sort_keys=True))
    else:
        for one in stats if isinstance(stats, list) else [stats]:
            print(render_stats(one))
    return 0


def render_stats(stats: dict[str, Any]) -> str:
    from tabulate import tabulate

    rows = [
        [
            name,
            s["documents"] if s["documents"] is not None else "-",
            s["mentions"],
            s["composite"],
            s["concepts"],
            s["mentions_with_gold_missing_from_kb"],
        ]
        for name, s in stats["splits"].items()
    ]
    lines = [
        f"{stats['name']} (profile {stats['protocol']})",
        tabulate(rows, headers=["split", "documents", "mentions", "composite", "concepts", "gold not in KB"]),
    ]
    kb = stats["kb"]
    lines.append(
        f"KB {kb['name']}: {kb['concepts']} concepts, {kb['names']} names, {kb['ambiguous_names']} ambiguous"
        + (" [closed-world: built from the corpus, not the real KB]" if kb["closed_world"] else "")
    )
    overlap = stats.get("test_overlap_with_train_dev")
    if overlap:
        lines.append(
            f"test mentions seen in train+dev: {overlap['mentions_seen']} ({overlap['mentions_seen_pct']}%); "
            f"with concepts seen: {overlap['concepts_seen']} ({overlap['concepts_seen_pct']}%)"
        )
    record = stats.get("protocol_record") or {}
    if record.get("expander"):
        lines.append(f"abbreviations detected by {record['expander']}")
    steps = stats.get("steps") or {}
    if steps:
        names = sorted({step for counts in steps.values() for step in counts})
        columns = [s for s in ("train", "dev", "test", "kb") if s in steps]
        table = [[step, *(steps[c].get(step, "") for c in columns)] for step in names]
        lines.append(f"what profile {stats['protocol']} did (per split; kb = the knowledge base):")
        lines.append(tabulate(table, headers=["step", *columns]))
    for flag, value in stats["flags"].items():
        lines.append(f"flag {flag}: {value}")
    return "\n".join(lines)


def cmd_export_lmeval(args: argparse.Namespace) -> int:
    from bench.lmeval.export import main as export_main

    return export_main(args.args) or 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bench.mission import run_mission

    return run_mission(args.config, out=args.out, data_dir=args.data_dir)


def cmd_sweep(args: argparse.Namespace) -> int:
    from bench.experiments.sweep import cmd_sweep as sweep

    return sweep(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bioel-bench", description="Biomedical entity linking benchmark harness.", epilog=EPILOG
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (also BIOEL_BENCH_DEBUG=1); anywhere"
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    run = verbs.add_parser(
        "run",
        help="run a system on a benchmark and store the result",
        description="Fit a system, predict the split, print acc@k and the run directory.",
    )
    run.add_argument("--system", required=True, help="a registered system (see 'bioel-bench ls systems')")
    run.add_argument("--benchmark", required=True, help="a registered benchmark (see 'bioel-bench ls benchmarks')")
    run.add_argument("--split", default="test", help="split to evaluate (default: test)")
    run.add_argument(
        "--k", type=positive_int, nargs="+", default=list(range(1, 11)), help="k values for acc@k (default 1..10)"
    )
    run.add_argument("--seed", type=int, default=0, help="seed for data order, initialisation and tie-breaking")
    run.add_argument("--out", default="runs", help="folder of run directories (default: runs)")
    run.add_argument(
        "--name", type=run_name, default=None, help="run directory name (default: derived from the config)"
    )
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a system option (repeatable)")
    run.add_argument("--profile", default=DEFAULT_PROFILE, help=PROFILE_HELP)
    run.add_argument(
        "--data-dir", default=None, help="prepared-data folder (default: $BIOEL_BENCH_DATA or the user cache)"
    )
    run.add_argument("--force", action="store_true", help="rerun even if an identical finished run exists")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.set_defaults(func=cmd_run)

    compare = verbs.add_parser(
        "compare",
        help="paired significance test of two runs",
        description="acc@k of both runs, B - A with a bootstrap CI, McNemar and randomization p-values.",
    )
    compare.add_argument("run_a", help="run directory A (the baseline)")
    compare.add_argument("run_b", help="run directory B")
    compare.add_argument("--k", type=positive_int, nargs="+", default=[1, 5, 10])
    compare.add_argument("--rule", choices=["union", "dedup", "strict"], default="union", help="scoring rule")
    compare.add_argument("--composite", action="store_true", help="BioSyn composite mode")
    compare.add_argument("--resamples", type=positive_int, default=10_000, help="bootstrap and randomization resamples")
    compare.add_argument("--seed", type=int, default=0, help="seed of the resampling")
    compare.add_argument("--json", action="store_true")
    compare.set_defaults(func=cmd_compare)

    table = verbs.add_parser(
        "table", help="a table of runs (Markdown or LaTeX)", description="One row per run directory."
    )
    table.add_argument("runs", nargs="+", help="run directories")
    table.add_argument("--format", choices=["md", "latex", "plain"], default="md")
    table.add_argument("--k", type=positive_int, nargs="+", default=[1, 5, 10])
    table.add_argument("--rule", choices=["union", "dedup", "strict"], default="union")
    table.set_defaults(func=cmd_table)

    prep = verbs.add_parser(
        "prepare",
        help="fetch and check a benchmark's official files",
        description="Copy (--from), mirror (--mirror) or download the official files, check their sha256 against "
        "the card, and parse every variant once.",
    )
    prep.add_argument("benchmark", help="a benchmark or family name (e.g. ncbi-disease, bc5cdr, aap)")
    prep.add_argument("--from", dest="source", default=None, help="a folder holding the official files")
    prep.add_argument("--mirror", default=None, help="base URL of a mirror laid out like that folder")
    prep.add_argument(
        "--layout",
        choices=("official", "biosyn", "genbioel"),
        default="official",
        help="what --from holds: the official files (default), or BioSyn's / GenBioEL's processed files "
        "(then run with --profile biosyn-processed / genbioel-processed)",
    )
    prep.add_argument("--data-dir", default=None, help="prepared-data folder (default: $BIOEL_BENCH_DATA or cache)")
    prep.set_defaults(func=cmd_prepare)

    stats = verbs.add_parser(
        "stats",
        help="statistics of a prepared benchmark",
        description="Mentions, documents, composite mentions, KB size, gold ids missing from the KB, and test "
        "overlap with train+dev.",
    )
    stats.add_argument("benchmark")
    stats.add_argument("--profile", default=DEFAULT_PROFILE, help=PROFILE_HELP)
    stats.add_argument("--data-dir", default=None)
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)

    ls = verbs.add_parser(
        "ls",
        help="list registered systems or benchmarks",
        description="Built-in entries and those of installed plug-ins (entry points).",
    )
    ls.add_argument("what", choices=["systems", "benchmarks"])
    ls.set_defaults(func=cmd_ls)
    score = verbs.add_parser(
        "score",
        help="score any linker's predictions file as a run (jsonl, tsv, BELB, BioSyn, ANGEL formats)",
        description="Read a predictions file, match its rows to the benchmark's mentions (by id, or document and "
        "span; BioSyn's and ANGEL's files by position, checked against the mention strings), and write a normal "
        "run folder (compare, report and errors read it). Formats: see bench/prediction_formats.py.",
    )
    score.add_argument("predictions", metavar="PREDICTIONS")
    score.add_argument("--benchmark", required=True)
    score.add_argument("--profile", default=DEFAULT_PROFILE, help=PROFILE_HELP)
    score.add_argument("--format", choices=["auto", "jsonl", "tsv", "belb", "biosyn", "angel"], default="auto")
    score.add_argument("--split", default="test")
    score.add_argument("--k", type=positive_int, nargs="+", default=list(range(1, 11)))
    score.add_argument("--label", default=None, help="the system's name in tables (default: the file's stem)")
    score.add_argument("--name", default=None, help="run directory name (default: from the run key)")
    score.add_argument("--out", default="runs")
    score.add_argument("--force", action="store_true")
    score.add_argument("--data-dir", default=None)
    score.set_defaults(func=cmd_score)
    describe = verbs.add_parser(
        "describe",
        help="a system's options: type, default and meaning",
        description="Every option of a system (set with --set NAME=VALUE), with its type, default and the meaning "
        "written beside it in the code.",
    )
    describe.add_argument("system")
    describe.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    describe.set_defaults(func=cmd_describe)
    demo = verbs.add_parser(
        "demo",
        help="the mission on the embedded demo: genbioel vs angel (and exact, tfidf) with significance tests",
        description="Train genbioel and angel (sharing one positive-only stage) beside exact and tfidf on the "
        "embedded demo, then print each system's acc@1/5/10, the paired genbioel-vs-angel comparison and the "
        "main table with significance markers (what `make demo` runs). Finished runs are reused.",
    )
    demo.add_argument("--config", default="configs/demo.yaml", help="the experiment (default: configs/demo.yaml)")
    demo.add_argument("--out", default=None, help="folder of the run directories (default: the config's out)")
    demo.add_argument("--data-dir", default=None)
    demo.set_defaults(func=cmd_demo)
    sweep = verbs.add_parser(
        "sweep",
        help="run every run of an experiment config (skips finished runs, resumes interrupted ones)",
        description="Expand an experiment config into runs; skip finished ones, resume interrupted ones; run them "
        "in parallel local processes or as a Slurm job array. Exit status 1 if a run failed.",
    )
    sweep.add_argument("config", metavar="CONFIG", help="an experiment config (YAML), e.g. configs/smoke.yaml")
    sweep.add_argument("--dry-run", action="store_true", help="list the runs and their status; run nothing")
    sweep.add_argument("--executor", choices=["local", "slurm"], default=None, help="default: the config's")
    sweep.add_argument(
        "--workers", type=positive_int, default=None, help="parallel local processes (default: the config's)"
    )
    sweep.add_argument("--out", default=None, help="folder of the run directories (default: the config's out)")
    sweep.add_argument("--data-dir", default=None, help="prepared-data folder (default: $BIOEL_BENCH_DATA or cache)")
    sweep.set_defaults(func=cmd_sweep)

    lmeval = verbs.add_parser(
        "export-lmeval",
        help="export a benchmark as an lm-evaluation-harness task folder",
        description="Generation and ranking tasks, data files and utils.py (see bench/lmeval/export.py).",
        add_help=False,
    )
    lmeval.add_argument("args", nargs=argparse.REMAINDER)
    lmeval.set_defaults(func=cmd_export_lmeval)

    from bench.report.cli import add_errors_parser, add_report_parser
    from bench.report.export import add_export_parser

    add_report_parser(verbs)
    add_errors_parser(verbs)
    add_export_parser(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug anywhere: show the traceback of an error instead of its one-line message
    debug = "--debug" in argv or os.environ.get("BIOEL_BENCH_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    if argv[:1] == ["export-lmeval"]:  # its own parser owns every option, --help included
        return _guarded(lambda: cmd_export_lmeval(argparse.Namespace(args=argv[1:])), debug)
    args = build_parser().parse_args(argv)
    return _guarded(lambda: args.func(args), debug)


def _guarded(call, debug: bool = False) -> int:
    """Run a verb; our errors and the system's (a read-only folder, a file where a folder belongs, a
    full disk) print one line naming the file and exit 2. ``--debug`` re-raises for the traceback."""
    try:
        return call()
    except BrokenPipeError:  # the reader left (`... | head`): not an error of ours
        sys.stderr.close()  # nothing more can be written; silence the interpreter's flush at exit
        return 0
    except KeyboardInterrupt:
        print(
            "bioel-bench: interrupted; an unfinished run resumes when you run the same command again", file=sys.stderr
        )
        return 130
    except (BenchError, OSError) as error:
        if debug:
            raise
        print(f"bioel-bench: error: {describe_error(error)}", file=sys.stderr)
        return 2


PROFILE_HELP = (
    f"protocol profile: {', '.join(PROFILES)} (default {DEFAULT_PROFILE}; "
    + ", ".join(f"{alias} = {target}" for alias, target in ALIASES.items())
    + "); see datasets/protocols/"
)
hint_for_file = "a file stands where a folder is needed; choose another path"


def describe_error(error: BaseException) -> str:
    """One line for an error: ours as written, an OS error with its file and what to do."""
    if isinstance(error, BenchError):
        return str(error)
    if isinstance(error, OSError):
        where = error.filename or ""
        reason = error.strerror or str(error)
        if error.errno == errno.EEXIST and where and Path(where).is_file():  # mkdir over a file
            return f"{where}: is a file ({hint_for_file})"
        hint = {
            errno.EACCES: "check the folder's permissions or choose another with --out / --data-dir",
            errno.EROFS: "the file system is read-only; choose another folder with --out / --data-dir",
            errno.ENOTDIR: hint_for_file,
            errno.EPERM: "the system does not let anyone write here; choose another folder with --out / --data-dir",
            errno.EEXIST: "remove it or choose another path",
            errno.ENOSPC: "the disk is full; free space and run the same command again (it resumes)",
        }.get(error.errno or 0, "run again with --debug for the traceback")
        return f"{where}: {reason} ({hint})" if where else f"{reason} ({hint})"
    return f"{type(error).__name__}: {error}"


if __name__ == "__main__":
    sys.exit(main())
