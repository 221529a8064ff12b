"""Error analysis of two runs: the mentions one gets right and the other wrong, by kind.

Correctness is recomputed from the prediction files exactly as
``bioel-bench compare`` does (same rule, same alignment, same refusal of runs
on different test data or KBs), so "A right, B wrong" here is McNemar's
``n10`` there. Each discordant mention is tagged with every kind that applies
(kinds overlap; ``other`` is a mention with none), using only what the run
directories hold:

* ``mention_unseen``: the mention string does not occur in train+dev;
* ``concept_unseen``: the gold concept is not gold anywhere in train+dev (zero-shot);
* ``composite``: the annotation names several concepts (``|``/``+``) or was split into parts;
* ``shared_name``: a KB name shared by several concepts is involved: the top-1 name of either
  system carries more than one concept id, or the mention's own (normalised) string is such a
  name among either system's candidates. Candidates record every id their name has in the KB,
  so this is read off the predictions without the KB;
* ``gold_not_retrieved``: the losing system's whole ranked list (its top-K, K the largest k it
  was run with) holds no gold id: a retrieval miss rather than a ranking error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from bench.compare import paired_ranks
from bench.metrics import Rule
from bench.normalize import normalize_name
from bench.results import REDACTION, RunRecord, load_run

KINDS = {
    "mention_unseen": "mention string unseen in train+dev",
    "concept_unseen": "gold concept unseen in train+dev (zero-shot)",
    "composite": "composite mention (several concepts)",
    "shared_name": "a name shared by several concepts (top-1 of either system, or the mention string)",
    "gold_not_retrieved": "gold outside the losing system's whole ranked list (top-K)",
    "other": "none of the above",
}


def _run(run: RunRecord | str | Path) -> RunRecord:
    return run if isinstance(run, RunRecord) else load_run(run)


def _top1(row: Mapping[str, Any]) -> dict[str, Any] | None:
    candidates = row.get("candidates") or []
    if not candidates:
        return None
    return {"name": candidates[0]["name"], "ids": list(candidates[0]["ids"])}


def _shared_name(row_a: Mapping[str, Any], row_b: Mapping[str, Any]) -> bool:
    text = normalize_name(row_a["text"])  # empty in a redacted export: only the top-1 test applies
    for row in (row_a, row_b):
        candidates = row.get("candidates") or []
        if candidates and len(candidates[0]["ids"]) > 1:
            return True
        if text and any(len(c["ids"]) > 1 and normalize_name(c["name"]) == text for c in candidates):
            return True
    return False


def kinds_of(row_a: Mapping[str, Any], row_b: Mapping[str, Any], loser_rank: float) -> list[str]:
    """Every kind that applies to one discordant mention (``row_a``/``row_b``: both runs' rows)."""
    kinds = []
    if not row_a.get("mention_seen", True):
        kinds.append("mention_unseen")
    if not row_a.get("concept_seen", True):
        kinds.append("concept_unseen")
    if len(row_a.get("gold_groups") or []) > 1 or row_a.get("parts"):
        kinds.append("composite")
    if _shared_name(row_a, row_b):
        kinds.append("shared_name")
    if not np.isfinite(loser_rank):
        kinds.append("gold_not_retrieved")
    return kinds or ["other"]


def _describe(run: RunRecord) -> dict[str, Any]:
    return {
        "run": run.name,
        "label": run.config.get("label") or run.system,
        "system": run.system,
        "benchmark": run.benchmark,
        "seed": run.config.get("seed"),
    }


def error_analysis(
    run_a: RunRecord | str | Path,
    run_b: RunRecord | str | Path,
    k: int = 1,
    examples: int = 3,
    *,
    rule: Rule = "union",
) -> dict[str, Any]:
    """Mentions A gets right at k and B wrong (and the reverse), counted by kind, with examples.

    Examples are the first mentions of each kind in test order (deterministic), one per distinct
    mention string and gold.
    Raises :class:`~bench.errors.IncomparableRunsError` for runs on different
    test data or KBs.
    """
    a, b = _run(run_a), _run(run_b)
    ranks_a, ranks_b = paired_ranks(a, b, rule)
    rows_a = a.rows
    rows_b = {row["id"]: row for row in b.rows}
    right_a, right_b = ranks_a <= k, ranks_b <= k
    directions = {"a_right_b_wrong": right_a & ~right_b, "b_right_a_wrong": right_b & ~right_a}
    result: dict[str, Any] = {
        "a": _describe(a),
        "b": _describe(b),
        "k": k,
        "rule": rule,
        "n_mentions": int(ranks_a.size),
        "both_right": int(np.count_nonzero(right_a & right_b)),
        "both_wrong": int(np.count_nonzero(~right_a & ~right_b)),
        "kinds": dict(KINDS),
        "redacted": [r.name for r in (a, b) if (r.path / REDACTION).is_file()],
    }
    for direction, mask in directions.items():
        loser = ranks_b if direction == "a_right_b_wrong" else ranks_a
        counts = dict.fromkeys(KINDS, 0)
        found: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
        for index in np.flatnonzero(mask):
            row_a = rows_a[index]
            row_b = rows_b[row_a["id"]]
            for kind in kinds_of(row_a, row_b, float(loser[index])):
                counts[kind] += 1
                shown = {(e["text"].lower(), tuple(e["gold"])) for e in found[kind]}
                if len(found[kind]) < examples and (row_a["text"].lower(), tuple(row_a["gold"])) not in shown:
                    found[kind].append(
                        {
                            "id": row_a["id"],
                            "text": row_a["text"],
                            "gold": list(row_a["gold"]),
                            "a_top1": _top1(row_a),
                            "b_top1": _top1(row_b),
                            "a_rank": _rank(ranks_a[index]),
                            "b_rank": _rank(ranks_b[index]),
                        }
                    )
        result[direction] = {
            "count": int(np.count_nonzero(mask)),
            "kinds": counts,
            "examples": {kind: found[kind] for kind in KINDS if found[kind]},
        }
    return result


def _rank(value: float) -> int | None:
    return int(value) if np.isfinite(value) else None


def _prediction(top: Mapping[str, Any] | None) -> str:
    if top is None:
        return "(no prediction)"
    return f"{top['name']} [{', '.join(top['ids'])}]"


def render_markdown(result: Mapping[str, Any]) -> str:
    """The analysis as Markdown: a count table per direction, then examples per kind."""
    a, b = result["a"], result["b"]
    lines = [
        f"# Error analysis: {a['label']} vs {b['label']} on {a['benchmark']}",
        "",
        f"- A = {a['label']} ({a['system']}, seed {a['seed']}): `{a['run']}`",
        f"- B = {b['label']} ({b['system']}, seed {b['seed']}): `{b['run']}`",
        f"- {result['n_mentions']} mentions, correctness at k={result['k']} ({result['rule']} rule): "
        f"both right {result['both_right']}, both wrong {result['both_wrong']}, "
        f"A right and B wrong {result['a_right_b_wrong']['count']}, "
        f"B right and A wrong {result['b_right_a_wrong']['count']}.",
        "- Kinds overlap (a mention counts under every kind that applies).",
    ]
    if result.get("redacted"):
        lines.append(
            "- Texts redacted (licensed corpus or KB; see redaction.json in "
            + ", ".join(f"`{name}`" for name in result["redacted"])
            + "): examples show ids only, and shared_name counts only ambiguous top-1 names."
        )
    lines += [
        "",
        tabulate(
            [
                [kind, result["a_right_b_wrong"]["kinds"][kind], result["b_right_a_wrong"]["kinds"][kind], text]
                for kind, text in result["kinds"].items()
            ]
            + [["all", result["a_right_b_wrong"]["count"], result["b_right_a_wrong"]["count"], ""]],
            headers=["kind", "A right, B wrong", "B right, A wrong", "meaning"],
            tablefmt="github",
            disable_numparse=True,
            colalign=["left", "right", "right", "left"],
        ),
    ]
    titles = {"a_right_b_wrong": "A right, B wrong", "b_right_a_wrong": "B right, A wrong"}
    for direction, title in titles.items():
        lines += ["", f"## {title} ({result[direction]['count']})"]
        for kind, found in result[direction]["examples"].items():
            lines += ["", f"### {kind} ({result[direction]['kinds'][kind]})", ""]
            for example in found:
                lines.append(
                    f"- `{example['text']}` (gold {', '.join(example['gold'])}): "
                    f"A -> {_prediction(example['a_top1'])}, rank {example['a_rank'] or '-'}; "
                    f"B -> {_prediction(example['b_top1'])}, rank {example['b_rank'] or '-'}"
                )
    return "\n".join(lines) + "\n"
