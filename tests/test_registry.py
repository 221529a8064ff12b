"""The registry: decorators, lazy built-ins, suggestions, broken plug-ins, light import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.errors import BenchError, UnknownNameError
from bench.registry import BENCHMARKS, SYSTEMS, PluginLoadError, Registry


def test_register_and_get_by_decorator():
    registry: Registry = Registry("thing")

    @registry.register("alpha")
    class Alpha:
        pass

    assert registry.get("alpha") is Alpha
    assert registry.names() == ["alpha"]


def test_lazy_entry_is_imported_on_first_use():
    registry: Registry = Registry("thing")
    registry.register_lazy("od", "collections:OrderedDict")
    from collections import OrderedDict

    assert registry.get("od") is OrderedDict


def test_unknown_name_suggests_close_names():
    with pytest.raises(UnknownNameError) as caught:
        SYSTEMS.get("tfdif")
    assert "Did you mean 'tfidf'" in str(caught.value)
    with pytest.raises(UnknownNameError, match="Did you mean 'demo'"):
        BENCHMARKS.get("dmeo")


def test_a_second_object_under_a_taken_name_is_refused():
    registry: Registry = Registry("thing")
    registry.register("x", object())
    with pytest.raises(BenchError, match="already registered"):
        registry.register("x", object())


def test_broken_plugin_is_reported_not_fatal():
    registry: Registry = Registry("thing")
    registry.register_lazy("broken", "no_such_module_anywhere:Thing")
    registry.register("fine", 42)
    with pytest.raises(PluginLoadError, match="no_such_module_anywhere"):
        registry.get("broken")
    assert "broken" in registry.broken
    assert registry.get("fine") == 42


def test_builtin_systems_and_benchmarks_are_listed():
    assert {"exact", "tfidf"} <= set(SYSTEMS.names())
    assert "demo" in BENCHMARKS.names()
    assert SYSTEMS.get("tfidf").name == "tfidf"


def test_importing_bench_imports_neither_torch_nor_sklearn():
    code = (
        "import sys, bench, bench.registry, bench.cli, bench.metrics\n"
        "heavy = [m for m in ('torch', 'sklearn', 'transformers') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
