"""A paper-scale dry run on this CPU: every stage of ``configs/paper.yaml`` at BART-large size.

    python -m bench.perf.paper_dry_run [--steps 3] [--mentions 4] [--dpo-pairs 2] [--threads 2]

Nothing is downloaded: a BART with facebook/bart-large's shape (d_model 1024,
12+12 layers, 16 heads, FFN 4096, 1,024 positions, 50,265-token vocabulary) is
created from a config with random weights, next to a 50,265-token byte-level BPE
trained on NCBI-disease's KB names and abstracts, and saved to a temporary folder
in the hub layout. The ``angel`` system is then built from the paper config's own
NCBI-disease settings with ``backbone=<that folder>``, exactly as a GPU user's run
starts, and each stage of its ``fit`` and ``predict`` is called in turn on a
handful of steps or mentions (the methods ``fit`` itself calls):

1. loading the backbone and building the trie of every KB name;
2. KB-guided pre-training (the paper config starts from ANGEL_pretrained and
   skips it; measured here so that every stage has been run at this size);
3. fine-tuning on SYN3 targets, batch size 1, 192 words of context each side;
4. beam mining: ``num_beams=10`` fairseq-style search over training mentions,
   the top 5 labelled and paired;
5. one DPO step (policy and reference log-probs, loss, update) on ``--dpo-pairs``
   pairs (the paper's batch is 64: memory and time at 64 are extrapolated
   linearly, which the output says);
6. decoding test mentions with 10 beams.

For each stage it prints seconds per step (or per mention), the peak resident
memory (``VmHWM``, reset before the stage) and the tokens processed. It then
estimates the paper run (the five benchmarks' step counts and mention counts,
two arms sharing the positive-only stage, three seeds, ten AskAPatient folds)
in CPU hours of this machine and in GPU hours: this CPU's measured float32
matmul throughput against an A100's TF32 peak (156 TFLOP/s) at a stated
utilisation. The GPU figure is an estimate from a ratio of throughputs, not a
measurement on a GPU; the output says so.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.perf.decoding_benchmark import _reset_peak, _status, _trim

MIB = 2**20
#: facebook/bart-large's config.json
BART_LARGE = dict(
    vocab_size=50265,
    d_model=1024,
    encoder_layers=12,
    decoder_layers=12,
    encoder_attention_heads=16,
    decoder_attention_heads=16,
    encoder_ffn_dim=4096,
    decoder_ffn_dim=4096,
    max_position_embeddings=1024,
    dropout=0.1,
    attention_dropout=0.0,
    activation_function="gelu",
    scale_embedding=False,
)
#: the same layout at a size the test suite can afford (``--shape tiny``): every stage still runs
TINY = dict(BART_LARGE, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
            decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, vocab_size=2000)  # fmt: skip
SHAPES = {"bart-large": BART_LARGE, "tiny": TINY}
A100_TF32_PEAK = 156e12


class Stage:
    """Wall time and peak RSS of one stage (VmHWM reset at the start)."""

    def __init__(self, name: str, units: int, unit: str) -> None:
        self.name, self.units, self.unit = name, units, unit

    def __enter__(self) -> Stage:
        _trim()
        self.peak_ok = _reset_peak()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.started
        self.peak = _status("VmHWM")

    @property
    def per_unit(self) -> float:
        return self.seconds / max(1, self.units)


def matmul_flops(threads: int, size: int = 2048, repeats: int = 5) -> float:
    """This CPU's float32 matmul throughput (FLOP/s), best of ``repeats``."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="prepared data (default: BIOEL_BENCH_DATA or the user cache)")
    parser.add_argument("--config", default="configs/paper.yaml")
    parser.add_argument("--benchmark", default="ncbi-disease", help="whose data the stages run on")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="bart-large", help="tiny: a check of the path")
    parser.add_argument("--steps", type=int, default=3, help="optimiser steps per training stage")
    parser.add_argument("--mentions", type=int, default=4, help="mentions mined and decoded")
    parser.add_argument("--dpo-pairs", type=int, default=2, help="pairs in the one DPO step")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--utilisation", type=float, nargs=2, default=(0.1, 0.4), help="GPU utilisation range")
    parser.add_argument("--pairs-per-mention", type=float, default=1.0, help="DPO pairs per mined mention (estimate)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from transformers import BartConfig, BartForConditionalGeneration

    from bench.experiments.config import load_experiment
    from bench.generative.dpo import PreferencePair, dpo_epoch, reference_logprobs
    from bench.generative.sequences import source_text
    from bench.generative.targets import TargetSelector
    from bench.generative.tokenizer import train_bpe_tokenizer
    from bench.linker import FitConfig
    from bench.normalize import normalize_name
    from bench.registry import SYSTEMS
    from bench.runner import load_benchmark

    torch.set_num_threads(args.threads)
    paper = load_experiment(args.config)
    # the paper's NCBI-disease settings (the benchmark of the dry run's data may be another, e.g. demo)
    run = next(r for r in paper.runs() if r.label == "angel" and r.spec.benchmark == "ncbi-disease")
    benchmark = load_benchmark(args.benchmark, paper.profile, args.data_dir)
    shape = SHAPES[args.shape]
    kb, train, test = benchmark.kb, list(benchmark.split("train")), list(benchmark.split("test"))
    print(f"== paper-scale dry run: {args.config}, angel on {args.benchmark}, {args.shape} shape, random weights ==")
    print(f"machine    {os.cpu_count()} CPUs, torch threads {args.threads}, load average {os.getloadavg()[0]:.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bart-large-shaped"
        started = time.perf_counter()
        texts = list(kb.names) + sorted({m.context.lower() for m in train if m.context})
        tokenizer = train_bpe_tokenizer(texts, vocab_size=shape["vocab_size"])
        config = BartConfig(
            **{**shape, "vocab_size": max(shape["vocab_size"], len(tokenizer))},
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.eos_token_id,
        )
        torch.manual_seed(0)
        BartForConditionalGeneration(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        print(
            f"backbone   {args.shape} shape from a config: vocabulary {config.vocab_size} "
            f"(BPE trained here: {len(tokenizer)} tokens, on {len(texts)} KB names and abstracts), "
            f"saved to a temporary folder in {time.perf_counter() - started:.0f} s"
        )
        settings = {
            **dict(run.spec.settings),
            "backbone": str(folder),
            "pretrain_steps": args.steps,
            "finetune_steps": args.steps,
            "save_steps": 10**6,
            "threads": args.threads,
            "dpo_batch_size": args.dpo_pairs,
            "decode_batch_size": args.mentions,
        }
        linker = SYSTEMS.get("angel").from_settings(settings)
        o = linker.options
        work = Path(tmp) / "work"
        fit = FitConfig(work_dir=work, seed=0, progress=False)
        stages: list[Stage] = []

        with Stage("load backbone + trie of every KB name", len(kb.names), "name") as stage:
            linker._setup_backbone(train, kb, work, 0)
            linker._ensure_trie(kb)
        stages.append(stage)
        parameters = sum(p.numel() for p in linker.model.parameters())
        print(
            f"model      {parameters / 1e6:.0f}M parameters; convention {linker.convention.name}, "
            f"search {linker.search}, {o.num_beams} beams"
        )
        with Stage("KB-guided pre-training", args.steps, "step") as stage:
            linker.pretrain(kb, work, fit)
        stages.append(stage)
        with Stage("fine-tuning (SYN3, batch 1, context 192 words)", args.steps, "step") as stage:
            linker.finetune(train, [], kb, work, fit)
        stages.append(stage)
        mined = train[: args.mentions]
        selector = TargetSelector(kb)
        with Stage(f"beam mining ({o.num_beams} beams, top {o.top_k} paired)", len(mined), "mention") as stage:
            pairs, counts = linker.chunk_pairs(mined, kb, selector)
        stages.append(stage)
        if len(pairs) < args.dpo_pairs:  # a random model rarely ranks a gold name: pair gold with its beams
            beams = linker.decode_with(linker.model, mined, kb, o.top_k)
            for mention, ranked in zip(mined, beams):
                gold = selector.targets(mention, 1)
                wrong = [c.name for c in ranked if not (c.ids & mention.gold_ids)]
                if gold and wrong:
                    source = source_text(mention, o.context_words)
                    pairs.append(PreferencePair(source, normalize_name(mention.text), gold[0], wrong[0]))
            note = f"mined {counts['pairs']} pairs; gold names paired with beams to reach {args.dpo_pairs}"
        else:
            note = f"mined {counts['pairs']} pairs"
        pairs = pairs[: args.dpo_pairs]
        with Stage(f"one DPO step ({len(pairs)} pairs)", 1, "step") as stage:
            collator = linker.pair_collator()
            reference = reference_logprobs(linker.model, pairs, collator, o.dpo_batch_size)
            dpo_stats = dpo_epoch(linker.model, pairs, reference, collator, linker.dpo_settings(), 0, False)
        stages.append(stage)
        decoded = test[: args.mentions]
        with Stage(f"decoding test mentions ({o.num_beams} beams)", len(decoded), "mention") as stage:
            linker.predict(decoded, kb, 10)
        stages.append(stage)

    print(f"DPO        {note}; loss {dpo_stats['loss']:.3f}")
    print()
    print(f"{'stage':52s} {'units':>7s} {'seconds':>9s} {'s/unit':>9s}  {'peak RSS':>9s}")
    for s in stages:
        print(f"{s.name:52s} {s.units:7d} {s.seconds:9.1f} {s.per_unit:9.2f}  {s.peak / MIB:7.0f} MiB  per {s.unit}")
    if not stages[0].peak_ok:
        print("(peak RSS could not be reset between stages: each figure is the process's peak so far)")
    estimate(args, paper, stages, load_benchmark)
    return 0


def card_counts(benchmark: str) -> tuple[int, int, int] | None:
    """Train/dev/test mention counts a dataset card publishes, for a benchmark not prepared here."""
    from bench.benchmarks.sources import load_card

    splits = (load_card(benchmark).get("official_counts") or {}).get("mentions_per_split_unverified")
    if not splits:
        return None
    return int(splits["train"]), int(splits["dev"]), int(splits["test"])


def estimate(args, paper, stages, load_benchmark) -> None:
    """The paper run in CPU hours of this machine and in GPU hours (a throughput ratio)."""
    per = {s.name.split(" (")[0]: s.per_unit for s in stages}
    finetune_s = per["fine-tuning"]
    mining_s = per["beam mining"]
    dpo_pair_s = per["one DPO step"] / max(1, args.dpo_pairs)  # linear in the batch: an extrapolation
    decode_s = per["decoding test mentions"]
    seeds = len(paper.seeds)
    print()
    print(
        f"== estimate of the paper run ({seeds} seeds; genbioel and angel share the positive-only stage; "
        f"{args.pairs_per_mention} DPO pairs per mined mention assumed) =="
    )
    print(f"{'benchmark':22s} {'runs':>4s} {'train':>7s} {'dev':>6s} {'test':>6s} {'steps':>6s} {'CPU h':>9s}")
    total_cpu_s = 0.0
    for benchmark in paper.benchmarks:
        members = [f"aap-fold{i}" for i in range(10)] if benchmark == "aap" else [benchmark]
        source = ""
        try:
            counts = [load_benchmark(m, paper.profile, args.data_dir) for m in members]
            n_train = sum(len(b.split("train")) for b in counts) / len(members)
            n_dev = sum(len(b.split("dev")) for b in counts) / len(members) if "dev" in counts[0].splits else 0
            n_test = sum(len(b.split("test")) for b in counts) / len(members)
        except Exception:  # not prepared here (MedMentions needs UMLS): the card's published counts
            published = card_counts(benchmark)
            if published is None:
                print(f"{benchmark:22s} not prepared here and no published counts: left out of the total")
                continue
            n_train, n_dev, n_test = published
            source = "  (not prepared here: the dataset card's published counts)"
        steps = next(
            dict(r.spec.settings)["finetune_steps"]
            for r in paper.runs()
            if r.label == "genbioel" and r.spec.benchmark == benchmark
        )
        chunks = 10
        per_run = (
            steps * finetune_s  # the shared positive-only stage, once
            + n_train * mining_s  # every chunk mined once
            + n_train * args.pairs_per_mention * dpo_pair_s  # one DPO epoch over all chunks' pairs
            + (chunks + 1) * n_dev * decode_s  # dev before each chunk (an upper bound: patience stops early)
            + 2 * n_test * decode_s  # both arms decode the test set
        )
        runs = seeds * len(members)
        total_cpu_s += runs * per_run
        print(
            f"{benchmark:22s} {runs:4d} {n_train:7.0f} {n_dev:6.0f} {n_test:6.0f} {steps:6d} "
            f"{runs * per_run / 3600:9.0f}{source}"
        )
    cpu_flops = matmul_flops(args.threads)
    low, high = args.utilisation
    speedups = [A100_TF32_PEAK * u / cpu_flops for u in (low, high)]
    print(
        f"total on this CPU: {total_cpu_s / 3600:,.0f} CPU hours ({total_cpu_s / 86400 / 365:.1f} years) at "
        f"{args.threads} torch thread(s)"
    )
    print(
        f"this CPU's float32 matmul: {cpu_flops / 1e9:.0f} GFLOP/s; an A100 (TF32 peak 156 TFLOP/s) at "
        f"{low:.0%}-{high:.0%} utilisation is {speedups[0]:,.0f}-{speedups[1]:,.0f}x that"
    )
    print(
        f"estimated GPU hours (A100): {total_cpu_s / 3600 / speedups[1]:,.0f}-{total_cpu_s / 3600 / speedups[0]:,.0f} "
        "(a throughput ratio applied to CPU timings, not a GPU measurement; batch-1 fine-tuning keeps a GPU "
        "at the low end)"
    )


if __name__ == "__main__":
    sys.exit(main())
