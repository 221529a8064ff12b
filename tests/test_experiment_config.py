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
    assert cpu.profile == "genbioel" and cpu.baseline == "genbioel" and cpu.deviations
    assert {r.spec.benchmark for r in runs} == {"ncbi-disease", "aap-fold0", "aap", "bc5cdr", "cometa"}
    labels = {"exact", "floor", "floor-train", "tfidf", "genbioel", "angel", "angel/selection=best"}
    labels |= {"angel/mining=crossfit"}
    assert {r.label for r in runs} == labels
    # three seeds of both arms where runs are cheap, one elsewhere; the first seed of everything first
    seeds = {(r.label, r.spec.benchmark): set() for r in runs}
    for r in runs:
        seeds[(r.label, r.spec.benchmark)].add(r.spec.seed)
    for benchmark in ("ncbi-disease", "aap-fold0"):
        assert seeds[("genbioel", benchmark)] == seeds[("angel", benchmark)] == {0, 1, 2}
        assert seeds[("angel/mining=crossfit", benchmark)] == {0}
    assert seeds[("genbioel", "cometa")] == {0} and ("genbioel", "aap") not in seeds
    first_extra = next(i for i, r in enumerate(runs) if r.spec.seed > 0)
    assert all(r.spec.seed == 0 for r in runs[:first_extra]) and runs[first_extra - 1].ablation == "mining"
    # the memorisation floor is exact with training mentions, each string's most frequent gold id set
    floor = next(r for r in runs if r.label == "floor")
    assert dict(floor.spec.settings) == {"use_training_mentions": True, "memory_rule": "majority"}
    # both arms of the comparison get the same backbone and budget on every benchmark
    for benchmark in ("ncbi-disease", "aap-fold0", "bc5cdr", "cometa"):
        by_label = {r.label: dict(r.spec.settings) for r in runs if r.spec.benchmark == benchmark and not r.ablation}
        shared = set(by_label["genbioel"]) & set(by_label["angel"])
        assert {k: by_label["genbioel"][k] for k in shared} == {k: by_label["angel"][k] for k in shared}

    # the dev sweeps behind the CPU recipe (reports/cpu_tuning/tuning.md) plan dev-split runs only
    for name in ("cpu_tuning.yaml", "cpu_tuning_ncbi.yaml"):
        tuning = load_experiment(REPO / "configs" / name)
        assert tuning.runs() and {r.spec.split for r in tuning.runs()} == {"dev"}
    ncbi_probe = {
        r.label: dict(r.spec.settings) for r in load_experiment(REPO / "configs" / "cpu_tuning_ncbi.yaml").runs()
    }
    assert ncbi_probe["ncbi-warmup"]["warmup_steps"] == 100 and ncbi_probe["ncbi-first-budget"]["warmup_steps"] == 0

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
        (("seeds: [0]", "seeds: [0]\nbenchmark_seeds: {demo: []}"), 4, "benchmark_seeds.demo must be a non-empty list"),
        (
            (
                '  - "the demo, not a real benchmark"',
                '  - "x"\nsweeps:\n  s: {base: exact, option: x, values: [1], seeds: [a]}',
            ),
            13,
            "sweeps.s.seeds must be a non-empty list of integers",
        ),
        (
            (
                '  - "the demo, not a real benchmark"',
                '  - "x"\nsweeps:\n  s: {base: exact, option: x, values: [1], benchmarks: [dmo]}',
            ),
            13,
            "unknown benchmark 'dmo'",
        ),
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


def test_benchmark_seeds_and_a_sweep_s_own_benchmarks_and_seeds_shape_the_plan(tmp_path):
    text = GOOD.replace("benchmarks: [demo]", "benchmarks: [demo, ncbi-disease]").replace(
        "seeds: [0]", "seeds: [0]\nbenchmark_seeds: {demo: [0, 1, 2]}"
    )
    text += "sweeps:\n  n: {base: tfidf, option: ngram_max, values: [2], benchmarks: [demo], seeds: [0]}\n"
    runs = load_experiment(write(tmp_path, text)).runs()
    planned = [(r.label, r.spec.benchmark, r.spec.seed) for r in runs]
    # every benchmark's first seed first (main systems, then the sweep), then the extra seeds
    assert planned == [
        ("exact", "demo", 0),
        ("tfidf", "demo", 0),
        ("exact", "ncbi-disease", 0),
        ("tfidf", "ncbi-disease", 0),
        ("tfidf/ngram_max=2", "demo", 0),
        ("exact", "demo", 1),
        ("tfidf", "demo", 1),
        ("exact", "demo", 2),
        ("tfidf", "demo", 2),
    ]


def test_key_lines_follow_nesting_and_lists():
    lines = key_lines(GOOD)
    assert lines[("systems", "tfidf", "settings", "ngram_max")] == 9
    assert lines[("benchmarks", 0)] == 2
    assert lines[("deviations",)] == 10


#: ANGEL's scripts (script/train/train_positive.sh, train_negative.sh usage lines and bodies):
#: positive-only steps and learning rate, DPO learning rate, per benchmark
ANGEL_SCRIPTS = {
    "ncbi-disease": (20000, 3e-7, 1e-5),
    "bc5cdr": (30000, 5e-6, 1e-5),
    "cometa": (40000, 5e-6, 5e-6),
    "aap": (30000, 5e-6, 5e-6),
    "medmentions-st21pv": (40000, 2e-5, 5e-6),
}


def test_paper_config_is_angels_scripts_and_both_arms_share_the_positive_stage():
    from bench.registry import SYSTEMS
    from systems.genbioel import GenerativeLinker

    paper = load_experiment(REPO / "configs" / "paper.yaml")
    runs = [r for r in paper.runs() if not r.ablation and r.spec.seed == 0]
    seen = set()
    for run in runs:
        if run.label not in ("genbioel", "angel"):
            continue
        o = SYSTEMS.get(run.spec.system).from_settings(dict(run.spec.settings)).options
        steps, lr, dpo_lr = ANGEL_SCRIPTS[run.spec.benchmark]
        assert (o.finetune_steps, o.finetune_lr) == (steps, lr), run.spec.benchmark
        assert (o.batch_size, o.warmup_steps, o.scheduler, o.max_grad_norm) == (1, 500, "polynomial", 0.1)
        assert (o.targets, o.kb_mix, o.eval_steps, o.label_smoothing, o.weight_decay) == (3, 0, 0, 0.1, 0.01)
        assert (o.num_beams, o.convention, o.search, o.pretrain_steps) == (10, "released", "fairseq", 0)
        if run.label == "angel":
            assert (o.dpo_lr, o.dpo_batch_size, o.top_k, o.beta, o.chunks, o.patience) == (dpo_lr, 64, 5, 0.1, 10, 3)
            assert o.reference == "refresh" and o.pair_rule == "angel" and o.selection == "released"
        seen.add((run.label, run.spec.benchmark))
    assert len(seen) == 10
    # one positive-only stage for both arms: the options that decide its weights are identical
    base = {f for f in GenerativeLinker.Options.__dataclass_fields__} - GenerativeLinker.DECODING_ONLY
    for benchmark in ANGEL_SCRIPTS:
        settings = {r.label: dict(r.spec.settings) for r in runs if r.spec.benchmark == benchmark}
        arms = [SYSTEMS.get(label).from_settings(settings[label]).options for label in ("genbioel", "angel")]
        assert {f: getattr(arms[0], f) for f in base} == {f: getattr(arms[1], f) for f in base}
    assert len(paper.deviations) >= 5 and any("AskAPatient" in d for d in paper.deviations)
