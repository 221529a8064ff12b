"""Experiment configs: the shipped ones load and plan what they promise; bad ones fail with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import DataFormatError
from bench.experiments.config import key_lines, load_experiment

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
name: t
benchmarks: [demo]
seeds: [0]
systems:
  exact: {system: exact}
  tfidf:
    system: tfidf
    settings:
      ngram_max: 3
deviations:
  - "the demo, not a real benchmark"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_shipped_configs_plan_the_experiments_they_describe():
    smoke = load_experiment(REPO / "configs" / "smoke.yaml")
    assert smoke.runs()

    cpu = load_experiment(REPO / "configs" / "cpu.yaml")
    runs = cpu.runs()
    assert {r.spec.benchmark for r in runs} == {"ncbi-disease", "aap-fold0", "bc5cdr", "cometa"}
    assert {r.label for r in runs} == {"exact", "tfidf", "genbioel", "angel", "angel/dpo_lr=1e-05"}
    assert len(runs) == 20 and cpu.baseline == "genbioel" and cpu.deviations
    assert {r.ablation for r in runs} == {None, "dpo_lr"}
    # both arms of the comparison get the same backbone and budget on every benchmark
    for benchmark in ("ncbi-disease", "aap-fold0", "bc5cdr", "cometa"):
        by_label = {r.label: dict(r.spec.settings) for r in runs if r.spec.benchmark == benchmark and not r.ablation}
        shared = set(by_label["genbioel"]) & set(by_label["angel"])
        assert {k: by_label["genbioel"][k] for k in shared} == {k: by_label["angel"][k] for k in shared}

    paper = load_experiment(REPO / "configs" / "paper.yaml")
    assert paper.seeds == (0, 1, 2)
    assert set(paper.benchmarks) >= {"ncbi-disease", "bc5cdr", "cometa", "aap", "medmentions-st21pv"}
    assert {r.label for r in paper.runs()} >= {"genbioel", "angel"}


def test_deviations_and_description_are_read():
    config = load_experiment(REPO / "configs" / "cpu.yaml")
    assert any("BART" in d for d in config.deviations) and config.description


@pytest.mark.parametrize(
    ("edit", "line", "message"),
    [
        (("  exact: {system: exact}", "  exact: {system: exactt}"), 5, "unknown system 'exactt'.*Did you mean 'exact'"),
        (("benchmarks: [demo]", "benchmarks: [demo, ncbi-disaese]"), 2, "unknown benchmark 'ncbi-disaese'"),
        (("      ngram_max: 3", "      ngram_maxx: 3"), 8, "ngram_maxx"),
        (("seeds: [0]", "seeds: [zero]"), 3, "'seeds' must be a non-empty list of integers"),
        (("name: t", "name: t\nbaselin: exact"), 2, "unknown key 'baselin' \\(did you mean 'baseline'\\?\\)"),
        (('  - "the demo, not a real benchmark"', "  - 3"), 10, "'deviations' must be a list of non-empty strings"),
    ],
)
def test_bad_configs_name_the_file_line_and_problem(tmp_path, edit, line, message):
    old, new = edit
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(DataFormatError, match=message) as failed:
        load_experiment(path)
    assert str(failed.value).startswith(f"{path}:{line}:"), str(failed.value)


def test_a_good_config_loads_and_invalid_yaml_names_its_line(tmp_path):
    assert load_experiment(write(tmp_path, GOOD)).deviations == ("the demo, not a real benchmark",)
    path = write(tmp_path, GOOD.replace("seeds: [0]", "seeds: [0"))
    with pytest.raises(DataFormatError, match="invalid YAML") as failed:
        load_experiment(path)
    assert str(failed.value).startswith(f"{path}:")


def test_key_lines_follow_nesting_and_lists():
    lines = key_lines(GOOD)
    assert lines[("systems", "tfidf", "settings", "ngram_max")] == 9
    assert lines[("benchmarks", 0)] == 2
    assert lines[("deviations",)] == 10
