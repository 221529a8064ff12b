"""BioSyn's composite resolution and OMIM rule, on the examples its code produces."""

from __future__ import annotations

import pytest

from bench.benchmarks.biosyn_composites import apply_composite_resolve, omim_filter, resolve_composite, split_ids


def test_ids_split_on_bar_else_plus_never_both() -> None:
    assert split_ids("D1|D2") == (["D1", "D2"], "|")
    assert split_ids("D1+D2") == (["D1", "D2"], "+")
    assert split_ids("D1|D2+D3") == (["D1", "D2+D3"], "|")
    assert split_ids("D1") == (["D1"], "|")


@pytest.mark.parametrize(
    ("cui", "expected"),
    [
        ("D001943|OMIM:113705", "D001943"),
        ("D001943|D010051|OMIM:113705", "D001943|D010051"),
        ("OMIM:1|OMIM:2", "OMIM:1|OMIM:2"),
        ("D1+D2", "D1+D2"),
    ],
)
def test_omim_ids_are_dropped_only_when_mixed(cui: str, expected: str) -> None:
    assert omim_filter(cui) == expected


@pytest.mark.parametrize(
    ("mention", "n_ids", "pieces"),
    [
        ("cancers of the breast and ovary", 2, ["cancers of breast", "cancers of ovary"]),
        ("tumors of the breast and ovary, familial", 2, ["tumors of breast", "tumors of ovary"]),
        ("breast and ovarian cancer", 2, ["breast cancer", "ovarian cancer"]),
        (
            "colorectal, endometrial, and ovarian cancers",
            3,
            ["colorectal cancers", "endometrial cancers", "ovarian cancers"],
        ),
        ("ovarian and/or breast cancer", 2, ["ovarian cancer", "breast cancer"]),
        (
            "breast, ovarian and colon and rectal cancer",
            3,
            ["breast cancer", "ovarian cancer", "colon and rectal cancer"],
        ),
        ("hereditary breast/ovarian cancer syndrome", 2, ["hereditary breast", "hereditary ovarian cancer syndrome"]),
        ("breast/ovarian cancer", 2, ["breast", "ovarian cancer"]),
        ("DMD/BMD", 2, ["DMD", "BMD"]),
        ("sarcomas carcinomas", 2, ["sarcomas", "carcinomas"]),
        ("sarcomas and carcinomas", 2, ["sarcomas and carcinomas"]),
    ],
)
def test_the_first_matching_pattern_decides(mention: str, n_ids: int, pieces: list[str]) -> None:
    ids = "|".join(f"D{i}" for i in range(n_ids))
    assert resolve_composite(mention, ids) == (pieces, ids)


def test_written_fields_split_or_keep_whole_with_filtered_ids() -> None:
    assert apply_composite_resolve("breast and ovarian cancer", "D001943|D010051") == (
        "breast cancer|ovarian cancer",
        "D001943|D010051",
    )
    # the OMIM rule leaves one id: not split, but the filtered id is written
    assert apply_composite_resolve("breast and ovarian cancer", "D001943|OMIM:113705") == (
        "breast and ovarian cancer",
        "D001943",
    )
    # a wrong piece count keeps the whole mention
    assert apply_composite_resolve("breast and ovarian cancer", "D1|D2|D3") == ("breast and ovarian cancer", "D1|D2|D3")
    # the + symbol is kept; a mention already holding | passes unchanged
    assert apply_composite_resolve("breast and ovarian cancer", "D1+D2") == ("breast cancer|ovarian cancer", "D1+D2")
    assert apply_composite_resolve("a|b", "D1|OMIM:2") == ("a|b", "D1|OMIM:2")


def test_one_query_goes_through_biosyn_steps_in_order() -> None:
    from bench.benchmarks.biosyn_composites import biosyn_query
    from bench.benchmarks.peer_text import NCBI_TYPOS

    known = {"D003924", "D001943", "D010051", "607642"}
    pairs = {"DM": "Diabetes Mellitus"}
    # expanded before lower-casing (the lookup is case-sensitive), then cleaned
    assert biosyn_query("DM", "D003924", pairs, known) == ("diabetes mellitus", "D003924")
    # split, then each part cleaned with | kept
    assert biosyn_query("breast and ovarian cancer", "D001943|D010051", {}, known) == (
        "breast cancer|ovarian cancer",
        "D001943|D010051",
    )
    # OMIM rule, then the prefix of the surviving id is removed
    assert biosyn_query("Brain Tumour", "OMIM:607642", {}, known, NCBI_TYPOS) == ("brain tumor", "607642")
    # an id outside the dictionary (BC5CDR's -1) drops the mention
    assert biosyn_query("something", "-1", {}, known) is None
    assert biosyn_query("breast and ovarian cancer", "D001943|D999999", {}, known) is None
