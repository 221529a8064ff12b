"""`bioel-bench demo` (what `make demo` runs): the mission's output, on a tiny copy of configs/demo.yaml."""

from __future__ import annotations

import yaml
from conftest import REPO
from generative_fixtures import TINY


def test_the_demo_prints_each_system_the_paired_test_and_the_main_table(tmp_path, monkeypatch):
    from bench.mission import run_mission

    monkeypatch.setenv("BIOEL_BENCH_DATA", str(tmp_path / "data"))
    config = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    tiny = {**config["systems"]["genbioel"]["settings"], **TINY, "num_beams": 10, "dev_eval_mentions": 20}
    config["systems"]["genbioel"]["settings"] = tiny
    config["systems"]["angel"]["settings"] = {**tiny, "chunks": 2, "top_k": 5, "dpo_lr": 1e-4}
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(config))
    lines: list[str] = []
    assert run_mission(path, out=tmp_path / "runs", log=lines.append) == 0
    text = "\n".join(lines)
    for label in ("exact", "tfidf", "genbioel", "angel"):
        assert any(line.startswith(label) for line in lines), label
    assert "== angel against genbioel: paired, on the same mentions ==" in text
    assert "McNemar" in text and "95% CI" in text
    assert "### Main results: acc@1 (%)" in text and "different from genbioel" in text
    assert (tmp_path / "runs" / "report" / "index.html").is_file()
    stages = list((tmp_path / "runs").glob("demo__angel__*/work/pretrain/final"))
    assert stages, "angel ran its positive-only stage"
    messages = (next((tmp_path / "runs").glob("demo__angel__*")) / "log.txt").read_text()
    assert "started angel on demo/test" in messages
