"""`bioel-bench report`: tables, tests and figures rebuilt from run directories alone."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import register_demo_halves

from bench.compare import compare_runs
from bench.errors import BenchError, IncomparableRunsError
from bench.report.build import build_report
from bench.report.cli import main
from bench.report.collect import Ablation, from_runs
from bench.report.render import SIGNIFICANT, Table, render_latex, render_markdown
from bench.report.significance import seed_pairs
from bench.report.tables import ablation_table, main_table
from bench.results import load_run, write_json
from bench.runner import RunSpec, execute

EXPERIMENT = "rep"
TABLE_FILES = [f"{name}.{ext}" for name in ("main", "topk", "ablation", "leakage") for ext in ("md", "tex")]


CONFIG = """
name: rep
description: "exact vs tfidf on the demo"
deviations: ["the demo stands in for a real benchmark"]
out: runs
ks: [1, 5, 10]
seeds: [0, 1]
benchmarks: [demo, demo-halves]
baseline: exact
systems:
  exact: {system: exact}
  tfidf: {system: tfidf}
sweeps:
  ngram: {base: tfidf, option: ngram_max, values: [3]}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Finished runs of an experiment: exact (seed 0), tfidf (seeds 0 and 1 on demo), a suite, one ablation."""
    register_demo_halves()
    root = tmp_path_factory.mktemp("report")
    runs = root / "runs"
    quiet = dict(log=lambda *a: None)
    made = {}

    def run(system, benchmark, seed=0, label=None, settings=None):
        spec = RunSpec(
            system,
            benchmark,
            ks=(1, 5, 10),
            seed=seed,
            settings=settings or {},
            label=label or system,
            experiment=EXPERIMENT,
        )
        made[(label or system, benchmark, seed)] = execute(spec, runs, **quiet)

    run("exact", "demo")
    run("tfidf", "demo", 0)
    run("tfidf", "demo", 1)
    run("exact", "demo-halves")
    run("tfidf", "demo-halves")
    run("tfidf", "demo", 0, label="tfidf/ngram_max=3", settings={"ngram_max": 3})
    (root / "configs").mkdir()
    (root / "configs" / "rep.yaml").write_text(CONFIG)
    report = build_report([runs], root / "out", baseline="exact")
    return {"root": root, "runs": runs, "made": made, "report": report}


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


# --- the main table ----------------------------------------------------------


def test_main_table_values_are_the_runs_metrics(lab):
    made, table = lab["made"], lab["report"].tables["main"]
    assert list(table.headers) == ["system", "demo", "demo-halves", "avg"]
    exact_demo = made[("exact", "demo", 0)].metrics["acc"]["union"]["1"]
    exact_suite = made[("exact", "demo-halves", 0)].metrics["acc_member_mean"]["union"]["1"]
    tfidf_demo = made[("tfidf", "demo", 0)].metrics["acc"]["union"]["1"]
    row = table.row("exact")
    assert row[1:] == [_pct(exact_demo), _pct(exact_suite), _pct((exact_demo + exact_suite) / 2)]
    # Two seeds: mean ± sample sd (tfidf is deterministic, so sd 0); the seed-1 run holds the same number.
    assert made[("tfidf", "demo", 1)].metrics["acc"]["union"]["1"] == tfidf_demo
    assert table.row("tfidf")[1].startswith(f"{_pct(tfidf_demo)} ± 0.0")
    # The ablation is not a row of the main table.
    assert [r[0] for r in table.rows] == ["exact", "tfidf"]


def test_main_table_marks_significance_against_the_baseline(lab):
    report = lab["report"]
    tests = {t["benchmark"]: t for t in report.significance["main"]}
    assert set(tests) == {"demo", "demo-halves"}
    for benchmark, test in tests.items():
        cell = report.tables["main"].row("tfidf")[report.tables["main"].headers.index(benchmark)]
        assert cell.endswith(SIGNIFICANT) == (test["p_holm"] < 0.05)
        assert test["p"] == max(pair["mcnemar_p"] for pair in test["pairs"])
    # Seed pairing: tfidf has seeds 0 and 1 on demo, exact only 0: both tfidf seeds meet exact's seed 0.
    assert [(p["seed"], p["baseline_seed"]) for p in tests["demo"]["pairs"]] == [(0, 0), (1, 0)]
    # McNemar counts equal those of `bioel-bench compare` on the same pair.
    made = lab["made"]
    compared = compare_runs(made[("exact", "demo", 0)], made[("tfidf", "demo", 0)], ks=(1,), n_resamples=10)
    first = compared["comparisons"][0]
    assert tests["demo"]["pairs"][0]["system_only_right"] == first["n01"]
    assert tests["demo"]["pairs"][0]["baseline_only_right"] == first["n10"]
    assert tests["demo"]["pairs"][0]["mcnemar_p"] == pytest.approx(first["mcnemar_p"])
    # The suite is tested on its pooled per-mention outcomes (all 195 mentions).
    assert tests["demo-halves"]["pooled_suite"] is True
    assert tests["demo-halves"]["pairs"][0]["n"] == 195
    assert "demo-halves: mean over its members" in render_markdown(report.tables["main"])


def test_holm_marker_logic_with_injected_pvalues():
    benchmarks = ["b1", "b2", "b3"]
    values = {(label, b): [0.5] for label in ("base", "sys", "other") for b in benchmarks}
    # Raw p 0.01, 0.04, 0.03: all below 0.05, but Holm gives 0.03, 0.06, 0.06: only b1 stays significant.
    pvalues = {("sys", "b1"): 0.01, ("sys", "b2"): 0.04, ("sys", "b3"): 0.03}
    # A separate family: 0.02 alone in its row would pass, 0.02 and 0.5 -> adjusted 0.04 and 0.5.
    pvalues |= {("other", "b1"): 0.02, ("other", "b2"): 0.5}
    table = main_table(values, ["base", "sys", "other"], benchmarks, baseline="base", pvalues=pvalues)
    assert table.row("base")[1:4] == ["50.0", "50.0", "50.0"]
    assert table.row("sys")[1:4] == ["50.0" + SIGNIFICANT, "50.0", "50.0"]
    assert table.row("other")[1:4] == ["50.0" + SIGNIFICANT, "50.0", "50.0"]
    # Without a baseline there are no markers.
    plain = main_table(values, ["base", "sys"], benchmarks, pvalues=pvalues)
    assert SIGNIFICANT not in "".join(c for row in plain.rows for c in row)


def test_average_column_and_missing_benchmarks():
    values = {("a", "x"): [0.50, 0.52], ("a", "y"): [0.70], ("b", "x"): [0.60]}
    table = main_table(values, ["a", "b"], ["x", "y"])
    assert table.row("a") == ["a", "51.0 ± 1.4", "70.0", _pct((0.51 + 0.70) / 2)]
    assert table.row("b") == ["b", "60.0", "-", "-"]


def test_the_average_can_cover_the_shared_benchmarks_and_seed_level_tests_are_listed():
    # AskAPatient's ten folds for the cheap rows only: the avg covers the columns every row has
    values = {("a", "x"): [0.50], ("a", "folds"): [0.90], ("b", "x"): [0.60, 0.62]}
    table = main_table(
        values, ["a", "b"], ["x", "folds"], baseline="a", average_over=["x"], seed_pvalues={("b", "x"): 0.0421}
    )
    assert table.row("a")[-1] == "50.0" and table.row("b")[-1] == "61.0" and table.row("b")[2] == "-"
    assert "avg: mean over the benchmarks (x: the benchmarks every row has)" in table.notes[0]
    assert any(n.startswith("Seed-level test against a") and "b on x p = 0.042." in n for n in table.notes)


def test_closed_world_benchmarks_are_marked_and_listed():
    table = main_table({("a", "x"): [0.5]}, ["a"], ["x"], flags={"x": "closed-world KB"})
    assert table.headers[1] == "x‡"
    assert any(note.startswith("‡ x: closed-world KB") for note in table.notes)
    assert "$^{\\ddagger}$" in render_latex(table)


def test_seed_pairs():
    assert seed_pairs([0, 1, 2], [0]) == [(0, 0), (1, 0), (2, 0)]
    assert seed_pairs([0], [0, 1]) == [(0, 0), (0, 1)]
    assert seed_pairs([0, 1], [0, 1]) == [(0, 0), (1, 1)]
    assert seed_pairs([], [0]) == []


# --- other tables ------------------------------------------------------------


def test_topk_leakage_and_ablation_tables(lab):
    made, tables = lab["made"], lab["report"].tables
    tfidf = made[("tfidf", "demo", 0)].metrics
    topk = tables["topk"]
    assert list(topk.headers) == ["benchmark", "system", "acc@1", "acc@5", "acc@10"]
    exact_row = [r for r in topk.rows if r[:2] == ["demo", "exact"]][0]
    exact = made[("exact", "demo", 0)].metrics["acc"]["union"]
    assert exact_row[2:] == [_pct(exact["1"]), _pct(exact["5"]), _pct(exact["10"])]

    leakage = tables["leakage"]
    sizes = [r for r in leakage.rows if r[:2] == ["demo", "n (mentions)"]][0]
    assert sizes[2:] == [str(tfidf["leakage"][s]["n"]) for s in ("mention_seen", "mention_unseen")] + [
        str(tfidf["leakage"][s]["n"]) for s in ("concept_seen", "concept_unseen")
    ]
    exact_leak = [r for r in leakage.rows if r[:2] == ["demo", "exact"]][0]
    assert exact_leak[3] == _pct(made[("exact", "demo", 0)].metrics["leakage"]["mention_unseen"]["acc"]["1"])

    ablation = tables["ablation"]
    row = [r for r in ablation.rows if r[2] == "ngram_max=3"][0]
    value = made[("tfidf/ngram_max=3", "demo", 0)].metrics["acc"]["union"]["1"]
    delta = 100 * value - 100 * tfidf["acc"]["union"]["1"]
    assert row[:3] == ["ngram_max", "tfidf", "ngram_max=3"]
    assert row[3].startswith(f"{_pct(value)} ({delta:+.1f})")
    assert row[4] == "-"  # the ablation has no run on demo-halves


def test_ablation_table_unit():
    values = {("m", "x"): {0: 0.60}, ("m/k=2", "x"): {0: 0.65}}
    table = ablation_table(values, {"m/k=2": Ablation("k", "m", "k=2")}, ["x"], pvalues={("m/k=2", "x"): 0.01})
    assert table.rows[0] == ["-", "m", "(base)", "60.0", "60.0"]
    assert table.rows[1] == ["k", "m", "k=2", "65.0 (+5.0)" + SIGNIFICANT, "65.0 (+5.0)"]


def test_ablation_difference_is_taken_on_the_ablations_own_seeds():
    """A one-seed ablation beside a three-seed base: the difference is to the base's same seed, not its mean."""
    values = {("m", "x"): {0: 0.80, 1: 0.50, 2: 0.56}, ("m", "y"): {0: 0.70}, ("m/k=2", "x"): {0: 0.79}}
    values[("m/k=2", "y")] = {0: 0.72}
    table = ablation_table(values, {"m/k=2": Ablation("k", "m", "k=2")}, ["x", "y"])
    assert table.rows[0][3].startswith("62.0 ± ")  # the base row keeps all of its seeds
    assert table.rows[1][3:] == ["79.0 (-1.0)", "72.0 (+2.0)", "75.5 (+0.5)"]
    values[("m/k=2", "x")] = {3: 0.79}  # a seed the base does not have: no difference is claimed
    table = ablation_table(values, {"m/k=2": Ablation("k", "m", "k=2")}, ["x", "y"])
    assert table.rows[1][3:] == ["79.0", "72.0 (+2.0)", "75.5"]


def test_latex_escapes_and_markdown_pipes():
    table = Table("t_1 & 50%", ["a|b", "n_x"], [["x_y", "1 ± 2†"]], ["p < 0.05"], ["l", "r"])
    latex = render_latex(table)
    assert "x\\_y & 1 $\\pm$ 2$^{\\dagger}$ \\\\" in latex
    assert "\\toprule" in latex and "\\bottomrule" in latex and "p \\textless{} 0.05" in latex
    assert "a\\|b" in render_markdown(table)


# --- files -------------------------------------------------------------------


def test_files_written_in_markdown_and_latex(lab):
    out = lab["report"].out
    for name in [*TABLE_FILES, "significance.json", "README.md"]:
        assert (out / name).is_file(), name
    assert (out / "main.md").read_text().startswith("### Main results")
    assert "\\begin{tabular}{lrrr}" in (out / "main.tex").read_text()
    readme = (out / "README.md").read_text()
    assert "bioel-bench report" in readme and "## Code revisions recorded in the runs" in readme
    assert "| code revision | time |" in readme and " s |\n" in readme
    assert all(r.name in readme for r in lab["made"].values())
    significance = json.loads((out / "significance.json").read_text())
    assert significance["baseline"] == "exact" and significance["main"] and significance["ablation"]


def test_rebuild_gives_byte_identical_tables(lab, tmp_path):
    again = build_report([lab["runs"]], tmp_path / "again", baseline="exact", figures=False)
    first = lab["report"].out
    for name in [*TABLE_FILES, "significance.json"]:
        assert (again.out / name).read_bytes() == (first / name).read_bytes(), name


def test_bar_chart_intervals(lab):
    made = lab["made"]
    intervals = {(i["system"], i["benchmark"]): i for i in lab["report"].significance["intervals"]}
    suite = intervals[("exact", "demo-halves")]
    # A suite's interval is around the mean over its members, what the table reports.
    assert suite["acc"] == pytest.approx(made[("exact", "demo-halves", 0)].metrics["acc_member_mean"]["union"]["1"])
    for interval in intervals.values():
        assert interval["low"] <= interval["acc"] <= interval["high"]


def test_figures_png_and_pdf(lab):
    pytest.importorskip("matplotlib")
    figures = lab["report"].out / "figures"
    for stem in ("acc_at_k", "acc1_bars", "leakage"):
        for ext in ("png", "pdf"):
            path = figures / f"{stem}.{ext}"
            assert path.is_file() and path.stat().st_size > 1000, path
    assert b"CreationDate" not in (figures / "acc_at_k.pdf").read_bytes()


def test_a_rebuild_leaves_no_table_from_earlier_runs(lab, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for stale in ("ablation.md", "ablation.tex", "angel_chunks.md", "memorisation.tex"):
        (out / stale).write_text("from an earlier build\n")
    report = build_report([lab["made"][("exact", "demo", 0)].path], out, figures=False)
    assert "ablation" not in report.tables and "angel_chunks" not in report.tables
    left = {p.name for p in out.iterdir()}
    assert not {"ablation.md", "ablation.tex", "angel_chunks.md", "memorisation.tex"} & left
    assert {"main.md", "timings.md", "README.md"} <= left


def test_angel_chunk_table_and_figure(lab, tmp_path):
    pytest.importorskip("matplotlib")
    source = lab["made"][("tfidf", "demo", 0)].path
    fake = tmp_path / "runs" / "demo__angel__seed0__fake"
    shutil.copytree(source, fake)
    config = json.loads((fake / "config.json").read_text())
    write_json(fake / "config.json", {**config, "label": "angel", "system": "angel"})
    metrics = json.loads((fake / "metrics.json").read_text())
    keys = (
        "chunk",
        "dev_acc1",
        "pairs",
        "mentions_with_pairs",
        "mining_margin",
        "dpo_loss",
        "dpo_reward_margin",
        "dpo_reward_accuracy",
    )
    history = [
        dict(zip(keys, (0, 0.5, 12, 8, 12.5, 0.69, 0.01, 0.6))),
        dict(zip(keys, (1, 0.55, 10, 7, 2.25, 0.6, 0.2, 0.8))),
        {"chunk": 2, "dev_acc1": 0.54},
    ]
    write_json(fake / "metrics.json", {**metrics, "system_info": {"negative_stage": history}})
    report = build_report([fake, lab["made"][("exact", "demo", 0)].path], tmp_path / "out", baseline="exact")
    table = report.tables["angel_chunks"]
    assert [r[3] for r in table.rows] == ["0", "1", "2"]
    assert table.rows[1][4:] == ["55.0", "7", "10", "2.25", "0.600", "0.200", "80.0"]
    assert table.rows[2][5:] == ["-"] * 6
    assert (report.out / "angel_chunks.md").is_file() and (report.out / "figures" / "angel_chunks.pdf").is_file()


# --- inputs ------------------------------------------------------------------


def test_refuses_runs_on_different_test_data(lab, tmp_path):
    source = lab["made"][("tfidf", "demo", 0)].path
    other = tmp_path / "demo__tfidf__seed0__other"
    shutil.copytree(source, other)
    metrics = json.loads((other / "metrics.json").read_text())
    metrics["checksums"]["test"] = "0" * 64
    write_json(other / "metrics.json", metrics)
    config = json.loads((other / "config.json").read_text())
    write_json(other / "config.json", {**config, "label": "tfidf-copy"})
    with pytest.raises(IncomparableRunsError, match="test data differ"):
        from_runs([lab["made"][("exact", "demo", 0)].path, other])


def test_refuses_two_runs_for_the_same_seed(lab, tmp_path):
    source = lab["made"][("tfidf", "demo", 0)].path
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    with pytest.raises(BenchError, match="two runs of tfidf on demo with seed 0"):
        from_runs([source, copy])


def test_config_mode_scans_the_experiment_folder(lab):
    root = lab["root"]
    report = build_report([root / "configs" / "rep.yaml"], figures=False)
    assert (root / "runs" / "report" / "main.md").is_file()
    assert report.collection.baseline == "exact"
    assert report.collection.labels == ["exact", "tfidf"]
    assert list(report.collection.ablations) == ["tfidf/ngram_max=3"]
    assert "exact on demo seed 1" in report.collection.missing
    assert "Missing runs" in (report.out / "README.md").read_text()
    # Same runs, same tables as when the run directories are given directly.
    assert (report.out / "main.md").read_bytes() == (lab["report"].out / "main.md").read_bytes()


def test_config_mode_reads_the_sweep_plan(lab, tmp_path):
    made = lab["made"]
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "rep.yaml").write_text(CONFIG.replace("out: runs", "out: planned"))
    plan = [
        {"label": "exact", "ablation": None, "run_dir": str(made[("exact", "demo", 0)].path), "spec": {}},
        {"label": "tfidf", "ablation": None, "run_dir": str(made[("tfidf", "demo", 0)].path), "spec": {}},
        {"label": "tfidf", "ablation": None, "run_dir": "demo__tfidf__seed9__gone", "spec": {"benchmark": "demo"}},
    ]
    (tmp_path / "planned").mkdir()
    (tmp_path / "planned" / "sweep.json").write_text(json.dumps(plan))
    report = build_report([tmp_path / "configs" / "rep.yaml"], tmp_path / "out", figures=False)
    assert sorted(report.collection.groups) == [("exact", "demo"), ("tfidf", "demo")]
    assert report.collection.groups[("tfidf", "demo")].seeds == [0]
    assert len(report.collection.missing) == 1 and "seed9" in report.collection.missing[0]


def test_config_mode_reads_the_sweep_executors_plan_from_runs_dir(lab, tmp_path):
    """The sweep executor's sweep.json: an object with "runs", each "run" relative to its folder."""
    made = lab["made"]
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    runs = []
    for label, seed in (("exact", 0), ("tfidf", 0), ("tfidf", 1)):
        record = made[(label, "demo", seed)]
        (folder / record.name).symlink_to(record.path, target_is_directory=True)
        runs.append({"label": label, "ablation": None, "benchmark": "demo", "seed": seed, "run": record.name})
    runs.append({"label": "exact", "ablation": None, "benchmark": "demo", "seed": 1, "run": "demo__exact__seed1__x"})
    plan = {"schema_version": 1, "experiment": EXPERIMENT, "runs": runs}
    (folder / "sweep.json").write_text(json.dumps(plan))
    config = lab["root"] / "configs" / "rep.yaml"
    report = build_report([config], tmp_path / "out", runs_dir=folder, figures=False)
    assert report.collection.groups[("tfidf", "demo")].seeds == [0, 1]
    assert report.collection.missing == ["exact on demo seed 1 (demo__exact__seed1__x: not finished)"]
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "--runs" in readme and "Experiment `rep`: exact vs tfidf on the demo" in readme
    assert "## Deviations from the published protocol\n\n- the demo stands in for a real benchmark\n" in readme


def test_cli(lab, tmp_path, capsys):
    made = lab["made"]
    out = tmp_path / "cli"
    assert main(["report", str(lab["runs"]), "--out", str(out), "--baseline", "exact", "--no-figures"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert (out / "main.md").read_bytes() == (lab["report"].out / "main.md").read_bytes()
    assert "--no-figures" in (out / "README.md").read_text()
    a, b = made[("exact", "demo", 0)].path, made[("tfidf", "demo", 0)].path
    assert main(["errors", str(a), str(b), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_mentions"] == 195
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "neither a run directory" in capsys.readouterr().err
    assert main(["report", str(lab["runs"]), "--baseline", "nope", "--out", str(out)]) == 2


def test_suite_members_are_not_reported_on_their_own(lab):
    collection = lab["report"].collection
    assert collection.benchmarks == ["demo", "demo-halves"]
    pooled = load_run(collection.groups[("exact", "demo-halves")].runs[0].path)
    assert np.isclose(
        pooled.metrics["acc_member_mean"]["union"]["1"],
        np.mean([m["acc"]["union"]["1"] for m in pooled.metrics["members"].values()]),
    )


def test_latex_tables_are_paper_ready():
    """A float with caption and label, display names, the best score of each score column in bold."""
    from bench.report.names import display

    table = Table(
        "Main results: acc@1 (%)",
        ["system", "ncbi-disease", "aap-fold0‡", "avg"],
        [
            ["tfidf", "65.8†", "55.8", "60.8"],
            ["angel/top_k=10", "80.6 ± 1.2", "80.4†", "80.5"],
            ["exact", "-", "80.4", "80.4"],
        ],
        align=["l", "r", "r", "r"],
        best_columns=(1, 2, 3),
    )
    latex = render_latex(table, label="main")
    assert "\\begin{table}[t]" in latex and "\\end{table}" in latex
    assert "\\caption{Main results: acc@1 (\\%)}" in latex and "\\label{tab:main}" in latex
    assert "system & NCBI-disease & AAP (fold 0)$^{\\ddagger}$ & avg \\\\" in latex
    assert "ANGEL (top\\_k=10) & \\textbf{80.6} $\\pm$ 1.2 & \\textbf{80.4}$^{\\dagger}$ & \\textbf{80.5} \\\\" in latex
    assert "Exact match & - & \\textbf{80.4} & 80.4 \\\\" in latex  # ties are all bold; a missing cell is not
    assert "TF-IDF & 65.8$^{\\dagger}$ & 55.8 & 60.8 \\\\" in latex
    assert display("unknown-system") == "unknown-system" and display("bc5cdr‡") == "BC5CDR‡"


def test_panels_without_data_say_so(tmp_path):
    from bench.report.figures import acc_at_k_curves, leakage_bars

    values = {("tfidf", "a"): {1: 0.5, 5: 0.7}}
    written = acc_at_k_curves(tmp_path, values, ["tfidf"], ["a", "b"])
    assert written == ["acc_at_k.png", "acc_at_k.pdf"]
    pdf = (tmp_path / "acc_at_k.pdf").read_bytes()
    assert pdf.count(b"/Type /Page") >= 1
    import bench.report.figures as figures

    captured = []
    original = figures._no_data
    figures._no_data = lambda axis, what="no data": captured.append(what) or original(axis, what)
    try:
        acc_at_k_curves(tmp_path, values, ["tfidf"], ["a", "b"])
        leakage_bars(tmp_path, {}, ["tfidf"], ["b"], ["mention_seen"])
    finally:
        figures._no_data = original
    assert captured == ["no data", "no data"]  # benchmark b has no curve; the leakage panel has no bar
