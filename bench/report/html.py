"""One self-contained HTML page to browse a report: leaderboard, per-benchmark detail, mention drill-down.

``bioel-bench report ... --html`` writes ``index.html`` next to the tables. The
page needs no server and loads nothing from the network (its data is one JSON
block, its script and style are inline), so it can be mailed or opened from a
laptop. It holds:

- the leaderboard: acc@1 (mean over seeds) per system and benchmark, ``†`` where
  the Holm-corrected McNemar test against the baseline is significant (the same
  tests as ``significance.json``), sortable by any column;
- per benchmark: acc@1/5/10, mentions, seeds, and the flags and health warnings
  each run recorded;
- a drill-down: two runs side by side, mention by mention (gold ids, each run's
  top 3 with the hit marked, fixed / broken / both right / both wrong), filtered
  by outcome, by seen / unseen mention string and by text.

Texts of runs that read licensed sources (COMETA's corpus, SNOMED CT, UMLS) are
left out, as in ``export`` (:func:`bench.report.export.redaction_reason`): such a
benchmark's drill-down shows mention ids and concept ids only.
Hand-written because no maintained Python package renders a static, sortable,
filterable page without a server or a front-end build step.
"""

from __future__ import annotations

import html
import json
from typing import Any

from bench.report.export import redaction_reason
from bench.report.significance import ALPHA, reported_accuracy

TOP = 3


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * float(value), 2)


def page_data(report) -> dict[str, Any]:
    """Everything the page shows, as plain JSON (also what the tests read)."""
    collection = report.collection
    labels = [*collection.labels, *collection.ablations]
    significant = {
        (t["system"], t["benchmark"]): bool(t.get("significant"))
        for t in report.significance.get("main", []) + report.significance.get("ablation", [])
    }
    leaderboard, details, drill = [], {}, {}
    for label in labels:
        row: dict[str, Any] = {"system": label, "cells": {}}
        for benchmark in collection.benchmarks:
            group = collection.groups.get((label, benchmark))
            if group is None:
                continue
            # what the tables show: a suite's (AskAPatient's) mean over its folds, else the run's accuracy
            values = [reported_accuracy(r, 1) for r in group.records()]
            values = [v for v in values if v is not None]
            row["cells"][benchmark] = {
                "acc1": _percent(sum(values) / len(values)) if values else None,
                "significant": significant.get((label, benchmark), False),
            }
        cells = [c["acc1"] for c in row["cells"].values() if c["acc1"] is not None]
        row["mean"] = round(sum(cells) / len(cells), 2) if cells else None
        leaderboard.append(row)
    for benchmark in collection.benchmarks:
        rows, runs = [], {}
        for label in labels:
            group = collection.groups.get((label, benchmark))
            if group is None:
                continue
            first = group.runs[group.seeds[0]]
            acc = (first.metrics.get("acc_member_mean") or first.metrics["acc"])["union"]
            warnings = sorted({w for r in group.records() for w in (r.metrics.get("health") or {}).get("warnings", [])})
            flags = first.metrics.get("flags") or {}
            rows.append(
                {
                    "system": label,
                    "acc": {k: _percent(acc.get(k)) for k in ("1", "5", "10")},
                    "n": first.metrics.get("n_mentions"),
                    "seeds": group.seeds,
                    "flags": sorted(f"{k}: {v}" if not isinstance(v, bool) else k for k, v in flags.items() if v),
                    "warnings": warnings,
                    "run": first.name,
                }
            )
            runs[label] = first
        details[benchmark] = rows
        drill[benchmark] = _drill_down(runs)
    from bench.report.build import benchmark_flags

    return {
        "title": f"Report: {collection.name}" if collection.name else "Report",
        "flagged": benchmark_flags(collection),  # benchmark -> why its numbers are not comparable
        "baseline": collection.baseline,
        "alpha": ALPHA,
        "benchmarks": list(collection.benchmarks),
        "leaderboard": leaderboard,
        "details": details,
        "drill": drill,
    }


def _drill_down(runs: dict[str, Any]) -> dict[str, Any]:
    """Mentions of one benchmark and, per run, its top-3 names and hit rank (0 = no hit in the list)."""
    if not runs:
        return {}
    redacted = any(redaction_reason(r) for r in runs.values())
    first = next(iter(runs.values()))
    mentions = [
        {
            "id": row["id"],
            "text": "" if redacted else row["text"],
            "gold": row["gold"],
            "seen": bool(row.get("mention_seen")),
        }
        for row in first.rows
    ]
    names: dict[str, int] = {}
    per_run = {}
    for label, record in runs.items():
        by_id = {row["id"]: row for row in record.rows}
        entries = []
        for mention in mentions:
            row = by_id.get(mention["id"])
            candidates = (row or {}).get("candidates", [])
            gold = set(mention["gold"])
            hit = next((i + 1 for i, c in enumerate(candidates) if set(c["ids"]) & gold), 0)
            shown = []
            for c in candidates[:TOP]:
                name = "|".join(c["ids"]) if redacted else c["name"]
                shown.append(names.setdefault(name, len(names)))
            entries.append([hit, shown])
        per_run[label] = entries
    return {"redacted": redacted, "mentions": mentions, "names": list(names), "runs": per_run}


def render(data: dict[str, Any]) -> str:
    """The page (``browser.html``, shipped with the package) with the data as JSON in a script tag."""
    from importlib.resources import files

    template = files("bench.report").joinpath("browser.html").read_text(encoding="utf-8")
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    return template.replace("__TITLE__", html.escape(data["title"])).replace("__DATA__", payload)


def write_html(report, name: str = "index.html") -> str:
    from bench.results import atomic_write_text

    atomic_write_text(report.out / name, render(page_data(report)))
    return name
