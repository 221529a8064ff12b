"""Typed system options from --set values: names checked, types coerced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from bench.errors import UnknownNameError
from bench.linker import OptionError, resolve_options


@dataclass(frozen=True)
class Opts:
    lr: float = 1e-3
    steps: int = 10
    analyzer: Literal["char", "char_wb"] = "char"
    name: str | None = None
    layers: tuple[int, ...] = (1, 2)
    shuffle: bool = True


def test_values_are_coerced_to_declared_types():
    o = resolve_options(Opts, {"lr": 1, "steps": 5, "layers": [3], "name": "x", "shuffle": False}, system="s")
    assert o == Opts(lr=1.0, steps=5, layers=(3,), name="x", shuffle=False)
    assert isinstance(o.lr, float)


def test_unknown_option_suggests_the_close_one():
    with pytest.raises(UnknownNameError, match="Did you mean 'steps'"):
        resolve_options(Opts, {"step": 3}, system="s")


@pytest.mark.parametrize(
    "key,value",
    [("steps", 2.5), ("steps", True), ("shuffle", "yes"), ("analyzer", "word"), ("lr", "fast")],
)
def test_wrong_types_are_rejected(key, value):
    with pytest.raises(OptionError, match=key):
        resolve_options(Opts, {key: value}, system="s")
