"""The knowledge base: concept ids, their names, and the name -> ids index.

Generative and retrieval linkers both produce *names*; scoring needs *ids*.
The index maps every normalised name to all the ids that carry it, because a
name shared by several concepts is a real property of biomedical KBs (and the
ANGEL/GenBioEL rule counts a hit if any of them is gold).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property

from bench.checksum import sha256_records
from bench.normalize import normalize_name


class KnowledgeBase:
    """Concepts with names, alternative ids, and provenance flags.

    ``concepts`` maps a canonical concept id to its names, preferred name first.
    ``alt_ids`` maps an alternative id (e.g. an OMIM number listed on a MeSH
    concept's MEDIC line) to its canonical id; gold ids are resolved through it.
    ``closed_world`` marks a KB that was assembled from the corpus itself
    (because the real vocabulary is licensed or unavailable): results on it are
    not comparable with published numbers, and every result says so.
    """

    def __init__(
        self,
        name: str,
        concepts: Mapping[str, Sequence[str]],
        alt_ids: Mapping[str, str] | None = None,
        *,
        closed_world: bool = False,
        notes: Iterable[str] = (),
        definitions: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.concepts: dict[str, tuple[str, ...]] = {}
        for concept_id, names in concepts.items():
            kept = tuple(dict.fromkeys(n.strip() for n in names if n and n.strip()))
            if not kept:
                raise ValueError(f"KB {name!r}: concept {concept_id!r} has no name")
            self.concepts[concept_id] = kept
        self.alt_ids: dict[str, str] = {}
        for alt, canonical in (alt_ids or {}).items():
            if canonical not in self.concepts:
                raise ValueError(f"KB {name!r}: alternative id {alt!r} points at unknown {canonical!r}")
            if alt not in self.concepts:  # a canonical id always resolves to itself
                self.alt_ids[alt] = canonical
        self.closed_world = closed_world
        self.notes = tuple(notes)
        # Definitions (CTD, UMLS MRDEF) serve as context in KB-guided pre-training.
        self.definitions: dict[str, str] = {k: v for k, v in (definitions or {}).items() if k in self.concepts and v}
        index: dict[str, set[str]] = {}
        for concept_id, names in self.concepts.items():
            for n in names:
                index.setdefault(normalize_name(n), set()).add(concept_id)
        self.name_index: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in index.items()}
        # Sorted so that every system enumerates names in the same order
        # (deterministic tie-breaking, reproducible indexes).
        self.names: tuple[str, ...] = tuple(sorted(self.name_index))

    # --- look-ups -------------------------------------------------------
    def ids_for_name(self, name: str) -> frozenset[str]:
        """All concept ids carrying ``name`` (normalised); empty if none."""
        return self.name_index.get(normalize_name(name), frozenset())

    def resolve_id(self, concept_id: str) -> str | None:
        """The canonical id for ``concept_id`` (itself or via alt ids), or None."""
        if concept_id in self.concepts:
            return concept_id
        return self.alt_ids.get(concept_id)

    def preferred_name(self, concept_id: str) -> str:
        return self.concepts[concept_id][0]

    def __contains__(self, concept_id: object) -> bool:
        return isinstance(concept_id, str) and self.resolve_id(concept_id) is not None

    def __len__(self) -> int:
        return len(self.concepts)

    # --- counts and provenance -----------------------------------------
    @property
    def n_concepts(self) -> int:
        return len(self.concepts)

    @property
    def n_names(self) -> int:
        """Distinct normalised names."""
        return len(self.names)

    @property
    def n_synonym_pairs(self) -> int:
        """(concept, name) pairs as listed (names differing only in case count twice)."""
        return sum(len(v) for v in self.concepts.values())

    @property
    def n_ambiguous_names(self) -> int:
        """Names that map to more than one concept."""
        return sum(1 for ids in self.name_index.values() if len(ids) > 1)

    @cached_property
    def checksum(self) -> str:
        """sha256 of the content (ids, names, alt ids, flags), order-independent."""
        records: list[object] = [[cid, list(self.concepts[cid])] for cid in sorted(self.concepts)]
        records.append(sorted(self.alt_ids.items()))
        records.append({"closed_world": self.closed_world})
        return sha256_records(records)

    def summary(self) -> dict[str, object]:
        return {
            "name": self.name,
            "concepts": self.n_concepts,
            "names": self.n_names,
            "synonym_pairs": self.n_synonym_pairs,
            "ambiguous_names": self.n_ambiguous_names,
            "alt_ids": len(self.alt_ids),
            "closed_world": self.closed_world,
            "notes": list(self.notes),
            "sha256": self.checksum,
        }

    def __repr__(self) -> str:
        return f"KnowledgeBase({self.name!r}, concepts={self.n_concepts}, names={self.n_names})"
