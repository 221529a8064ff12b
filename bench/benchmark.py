"""A benchmark: named splits of mentions, a KB, a card and checksums.

This is what every loader returns and every system consumes, so it is kept
plain (tuples of :class:`~bench.mention.Mention`); nothing here knows about a
file format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from bench.checksum import sha256_records
from bench.errors import UnknownNameError
from bench.kb import KnowledgeBase
from bench.mention import Mention
from bench.protocols import PROFILE_VERSIONS

TRAIN, DEV, TEST = "train", "dev", "test"


@dataclass(frozen=True)
class Benchmark:
    """A prepared benchmark.

    ``source_files`` maps each official file (relative name) to its sha256, so
    a result can be traced to the bytes it came from. ``flags`` carries
    protocol facts that must travel with every result, such as
    ``{"closed_world_kb": True}`` when the real KB was not available.
    """

    name: str
    splits: Mapping[str, Sequence[Mention]]
    kb: KnowledgeBase
    card: Mapping[str, Any] = field(default_factory=dict)
    source_files: Mapping[str, str] = field(default_factory=dict)
    protocol: str = "official"
    flags: Mapping[str, Any] = field(default_factory=dict)
    # What the protocol profile did, per split and step ({"test": {"expanded": 243, ...}, "kb": {...}}),
    # and which abbreviation detector ran (None when the profile uses none): stats and cards show the
    # first, the data checksum covers the profile, its version and the detector.
    steps: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    expander: str | None = None

    def __post_init__(self) -> None:
        splits = {name: tuple(mentions) for name, mentions in self.splits.items()}
        for split_name, mentions in splits.items():
            seen: set[str] = set()
            for mention in mentions:
                if mention.id in seen:
                    raise ValueError(
                        f"benchmark {self.name!r}, split {split_name!r}: duplicate mention id {mention.id!r}"
                    )
                seen.add(mention.id)
        object.__setattr__(self, "splits", splits)

    def split(self, name: str) -> tuple[Mention, ...]:
        try:
            return self.splits[name]  # type: ignore[return-value]
        except KeyError:
            raise UnknownNameError(
                f"benchmark {self.name!r} has no split {name!r}; it has {sorted(self.splits)}"
            ) from None

    def training_mentions(self) -> tuple[Mention, ...]:
        """The mentions a system may have seen: train and dev (leakage subsets)."""
        return tuple(m for s in (TRAIN, DEV) if s in self.splits for m in self.splits[s])

    def split_checksum(self, name: str) -> str:
        """sha256 of a split's ids, texts and gold ids (what scoring depends on)."""
        return _split_checksum(self, name)

    @cached_property
    def checksums(self) -> dict[str, Any]:
        return {
            "splits": {name: self.split_checksum(name) for name in sorted(self.splits)},
            "kb": self.kb.checksum,
            "sources": dict(sorted(self.source_files.items())),
            "protocol": self.protocol_record(),
        }

    def protocol_record(self) -> dict[str, Any]:
        """The profile, its version and the abbreviation detector: runs that differ in any are not compared."""
        return {"profile": self.protocol, "version": PROFILE_VERSIONS.get(self.protocol), "expander": self.expander}

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "protocol": self.protocol,
            "protocol_record": self.protocol_record(),
            "splits": {name: len(m) for name, m in self.splits.items()},
            "steps": {name: dict(counts) for name, counts in self.steps.items()},
            "kb": self.kb.summary(),
            "flags": dict(self.flags),
        }


def _split_checksum(benchmark: Benchmark, name: str) -> str:
    def record(m: Mention) -> list[object]:
        return [
            m.id,
            m.text,
            [sorted(g) for g in m.gold_groups],
            [[p.text, sorted(p.gold_ids)] for p in m.parts],
        ]

    return sha256_records(record(m) for m in benchmark.split(name))


@dataclass(frozen=True)
class BenchmarkSuite:
    """Several benchmarks reported together, such as the ten AskAPatient folds.

    ``members`` are registered benchmark names. The runner runs each member and
    writes one pooled run (per-mention outcomes of all members, mention ids
    prefixed by the member name) that also records the mean over members, the
    way AskAPatient results are reported (DESIGN.md section 2).
    """

    name: str
    members: tuple[str, ...]
    card: Mapping[str, Any] = field(default_factory=dict)
