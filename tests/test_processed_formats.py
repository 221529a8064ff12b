"""The peers' processed distributions as sources: BioSyn's and GenBioEL/ANGEL's layouts, on hand-made folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from bench.errors import BenchError, DataFormatError
from bench.runner import RunSpec, execute, load_benchmark


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def biosyn_folder(tmp_path: Path) -> Path:
    root = tmp_path / "biosyn-ncbi"
    write(root / "processed_train" / "100.concept", "100||0|13||SpecificDisease||breast cancer||D001943\n")
    write(root / "processed_dev" / "200.concept", "200||0|14||SpecificDisease||ovarian tumor||D010051\n")
    write(
        root / "processed_test" / "300.concept",
        "300||0|41||CompositeMention||hereditary breast|hereditary ovarian cancer syndrome||D001943|D010051\n"
        "300||43|50||SpecificDisease||cat eye syndrome||115470\n",
    )
    write(
        root / "test_dictionary.txt",
        "D001943|114480||breast neoplasms\nD001943|114480||breast cancer\nD010051||ovarian neoplasms\n"
        "D010051||ovarian tumor\nC535918|115470||cat eye syndrome\n",
    )
    return root


@pytest.fixture
def genbioel_folder(tmp_path: Path) -> Path:
    root = tmp_path / "genbioel-bc5cdr"
    rows = {
        "train": [("START cyclosporin a END induced damage", "cyclosporin a", "cyclosporine", "D016572")],
        "dev": [("liver START toxicity END", "toxicity", "drug induced liver injury", "D056486")],
        "test": [
            ("renal START damage END by cyclosporin", "damage", "kidney diseases", "D007674"),
            ("START lung END and liver", "lung", "lung diseases", "D008171|D056486"),
        ],
    }
    for split, items in rows.items():
        write(root / f"{split}.source", "".join(json.dumps([s]) + "\n" for s, *_ in items))
        write(root / f"{split}.target", "".join(json.dumps([m + " is", n]) + "\n" for _, m, n, _ in items))
        write(root / f"{split}label.txt", "".join(label + "\n" for *_, label in items))
    kb = {
        "D016572": ["cyclosporine", "cyclosporin a"],
        "D056486": ["drug induced liver injury"],
        "D007674": ["kidney diseases"],
        "D008171": ["lung diseases"],
        "D000001": [],
    }
    write(root / "target_kb.json", json.dumps(kb))
    return root


def test_biosyn_processed_folder_reads_as_biosyn_wrote_it(biosyn_folder: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_cli(
        "prepare", "ncbi-disease", "--layout", "biosyn", "--from", str(biosyn_folder), "--data-dir", str(data)
    )
    assert result.returncode == 0, result.stderr
    benchmark = load_benchmark("ncbi-disease", "biosyn-processed", data)
    assert benchmark.protocol == "biosyn-processed"
    assert [m.text for m in benchmark.split("train")] == ["breast cancer", "ovarian tumor"]  # train + dev
    composite, omim = benchmark.split("test")
    assert [p.text for p in composite.parts] == ["hereditary breast", "hereditary ovarian cancer syndrome"]
    assert all(p.gold_ids == {"D001943", "D010051"} for p in composite.parts)
    assert omim.gold_ids == {"C535918"}  # BioSyn's bare 115470 is OMIM:115470, an alternative id of C535918
    assert benchmark.kb.concepts["D001943"] == ("breast neoplasms", "breast cancer")
    assert benchmark.kb.resolve_id("OMIM:114480") == "D001943"
    record = execute(RunSpec("exact", "ncbi-disease", profile="biosyn-processed"), tmp_path / "runs", data_dir=data)
    assert record.config["profile"] == "biosyn-processed" and record.metrics["acc_composite"]["1"] == 0.5


def test_genbioel_processed_folder_reads_as_angel_reads_it(genbioel_folder: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_cli(
        "prepare", "bc5cdr", "--layout", "genbioel", "--from", str(genbioel_folder), "--data-dir", str(data)
    )
    assert result.returncode == 0, result.stderr
    benchmark = load_benchmark("bc5cdr", "genbioel-processed", data)
    assert [m.text for m in benchmark.split("test")] == ["damage", "lung"]
    assert benchmark.split("test")[1].gold_ids == {"D008171", "D056486"}
    assert "D000001" not in benchmark.kb.concepts  # an id left empty names nothing
    assert benchmark.split("test")[0].context == "renal START damage END by cyclosporin"


def test_genbioel_aap_folds_share_one_kb(tmp_path: Path, genbioel_folder: Path) -> None:
    source = tmp_path / "aap-processed"
    for fold in range(10):
        for path in genbioel_folder.glob("*.*"):
            if path.name != "target_kb.json":
                write(source / f"fold{fold}" / path.name, path.read_text())
    write(source / "target_kb.json", (genbioel_folder / "target_kb.json").read_text())
    data = tmp_path / "data"
    from bench.benchmarks.processed import prepare_processed

    prepare_processed("aap", "genbioel", source, data, log=lambda _: None)
    suite = load_benchmark("aap", "genbioel-processed", data)
    assert len(suite.members) == 10
    fold3 = load_benchmark("aap-fold3", "genbioel-processed", data)
    assert fold3.kb.n_concepts == 4 and len(fold3.split("test")) == 2


def test_damaged_processed_files_name_file_and_line(genbioel_folder: Path, biosyn_folder: Path, tmp_path: Path) -> None:
    from bench.benchmarks.processed import read_biosyn_processed, read_genbioel_processed

    (genbioel_folder / "testlabel.txt").write_text("D007674\n")
    with pytest.raises(DataFormatError, match="2 sources, 2 targets, 1 labels"):
        read_genbioel_processed(genbioel_folder, "x", genbioel_folder / "target_kb.json")
    (biosyn_folder / "processed_test" / "300.concept").write_text("300||0|41||broken\n")
    with pytest.raises(DataFormatError, match=r"300.concept:1: expected pmid\|\|start"):
        read_biosyn_processed(biosyn_folder, "x")
    with pytest.raises(BenchError, match="no biosyn processed files for 'cometa'"):
        load_benchmark("cometa", "biosyn-processed", tmp_path / "empty")
