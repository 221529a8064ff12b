"""One generic registry for systems and benchmarks, with lazy and plug-in entries.

Modelled on lm-evaluation-harness's registry: an entry is either the object
itself or a ``"module:attr"`` string imported on first use, so ``import bench``
never imports torch; third-party packages add entries through an entry-point
group without touching this repository; unknown names fail with suggestions.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from bench.errors import BenchError, UnknownNameError

T = TypeVar("T")


class PluginLoadError(BenchError):
    """A registered entry whose module could not be imported."""


class Registry(Generic[T]):
    """Name -> object, where objects may be lazy import paths or entry points."""

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, T | str] = {}
        self._origins: dict[str, str] = {}
        self._entry_points_loaded = False
        self.broken: dict[str, str] = {}
        #: names people use for an entry (lower-cased) -> the registered name, for "did you mean"
        self.common_names: dict[str, str] = {}

    # --- registration ---------------------------------------------------
    def register(self, name: str, obj: T | None = None) -> Callable[[T], T]:
        """Register ``obj`` under ``name``; usable as a decorator."""

        def decorate(target: T) -> T:
            existing = self._entries.get(name)
            if existing is not None and not isinstance(existing, str) and existing is not target:
                same_qualname = getattr(existing, "__qualname__", None) == getattr(target, "__qualname__", 1)
                same_module = getattr(existing, "__module__", None) == getattr(target, "__module__", 1)
                if not (same_qualname and same_module):  # re-import of the same module is fine
                    raise BenchError(f"{self.kind} {name!r} is already registered ({existing!r})")
            self._entries[name] = target
            self._origins.setdefault(name, getattr(target, "__module__", "?"))
            return target

        if obj is not None:
            decorate(obj)
        return decorate

    def register_lazy(self, name: str, target: str, origin: str = "built-in") -> None:
        """Register ``"module:attr"`` to be imported when ``name`` is first used."""
        if ":" not in target:
            raise ValueError(f"lazy target must look like 'module:attr', got {target!r}")
        self._entries.setdefault(name, target)
        self._origins.setdefault(name, origin)

    # --- look-up --------------------------------------------------------
    def get(self, name: str) -> T:
        self._load_entry_points()
        if name not in self._entries:
            if name in self.broken:
                raise PluginLoadError(f"{self.kind} {name!r} could not be loaded: {self.broken[name]}")
            raise UnknownNameError(self.unknown_message(name))
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = self._resolve(name, entry)
        return entry

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._entries)

    def origin(self, name: str) -> str:
        """Where an entry comes from: 'built-in', an entry point, or a module."""
        return self._origins.get(name, "?")

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    # --- internals ------------------------------------------------------
    def _resolve(self, name: str, target: str) -> T:
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
            obj = getattr(module, attr)
        except Exception as error:  # a broken plug-in is reported, not fatal to others
            self.broken[name] = f"{type(error).__name__}: {error}"
            raise PluginLoadError(
                f"{self.kind} {name!r} ({target}) could not be loaded: {type(error).__name__}: {error}"
            ) from error
        # Importing the module usually registered the object through a
        # decorator; an entry point may also name an undecorated object.
        current = self._entries.get(name)
        if isinstance(current, str) or current is None:
            self._entries[name] = obj
        return self._entries[name]  # type: ignore[return-value]

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded or self.entry_point_group is None:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name in self._entries:
                warnings.warn(
                    f"{self.kind} {ep.name!r} from entry point {ep.value!r} ignored: the name is taken "
                    f"by {self.origin(ep.name)}",
                    stacklevel=2,
                )
                continue
            self.register_lazy(ep.name, ep.value, origin=f"entry point {ep.value}")

    def unknown_message(self, name: str) -> str:
        known = sorted(self._entries)
        if name.lower() in self.common_names:  # what people call it (the corpus's name, a paper's short name)
            return f"unknown {self.kind} {name!r}. Did you mean {self.common_names[name.lower()]!r}?"
        close = difflib.get_close_matches(name.replace("_", "-").lower(), known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(known) or '(none)'}."


SYSTEMS: Registry = Registry("system", entry_point_group="bioel_bench.systems")
BENCHMARKS: Registry = Registry("benchmark", entry_point_group="bioel_bench.benchmarks")
BENCHMARKS.common_names.update(
    {
        "askapatient": "aap",
        "ask-a-patient": "aap",
        "ncbi": "ncbi-disease",
        "ncbi_disease": "ncbi-disease",
        "medmentions": "medmentions-st21pv",
        "mm": "medmentions-st21pv",
        "st21pv": "medmentions-st21pv",
        "bc5cdr-d": "bc5cdr-disease",
        "bc5cdr-c": "bc5cdr-chemical",
        "biocreative": "bc5cdr",
    }
)


def register_system(name: str) -> Callable[[T], T]:
    """Class decorator: make a :class:`~bench.linker.Linker` available by name."""

    def decorate(cls: T) -> T:
        cls.name = name  # type: ignore[attr-defined]
        return SYSTEMS.register(name)(cls)

    return decorate


def register_benchmark(name: str) -> Callable[[T], T]:
    """Decorator for a loader ``(data_dir=None, profile="angel") -> Benchmark``."""
    return BENCHMARKS.register(name)


# Built-in entries, lazy so that importing bench stays light (no torch, no
# scikit-learn) until a system is actually chosen.
for _name, _target in {
    "exact": "systems.exact:ExactMatchLinker",
    "tfidf": "systems.tfidf:TfidfLinker",
    "genbioel": "systems.genbioel:GenerativeLinker",
    "angel": "systems.angel:AngelLinker",
    "dense": "systems.dense:DenseLinker",
    "llm": "systems.llm:LanguageModelLinker",
    "predictions": "systems.predictions:PredictionsFile",
}.items():
    SYSTEMS.register_lazy(_name, _target)

for _name, _target in {
    "demo": "bench.benchmarks.demo:load_demo",
    "ncbi-disease": "bench.benchmarks.ncbi:load_ncbi_disease",
    "ncbi-disease-ctd": "bench.benchmarks.ncbi:load_ncbi_disease_ctd",
    "bc5cdr": "bench.benchmarks.bc5cdr:load_bc5cdr",
    "bc5cdr-disease": "bench.benchmarks.bc5cdr:load_bc5cdr_disease",
    "bc5cdr-chemical": "bench.benchmarks.bc5cdr:load_bc5cdr_chemical",
    "cometa": "bench.benchmarks.cometa:load_cometa",
    "cometa-stratified-general": "bench.benchmarks.cometa:load_cometa_stratified_general",
    "cometa-stratified-specific": "bench.benchmarks.cometa:load_cometa_stratified_specific",
    "cometa-zeroshot-general": "bench.benchmarks.cometa:load_cometa_zeroshot_general",
    "cometa-zeroshot-specific": "bench.benchmarks.cometa:load_cometa_zeroshot_specific",
    "aap": "bench.benchmarks.aap:load_aap",
    **{f"aap-fold{i}": f"bench.benchmarks.aap:load_aap_fold{i}" for i in range(10)},
    "medmentions-st21pv": "bench.benchmarks.medmentions:load_medmentions_st21pv",
}.items():
    BENCHMARKS.register_lazy(_name, _target)
