"""A mention to be linked, as every benchmark loader produces it.

The record is frozen and carries its gold concept ids as a set: entity linking
is scored on concept ids, never on names (DESIGN.md section 3). Composite
mentions ("breast and ovarian cancer" -> D001943|D010051) keep the id groups as
annotated in ``gold_groups``, so they stay recognisable after loading; a
protocol that splits them into sub-mentions (BioSyn) stores those in ``parts``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

# Annotators join the ids of a composite or ambiguous mention with "|" or "+".
COMPOSITE_SEPARATORS = re.compile(r"[|+]")


@dataclass(frozen=True)
class Mention:
    """One gold-annotated mention.

    ``id`` is stable across runs and machines (a loader derives it from the
    document id and span, or from the row of the source file), so predictions
    written by one run line up with gold read by another. ``context`` is the
    document text (PubTator) or example sentence (COMETA) in which ``span``
    points at the mention; it is excluded from equality and repr because many
    mentions share one document string.
    """

    id: str
    text: str
    gold_ids: frozenset[str]
    doc_id: str | None = None
    span: tuple[int, int] | None = None
    context: str | None = field(default=None, repr=False, compare=False)
    entity_type: str | None = None
    gold_groups: tuple[frozenset[str], ...] = ()
    parts: tuple[Mention, ...] = ()
    #: the corpus's own name for the gold concept where a file gives one (AskAPatient's label
    #: column); not part of the gold, but GenBioEL trains on it (``label_targets`` of genbioel)
    label: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a mention needs a non-empty id")
        if not isinstance(self.gold_ids, frozenset):
            object.__setattr__(self, "gold_ids", frozenset(self.gold_ids))
        if not self.gold_groups:
            object.__setattr__(self, "gold_groups", (self.gold_ids,))

    @property
    def composite(self) -> bool:
        """True when the annotation names several concepts (``|`` or ``+``)."""
        return len(self.gold_groups) > 1

    def with_gold(self, gold_groups: Iterable[Iterable[str]]) -> Mention:
        """A copy with new gold id groups (e.g. after resolving alternative ids)."""
        groups = tuple(frozenset(g) for g in gold_groups)
        gold = frozenset().union(*groups) if groups else frozenset()
        return replace(self, gold_ids=gold, gold_groups=groups)


def parse_gold_ids(raw: str) -> tuple[frozenset[str], ...]:
    """Split an annotated id string into its groups ("D1|D2" -> ({D1}, {D2}))."""
    return tuple(frozenset([part.strip()]) for part in COMPOSITE_SEPARATORS.split(raw) if part.strip())
