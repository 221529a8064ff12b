"""Is a trained model fit to be reported? Warnings for the failures that otherwise pass silently.

A generative linker that collapsed (one name for most mentions), a training loss
that never moved, a dev score stuck at zero, ANGEL's negative stage with a handful
of pairs or a DPO loss pinned at ln 2: each still yields a run folder and a number
in a table. These checks turn them into warnings, logged when the run ends (and in
its ``log.txt``) and recorded in ``metrics.json`` (``health.warnings``) beside the
numbers. They never change a result.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

#: a top-1 name given to more than this share of the test mentions (with at least ``MIN_MENTIONS``)
COLLAPSE_SHARE = 0.5
MIN_MENTIONS = 20
#: a stage's loss that fell by less than this share from its first to its last logged values
FLAT_LOSS = 0.02
#: a best dev acc@1 below this
DEV_FLOOR = 0.02
#: fewer preference pairs than this in ANGEL's whole negative stage
FEW_PAIRS = 50
LN2 = math.log(2)


def prediction_warnings(top_names: Sequence[str | None]) -> list[str]:
    """One name given to most mentions: the model answers the same thing whatever it reads."""
    named = [n for n in top_names if n]
    if len(top_names) < MIN_MENTIONS or not named:
        return []
    name, count = Counter(named).most_common(1)[0]
    if count / len(top_names) > COLLAPSE_SHARE:
        return [f"collapsed predictions: {count} of {len(top_names)} test mentions get the same top-1 name ({name!r})"]
    return []


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def stage_warnings(stage: str, info: Mapping[str, Any]) -> list[str]:
    """A training stage (its ``stage.json``): a loss that did not move, a dev score stuck at zero."""
    warnings = []
    losses = [float(x) for x in info.get("train_loss") or [] if x is not None]
    if len(losses) >= 4:
        window = max(1, len(losses) // 5)
        first, last = _mean(losses[:window]), _mean(losses[-window:])
        if first > 0 and (first - last) / first < FLAT_LOSS:
            warnings.append(f"{stage}: the training loss did not move ({first:.3f} -> {last:.3f})")
    dev = [e.get("eval_acc1") for e in info.get("dev_history") or [] if e.get("eval_acc1") is not None]
    if dev and max(dev) < DEV_FLOOR:
        warnings.append(f"{stage}: dev acc@1 stayed near 0 (best {100 * max(dev):.1f}%)")
    return warnings


def negative_stage_warnings(history: Sequence[Mapping[str, Any]]) -> list[str]:
    """ANGEL's negative stage: too few pairs to mean anything, or DPO that never left ln 2."""
    chunks = [h for h in history if "pairs" in h]
    if not chunks:
        return []
    warnings = []
    pairs = sum(int(h["pairs"]) for h in chunks)
    if pairs < FEW_PAIRS:
        warnings.append(
            f"negative stage: only {pairs} preference pairs over {len(chunks)} chunk(s); "
            "its effect cannot be told from noise"
        )
    losses = [float(h["dpo_loss"]) for h in chunks if h.get("dpo_loss") is not None and not math.isnan(h["dpo_loss"])]
    margins = [float(h["dpo_reward_margin"]) for h in chunks if h.get("dpo_reward_margin") is not None]
    margins = [m for m in margins if not math.isnan(m)]
    if losses and all(abs(x - LN2) < 1e-3 for x in losses) and all(abs(m) < 1e-3 for m in margins):
        warnings.append(
            "negative stage: the DPO loss stayed at ln 2 with a zero reward margin: the policy did not move "
            "from the reference (learning rate too low, or no pairs in the batches)"
        )
    return warnings
