"""``bioel-bench export``: finished runs made small enough to commit or share.

A report is only as reproducible as its runs: committing the run directories
next to the tables lets anyone rebuild the tables byte for byte with
``bioel-bench report``, as HELM ships its per-instance outputs. The export
keeps config, environment, metrics and gzipped predictions and leaves the
checkpoints behind.

Some corpora and KBs may not be redistributed (COMETA is CC BY-NC-ND and its
card says never to commit excerpts; SNOMED CT and UMLS are licensed). Their
cards mark those source files ``licensed: true``; a run that read any of them
is exported without mention texts and candidate names (``--redact auto``, the
default), which no table or significance test needs.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.benchmarks.sources import card_sources
from bench.errors import BenchError
from bench.paths import datasets_dir
from bench.results import RunRecord, export_run

REDACT_MODES = ("auto", "always", "never")


@functools.lru_cache(maxsize=1)
def licensed_sources() -> Mapping[str, str]:
    """Every source file that a dataset card marks ``licensed`` -> the card's family."""
    licensed: dict[str, str] = {}
    for card in sorted(datasets_dir().glob("*/README.md")):
        family = card.parent.name
        try:
            sources = card_sources(family)
        except BenchError:  # a card without sources (the demo) licenses nothing
            continue
        for source in sources:
            if source.licensed:
                licensed[source.name] = family
    return licensed


def redaction_reason(record: RunRecord, mode: str = "auto") -> str | None:
    """Why ``record``'s texts must not be redistributed, or None when they may be."""
    if mode not in REDACT_MODES:
        raise ValueError(f"redact mode must be one of {REDACT_MODES}, got {mode!r}")
    if mode == "never":
        return None
    if mode == "always":
        return "redaction requested (--redact always)"
    used = sorted((record.metrics.get("checksums") or {}).get("sources") or {})
    licensed = licensed_sources()
    hits = [name for name in used if name in licensed]
    if not hits:
        return None
    families = sorted({licensed[name] for name in hits})
    return (
        f"read licensed source files ({', '.join(hits[:3])}{', ...' if len(hits) > 3 else ''}); "
        f"see the {', '.join(families)} dataset card(s) for their terms"
    )


def export_runs(records: Sequence[RunRecord], out: Path, mode: str = "auto") -> list[tuple[Path, str | None]]:
    """Export every record into ``out``; returns (exported directory, redaction reason) pairs."""
    exported = []
    for record in records:
        reason = redaction_reason(record, mode)
        exported.append((export_run(record, out, redact_because=reason), reason))
    return exported


def cmd_export(args: argparse.Namespace) -> int:
    from bench.report.collect import scan

    records = scan(args.runs)
    for path, reason in export_runs(records, Path(args.out), args.redact):
        print(f"{path}" + (f"  (redacted: {reason})" if reason else ""))
    return 0


def add_export_parser(verbs: argparse._SubParsersAction) -> argparse.ArgumentParser:
    export = verbs.add_parser(
        "export",
        help="copy finished runs without checkpoints (gzipped predictions), to commit or share",
        description="Config, environment, metrics and gzipped predictions of each finished run; runs that read "
        "licensed source files (per the dataset cards) lose their mention texts and candidate names.",
    )
    export.add_argument("runs", nargs="+", help="run directories or folders of them")
    export.add_argument("--out", required=True, help="folder to write the exported runs into")
    export.add_argument(
        "--redact",
        choices=REDACT_MODES,
        default="auto",
        help="auto: only runs that read licensed sources (default); always; never (for private use only)",
    )
    export.set_defaults(func=cmd_export)
    return export
