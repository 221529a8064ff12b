"""MedMentions ST21pv end to end on invented fixtures in the official formats.

``tests/fixtures/medmentions/`` is laid out like a data folder (``medmentions/``,
``umls/``) except that the corpus is kept uncompressed so that it can be read in
review; :func:`data_folder` copies it and gzips ``corpus_pubtator.txt`` into
``corpus_pubtator.txt.gz`` as the official file is. Six invented abstracts:
train 90000001-3 (14 mentions), dev 90000004 (5), test 90000005-6 (14). Gold
CUIs the KB lacks: C9000004 (only an LNC name) in train and test, C9000011
(only suppressed names) and C9000099 (in no UMLS file) in test.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from bench.benchmarks.medmentions import (
    CORPUS,
    PMID_LISTS,
    load_medmentions_st21pv,
    read_medmentions,
    read_pmid_lists,
    umls_cui,
)
from bench.benchmarks.prepare import prepare
from bench.benchmarks.sources import load_card
from bench.errors import BenchError, DataFormatError
from bench.stats import benchmark_stats

FIXTURE = Path(__file__).parent / "fixtures" / "medmentions"
TRAIN_DOCS, DEV_DOCS, TEST_DOCS = ["90000001", "90000002", "90000003"], ["90000004"], ["90000005", "90000006"]


def data_folder(root: Path, corpus_text: str | None = None, skip: tuple[str, ...] = ()) -> Path:
    """A folder holding the official files (as ``prepare --from`` expects), built from the fixture."""
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(*skip) if skip else None)
    plain = root / "medmentions" / "corpus_pubtator.txt"
    text = corpus_text if corpus_text is not None else plain.read_text(encoding="utf-8")
    with open(root / CORPUS, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(text.encode("utf-8"))
    plain.unlink()
    return root


def quiet(*_args) -> None:
    pass


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("medmentions")
    source = data_folder(root / "official")
    data = root / "data"
    prepare("medmentions-st21pv", from_dir=source, data_dir=data, log=quiet)
    return data


@pytest.fixture(scope="module")
def benchmark(prepared):
    return load_medmentions_st21pv(data_dir=prepared, profile="official")


def test_splits_follow_the_pmid_lists(benchmark):
    docs = {name: [] for name in benchmark.splits}
    for name, mentions in benchmark.splits.items():
        for mention in mentions:
            if mention.doc_id not in docs[name]:
                docs[name].append(mention.doc_id)
    assert docs == {"train": TRAIN_DOCS, "dev": DEV_DOCS, "test": TEST_DOCS}  # corpus order
    assert {name: len(m) for name, m in benchmark.splits.items()} == {"train": 14, "dev": 5, "test": 14}


def test_mentions_ids_spans_contexts_and_types(benchmark):
    by_id = {m.id: m for mentions in benchmark.splits.values() for m in mentions}
    mention = by_id["90000001:92-109"]
    assert mention.text == "Diabetes mellitus" and mention.gold_ids == {"C9000001"}  # "UMLS:" stripped
    assert mention.context[92:109] == mention.text and mention.context.startswith("Insulin resistance in diabetes")
    assert mention.entity_type == "T038" and mention.span == (92, 109) and not mention.composite
    assert by_id["90000003:0-8"].entity_type == "T103,T168"  # a concept with two semantic types
    # the title and the abstract are joined by one space: "Hospital staff and nurses. Nurses ..."
    assert by_id["90000006:27-33"].text == "Nurses" and by_id["90000006:27-33"].gold_ids == {"C9000019"}
    assert all(i.startswith("C9") and ":" not in i for m in by_id.values() for i in m.gold_ids)


def test_kb_is_the_st21pv_filter_of_the_supplied_umls(benchmark):
    kb = benchmark.kb
    assert len(kb) == 17 and "ST21pv" in kb.name and not kb.closed_world
    assert kb.preferred_name("C9000001") == "Diabetes Mellitus"
    assert not {"C9000004", "C9000007", "C9000009", "C9000011", "C9000012", "C9000025", "C9000030"} & set(kb.concepts)


def test_stats_count_gold_missing_from_the_kb(benchmark):
    stats = benchmark_stats(benchmark)
    splits = stats["splits"]
    assert {name: s["documents"] for name, s in splits.items()} == {"train": 3, "dev": 1, "test": 2}
    assert splits["train"]["mentions_with_gold_missing_from_kb"] == 1  # C9000004
    assert splits["dev"]["mentions_with_gold_missing_from_kb"] == 0
    assert splits["test"]["mentions_with_gold_missing_from_kb"] == 3
    assert splits["test"]["gold_ids_missing_from_kb"] == 3  # C9000004, C9000011, C9000099
    assert stats["kb"]["concepts"] == 17
    assert stats["test_overlap_with_train_dev"]["mentions_seen"] == 6  # Obese, mice x2, insulin, pancreas, Glucose m.


def test_card_and_sources(benchmark, prepared):
    card = load_card("medmentions-st21pv")
    assert benchmark.card == card
    assert card["official_counts"]["documents"] == {"total": 4392, "train": 2635, "dev": 878, "test": 879}
    assert set(benchmark.source_files) == {CORPUS, *PMID_LISTS.values(), "umls/MRCONSO.RRF", "umls/MRSTY.RRF"}
    assert (prepared / "raw" / CORPUS).is_file() and (
        prepared / "prepared" / "medmentions-st21pv-official.pkl"
    ).is_file()


def test_profiles(prepared):
    genbioel = load_medmentions_st21pv(data_dir=prepared, profile="genbioel")
    official = load_medmentions_st21pv(data_dir=prepared, profile="official")
    assert genbioel.protocol == "genbioel" and len(genbioel.split("test")) == len(official.split("test")) == 14
    assert all(m.text == m.text.lower() for m in genbioel.split("test"))  # nothing dropped, all lower-cased
    assert genbioel.expander is not None and "test" in genbioel.steps
    with pytest.raises(BenchError, match="has no protocol profile 'biosyn'"):
        load_medmentions_st21pv(data_dir=prepared, profile="biosyn")
    with pytest.raises(BenchError, match="unknown protocol profile 'bogus'"):
        load_medmentions_st21pv(data_dir=prepared, profile="bogus")


def test_run_tfidf_through_the_cli(prepared, tmp_path, capsys, monkeypatch):
    from bench.cli import main

    monkeypatch.setenv("BIOEL_BENCH_PROGRESS", "0")
    argv = ["run", "--system", "tfidf", "--benchmark", "medmentions-st21pv", "--data-dir", str(prepared)]
    assert main([*argv, "--out", str(tmp_path), "--json", "--k", "1", "5"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_mentions"] == 14 and result["benchmark"] == "medmentions-st21pv"
    assert 0 < result["acc"]["1"] <= result["acc"]["5"] <= 11 / 14  # 3 test mentions can never be hit


def test_prepare_without_umls_says_how_to_get_it(tmp_path):
    source = data_folder(tmp_path / "official", skip=("umls",))
    with pytest.raises(BenchError) as caught:
        prepare("medmentions-st21pv", from_dir=source, data_dir=tmp_path / "data", log=quiet)
    message = str(caught.value)
    assert "umls/MRCONSO.RRF" in message and "umls/MRSTY.RRF" in message and "licensed" in message
    assert "https://uts.nlm.nih.gov/uts/" in message and "2017AA" in message and "MRCONSO.RRF" in message
    with pytest.raises(BenchError, match="bioel-bench prepare medmentions-st21pv"):
        load_medmentions_st21pv(data_dir=tmp_path / "data")


def test_a_malformed_corpus_line_stops_prepare_with_file_and_line(tmp_path):
    text = (FIXTURE / "medmentions" / "corpus_pubtator.txt").read_text(encoding="utf-8")
    broken = text.replace("90000002\t23\t28\tobese\tT033\tUMLS:C9000010", "90000002\t23\t28\tobese\tT033")
    source = data_folder(tmp_path / "official", corpus_text=broken)
    with pytest.raises(DataFormatError, match="expected at least 6 tab-separated fields") as caught:
        prepare("medmentions-st21pv", from_dir=source, data_dir=tmp_path / "data", log=quiet)
    assert caught.value.line == 14 and caught.value.path.endswith("corpus_pubtator.txt.gz")


# --- the readers on small files (no gzip, no prepare) -------------------------------------------

CORPUS_TEXT = (
    "100|t|Fever in mice.\n"
    "100|a|Mice had fever.\n"
    "100\t0\t5\tFever\tT033\tUMLS:C0015967\n"
    "100\t9\t13\tmice\tT204\tUMLS:C0025914\n"
    "\n"
    "200|t|Lung.\n"
    "200|a|The lung.\n"
    "200\t0\t4\tLung\tT017\tUMLS:C0024109\n"
    "\n"
    "300|t|Empty.\n"
    "300|a|No mentions.\n"
    "\n"
)


def files(tmp_path: Path, corpus: str = CORPUS_TEXT, train="100\n", dev="200\n", test="300\n") -> tuple[Path, dict]:
    (tmp_path / "corpus.txt").write_text(corpus, encoding="utf-8")
    lists = {}
    for split, content in (("train", train), ("dev", dev), ("test", test)):
        lists[split] = tmp_path / f"{split}.txt"
        lists[split].write_text(content, encoding="utf-8")
    return tmp_path / "corpus.txt", lists


def test_reader_on_a_plain_corpus(tmp_path):
    corpus, lists = files(tmp_path, test="\n\n")  # an empty list is an error
    with pytest.raises(DataFormatError, match="no PMIDs"):
        read_medmentions(corpus, lists)
    corpus, lists = files(tmp_path, dev="200\n\n")  # a blank line carries no PMID
    splits = read_medmentions(corpus, lists)
    assert [m.id for m in splits["train"]] == ["100:0-5", "100:9-13"]
    assert [m.text for m in splits["dev"]] == ["Lung"] and splits["test"] == []
    assert splits["train"][0].gold_ids == {"UMLS:C0015967"}  # respelled when resolved against the KB
    assert umls_cui("UMLS:C0015967") == "C0015967" and umls_cui("C0015967") == "C0015967"


@pytest.mark.parametrize(
    ("train", "dev", "test", "where", "line", "problem"),
    [
        ("100\n", "200\n", "100\n", "test", 1, r"PMID 100 is also in the train list \(.*train.txt:1\)"),
        ("100\n100\n", "200\n", "300\n", "train", 2, r"PMID 100 is listed twice in this file \(line 1\)"),
        ("100\n", "200\n", "PMID 300\n", "test", 1, "expected one PMID"),
        ("100\n", "200\n", "300\n400\n", "test", 2, "PMID 400 is listed but not in the corpus"),
    ],
)
def test_split_list_errors(tmp_path, train, dev, test, where, line, problem):
    corpus, lists = files(tmp_path, train=train, dev=dev, test=test)
    with pytest.raises(DataFormatError, match=problem) as caught:
        read_medmentions(corpus, lists)
    assert caught.value.path == str(lists[where]) and caught.value.line == line


def test_a_corpus_pmid_in_no_list_is_an_error(tmp_path):
    corpus, lists = files(tmp_path)
    lists = {"train": lists["train"], "test": lists["test"]}
    with pytest.raises(DataFormatError, match="PMID 200 is in none of the split lists") as caught:
        read_medmentions(corpus, lists)
    assert caught.value.path == str(corpus) and caught.value.line == 6


@pytest.mark.parametrize(
    ("old", "new", "line", "problem"),
    [
        ("UMLS:C0025914", "MESH:D051379", 4, "concept id 'MESH:D051379' is not a UMLS CUI"),
        ("UMLS:C0025914", "UMLS:C25914", 4, "is not a UMLS CUI"),
        ("\tT204\t", "\tMammal\t", 4, "semantic type field 'Mammal' is not a comma-separated list"),
        ("\tT204\t", "\tT204;T015\t", 4, "is not a comma-separated list of TUIs"),
        ("9\t13\tmice", "9\t13\tmouse", 4, "span 9-13 reads 'mice'"),
        ("9\t13\tmice", "9\tx\tmice", 4, "offsets must be integers"),
        ("200|t|Lung.\n200|a|The lung.\n", "100|t|Lung.\n100|a|The lung.\n", 6, "PMID 100 appears twice"),
    ],
)
def test_corpus_errors_name_the_line(tmp_path, old, new, line, problem):
    corpus, lists = files(tmp_path, corpus=CORPUS_TEXT.replace(old, new))
    if "appears twice" in problem:
        corpus.write_text(CORPUS_TEXT.replace(old, new).replace("200\t0\t4", "100\t0\t4"), encoding="utf-8")
    with pytest.raises(DataFormatError, match=problem) as caught:
        read_medmentions(corpus, lists)
    assert caught.value.line == line and caught.value.path == str(corpus)


def test_pmid_lists_keep_file_order(tmp_path):
    _, lists = files(tmp_path, train="9\n3\n5\n", dev="1\n", test="2\n")
    assert read_pmid_lists(lists) == {"train": ("9", "3", "5"), "dev": ("1",), "test": ("2",)}
