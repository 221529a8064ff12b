"""The interface every entity linker implements.

A system is one file in ``systems/`` (or in a third party's package): a
:class:`Linker` subclass with a typed ``Options`` dataclass, registered with
:func:`bench.registry.register_system`. The harness builds it from resolved
options, calls :meth:`Linker.fit` once and :meth:`Linker.predict` on the test
mentions, and scores the ranked candidates by concept id.
"""

from __future__ import annotations

import abc
import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from bench.errors import BenchError, UnknownNameError
from bench.kb import KnowledgeBase
from bench.mention import Mention


@dataclass(frozen=True)
class Candidate:
    """One rank of a prediction: a name (or candidate label), its ids, a score.

    ``ids`` holds *every* concept id that carries the name, so the scoring
    rules of DESIGN.md section 3 can decide how ambiguous names count.
    """

    name: str
    ids: frozenset[str]
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ids": sorted(self.ids), "score": self.score}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        return cls(str(data["name"]), frozenset(data["ids"]), float(data["score"]))


def rank(candidates: Iterable[Candidate], k: int) -> list[Candidate]:
    """Sort by descending score and cut at ``k``; ties broken by name, then ids.

    Every system's output passes through here, so equal scores never produce a
    run-to-run difference (BELB breaks ties at random; we do not).
    """
    pool = list(candidates)
    for candidate in pool:
        if math.isnan(candidate.score):  # NaN compares false with everything: no order exists
            raise ValueError(f"candidate {candidate.name!r} has a NaN score; a ranking needs comparable scores")
    ordered = sorted(pool, key=lambda c: (-c.score, c.name, tuple(sorted(c.ids))))
    return ordered[:k]


@dataclass(frozen=True)
class FitConfig:
    """What the harness tells a system about the run it is trained in.

    ``work_dir`` is private to this run and survives an interruption: a system
    that trains for long keeps its checkpoints there and resumes from them.
    """

    seed: int = 0
    work_dir: Path = Path(".")
    progress: bool = True


class Linker(abc.ABC):
    """Base class of every system; subclasses define ``Options`` and the two verbs."""

    name: ClassVar[str] = ""

    @dataclass(frozen=True)
    class Options:
        """System-specific settings, set from the CLI with ``--set key=value``."""

    def __init__(self, options: Any | None = None) -> None:
        self.options = options if options is not None else self.Options()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None = None) -> Linker:
        return cls(resolve_options(cls.Options, settings or {}, system=cls.name or cls.__name__))

    @abc.abstractmethod
    def fit(
        self,
        train: Sequence[Mention],
        dev: Sequence[Mention],
        kb: KnowledgeBase,
        config: FitConfig,
    ) -> None:
        """Train (or index). ``dev`` may be empty; ``config.work_dir`` is for checkpoints."""

    @abc.abstractmethod
    def predict(self, mentions: Sequence[Mention], kb: KnowledgeBase, k: int) -> list[list[Candidate]]:
        """For each mention, at most ``k`` candidates, best first (see :func:`rank`)."""

    def describe(self) -> dict[str, Any]:
        """Facts recorded with each run (parameter count, checkpoint name, ...)."""
        return {}

    @classmethod
    def recorded_options(cls, options: Mapping[str, Any], ks: Sequence[int]) -> dict[str, Any]:
        """The options a finished run actually ran with, from the ones it recorded.

        An option added after the run was written is missing from its record; the
        run ran with the behaviour the option's default now names, unless a system
        says otherwise (:meth:`GenerativeLinker.recorded_options`). Reports use this
        to match old runs to a config without pretending they ran with anything else.
        """
        defaults = options_to_dict(cls.Options())
        return {**defaults, **dict(options)}

    def check_request(self, k: int) -> None:  # noqa: B027  (an optional hook: most linkers return any k)
        """Raise a :class:`BenchError` now, before any training, if this linker cannot return
        ``k`` candidates per mention as configured (a beam search returns at most its beams)."""


# --- typed options ---------------------------------------------------------


class OptionError(BenchError):
    """A ``--set`` value that does not fit the system's options."""


def resolve_options(options_cls: type, settings: Mapping[str, Any], *, system: str) -> Any:
    """Build ``options_cls`` from ``settings``, checking names and types.

    Values from the command line arrive parsed by YAML (``3`` -> int), so the
    check accepts an int where a float is declared and a list where a tuple is.
    """
    if not dataclasses.is_dataclass(options_cls):
        raise TypeError(f"{system}: Options must be a dataclass")
    fields = {f.name: f for f in dataclasses.fields(options_cls)}
    hints = typing.get_type_hints(options_cls)
    values: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownNameError(
                f"system {system!r} has no option {key!r}.{hint} Options: {', '.join(sorted(fields)) or '(none)'}."
            )
        values[key] = _coerce(value, hints[key], f"{system}.{key}")
    try:
        return options_cls(**values)
    except ValueError as error:  # an Options.__post_init__ that checks ranges (e.g. tfidf's n-grams)
        raise OptionError(f"{system}: {error}") from None


def options_to_dict(options: Any) -> dict[str, Any]:
    """JSON-ready resolved options (tuples become lists)."""
    return json_ready(dataclasses.asdict(options))


def json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in args:
            try:
                return _coerce(value, option, where)
            except OptionError as error:
                errors.append(str(error))
        raise OptionError(f"{where}: {value!r} does not fit {hint}")
    if hint is type(None):
        if value is None:
            return None
        raise OptionError(f"{where}: expected null, got {value!r}")
    if hint is Any:
        return value
    if origin is typing.Literal:
        if value in args:
            return value
        raise OptionError(f"{where}: {value!r} is not one of {', '.join(repr(a) for a in args)}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            value = [value]
        item_hint = args[0] if args else Any
        items = [_coerce(v, item_hint, where) for v in value]
        return tuple(items) if origin is tuple else items
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise OptionError(f"{where}: expected true or false, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise OptionError(f"{where}: expected a number, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise OptionError(f"{where}: expected an integer, got {value!r}")
    if hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise OptionError(f"{where}: expected a string, got {value!r}")
    if isinstance(hint, type) and isinstance(value, hint):
        return value
    raise OptionError(f"{where}: {value!r} does not fit {hint}")
