"""One run in two processes (torchrun, gloo on CPU): the same code `accelerate launch` runs on several GPUs.

Two launches of a tiny model, about half a minute each: a whole ANGEL run (both Trainer stages
data-parallel, the negative stage's DPO split over the processes) writes one complete run
directory; and a DPO epoch split over two processes leaves the same weights as one process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from generative_fixtures import TINY as GENERATIVE_TINY

REPO = Path(__file__).resolve().parents[1]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without distributed")

TINY = {
    **GENERATIVE_TINY,
    "eval_steps": 3,
    "dev_eval_mentions": 6,
    "chunks": 2,
    "top_k": 4,
    "dpo_batch_size": 8,
    "dpo_lr": 0.001,
    "patience": 5,
    "inject_gold": True,  # a 10-step model's beams are all wrong: the injected gold name makes the pairs
}


def launch(args: list[str], env: dict[str, str], timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TORCHRUN, *args],
        cwd=REPO,
        env={**os.environ, "BIOEL_BENCH_PROGRESS": "0", "OMP_NUM_THREADS": "1", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_an_angel_run_in_two_processes_writes_one_complete_run(tmp_path):
    settings = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
    out = tmp_path / "runs"
    done = launch(
        [
            "-m",
            "bench",
            "run",
            "--system",
            "angel",
            "--benchmark",
            "demo",
            "--k",
            "1",
            "5",
            "--out",
            str(out),
            *settings,
        ],
        {"BIOEL_BENCH_DATA": str(tmp_path / "data")},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = sorted(out.iterdir())
    assert len(runs) == 1 and not runs[0].name.endswith(".partial"), runs
    run = runs[0]
    assert json.loads((run / "environment.json").read_text())["processes"] == 2
    for stage in ("pretrain", "finetune"):
        info = json.loads((run / "work" / stage / "final" / "stage.json").read_text())
        assert info["processes"] == 2 and info["global_step"] == TINY[f"{stage}_steps"], stage
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_mentions"] == 195 and metrics["system_info"]["negative_stage"]
    chunk = metrics["system_info"]["negative_stage"][0]
    assert chunk["pairs"] > 0 and chunk["dpo_pairs"] == chunk["pairs"]
    assert done.stdout.count("run directory: ") == 2  # each process reports the one run


DPO_SCRIPT = """
import sys, torch
from bench import distributed
from bench.generative.dpo import DpoSettings, PairCollator, PreferencePair, dpo_epoch, reference_logprobs
from bench.generative.model import SmallBartSize, small_bart
from bench.generative.tokenizer import train_bpe_tokenizer

texts = ["breast cancer is a disease", "ovarian cancer is a tumour", "cold is common", "common cold"] * 20
tokenizer = train_bpe_tokenizer(texts, vocab_size=300)
torch.manual_seed(0)
model = small_bart(tokenizer, SmallBartSize(d_model=32, layers=1, heads=2, ffn=64, dropout=0.0))
pairs = [
    PreferencePair("breast cancer", "breast cancer", "breast cancer is a disease", "cold is common"),
    PreferencePair("cold", "cold", "common cold", "ovarian cancer is a tumour"),
    PreferencePair("ovarian cancer", "ovarian cancer", "ovarian cancer is a tumour", "common cold"),
    PreferencePair("tumour", "tumour", "ovarian cancer is a tumour", "breast cancer is a disease"),
    PreferencePair("disease", "disease", "breast cancer is a disease", "cold is common"),
] * 2
initial = {k: v.clone() for k, v in model.state_dict().items()}
collator = PairCollator(tokenizer, model.config.decoder_start_token_id)
reference = reference_logprobs(model, pairs, collator)
stats = dpo_epoch(model, pairs, reference, collator, DpoSettings(learning_rate=5e-3, batch_size=4), seed=3)
if distributed.is_main():
    torch.save({"weights": model.state_dict(), "initial": initial, "stats": stats}, sys.argv[1])
"""


def test_a_dpo_epoch_split_over_two_processes_equals_one_process(tmp_path):
    script = tmp_path / "dpo_step.py"
    script.write_text(textwrap.dedent(DPO_SCRIPT))
    env = {"PYTHONPATH": str(REPO)}
    single = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "one.pt")],
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert single.returncode == 0, single.stderr[-3000:]
    split = launch([str(script), str(tmp_path / "two.pt")], env, timeout=300)
    assert split.returncode == 0, split.stderr[-3000:]
    one, two = torch.load(tmp_path / "one.pt"), torch.load(tmp_path / "two.pt")
    assert one["stats"]["pairs"] == two["stats"]["pairs"] == 10
    for key in ("loss", "reward_margin", "reward_accuracy"):
        assert two["stats"][key] == pytest.approx(one["stats"][key], abs=1e-6), key
    for name, weight in one["weights"].items():
        assert torch.allclose(weight, two["weights"][name], atol=1e-6), name
    moved = [n for n, w in one["weights"].items() if not torch.equal(w, one["initial"][n])]
    assert len(moved) > 10  # the epoch did update the model
