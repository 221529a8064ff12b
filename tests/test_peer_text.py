"""The peers' string normalisations and abbreviation use (BioSyn, GenBioEL), on hand-made strings."""

from __future__ import annotations

from bench.benchmarks.peer_text import (
    NCBI_TYPOS,
    biosyn_clean,
    biosyn_expand,
    genbioel_conv,
    genbioel_expand,
)

PAIRS = {"DM": "myotonic dystrophy", "DMD": "Duchenne muscular dystrophy", "BMD": "Becker muscular dystrophy"}


def test_biosyn_clean_lowercases_and_turns_punctuation_runs_into_one_space() -> None:
    assert biosyn_clean("Non-Hodgkin's  Lymphoma (NHL).") == "non hodgkin s lymphoma nhl"
    assert biosyn_clean("  breast / ovarian   cancer ") == "breast ovarian cancer"


def test_biosyn_queries_keep_the_composite_bar_dictionary_names_do_not() -> None:
    assert biosyn_clean("breast cancer|ovarian cancer", keep="|") == "breast cancer|ovarian cancer"
    assert biosyn_clean("breast cancer|ovarian cancer") == "breast cancer ovarian cancer"


def test_biosyn_keeps_non_ascii_punctuation() -> None:
    assert biosyn_clean("Crohn\u2019s disease") == "crohn\u2019s disease"


def test_ncbi_typos_are_whole_tokens_after_lowercasing_before_punctuation() -> None:
    assert len(NCBI_TYPOS) == 37
    assert biosyn_clean("Brain Tumour", typos=NCBI_TYPOS) == "brain tumor"
    # attached punctuation blocks the correction, as in BioSyn
    assert biosyn_clean("brain tumour,", typos=NCBI_TYPOS) == "brain tumour"
    assert biosyn_clean("smallbowel obstruction", typos=NCBI_TYPOS) == "small bowel obstruction"
    assert biosyn_clean("tumourous", typos=NCBI_TYPOS) == "tumourous"


def test_biosyn_expand_is_token_level_and_case_sensitive() -> None:
    assert biosyn_expand("DM", PAIRS) == "myotonic dystrophy"
    assert biosyn_expand("patients with DM", PAIRS) == "patients with myotonic dystrophy"
    assert biosyn_expand("dm", PAIRS) == "dm"
    assert biosyn_expand("(DM)", PAIRS) == "(DM)"
    assert biosyn_expand("DM.", PAIRS) == "DM."


def test_biosyn_expand_handles_slashes_and_a_trailing_comma() -> None:
    assert biosyn_expand("DMD/BMD", PAIRS) == "Duchenne muscular dystrophy/Becker muscular dystrophy"
    assert biosyn_expand("DM, and DMD", PAIRS) == "myotonic dystrophy, and Duchenne muscular dystrophy"


def test_biosyn_expand_collapses_whitespace_and_stops_on_a_self_referring_pair() -> None:
    assert biosyn_expand("breast   cancer", {}) == "breast cancer"
    looping = {"A": "A b"}
    assert biosyn_expand("A", looping, max_passes=3).startswith("A b")


def test_genbioel_conv_replaces_its_character_set_only() -> None:
    assert genbioel_conv(" Tooth Agenesis, Selective, 6 ") == "tooth agenesis selective 6"
    assert genbioel_conv("alpha:beta & gamma#1") == "alpha:beta & gamma#1"
    assert genbioel_conv("Non-Hodgkin's", lowercase=False, strip=False) == "Non Hodgkin s"
    # "," " " "(" become three spaces, ")" one: AskAPatient's phrases keep them
    assert genbioel_conv(" Pain, (left)", lowercase=False, strip=False, collapse=False) == " Pain   left "


def test_genbioel_expand_replaces_only_a_whole_mention() -> None:
    assert genbioel_expand("DMD", PAIRS) == "duchenne muscular dystrophy"
    assert genbioel_expand("DMD patients", PAIRS) == "dmd patients"
    assert genbioel_expand("dmd", PAIRS) == "dmd"
