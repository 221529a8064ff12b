"""Command line of the report verbs: ``report`` and ``errors``.

``bench.cli`` adds both to ``bioel-bench`` with :func:`add_report_parser` and
:func:`add_errors_parser`; :func:`main` runs them on their own
(``python -m bench.report report ...``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from bench.cli_types import non_negative_int, positive_int
from bench.errors import BenchError


def cmd_report(args: argparse.Namespace) -> int:
    from bench.report.build import build_report, command_line

    report = build_report(
        args.inputs,
        args.out,
        baseline=args.baseline,
        runs_dir=args.runs,
        figures=not args.no_figures,
        command=command_line(args.inputs, args.out, args.baseline, not args.no_figures, args.runs, args.html),
        html=args.html,
    )
    for missing in report.collection.missing:
        print(f"missing run: {missing}", file=sys.stderr)
    if report.figures_skipped and not args.no_figures:
        print(f"figures skipped: {report.figures_skipped}", file=sys.stderr)
    print(report.out)
    return 0


def cmd_errors(args: argparse.Namespace) -> int:
    from bench.report.errors import error_analysis, render_markdown

    result = error_analysis(args.run_a, args.run_b, k=args.k, examples=args.examples, rule=args.rule)
    if args.format == "json":
        print(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print(render_markdown(result), end="")
    return 0


def add_report_parser(verbs: argparse._SubParsersAction) -> argparse.ArgumentParser:
    report = verbs.add_parser(
        "report",
        help="rebuild a report's tables, tests and figures from run directories",
        description="Main table (acc@1 mean ± sd over seeds, † where the difference to the baseline is significant "
        "after Holm correction over benchmarks), top-k, ablation and leakage tables in Markdown and LaTeX, "
        "significance.json, figures (PNG and PDF) and a README, from the run directories alone.",
    )
    report.add_argument(
        "inputs",
        nargs="+",
        metavar="CONFIG_OR_RUNS",
        help="an experiment config (runs from <out>/sweep.json, else found in <out>), or run directories and "
        "folders of run directories",
    )
    report.add_argument(
        "--out", default=None, help="output folder (default: <config out>/report, or <runs folder>/report)"
    )
    report.add_argument(
        "--runs", default=None, metavar="DIR", help="with a config: the folder its sweep wrote (default: its out)"
    )
    report.add_argument("--baseline", default=None, help="system label the markers compare with (default: config)")
    report.add_argument("--no-figures", action="store_true", help="write the tables and tests only")
    report.add_argument(
        "--html",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write index.html (the default; --no-html to skip): a self-contained page with a sortable "
        "leaderboard, per-benchmark detail and a mention-level drill-down of two runs",
    )
    report.set_defaults(func=cmd_report)
    return report


def add_errors_parser(verbs: argparse._SubParsersAction) -> argparse.ArgumentParser:
    errors = verbs.add_parser(
        "errors",
        help="error analysis of two runs: what one gets right and the other wrong, by kind",
        description="Mentions A gets right at k and B wrong (and the reverse), counted by kind (mention or concept "
        "unseen in train+dev, composite, name shared by several concepts, gold outside the loser's ranked list), "
        "with examples.",
    )
    errors.add_argument("run_a", help="run directory A")
    errors.add_argument("run_b", help="run directory B")
    errors.add_argument("--k", type=positive_int, default=1, help="correct means a hit within the top k (default 1)")
    errors.add_argument(
        "--examples", type=non_negative_int, default=3, help="examples per kind and direction (default 3)"
    )
    errors.add_argument("--rule", choices=["union", "dedup", "strict"], default="union", help="scoring rule")
    errors.add_argument("--format", choices=["md", "json"], default="md")
    errors.set_defaults(func=cmd_errors)
    return errors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description="Reports and error analyses.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    add_report_parser(verbs)
    add_errors_parser(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BenchError as error:
        print(f"bioel-bench: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
