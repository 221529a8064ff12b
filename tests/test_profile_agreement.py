"""profile_agreement: pairing a profile's mentions with a peer's processed files, and counting what agrees."""

from __future__ import annotations

from pathlib import Path

from bench.benchmark import Benchmark
from bench.benchmarks.profile_agreement import agreement, compare_kbs, compare_split, main, read_folder
from bench.kb import KnowledgeBase
from bench.mention import Mention

KB = KnowledgeBase("tiny", {"D1": ["breast cancer"], "D2": ["ovarian cancer"], "D3": ["cold"]}, {"OMIM:9": "D1"})


def _m(mention_id: str, text: str, *ids: str, doc: str = "1", span=(0, 1)) -> Mention:
    return Mention(mention_id, text, frozenset(ids), doc_id=doc, span=span)


def test_pairs_by_span_and_counts_each_kind_of_difference() -> None:
    ours = [_m("1:0-5", "cold", "D3"), _m("1:6-9", "breast cancer", "D1"), _m("1:10-12", "x", "D2")]
    theirs = [_m("1:0-5", "cold", "D3"), _m("1:6-9", "breast cancers", "D1"), _m("1:20-22", "y", "D2")]
    result = compare_split(ours, theirs, by_span=True).as_dict()
    assert (result["paired"], result["same_text"], result["identical"]) == (2, 1, 1)
    assert (result["only_ours"], result["only_theirs"]) == (1, 1)
    assert result["examples"]["text"] == ["1:6-9: ours 'breast cancer', theirs 'breast cancers'"]


def test_pairs_by_content_whatever_the_line_order() -> None:
    ours = [_m("a", "cold", "D3"), _m("b", "cold", "D3"), _m("c", "breast cancer", "D1")]
    theirs = [_m("t:3", "breast cancer", "D2"), _m("t:1", "cold", "D3"), _m("t:2", "cold ", "D3")]
    result = compare_split(ours, theirs, by_span=False).as_dict()
    # both "cold" pair (a trailing space is what a reader strips), "breast cancer" pairs by text with another gold
    assert (result["paired"], result["same_text"], result["same_gold"], result["identical"]) == (3, 3, 2, 2)
    assert result["examples"]["gold"] == ["c 'breast cancer': ours ['D1'], theirs ['D2']"]


def test_kb_entries_are_compared_through_our_ids() -> None:
    theirs = [("breast cancer", ["OMIM:9"]), ("ovarian cancer", ["D2"]), ("common cold", ["D3"])]
    result = compare_kbs(KB, theirs)
    assert (result["names_ours"], result["names_theirs"], result["names_both"]) == (3, 3, 2)
    assert result["name_concept_pairs_both"] == 2
    assert result["examples"]["only_theirs"] == ["'common cold' D3"]


def _biosyn_folder(root: Path) -> Path:
    for split, lines in {
        "processed_train": ["1||0|4||Disease||cold||D3"],
        "processed_test": ["2||0|13||Disease||breast cancer||9", "2||14|28||Disease||ovarian|cancer||D2|D1"],
    }.items():
        (root / split).mkdir(parents=True)
        (root / split / "1.concept").write_text("\n".join(lines) + "\n")
    (root / "test_dictionary.txt").write_text("D1|9||breast cancer\nD2||ovarian cancer\nD3||cold\n")
    return root


def test_a_biosyn_folder_agrees_with_the_same_mentions(tmp_path: Path) -> None:
    ours = Benchmark(
        "tiny",
        {
            "train": [_m("1:0-4", "cold", "D3", doc="1", span=(0, 4))],
            "dev": [],
            "test": [
                _m("2:0-13", "breast cancer", "D1", doc="2", span=(0, 13)),
                _m("2:14-28", "ovarian|cancer", "D2", "D1", doc="2", span=(14, 28)),
            ],
        },
        KB,
    )
    theirs, entries = read_folder("biosyn", _biosyn_folder(tmp_path / "biosyn"), ours)
    report = agreement(ours, theirs, entries, by_span=True)
    # OMIM 9 is the BioSyn spelling of OMIM:9, an alternative id of D1 in our KB
    test = report["splits"]["test"]
    assert (test["same_text"], test["same_gold"]) == (2, 2) and report["splits"]["train"]["identical"] == 1
    # the composite's parts differ (ours has none, BioSyn's reader splits "ovarian|cancer"): not identical
    assert test["same_parts"] == test["identical"] == 1
    assert report["kb"]["names_both"] == 3


def test_the_command_names_a_missing_folder_in_one_line(tmp_path: Path, capsys) -> None:
    code = main(["demo", "--profile", "official", "--layout", "biosyn", "--against", str(tmp_path / "none")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "test_dictionary.txt" in err
