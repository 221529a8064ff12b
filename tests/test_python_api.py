"""The README's Python API section runs as written."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

from bench.errors import BenchError


def readme_api_block() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "api").mkdir(parents=True)
    exec(compile(readme_api_block(), "README.md (Python API)", "exec"), {})
    out = capsys.readouterr().out
    assert "195 test mentions" in out and "k=1:" in out and "k=3:" in out
    assert len(list((tmp_path / "runs" / "api").iterdir())) >= 4  # tfidf, exact, the file, its scored run


def test_evaluate_refuses_ids_that_are_no_mention():
    import bench.api as bb

    demo = bb.load_benchmark("demo")
    with pytest.raises(BenchError, match="1 prediction id"):
        bb.evaluate(demo, {"no-such-mention": []})
    empty = bb.evaluate(demo, {}, ks=(1,))
    assert empty["acc"]["union"]["1"] == 0.0 and empty["n_mentions"] == 195
