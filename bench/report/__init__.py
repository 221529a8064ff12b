"""Reports rebuilt from run directories alone: tables, paired tests, figures, error analyses.

* :func:`build_report` (``bioel-bench report CONFIG_OR_RUNS``): main table, top-k,
  ablation and leakage tables (Markdown and LaTeX), ``significance.json``,
  figures and a README, deterministic so that a rebuild gives the same tables;
* :func:`error_analysis` (``bioel-bench errors RUN_A RUN_B``): the mentions one
  run gets right and the other wrong, by kind, with examples.

Importing this package is cheap: matplotlib is loaded only to draw figures.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report", "error_analysis", "main", "render_errors_markdown"]


def build_report(*args: Any, **kwargs: Any):
    from bench.report.build import build_report as build

    return build(*args, **kwargs)


def error_analysis(*args: Any, **kwargs: Any) -> dict[str, Any]:
    from bench.report.errors import error_analysis as analyse

    return analyse(*args, **kwargs)


def render_errors_markdown(result: dict[str, Any]) -> str:
    from bench.report.errors import render_markdown

    return render_markdown(result)


def main(argv: Any = None) -> int:
    from bench.report.cli import main as run

    return run(argv)
