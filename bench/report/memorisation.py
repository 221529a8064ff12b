"""The memorisation check: does a trained linker reproduce the training mentions it was shown?

On most BioEL test sets a large share of mentions repeat a train+dev string (on COMETA nearly
all). A lookup of those strings (``exact`` with ``use_training_mentions`` and
``memory_rule=majority``: each string's most frequent gold id set) is a floor that any model
trained on the same strings should reach on the *seen* mentions. A generative model below it
has not learned its own training data, and its comparison with another system says more about
its budget than about the method. The table puts each system's seen-mention acc@k beside the
floor's on the same subset, and says whether it is within ``tolerance`` of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bench.report.collect import Collection
from bench.report.render import Table, percent
from bench.report.tables import Key, flag_notes, header, mean_of, mean_sd

#: the check of configs/cpu.yaml (issue #16): at least the floor less one point
TOLERANCE = 0.01


def is_floor_run(config: Mapping[str, object]) -> bool:
    options = config.get("options") or {}
    return (
        config.get("system") == "exact"
        and isinstance(options, Mapping)
        and bool(options.get("use_training_mentions"))
        and options.get("memory_rule") == "majority"
    )


def floor_labels(collection: Collection) -> dict[str, str]:
    """Memory splits ("train+dev" or "train") -> the first main-table label whose runs are that floor."""
    found: dict[str, str] = {}
    for label in collection.labels:
        records = [r for (lb, _), g in sorted(collection.groups.items()) if lb == label for r in g.records()]
        if records and all(is_floor_run(r.config) for r in records):
            splits = str((records[0].config.get("options") or {}).get("memory_splits", "train+dev"))
            found.setdefault(splits, label)
    return found


def memorisation_table(
    seen: Mapping[Key, Sequence[float | None]],
    sizes: Mapping[str, int],
    labels: Sequence[str],
    benchmarks: Sequence[str],
    floor: str,
    *,
    train_floor: str | None = None,
    flags: Mapping[str, str] | None = None,
    k: int = 1,
    tolerance: float = TOLERANCE,
) -> Table:
    """One row per benchmark and system: acc@k on seen mentions, the floor's, the difference, the check.

    ``train_floor``: a floor that memorised the training split only. When given, the check is made
    against it (a linker that never trains on dev cannot be asked to recall dev strings) and both
    floors are shown.
    """
    flags = flags or {}
    rows = []
    floors = {floor, train_floor} - {None}
    for benchmark in benchmarks:
        floor_value = mean_of(seen.get((floor, benchmark)))
        bar = mean_of(seen.get((train_floor, benchmark))) if train_floor else floor_value
        if floor_value is None or bar is None:
            continue
        for label in labels:
            if label in floors or (label, benchmark) not in seen:
                continue
            value = mean_of(seen[(label, benchmark)])
            difference = None if value is None else value - bar
            meets = "-" if difference is None else "yes" if difference >= -tolerance - 1e-12 else "no"
            rows.append(
                [
                    header(benchmark, flags),
                    label,
                    str(sizes.get(benchmark, "-")),
                    mean_sd(seen[(label, benchmark)]),
                    percent(floor_value),
                    *([percent(bar)] if train_floor else []),
                    "-" if difference is None else f"{100 * difference:+.1f}",
                    meets,
                ]
            )
    against = f"the train-only floor ({train_floor})" if train_floor else "the floor"
    floors_shown = (
        f"acc@{k} (%) on the evaluated mentions whose normalised string occurs in train+dev (mean over seeds), next to "
        f"the memorisation floor ({floor}: each train+dev string linked to its most frequent gold id set) on the "
        "same mentions"
    )
    check = (
        f"Δ and 'within {100 * tolerance:.0f}': against {against}, at least it less {100 * tolerance:.0f} "
        "point; a linker trained on these very strings should get there (the check is about trained linkers; "
        "the other rows are for reference)."
    )
    if train_floor:
        floors_shown += (
            f" and the train-only floor ({train_floor}: the same lookup of the training split alone, what a linker "
            "that never trains on dev can be asked to recall; where train includes dev, the two agree)"
        )
        check += (
            " The seen subset is the runs' own (strings of train or dev): where dev was never trained on, it "
            "holds mentions no model was shown, and the check is strict; on the mentions seen in train alone "
            "(which runs do not record) it needs the benchmark's train split."
        )
    notes = [
        f"{floors_shown}. {check}",
        *flag_notes(benchmarks, flags),
    ]
    floor_columns = ["floor", "floor (train)"] if train_floor else ["floor"]
    return Table(
        f"Memorisation check: acc@{k} (%) on seen mentions against the floor",
        ["benchmark", "system", "n seen", "seen acc", *floor_columns, "Δ", f"within {100 * tolerance:.0f}"],
        rows,
        notes,
        ["l", "l", "r", "r", *["r"] * len(floor_columns), "r", "l"],
    )
