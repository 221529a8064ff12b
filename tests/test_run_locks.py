"""One process at a time per run folder and per shared stage; a lock left by a killed process is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock

from bench.locks import exclusive, lock_path
from bench.runner import RunSpec, execute
from tests.conftest import REPO

HOLD = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1]); lock.acquire(); print("held", flush=True); time.sleep(600)
"""


def _run(out: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "BIOEL_BENCH_PROGRESS": "0"}
    command = ["run", "--system", "tfidf", "--benchmark", "demo", "--out", str(out), "--name", "same", "--json"]
    return subprocess.Popen(
        [sys.executable, "-m", "bench", *command],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        env=env,
    )


def _wait_for_line(path: Path, needle: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared in {path}")


def test_two_identical_runs_started_together_train_once_and_both_get_the_result(tmp_path):
    out = tmp_path / "runs"
    gate = FileLock(lock_path(out / "same"))
    gate.acquire()  # both requests queue behind this one, then race for the lock when it is let go
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    first, second = _run(out, logs[0]), _run(out, logs[1])
    try:
        for log in logs:  # both have loaded the demo and reached the lock
            _wait_for_line(log, "in progress in another process")
        assert not (out / "same.partial").exists(), "a run entered its folder while the lock was held"
    finally:
        gate.release()
    assert [p.wait(timeout=300) for p in (first, second)] == [0, 0]
    outputs = [log.read_text() for log in logs]
    reused = [o for o in outputs if "finished by another process while this one waited" in o]
    assert len(reused) == 1, outputs  # exactly one of the two trained
    run = out / "same"
    assert {p.name for p in run.iterdir()} >= {"spec.json", "config.json", "metrics.json", "predictions.jsonl"}
    assert not (out / "same.partial").exists()
    printed = [json.loads(o[o.index("{") :]) for o in outputs]
    assert printed[0] == printed[1]  # both report the one run


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    out = tmp_path / "runs"
    target = out / "same"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock_path(target))], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    lines: list[str] = []
    record = execute(RunSpec("tfidf", "demo"), out, run_name="same", log=lines.append)
    assert record.name == "same"
    assert not any("in progress in another process" in line for line in lines), lines


def test_exclusive_waits_for_a_live_holder_and_says_so(tmp_path):
    target = tmp_path / "stage"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD.replace("time.sleep(600)", "time.sleep(2)"), str(lock_path(target))],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    lines: list[str] = []
    started = time.monotonic()
    with exclusive(target, "the shared stage", lines.append) as waited:
        assert holder.poll() is not None, "entered while another process held the lock"
    assert waited and time.monotonic() - started > 0.5
    assert len(lines) == 1 and "the shared stage is in progress in another process" in lines[0]
    holder.wait()


def test_a_shared_stage_waits_for_the_run_training_it_and_then_copies_it(tmp_path, one_torch_thread):
    from bench.generative.model import SmallBartSize, small_bart
    from bench.generative.tokenizer import train_bpe_tokenizer
    from bench.generative.training import StageSettings, run_stage
    from tests.generative_fixtures import tiny_names

    tokenizer = train_bpe_tokenizer(tiny_names() * 10, vocab_size=300)
    model = small_bart(tokenizer, SmallBartSize(d_model=32, layers=1, heads=2, ffn=64))
    shared = tmp_path / "cache" / "stage-key"
    trained = tmp_path / "trained"
    model.save_pretrained(trained)
    tokenizer.save_pretrained(trained)
    (trained / "stage.json").write_text("{}")
    publish = (
        "import shutil, sys, time\n"
        "from filelock import FileLock\n"
        "lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); time.sleep(2)\n"
        "shutil.copytree(sys.argv[2], sys.argv[3])\n"
    )
    shared.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", publish, str(lock_path(shared)), str(trained), str(shared)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    lines: list[str] = []
    settings = StageSettings(steps=50, batch_size=2)
    run_stage("pretrain", model, tokenizer, [], tmp_path / "work", settings, seed=0, log=lines.append, shared=shared)
    holder.wait()
    assert any("in progress in another process" in line for line in lines), lines
    assert any("reusing the identical stage trained by another run" in line for line in lines), lines
    assert (tmp_path / "work" / "pretrain" / "final" / "stage.json").is_file()
