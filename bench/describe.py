"""What a system's options are, and what the registries hold, read from the code itself.

``bioel-bench describe SYSTEM`` lists every option of a system with its type,
default and meaning; the meaning is the ``#:`` comment written above the field in
the ``Options`` dataclass (the convention Sphinx's autodoc reads), found with
:mod:`ast` in the source of each class of the ``Options`` hierarchy, so a
plug-in's options are described the same way as the built-ins' without any
registration. ``ls`` adds one line per system (the first line of its module's
docstring) and per benchmark (its dataset card's variant line).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import textwrap
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OptionDoc:
    name: str
    type: str
    default: Any
    meaning: str


def _field_comments(cls: type) -> dict[str, str]:
    """``#:`` comment blocks above the annotated fields of ``cls``'s own source."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # built in a REPL or from a string: no source to read
        return {}
    lines = source.splitlines()
    found: dict[str, str] = {}
    for node in ast.parse(source).body[0].body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            comment: list[str] = []
            row = node.lineno - 2  # the line above the field (0-based)
            while row >= 0 and lines[row].strip().startswith("#:"):
                comment.insert(0, lines[row].strip()[2:].strip())
                row -= 1
            if comment:
                found[node.target.id] = " ".join(comment)
    return found


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    if typing.get_origin(annotation) is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    return getattr(annotation, "__name__", str(annotation)).replace("typing.", "")


def option_docs(options_cls: type) -> list[OptionDoc]:
    """Every field of an ``Options`` dataclass, in declaration order, with its ``#:`` meaning."""
    comments: dict[str, str] = {}
    for cls in reversed(options_cls.__mro__):  # a subclass's comment wins over its base's
        if dataclasses.is_dataclass(cls):
            comments.update(_field_comments(cls))
    try:
        hints = typing.get_type_hints(options_cls)
    except Exception:  # an annotation that does not resolve: fall back to the raw strings
        hints = {}
    docs = []
    for f in dataclasses.fields(options_cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        docs.append(OptionDoc(f.name, _type_name(hints.get(f.name, f.type)), default, comments.get(f.name, "")))
    return docs


def first_line(text: str | None) -> str:
    """The first sentence-line of a docstring (empty when there is none)."""
    for line in (text or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def system_summary(cls: type) -> str:
    """The first line of the system's module docstring, without a leading ````name````: label."""
    module = inspect.getmodule(cls)
    line = first_line(getattr(module, "__doc__", None)) or first_line(cls.__doc__)
    if line.startswith("``") and "``:" in line:
        line = line.split("``:", 1)[1].strip()
    return line


def benchmark_summary(name: str) -> str:
    """The benchmark's line in its dataset card's ``variants`` (or the card's pretty name)."""
    from bench.benchmarks.sources import load_card
    from bench.errors import BenchError

    if name.startswith("aap-fold"):
        return f"AskAPatient, fold {name.removeprefix('aap-fold')} of the 10 official folds (validation as dev)"
    parts = name.split("-")
    for end in range(len(parts), 0, -1):  # the card of the longest family prefix: ncbi-disease-ctd -> ncbi-disease
        try:
            card = load_card("-".join(parts[:end]))
        except BenchError:
            continue
        variants = card.get("variants") or {}
        return str(variants.get(name) or card.get("pretty_name") or first_line(card.get("description")) or "")
    return ""


def render_options(system: str, summary: str, docs: Iterable[OptionDoc], fmt: str = "text") -> str:
    docs = list(docs)
    if fmt == "json":
        return json.dumps(
            {"system": system, "summary": summary, "options": [dataclasses.asdict(d) for d in docs]}, indent=2
        )
    if fmt == "markdown":
        rows = [f"| `{d.name}` | `{d.type}` | `{d.default!r}` | {d.meaning} |" for d in docs]
        return "\n".join(
            [f"**{system}**: {summary}", "", "| option | type | default | meaning |", "|---|---|---|---|", *rows]
        )
    width = max((len(d.name) for d in docs), default=0)
    lines = [f"{system}: {summary}", "", f"options (set with --set NAME=VALUE; {len(docs)} in all):"]
    for d in docs:
        lines.append(f"  {d.name:<{width}}  {d.type} = {d.default!r}")
        if d.meaning:
            lines.extend(
                textwrap.wrap(d.meaning, 100, initial_indent=" " * (width + 4), subsequent_indent=" " * (width + 4))
            )
    return "\n".join(lines)
