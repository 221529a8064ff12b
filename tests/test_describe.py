"""`describe` and `ls`: options with type, default and meaning, read from the code."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from conftest import REPO, run_cli

from bench.describe import option_docs
from bench.registry import BENCHMARKS, SYSTEMS


def test_every_builtin_option_says_what_it_means():
    for name in SYSTEMS.names():
        missing = [d.name for d in option_docs(SYSTEMS.get(name).Options) if not d.meaning]
        assert not missing, f"{name}: options without a '#:' comment: {missing}"


@dataclass(frozen=True)
class Base:
    #: how many
    size: int = 3
    plain: str = "x"


@dataclass(frozen=True)
class Derived(Base):
    #: a new meaning, written in the subclass
    size: int = 5
    #: several lines
    #: of comment
    extra: bool = False


def test_comments_follow_the_dataclass_hierarchy():
    docs = {d.name: d for d in option_docs(Derived)}
    assert (docs["size"].default, docs["size"].meaning) == (5, "a new meaning, written in the subclass")
    assert docs["plain"].meaning == "" and docs["plain"].type == "str"
    assert docs["extra"].meaning == "several lines of comment"


def test_describe_prints_type_default_and_meaning():
    result = run_cli("describe", "angel")
    assert result.returncode == 0, result.stderr
    assert "num_beams" in result.stdout and "int = 10" in result.stdout
    assert "ANGEL: 10" in result.stdout  # the chunks option's meaning
    as_json = json.loads(run_cli("describe", "genbioel", "--format", "json").stdout)
    by_name = {o["name"]: o for o in as_json["options"]}
    assert by_name["search"]["default"] == "auto" and "fairseq" in by_name["search"]["meaning"]
    unknown = run_cli("describe", "angle")
    assert unknown.returncode == 2 and "Did you mean 'angel'" in unknown.stderr


def test_ls_gives_one_line_per_entry():
    systems = run_cli("ls", "systems").stdout.splitlines()
    assert any(line.startswith("tfidf") and "TF-IDF" in line for line in systems)
    benchmarks = [line for line in run_cli("ls", "benchmarks").stdout.splitlines() if line.strip()]
    assert len(benchmarks) == len(BENCHMARKS.names())
    assert all(len(line.split("\t")) == 3 for line in benchmarks), "every benchmark has a description"


def test_a_closed_pipe_is_not_an_error():
    result = subprocess.run(
        f"{sys.executable} -m bench ls benchmarks | head -1", shell=True, capture_output=True, text=True, cwd=REPO
    )
    assert result.stdout.count("\n") == 1 and "error" not in result.stderr.lower()
