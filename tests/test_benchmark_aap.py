"""AskAPatient: fold and KB parsers on invented fixtures, the fold benchmarks and the suite,
and the real files when ../shared/data holds them."""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path

import pytest
from conftest import assert_card_figures

from bench.benchmark import Benchmark, BenchmarkSuite
from bench.benchmarks.aap import FOLDS, KB_FILE, MEMBERS, SPLIT_FILES, fold_file, read_aap_fold, read_aap_kb
from bench.benchmarks.card import read_card
from bench.benchmarks.sources import card_sources
from bench.checksum import sha256_file
from bench.errors import BenchError, DataFormatError
from bench.registry import BENCHMARKS
from bench.stats import benchmark_stats

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FIXTURES = REPO / "tests" / "fixtures" / "aap"
CARD = REPO / "datasets" / "aap" / "README.md"


def load(name: str, data_dir: Path, profile: str = "official") -> Benchmark | BenchmarkSuite:
    return BENCHMARKS.get(name)(data_dir=data_dir, profile=profile)


def install_fixture(data_dir: Path) -> Path:
    """The fixture fold as all ten folds, laid out as prepare leaves them."""
    raw = data_dir / "raw"
    (raw / "askapatient").mkdir(parents=True)
    for fold in FOLDS:
        for split, suffix in SPLIT_FILES.items():
            shutil.copyfile(FIXTURES / f"AskAPatient.fold-0.{suffix}.txt", raw / fold_file(fold, split))
    shutil.copyfile(FIXTURES / "askapatient.json", raw / KB_FILE)
    return raw


def write(tmp_path: Path, content: bytes, name: str = "AskAPatient.fold-0.test.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


# --- fold files ---------------------------------------------------------------


def test_read_fold_fixture() -> None:
    mentions = read_aap_fold(FIXTURES / "AskAPatient.fold-0.test.txt", 0, "test")
    assert [m.id for m in mentions] == ["fold0:test:1", "fold0:test:2", "fold0:test:3", "fold0:test:4"]
    assert mentions[0].text == "calf cramp"  # the mention column, not the label column
    assert mentions[0].label == "Cramp"  # kept beside it: GenBioEL trains on it (label_targets)
    assert mentions[0].gold_ids == {"3000003"}
    assert not any(m.composite for m in mentions)


def test_latin1_and_utf8_lines(tmp_path: Path) -> None:
    latin1 = write(tmp_path, b"3000005\tSj\xf6gren's syndrome\tSj\xf6gren\n")
    utf8 = write(tmp_path, "3000005\tSjögren's syndrome\tSjögren\n".encode(), name="utf8.txt")
    assert read_aap_fold(latin1, 0, "test")[0].text == "Sjögren"
    assert read_aap_fold(utf8, 0, "test")[0].text == "Sjögren"


def test_composite_ids_are_kept_as_groups(tmp_path: Path) -> None:
    mention = read_aap_fold(write(tmp_path, b"3000001|3000002\tHeadache\thead and stomach ache\n"), 0, "test")[0]
    assert mention.composite
    assert mention.gold_ids == {"3000001", "3000002"}


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        (b"3000001\tHeadache\theadache\n3000002\tnausea\n", 2, "expected 3 tab-separated columns"),
        (b"3000001\tHeadache\theadache\textra\n", 1, "found 4"),
        (b"3000001\tHeadache\theadache\n3000002\tNausea\t  \n", 2, "empty mention"),
        (b"\tHeadache\theadache\n", 1, "empty concept id"),
    ],
)
def test_malformed_fold_lines(tmp_path: Path, content: bytes, line: int, problem: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(DataFormatError) as caught:
        read_aap_fold(path, 0, "test")
    assert caught.value.line == line
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_empty_fold_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no mentions"):
        read_aap_fold(write(tmp_path, b""), 0, "test")


# --- the KB ------------------------------------------------------------------


def test_read_kb_fixture() -> None:
    kb = read_aap_kb(FIXTURES / "askapatient.json")
    assert len(kb) == 5
    assert not kb.closed_world
    assert kb.concepts["3000004"] == ("Fatigue", "Tiredness")  # primary first
    assert kb.preferred_name("3000005") == "Sjögren's syndrome"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (
            '{"1000001": [["primary", "A"]],\n "1000002": [["primary", "B"]]\n "1000003": [["primary", "C"]]}',
            3,
            "invalid JSON",
        ),
        ('{"1000001": [["primary", "A"]],\n "1000001": [["primary", "B"]]}', 2, "listed twice"),
        ('{"1000001": [["primary", "A"]],\n "1000002": [["primary"]]}', 2, "not a [type, name] pair"),
        ('{"1000001": [["primary", "A"]],\n "1000002": []}', 2, "expected a list"),
        ('{"1000001": [["primary", "A"]],\n "1000002": [["primary", " "]]}', 2, "empty name"),
        ('{"1000001": [["primary", "A"]],\n "2971Z2003": [["primary", "B"]]}', 2, "not a SNOMED CT / AMT identifier"),
        ('[["primary", "A"]]', 1, "expected a non-empty JSON object"),
        ("{}", 1, "expected a non-empty JSON object"),
    ],
)
def test_malformed_kb(tmp_path: Path, text: str, line: int, problem: str) -> None:
    path = write(tmp_path, text.encode(), name="askapatient.json")
    with pytest.raises(DataFormatError) as caught:
        read_aap_kb(path)
    assert caught.value.line == line
    assert problem in caught.value.problem


def test_kb_not_utf8_and_missing(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"1": [["primary", "A"]],\n "2": [["primary", "Sj\xf6gren"]]}', name="askapatient.json")
    with pytest.raises(DataFormatError) as caught:
        read_aap_kb(path)
    assert caught.value.line == 2
    with pytest.raises(DataFormatError, match="file not found"):
        read_aap_kb(tmp_path / "absent.json")


# --- fold benchmarks and the suite on the fixture --------------------------------


def test_fold_benchmark(tmp_path: Path) -> None:
    install_fixture(tmp_path)
    benchmark = load("aap-fold3", tmp_path)
    assert benchmark.name == "aap-fold3"
    assert {s: len(m) for s, m in benchmark.splits.items()} == {"train": 4, "dev": 2, "test": 4}
    assert benchmark.split("dev")[0].id == "fold3:dev:1"  # dev is the validation file
    assert benchmark.card["name"] == "aap"
    assert set(benchmark.source_files) == {fold_file(3, s) for s in SPLIT_FILES} | {KB_FILE}
    stats = benchmark_stats(benchmark)
    # Gold ids missing from the KB are kept and counted, never dropped.
    assert stats["splits"]["test"]["mentions_with_gold_missing_from_kb"] == 1
    assert stats["splits"]["train"]["mentions_with_gold_missing_from_kb"] == 0


def test_suite(tmp_path: Path) -> None:
    install_fixture(tmp_path)
    suite = load("aap", tmp_path)
    assert isinstance(suite, BenchmarkSuite)
    assert suite.name == "aap"
    assert suite.members == MEMBERS == tuple(f"aap-fold{i}" for i in range(10))
    assert suite.card["name"] == "aap"
    for member in suite.members:
        assert member in BENCHMARKS
    ids = {m.id for member in suite.members for m in load(member, tmp_path).split("test")}
    assert len(ids) == 40  # fold-prefixed ids never collide when the runner pools the folds


def test_missing_files_and_unknown_profile(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="bioel-bench prepare aap"):
        load("aap-fold0", tmp_path)
    with pytest.raises(BenchError, match="bioel-bench prepare aap"):
        load("aap", tmp_path)
    with pytest.raises(BenchError, match="unknown protocol profile 'nope'"):
        load("aap-fold0", tmp_path, profile="nope")
    with pytest.raises(BenchError, match="has no protocol profile 'biosyn'"):  # BioSyn has no recipe for it
        load("aap-fold0", tmp_path, profile="biosyn")


def test_card_sources_and_variants() -> None:
    card = read_card(CARD)
    assert list(card["variants"]) == [*MEMBERS, "aap"]
    sources = {s.name: s for s in card_sources("aap")}
    assert set(sources) == {fold_file(f, s) for f in FOLDS for s in SPLIT_FILES} | {KB_FILE}
    for source in sources.values():
        assert source.url.startswith("https://raw.githubusercontent.com/laituan245/rescnn_bioel/")
        assert source.url.endswith(Path(source.name).name)
        assert len(source.sha256) == 64 and source.required and not source.licensed
    assert set(card["stats"]) == set(MEMBERS)
    for system, baselines in card["baselines"].items():
        assert set(baselines) == {*MEMBERS, "aap"}
        for profile in baselines["aap"]:
            for k in ("acc@1", "acc@5"):
                mean = statistics.mean(baselines[m][profile][k] for m in MEMBERS)
                # the card rounds the mean of unrounded fold scores (<= 0.05 off), and each fold's
                # rounded score is <= 0.05 off, so the mean of the rounded folds is within 0.1
                assert abs(baselines["aap"][profile][k] - mean) <= 0.1 + 1e-9, (system, profile)


# --- the real files ----------------------------------------------------------------

needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "askapatient").is_dir(), reason=f"AskAPatient not found in {SHARED_DATA} (shared benchmark data)"
)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.benchmarks.prepare import prepare

    data_dir = tmp_path_factory.mktemp("aap-data")
    prepare("aap", from_dir=SHARED_DATA, data_dir=data_dir, log=lambda *a: None)
    return data_dir


@pytest.fixture(scope="module")
def folds(prepared: Path) -> dict[str, Benchmark]:
    return {member: load(member, prepared) for member in MEMBERS}


@pytest.fixture(scope="module")
def fold_stats(folds: dict[str, Benchmark]) -> dict[str, dict]:
    return {name: benchmark_stats(fold) for name, fold in folds.items()}


@needs_shared
def test_official_fold0(folds: dict[str, Benchmark]) -> None:
    benchmark = folds["aap-fold0"]
    assert {s: len(m) for s, m in benchmark.splits.items()} == {"train": 15612, "dev": 845, "test": 867}
    assert benchmark.kb.n_concepts == 1036
    assert not benchmark.kb.closed_world and not benchmark.flags


@needs_shared
def test_official_folds(prepared: Path, folds: dict[str, Benchmark], fold_stats: dict[str, dict]) -> None:
    suite = load("aap", prepared)
    assert isinstance(suite, BenchmarkSuite) and suite.members == tuple(folds)
    # Each fold splits the same 17,324 lines; the ten test files hold 8,662 mentions.
    assert {sum(len(m) for m in fold.splits.values()) for fold in folds.values()} == {17324}
    assert sum(len(fold.split("test")) for fold in folds.values()) == 8662
    assert len({fold.kb.checksum for fold in folds.values()}) == 1
    for name, stats in fold_stats.items():
        assert all(s["mentions_with_gold_missing_from_kb"] == 0 for s in stats["splits"].values()), name
    # The Latin-1 byte of the published files is read as "ö".
    assert any("Sjögren" in m.text for m in folds["aap-fold0"].split("train"))


@needs_shared
def test_card_matches_the_files(prepared: Path) -> None:
    for source in card_sources("aap"):
        assert sha256_file(SHARED_DATA / source.name) == source.sha256, source.name
    assert_card_figures("aap", prepared)


@needs_shared
def test_genbioel_label_lines_fold0(prepared: Path) -> None:
    """GenBioEL's fold-0 train.source has 16,826 lines: 8,543 mentions plus 8,283 label lines."""
    from bench.generative.targets import TargetSelector

    fold = load("aap-fold0", prepared, profile="genbioel")
    train = fold.splits["train"]
    assert len(train) == 8543 and all(m.label is not None for m in train)
    assert len(TargetSelector(fold.kb).label_pairs(train)) == 8283
