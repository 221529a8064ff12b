"""The committed `cpu` report: its tables are rebuilt byte for byte from its committed runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report.build import build_report, command_line

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "reports" / "cpu"
RUNS = REPORT / "runs"
GENERATED = ("main", "topk", "ablation", "leakage", "angel_chunks", "memorisation", "timings", "convergence")


@pytest.mark.skipif(not RUNS.is_dir(), reason="reports/cpu/runs is not committed in this checkout")
def test_report_rebuilds_the_committed_tables_byte_for_byte(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the committed README names relative paths, as its command was run here
    config, runs, out = Path("configs/cpu.yaml"), Path("reports/cpu/runs"), Path("reports/cpu")
    build_report(
        [config],
        tmp_path,
        runs_dir=runs,
        figures=False,
        html=True,  # the command writes the page too (the default)
        command=command_line([config], out, None, True, runs, html=True),
    )
    committed = [p for p in REPORT.iterdir() if p.suffix in (".md", ".tex") and p.stem in GENERATED]
    committed.append(REPORT / "significance.json")  # index.html (about 5 MB) is rebuilt, not committed
    assert len(committed) >= 13
    for path in committed:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), f"{path.name} differs from a rebuild"
    # the README differs only where it lists the figures (not drawn here)

    def without_figures(text: str) -> list[str]:
        return [
            line for line in text.splitlines() if line and "figures/" not in line and "Figures were not" not in line
        ]

    assert without_figures((REPORT / "README.md").read_text()) == without_figures((tmp_path / "README.md").read_text())
