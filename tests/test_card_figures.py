"""card_figures: the per-profile figures of a card are computed, and written only where they belong."""

from __future__ import annotations

import yaml

from bench.benchmarks.card_figures import BEGIN, END, figures_table, profiles_of, render, replace_block

STATS = {
    "v": {
        "genbioel": {
            "expander": "pyab3p==0.1.1",
            "splits": {"test": {"mentions": 10}},
            "kb": {"concepts": 3, "names": 1200},
            "steps": {"test": {"abbreviation expanded": 2, "string normalised": 4}, "train": {"dropped: x": 3}},
        },
        "official": {
            "expander": None,
            "splits": {"test": {"mentions": 11}},
            "kb": {"concepts": 3, "names": 5},
            "steps": {},
        },
    }
}
BASELINES = {
    "tfidf": {"v": {"genbioel": {"acc@1": 80.0, "acc@5": 90.0}, "official": {"acc@1": 60.0, "acc@5": 70.0}}},
    "exact": {"v": {"genbioel": {"acc@1": 50.0, "acc@5": 50.0}, "official": {"acc@1": 40.0, "acc@5": 40.0}}},
}
CARD = "---\nname: x\nstats:\n  old: 1\nbaselines:\n  tfidf: {}\nlicense: {corpus: y}  # kept\n---\n\n# X\n\nText.\n"


def test_replace_block_replaces_only_its_key() -> None:
    header = "a: 1\nstats:\n  old: 1\n  more: [1]\nb: 2\n"
    assert replace_block(header, "stats", "stats: new\n") == "a: 1\nstats: new\nb: 2\n"
    assert replace_block("a: 1\n", "stats", "stats: new\n") == "a: 1\nstats: new\n"


def test_render_writes_the_blocks_and_the_table_and_keeps_the_rest() -> None:
    text = render("x", CARD, STATS, BASELINES)
    header = yaml.safe_load(text.split("---\n")[1])
    assert header["stats"] == STATS and header["baselines"] == BASELINES
    assert header["license"] == {"corpus": "y"} and "# kept" in text
    assert "python -m bench.benchmarks.card_figures x" in header["baselines_command"]
    assert text.count(BEGIN) == 1 and "Text." in text
    assert render("x", text, STATS, BASELINES) == text  # rewriting is stable: the table is replaced in place


def test_the_table_has_a_row_per_variant_and_profile() -> None:
    rows = figures_table(STATS, BASELINES).splitlines()
    assert len(rows) == 4
    assert rows[2] == "| v | genbioel | 10 | 2 / 4 / 0 | 3 | 3 / 1,200 | 80.0 / 90.0 | 50.0 / 50.0 |"
    assert END not in "\n".join(rows)


def test_profiles_shown_are_those_the_variant_accepts() -> None:
    assert profiles_of("bc5cdr", "bc5cdr") == ["genbioel", "genbioel-fixed", "official"]  # BioSyn: one type at a time
    assert profiles_of("bc5cdr", "bc5cdr-disease") == ["genbioel", "genbioel-fixed", "biosyn", "official"]
    assert "biosyn" not in profiles_of("cometa", "cometa-stratified-general")
