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
    runs = sorted(p for p in out.iterdir() if not p.name.startswith("."))  # .NAME.lock: the run's lock file
    assert len(runs) == 1 and not runs[0].name.endswith(".partial"), runs
    assert (out / f".{runs[0].name}.lock").is_file()  # one lock, taken by the main process only
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
    # The two processes sum float32 gradients in another order, and Adam divides by the root of the
    # squared gradients, which magnifies those last-bit differences where the gradient is almost zero (the
    # attention key bias has a zero gradient in exact arithmetic). Measured on this kind of machine: at most
    # 3.4e-6 after 3 steps of lr 5e-3. So every weight must agree to a thousandth of the largest update; a real
    # fault (a mean instead of a sum, a lost shard, an unsynchronised step) is off by a whole step (~lr).
    largest = max((w - one["initial"][n]).abs().max().item() for n, w in one["weights"].items())
    assert largest > 1e-3
    for name, weight in one["weights"].items():
        gap = (weight - two["weights"][name]).abs().max().item()
        assert gap <= 1e-3 * largest, (name, gap, largest)
    moved = [n for n, w in one["weights"].items() if not torch.equal(w, one["initial"][n])]
    assert len(moved) > 10  # the epoch did update the model


STAGE_SCRIPT = """
import itertools, sys, time
from pathlib import Path
import torch
from bench import distributed
from bench.generative import training
from bench.generative.model import SmallBartSize, small_bart
from bench.generative.tokenizer import train_bpe_tokenizer
from bench.generative.training import Example, StageSettings, run_stage

names = ["breast cancer", "ovarian cancer", "common cold", "colon cancer"]
examples = [Example(name, name, name) for name in names] * 8
tokenizer = train_bpe_tokenizer(names * 10, vocab_size=300)
torch.manual_seed(0)
model = small_bart(tokenizer, SmallBartSize(d_model=32, layers=1, heads=2, ffn=64, dropout=0.0))
scores = itertools.count()
# the first dev evaluation is the best, so the stage must end on an earlier checkpoint than its last
evaluator = lambda _model: {"acc1": 1.0 / (1 + next(scores))}

log = training.DevSelectingTrainer.log
def slow_log(self, logs, *args, **kwargs):
    log(self, logs, *args, **kwargs)
    if "train_runtime" in logs and not distributed.is_main():
        time.sleep(3)  # the last log before train() reloads the best checkpoint: rank 1 gets there late
training.DevSelectingTrainer.log = slow_log

out = Path(sys.argv[1])
settings = StageSettings(steps=6, learning_rate=5e-3, eval_steps=2, batch_size=4)
final = run_stage("finetune", model, tokenizer, examples, out / "work", settings, seed=0, dev_evaluator=evaluator)
torch.save(final.state_dict(), out / f"rank{distributed.rank()}.pt")
"""


def test_every_process_ends_a_stage_with_the_main_process_best_weights(tmp_path):
    """A process that reaches the best-checkpoint reload late still gets the kept model, not its last one.

    (The main process used to remove the checkpoints right after its own reload: a slower process then
    kept its last weights, the processes diverged, and ANGEL's DPO waited for ever on unequal batch counts.)
    """
    script = tmp_path / "stage.py"
    script.write_text(textwrap.dedent(STAGE_SCRIPT))
    done = launch([str(script), str(tmp_path)], {"PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Could not locate the best model" not in done.stdout + done.stderr
    info = json.loads((tmp_path / "work" / "finetune" / "final" / "stage.json").read_text())
    assert info["best_checkpoint"].endswith("checkpoint-2") and info["global_step"] == 6
    main, other = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    for name, weight in main.items():
        assert torch.equal(weight, other[name]), name


COUNT_SCRIPT = """
import sys
from bench import distributed
from bench.generative.dpo import DpoSettings, dpo_epoch
pairs = [None] * (3 + distributed.rank())  # the processes disagree on how many pairs there are
try:
    dpo_epoch(None, pairs, [0.0] * len(pairs), None, DpoSettings(), seed=0)
except RuntimeError as error:
    print(f"rank {distributed.rank()}: {error}")
    sys.exit(3)
"""


def test_processes_with_different_numbers_of_dpo_pairs_fail_at_once_instead_of_waiting(tmp_path):
    script = tmp_path / "count.py"
    script.write_text(textwrap.dedent(COUNT_SCRIPT))
    done = launch([str(script)], {"PYTHONPATH": str(REPO)}, timeout=120)
    assert done.returncode != 0
    assert "numbers of DPO pairs differ between processes: [3, 4]" in done.stdout, done.stdout[-2000:]
