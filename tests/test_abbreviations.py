"""Abbreviation detectors: choice, identity, per-document cache, Ab3P binary output parsing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bench.benchmarks import abbreviations
from bench.benchmarks.abbreviations import CHOICES, choose_expander, detect_cached, fallback_flag
from bench.errors import BenchError

DOC = (
    "Hereditary nonpolyposis colorectal cancer (HNPCC) is common. HNPCC families carry mutations. "
    "Ataxia-telangiectasia (A-T) is rare."
)


@pytest.fixture(autouse=True)
def _no_user_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(abbreviations.ENV_CHOICE, raising=False)
    monkeypatch.delenv(abbreviations.ENV_BINARY, raising=False)
    monkeypatch.setenv("PATH", os.defpath)


def test_pyab3p_is_chosen_before_the_fallback_and_finds_ab3p_pairs() -> None:
    pytest.importorskip("pyab3p")
    expander = choose_expander()
    assert expander.name == "pyab3p" and not expander.fallback
    (pairs,) = expander.detect_many([DOC])
    assert pairs["HNPCC"] == "Hereditary nonpolyposis colorectal cancer"
    assert pairs["A-T"] == "Ataxia-telangiectasia"


def test_schwartz_hearst_is_a_flagged_fallback() -> None:
    expander = choose_expander("schwartz-hearst")
    assert expander.fallback and expander.identity.startswith("abbreviations==")
    (pairs,) = expander.detect_many([DOC])
    assert pairs["HNPCC"] == "Hereditary nonpolyposis colorectal cancer"
    assert "Schwartz-Hearst" in fallback_flag(expander)


def test_unknown_choice_and_missing_binary_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BenchError, match="choose from"):
        choose_expander("ab4p")
    with pytest.raises(BenchError, match="identify_abbr"):
        choose_expander("ab3p")
    monkeypatch.setenv(abbreviations.ENV_BINARY, "/nonexistent/identify_abbr")
    with pytest.raises(BenchError, match="not an executable"):
        choose_expander()
    assert set(CHOICES) == {"ab3p", "pyab3p", "schwartz-hearst"}


def _fake_ab3p(tmp_path: Path) -> Path:
    """A stand-in for identify_abbr that prints Ab3P's output format: the line, then '  SF|LF|P' lines."""
    script = tmp_path / "identify_abbr"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import sys, re\n"
        "for line in open(sys.argv[1]):\n"
        "    print(line.rstrip())\n"
        "    for m in re.finditer(r'((?:\\w+ ){1,4}\\w+) \\((\\w+)\\)', line):\n"
        "        print('  ' + m.group(2) + '|' + m.group(1) + '|0.99')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_the_binary_is_used_when_given_and_its_digest_is_the_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = _fake_ab3p(tmp_path)
    monkeypatch.setenv(abbreviations.ENV_BINARY, str(binary))
    expander = choose_expander()
    assert expander.name == "ab3p" and expander.identity.startswith("ab3p-binary sha256:")
    (pairs,) = expander.detect_many(["the tumour suppressor gene (TSG) | odd line"])
    assert pairs == {"TSG": "the tumour suppressor gene"}
    binary.write_text(binary.read_text() + "# changed\n")
    assert choose_expander().identity != expander.identity


def test_detections_are_cached_per_detector_and_document(tmp_path: Path) -> None:
    calls: list[int] = []

    class Counting(abbreviations.Expander):
        def detect_many(self, texts):  # type: ignore[override]
            calls.append(len(texts))
            return [{"X": text} for text in texts]

    expander = Counting("schwartz-hearst", "counting==1", fallback=True)
    first = detect_cached(expander, {"d1": "a", "d2": "b", "d3": "a"}, tmp_path)
    assert first == {"d1": {"X": "a"}, "d2": {"X": "b"}, "d3": {"X": "a"}}
    assert calls == [2]  # two distinct texts
    again = detect_cached(expander, {"d1": "a", "d4": "c"}, tmp_path)
    assert again == {"d1": {"X": "a"}, "d4": {"X": "c"}} and calls == [2, 1]
    other = Counting("schwartz-hearst", "counting==2", fallback=True)
    detect_cached(other, {"d1": "a"}, tmp_path)
    assert calls == [2, 1, 1]  # another detector version never reuses the cache
