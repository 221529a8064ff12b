"""A prepared file changed after ``prepare`` is an error naming it and the command that prepares it again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import SHARED_DATA, run_cli

from bench.benchmarks.ncbi import SPLITS, load_ncbi_disease
from bench.benchmarks.prepare import prepare
from bench.benchmarks.sources import STAMPS
from bench.errors import BenchError


@pytest.fixture()
def prepared(tmp_path: Path) -> Path:
    if not (SHARED_DATA / "ncbi-disease").is_dir():
        pytest.skip(f"official NCBI-disease files not found under {SHARED_DATA}")
    prepare("ncbi-disease", from_dir=SHARED_DATA, data_dir=tmp_path, log=lambda *a: None)
    return tmp_path


def test_a_dev_file_cut_after_prepare_is_refused(prepared: Path) -> None:
    assert len(load_ncbi_disease(data_dir=prepared).split("dev")) == 787
    assert (prepared / "raw" / STAMPS).is_file()
    dev = prepared / "raw" / SPLITS["dev"]
    data = dev.read_bytes()
    cut = data[: int(len(data) * 0.6)]
    dev.write_bytes(cut[: cut.rindex(b"\n") + 1])  # cut at a line end, so only the digest can tell
    with pytest.raises(BenchError, match=r"changed since it was prepared.*bioel-bench prepare ncbi-disease"):
        load_ncbi_disease(data_dir=prepared)
    result = run_cli("stats", "ncbi-disease", "--data-dir", str(prepared))
    assert result.returncode == 2 and "changed since it was prepared" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_only_touched_still_loads_and_prepare_repairs_a_changed_one(prepared: Path) -> None:
    dev = prepared / "raw" / SPLITS["dev"]
    os.utime(dev, ns=(1, 1))
    assert len(load_ncbi_disease(data_dir=prepared).split("dev")) == 787
    dev.write_bytes(dev.read_bytes().replace(b"disease", b"disaese", 1))
    with pytest.raises(BenchError, match="changed since it was prepared"):
        load_ncbi_disease(data_dir=prepared)
    prepare("ncbi-disease", from_dir=SHARED_DATA, data_dir=prepared, log=lambda *a: None)
    assert len(load_ncbi_disease(data_dir=prepared).split("dev")) == 787
