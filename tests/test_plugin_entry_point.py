"""A system from a separately installed package appears through the entry point and runs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from conftest import run_cli

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "bioel-bench-prefix-linker"
version = "0.1.0"

[project.entry-points."bioel_bench.systems"]
prefix = "prefix_linker:PrefixLinker"

[tool.setuptools]
py-modules = ["prefix_linker"]
"""

MODULE = '''
"""A third-party system: ranks KB names by the length of the prefix shared with the mention."""
import os
from dataclasses import dataclass

from bench import Candidate, Linker, rank, register_system
from bench.normalize import normalize_name


@register_system("prefix")
class PrefixLinker(Linker):
    @dataclass(frozen=True)
    class Options:
        min_prefix: int = 1

    def fit(self, train, dev, kb, config):
        self.names = kb.names

    def predict(self, mentions, kb, k):
        out = []
        for m in mentions:
            text = normalize_name(m.text)
            scored = []
            for name in self.names:
                n = len(os.path.commonprefix([text, name]))
                if n >= self.options.min_prefix:
                    scored.append(Candidate(name, kb.name_index[name], float(n)))
            out.append(rank(scored, k))
        return out
'''


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("plugin")
    (root / "pkg").mkdir()
    (root / "pkg" / "pyproject.toml").write_text(PYPROJECT)
    (root / "pkg" / "prefix_linker.py").write_text(textwrap.dedent(MODULE))
    site = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(root / "pkg"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return site


def test_plugin_system_is_listed_through_the_entry_point(plugin_site):
    result = run_cli("ls", "systems", env={"PYTHONPATH": str(plugin_site)})
    assert result.returncode == 0, result.stderr
    listed = dict(line.split("\t")[:2] for line in result.stdout.splitlines() if "\t" in line)
    assert listed["prefix"] == "entry point prefix_linker:PrefixLinker"
    assert "exact" in listed and "tfidf" in listed


def test_plugin_system_runs_like_a_builtin(plugin_site, tmp_path):
    result = run_cli(
        "run",
        "--system",
        "prefix",
        "--benchmark",
        "demo",
        "--json",
        "--out",
        str(tmp_path),
        "--set",
        "min_prefix=3",
        env={"PYTHONPATH": str(plugin_site)},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert 0 < data["acc"]["10"] <= 1
    config = json.loads((tmp_path / data["run_dir"].split("/")[-1] / "config.json").read_text())
    assert config["system"] == "prefix" and config["options"] == {"min_prefix": 3}


def test_without_the_package_the_name_is_unknown():
    result = run_cli("run", "--system", "prefix", "--benchmark", "demo")
    assert result.returncode == 2 and "unknown system 'prefix'" in result.stderr
