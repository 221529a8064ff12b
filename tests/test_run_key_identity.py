"""The run key covers the system's code, local checkpoint contents and numeric library versions."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from bench import code_identity
from bench.runner import RunSpec, execute

PLUGIN = """
from dataclasses import dataclass
from bench import Candidate, Linker, rank, register_system


@register_system("key-probe")
class KeyProbe(Linker):
    @dataclass(frozen=True)
    class Options:
        weights: str = ""

    def fit(self, train, dev, kb, config):
        self.names = kb.names[:3]

    def predict(self, mentions, kb, k):
        return [rank([Candidate(n, kb.name_index[n], 1.0) for n in self.names], k) for _ in mentions]
"""


@pytest.fixture()
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    source = tmp_path / "plugin" / "key_probe_linker.py"
    source.parent.mkdir()
    source.write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(source.parent))
    importlib.import_module("key_probe_linker")
    yield source
    sys.modules.pop("key_probe_linker", None)
    code_identity._code_identity.cache_clear()


def run(out: Path, **settings) -> Path:
    code_identity._code_identity.cache_clear()  # a new process would see the edited file afresh
    return execute(RunSpec("key-probe", "demo", ks=(1,), settings=settings), out, log=lambda *_: None).path


def test_an_edited_plugin_is_rerun_not_served_from_its_old_run(plugin: Path, tmp_path: Path) -> None:
    first = run(tmp_path / "runs")
    assert run(tmp_path / "runs") == first  # unchanged code: reused
    plugin.write_text(plugin.read_text().replace("kb.names[:3]", "kb.names[:4]"))
    second = run(tmp_path / "runs")
    assert second != first
    assert code_identity.code_identity(sys.modules["key_probe_linker"].KeyProbe)["modules"] >= 2


def test_a_checkpoint_swapped_at_the_same_path_is_rerun(plugin: Path, tmp_path: Path) -> None:
    weights = tmp_path / "ckpt"
    weights.mkdir()
    (weights / "model.safetensors").write_bytes(b"old weights")
    first = run(tmp_path / "runs", weights=str(weights))
    assert run(tmp_path / "runs", weights=str(weights)) == first
    (weights / "model.safetensors").write_bytes(b"new weights")
    assert run(tmp_path / "runs", weights=str(weights)) != first


def test_run_config_records_code_checkpoints_and_libraries(plugin: Path, tmp_path: Path) -> None:
    import json

    (tmp_path / "w.bin").write_bytes(b"x")
    path = run(tmp_path / "runs", weights=str(tmp_path / "w.bin"))
    config = json.loads((path / "config.json").read_text())
    assert config["code"]["source_sha256"] and config["checkpoints"]["weights"].startswith("sha256:")
    assert "torch" in config["libraries"] and "numpy" in config["libraries"]


def test_builtin_code_identity_follows_imports_statically() -> None:
    from bench.registry import SYSTEMS

    modules = code_identity.project_modules(SYSTEMS.get("tfidf").__module__, ("bench", "systems"))
    assert {"systems.tfidf", "bench.linker", "bench.kb"} <= set(modules)
    assert "bench.report.build" not in modules  # what a process happened to import does not count


def test_the_shared_stage_key_covers_threads_and_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from bench.generative.tokenizer import train_bpe_tokenizer
    from systems.genbioel import GenerativeLinker

    monkeypatch.setenv("BIOEL_BENCH_DATA", str(tmp_path))
    tokenizer = train_bpe_tokenizer(["breast cancer", "ovarian cancer", "common cold"] * 20, vocab_size=300)
    stages = []
    for threads in (1, 2, 2):
        linker = GenerativeLinker.from_settings({"threads": threads})
        linker.tokenizer = tokenizer
        stages.append(linker.shared_stage("pretrain", 0, "kb-checksum"))
    assert stages[0] != stages[1] == stages[2]
    decoding = GenerativeLinker.from_settings({"threads": 2, "num_beams": 3})
    decoding.tokenizer = tokenizer
    assert decoding.shared_stage("pretrain", 0, "kb-checksum") == stages[1]  # beams do not change weights
