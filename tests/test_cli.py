"""The command line as a user types it: run, compare, table, ls, --help, errors."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import run_cli
from scipy.stats import binomtest

VERBS = ["run", "compare", "table", "prepare", "stats", "sweep", "report", "errors", "ls"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    for system in ("exact", "tfidf"):
        result = run_cli("run", "--system", system, "--benchmark", "demo", "--out", str(out), "--name", system)
        assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb):
    result = run_cli(verb, "--help")
    assert result.returncode == 0
    assert "usage: bioel-bench " + verb in result.stdout


def test_run_json_prints_acc_at_1_to_10(tmp_path):
    result = run_cli("run", "--system", "tfidf", "--benchmark", "demo", "--json", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert sorted(data["acc"], key=int) == [str(k) for k in range(1, 11)]
    values = [data["acc"][str(k)] for k in range(1, 11)]
    assert values == sorted(values) and 0 < values[0] <= 1  # acc@k never decreases in k
    assert data["n_mentions"] == 195
    assert (tmp_path / data["run_dir"].split("/")[-1] / "metrics.json").is_file()


def test_run_prints_a_table_and_the_run_directory(two_runs):
    result = run_cli("run", "--system", "exact", "--benchmark", "demo", "--out", str(two_runs), "--name", "exact")
    assert result.returncode == 0
    assert "acc@1" in result.stdout and "mention_unseen" in result.stdout
    assert f"run directory: {two_runs / 'exact'}" in result.stdout


def test_compare_mcnemar_equals_binomtest_on_discordant_counts(two_runs):
    result = run_cli("compare", str(two_runs / "exact"), str(two_runs / "tfidf"), "--json", "--k", "1", "5")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)

    # Recount the discordant pairs from the prediction files themselves.
    def correct(run, k):
        out = {}
        for line in (two_runs / run / "predictions.jsonl").read_text().splitlines():
            row = json.loads(line)
            ids = set().union(*[set(c["ids"]) for c in row["candidates"][:k]]) if row["candidates"] else set()
            out[row["id"]] = bool(ids & set(row["gold"]))
        return out

    for row in data["comparisons"]:
        a, b = correct("exact", row["k"]), correct("tfidf", row["k"])
        n01 = sum(1 for i in a if not a[i] and b[i])
        n10 = sum(1 for i in a if a[i] and not b[i])
        assert (row["n01"], row["n10"]) == (n01, n10)
        assert row["mcnemar_p"] == pytest.approx(binomtest(n01, n01 + n10, 0.5).pvalue, rel=1e-12)
        assert row["ci_low"] <= row["diff"] <= row["ci_high"]
        assert row["diff"] == pytest.approx(sum(b.values()) / len(b) - sum(a.values()) / len(a))
        assert 0 < row["randomization_p"] <= 1


def test_compare_prints_ci_and_both_p_values(two_runs):
    result = run_cli("compare", str(two_runs / "exact"), str(two_runs / "tfidf"))
    assert result.returncode == 0
    assert "95% CI" in result.stdout and "McNemar p" in result.stdout and "rand. p" in result.stdout


def test_compare_refuses_runs_on_different_test_data(two_runs, tmp_path):
    shutil.copytree(two_runs / "tfidf", tmp_path / "other")
    metrics = json.loads((tmp_path / "other" / "metrics.json").read_text())
    metrics["checksums"]["test"] = "0" * 64
    (tmp_path / "other" / "metrics.json").write_text(json.dumps(metrics))
    result = run_cli("compare", str(two_runs / "exact"), str(tmp_path / "other"))
    assert result.returncode == 2
    assert "refusing to compare" in result.stderr and "test data differ" in result.stderr


@pytest.mark.parametrize("fmt,marker", [("md", "|"), ("latex", "\\toprule")])
def test_table_formats(two_runs, fmt, marker):
    result = run_cli("table", str(two_runs / "exact"), str(two_runs / "tfidf"), "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout and "tfidf" in result.stdout and "acc@10" in result.stdout


def test_ls_lists_builtins():
    assert {"exact", "tfidf"} <= {line.split()[0] for line in run_cli("ls", "systems").stdout.splitlines() if line}
    assert "demo" in run_cli("ls", "benchmarks").stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "--system", "tfidff", "--benchmark", "demo"], "Did you mean 'tfidf'"),
        (["run", "--system", "tfidf", "--benchmark", "demo", "--set", "ngram_mx=3"], "Did you mean 'ngram_max'"),
        (["run", "--system", "tfidf", "--benchmark", "demo", "--set", "ngram_max=big"], "expected an integer"),
        (["run", "--system", "tfidf", "--benchmark", "demo", "--split", "nope"], "has no split 'nope'"),
        (["compare", "/nonexistent/a", "/nonexistent/b"], "no such run directory"),
    ],
)
def test_bad_requests_give_one_line_errors(args, message, tmp_path):
    result = run_cli(*args, "--out", str(tmp_path)) if args[0] == "run" else run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_table_and_report_read_folders_of_runs_at_any_depth(two_runs, tmp_path):
    """`table runs/*` on a folder of runs, and runs kept in subfolders, are read, not refused or skipped."""
    a, b = two_runs / "exact", two_runs / "tfidf"
    nested = tmp_path / "all" / "demo" / "baselines"
    nested.mkdir(parents=True)
    shutil.copytree(a, nested / a.name)
    shutil.copytree(b, tmp_path / "all" / b.name)
    result = run_cli("table", str(tmp_path / "all"))
    assert result.returncode == 0, result.stderr
    assert "exact" in result.stdout and "tfidf" in result.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = run_cli("table", str(empty))
    assert refused.returncode == 2 and "holds no finished run directory" in refused.stderr
