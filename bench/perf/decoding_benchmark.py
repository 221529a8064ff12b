"""Constrained decoding: our batched, vectorised decoder against the reference.

    python -m bench.perf.decoding_benchmark [--data-dir D] [--model PATH]
        [--mentions N] [--batch-size B] [--synthetic-names 3000000]

Prints, from one run (same model, same KB: NCBI-disease's MEDIC names, same
mentions: the first N test mentions):

1. decoding throughput side by side: the reference (HF ``generate`` with
   ``prefix_allowed_tokens_fn`` walking GenBioEL's nested-dict trie) at batch
   1 and at batch B, ours at batch 1 and at batch B, their ratios; each is
   timed ``--repeats`` times in alternating order and the best time is kept
   (other jobs share the machine); ours through ``model.generate`` with the
   TrieLogitsProcessor is shown too (row state found by prefix matching or
   by walking from the root), to show what the processor alone gives;
2. the share of mentions whose top-k (names and order) is identical to the
   reference at batch 1, and for every difference whether it is a score tie;
3. the share of our decode time spent on the constraint;
4. the two beam searches side by side (``--searches``, on by default): Hugging
   Face's (``search=hf``) and the released decoder's (``search=fairseq``), both
   batched, against a step-by-step re-implementation of fairseq's algorithm at
   batch 1 (``fairseq_reference_decode``, on the first ``--search-mentions``
   mentions, since it reruns the whole decoder every step): speed, and how many
   ranked lists are identical (fairseq vs its reference; hf vs fairseq, and
   their top-1);
5. trie build time and peak resident memory, each structure built in a fresh
   subprocess: our array trie and the nested-dict trie, for the MEDIC names and
   for a synthetic UMLS-scale KB (random combinations of MEDIC words); the dict
   trie is measured on at most ``--dict-cap`` synthetic names (it needs several
   GB at 3M) and extrapolated linearly, which the output says.

Without ``--model`` the BART is the small one of DESIGN.md section 8 with random
weights (the output says so): throughput and agreement do not need a trained
model, but beam lengths, hence absolute speeds, differ from a trained one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MIB = 2**20


# --- memory -------------------------------------------------------------------
def _status(field: str) -> int:
    """A ``/proc/self/status`` memory field, in bytes."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _trim() -> None:
    """Collect garbage and hand freed heap back to the OS (glibc), so that RSS
    counts what is alive."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


# --- names ----------------------------------------------------------------------
def synthetic_names(medic_names: list[str], n: int, seed: int = 0) -> list[str]:
    """``n`` distinct names: as many words as a random MEDIC name, each drawn
    uniformly from the MEDIC vocabulary (sorted, deterministic)."""
    words = sorted({w for name in medic_names for w in name.split()})
    counts = np.array([len(name.split()) for name in medic_names])
    rng = np.random.default_rng(seed)
    out: set[str] = set()
    while len(out) < n:
        batch = int((n - len(out)) * 1.1) + 16
        lengths = rng.choice(counts, size=batch)
        picks = rng.integers(0, len(words), size=int(lengths.sum())).tolist()
        pos = 0
        for length in lengths.tolist():
            out.add(" ".join(words[j] for j in picks[pos : pos + length]))
            pos += length
    return sorted(out)[:n]


# --- the build-measurement child ----------------------------------------------------
def _child_build(args) -> None:
    """Build one structure in this fresh process and print a JSON line."""
    from transformers import AutoTokenizer

    from bench.generative.reference import DictTrie
    from bench.generative.trie import NameTrie, tokenize_names, vocab_size_of

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer_dir)
    medic = Path(args.names_file).read_text().splitlines()
    names = medic if args.n == 0 else synthetic_names(medic, args.n, seed=args.seed)
    result: dict[str, object] = {"structure": args.child_build, "names": len(names)}
    tokenize_names(tokenizer, names[:1000])  # one-time tokenizer/thread-pool set-up is not the trie's
    _trim()
    baseline = _status("VmRSS")
    result["peak_reset"] = _reset_peak()
    started = time.perf_counter()
    flat, lengths, mode = tokenize_names(tokenizer, names)
    tokenized = time.perf_counter()
    result.update(tokenize_s=tokenized - started, tokenize_mode=mode, tokens=int(flat.shape[0]))
    if args.child_build == "array":
        trie = NameTrie.from_flat(
            flat, lengths, vocab_size=vocab_size_of(tokenizer), eos_token_id=tokenizer.eos_token_id
        )
        del flat, lengths
        result.update(build_s=time.perf_counter() - tokenized, nodes=trie.n_nodes, nbytes=trie.nbytes)
        result["peak_mib"] = (_status("VmHWM") - baseline) / MIB
        _trim()
        result["retained_mib"] = (_status("VmRSS") - baseline) / MIB
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "trie.npz"
            trie.save(path)
            del trie
            loading = time.perf_counter()
            NameTrie.load(path)
            result.update(load_s=time.perf_counter() - loading, file_mib=path.stat().st_size / MIB)
    else:
        trie = DictTrie()
        ends = np.cumsum(lengths).tolist()
        flat_list = flat.tolist()
        del flat
        for end, length in zip(ends, lengths.tolist()):
            trie.add(flat_list[end - length : end])
        del flat_list
        result["build_s"] = time.perf_counter() - tokenized
        result["peak_mib"] = (_status("VmHWM") - baseline) / MIB
        _trim()
        result["retained_mib"] = (_status("VmRSS") - baseline) / MIB
    print(json.dumps(result), flush=True)


def measure_build(structure: str, names_file: Path, tokenizer_dir: Path, n: int, seed: int) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.perf.decoding_benchmark",
        "--child-build",
        structure,
        "--names-file",
        str(names_file),
        "--tokenizer-dir",
        str(tokenizer_dir),
        "--n",
        str(n),
        "--seed",
        str(seed),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "true"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        return {"structure": structure, "error": (done.stderr or done.stdout).strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- agreement ------------------------------------------------------------------------
def classify_difference(ours: list[tuple[str, float]], ref: list[tuple[str, float]], rel: float = 1e-5) -> str:
    """Why two top-k lists differ: ``"exact tie"`` (the names swapped at the first
    difference have bit-identical scores within one list), ``"near tie"``
    (their scores differ only at float-noise level between the two runs:
    batch composition changes the last bits), or ``"not a tie"``."""
    ours_scores, ref_scores = dict(ours), dict(ref)
    for rank in range(max(len(ours), len(ref))):
        a = ours[rank] if rank < len(ours) else None
        r = ref[rank] if rank < len(ref) else None
        if a is not None and r is not None and a[0] == r[0]:
            continue
        if a is None or r is None:
            return "not a tie"
        if (a[0] in ref_scores and ref_scores[a[0]] == r[1]) or (r[0] in ours_scores and ours_scores[r[0]] == a[1]):
            return "exact tie"
        if abs(a[1] - r[1]) <= rel * max(abs(a[1]), abs(r[1]), 1.0):
            return "near tie"
        return "not a tie"
    return "identical"


def agreement(outputs: list[list[tuple[str, float]]], reference: list[list[tuple[str, float]]]) -> dict:
    kinds: dict[str, int] = {}
    examples = []
    for i, (ours, ref) in enumerate(zip(outputs, reference)):
        if [n for n, _ in ours] == [n for n, _ in ref]:
            kinds["identical"] = kinds.get("identical", 0) + 1
            continue
        kind = classify_difference(ours, ref)
        kinds[kind] = kinds.get(kind, 0) + 1
        if len(examples) < 3:
            examples.append((i, kind, ours, ref))
    return {"kinds": kinds, "examples": examples, "n": len(reference)}


# --- main -------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.perf.decoding_benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", help="prepared benchmark data (default: BIOEL_BENCH_DATA or the user cache)")
    parser.add_argument("--model", help="a saved checkpoint dir (model + tokenizer); default: random small BART")
    parser.add_argument("--mentions", type=int, default=200, help="first N test mentions (default 200)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-beams", type=int, default=5)
    parser.add_argument("--num-return", type=int, default=5)
    parser.add_argument("--context-words", type=int, default=0, help="encoder context window (0: mention only)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the throughput part")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per decoder (best kept)")
    parser.add_argument("--synthetic-names", type=int, default=3_000_000)
    parser.add_argument("--dict-cap", type=int, default=300_000, help="most synthetic names for the dict trie")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-searches", action="store_true", help="leave out the hf-vs-fairseq section")
    parser.add_argument("--search-mentions", type=int, default=50, help="mentions for the step-by-step reference")
    # internal: one build measured in a child process
    parser.add_argument("--child-build", choices=["array", "dict"], help=argparse.SUPPRESS)
    parser.add_argument("--names-file", help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer-dir", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _rate(stats) -> str:
    return f"{stats.mentions_per_second:8.1f}"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child_build:
        _child_build(args)
        return 0

    import torch

    from bench.errors import BenchError
    from bench.generative.decoding import DecodeConfig, DecodeStats, decode
    from bench.generative.model import SmallBartSize, load_pretrained, parameter_count, small_bart
    from bench.generative.reference import build_dict_trie, reference_decode
    from bench.generative.sequences import source_text
    from bench.generative.tokenizer import train_bpe_tokenizer
    from bench.generative.trie import build_name_trie
    from bench.normalize import normalize_name
    from bench.runner import load_benchmark

    try:
        benchmark = load_benchmark("ncbi-disease", data_dir=args.data_dir)
    except BenchError as error:
        print(f"cannot load ncbi-disease: {error}\nprepare it first: bioel-bench prepare ncbi-disease", file=sys.stderr)
        return 2
    kb = benchmark.kb
    names = list(kb.names)
    mentions = list(benchmark.split("test"))[: args.mentions]
    sources = [source_text(m, context_words=args.context_words) for m in mentions]
    texts = [m.text for m in mentions]

    torch.manual_seed(args.seed)
    if args.model:
        model, tokenizer = load_pretrained(args.model)
        model_line = f"checkpoint {args.model}"
    else:
        started = time.perf_counter()
        training = [normalize_name(m.text) for m in benchmark.split("train")]
        tokenizer = train_bpe_tokenizer([*names, *training], vocab_size=8000)
        model = small_bart(tokenizer, SmallBartSize())
        model_line = (
            f"small BART, RANDOM INIT (no --model), byte-level BPE trained in {time.perf_counter() - started:.1f} s"
        )
    model.eval()
    print("== constrained decoding benchmark ==")
    print(f"model      {model_line}; {parameter_count(model) / 1e6:.1f}M parameters, vocabulary {len(tokenizer)}")
    print(
        f"KB         {kb.name}: {len(names)} names; mentions: first {len(mentions)} of NCBI-disease test; "
        f"encoder input: {'mention only' if args.context_words <= 0 else f'{args.context_words} words each side'}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_throughput:
            run_throughput(args, model, tokenizer, names, sources, texts, build_name_trie, build_dict_trie,
                           decode, reference_decode, DecodeConfig, DecodeStats)  # fmt: skip
        if not args.skip_searches:
            run_searches(args, model, tokenizer, names, sources, texts)
        if not args.skip_build:
            names_file = tmp / "medic.txt"
            names_file.write_text("\n".join(names))
            tokenizer_dir = tmp / "tokenizer"
            tokenizer.save_pretrained(tokenizer_dir)
            run_builds(args, names_file, tokenizer_dir, len(names))
    return 0


def run_throughput(
    args, model, tokenizer, names, sources, texts, build_name_trie, build_dict_trie, decode, reference_decode,
    DecodeConfig, DecodeStats,
) -> None:  # fmt: skip
    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    trie = build_name_trie(names, tokenizer)
    trie_s = time.perf_counter() - started
    started = time.perf_counter()
    dict_trie = build_dict_trie(names, tokenizer)
    dict_s = time.perf_counter() - started
    print(f"tries      ours {trie_s:.2f} s ({trie.stats.tokenize_s:.2f} s tokenising); dict {dict_s:.2f} s")
    load = os.getloadavg()
    print(
        f"machine    {os.cpu_count()} CPUs, torch threads {args.threads}, load average {load[0]:.2f} at start"
        + ("  (other jobs are running: timings are noisy, threads contend)" if load[0] > 0.5 else "")
    )
    batch = args.batch_size
    config = DecodeConfig(num_beams=args.num_beams, num_return=args.num_return, batch_size=batch)
    config_one = DecodeConfig(num_beams=args.num_beams, num_return=args.num_return, batch_size=1)

    def ours(cfg, **kw):
        return lambda s, t, stats: decode(model, tokenizer, trie, names, s, t, cfg, stats=stats, **kw)

    def ref(size):
        return lambda s, t, stats: reference_decode(
            model, tokenizer, dict_trie, names, s, t, config, batch_size=size, stats=stats
        )

    runs = {
        "reference @1": ref(1),
        "ours @1": ours(config_one),
        f"ours @{batch}": ours(config),
        f"reference @{batch}": ref(batch),
        f"ours generate+processor @{batch}": ours(config, engine="generate", mode="incremental"),
        f"ours generate+processor (walk from root) @{batch}": ours(config, engine="generate", mode="scratch"),
    }
    for run in runs.values():  # warm-up
        run(sources[:4], texts[:4], None)
    best: dict[str, object] = {}
    outputs: dict[str, list] = {}
    labels = list(runs)
    for repeat in range(args.repeats):
        for label in labels if repeat % 2 == 0 else labels[::-1]:
            stats = DecodeStats()
            cpu = time.process_time()
            out = runs[label](sources, texts, stats)
            stats.extra["cpu_s"] = time.process_time() - cpu
            outputs.setdefault(label, out)
            least_cpu = min(stats.extra["cpu_s"], best[label].extra["cpu_s"]) if label in best else None
            if label not in best or stats.seconds < best[label].seconds:
                best[label] = stats
            if least_cpu is not None:
                best[label].extra["cpu_s"] = least_cpu
    print(
        f"load average {os.getloadavg()[0]:.2f} at the end; best of {args.repeats} passes per decoder "
        "(per CPU-s: mentions per second of process CPU time, less sensitive to other jobs)"
    )
    print()
    print(
        "decoder                                          mentions/s  per CPU-s  constraint  identical top-k vs ref @1"
    )
    reference = outputs["reference @1"]
    for label in labels:
        stats = best[label]
        agree = agreement(outputs[label], reference)
        same = agree["kinds"].get("identical", 0)
        print(
            f"{label:48s} {_rate(stats)} {stats.mentions / stats.extra['cpu_s']:10.1f} {stats.constraint_share:11.1%}"
            f"  {same / agree['n']:8.1%} ({same}/{agree['n']})"
        )
    for label, stats in best.items():
        stats.label = label
    r1, o1 = best["reference @1"], best["ours @1"]
    ob, rb = best[f"ours @{batch}"], best[f"reference @{batch}"]
    print()
    print("ratios (wall clock; in CPU time)")
    for mine, theirs, target in ((ob, r1, "(target >= 10x)"), (ob, rb, "(target > 1)"), (o1, r1, "")):
        wall = mine.mentions_per_second / theirs.mentions_per_second
        cpu = theirs.extra["cpu_s"] / mine.extra["cpu_s"]
        print(f"  {mine.label + ' / ' + theirs.label:36s} {wall:6.2f}x   {cpu:6.2f}x   {target}")
    inc = best[f"ours generate+processor @{batch}"]
    scr = best[f"ours generate+processor (walk from root) @{batch}"]
    print(
        f"processor row state: prefix matching {inc.constraint_seconds * 1e3:.0f} ms vs walking from the root "
        f"{scr.constraint_seconds * 1e3:.0f} ms over {inc.processor_calls} calls"
    )
    print(
        f"constraint share of our decode time @{batch}: {ob.constraint_share:.1%} (target <= 15%); "
        f"the reference's processor @{batch}: {rb.constraint_share:.1%}, @1: {r1.constraint_share:.1%}"
    )
    agree = agreement(outputs[f"ours @{batch}"], reference)
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(agree["kinds"].items()))
    print(f"ours @{batch} vs reference @1, top-{args.num_return} names and order: {kinds}")
    for i, kind, mine, theirs in agree["examples"]:
        print(f"  mention {i} ({kind}):")
        print("    ours " + ", ".join(f"{n} {s:.6f}" for n, s in mine))
        print("    ref  " + ", ".join(f"{n} {s:.6f}" for n, s in theirs))
    print()


def run_searches(args, model, tokenizer, names, sources, texts) -> None:
    """search=hf and search=fairseq side by side, and fairseq against its step-by-step reference."""
    import torch

    from bench.generative.decoding import DecodeConfig, DecodeStats, decode
    from bench.generative.reference import build_dict_trie, fairseq_reference_decode
    from bench.generative.trie import build_name_trie

    torch.set_num_threads(args.threads)
    trie = build_name_trie(names, tokenizer)
    beams, ret = args.num_beams, args.num_return
    outputs, seconds = {}, {}
    for search in ("hf", "fairseq"):
        config = DecodeConfig(num_beams=beams, num_return=ret, batch_size=args.batch_size, search=search)
        decode(model, tokenizer, trie, names, sources[:4], texts[:4], config)  # warm-up
        for _ in range(args.repeats):
            stats = DecodeStats()
            out = decode(model, tokenizer, trie, names, sources, texts, config, stats=stats)
            outputs.setdefault(search, out)
            seconds[search] = min(seconds.get(search, math.inf), stats.seconds)
    n = min(args.search_mentions, len(sources))
    started = time.perf_counter()
    reference = fairseq_reference_decode(
        model, tokenizer, build_dict_trie(names, tokenizer), names, sources[:n], texts[:n], beams, ret
    )
    reference_s = time.perf_counter() - started
    print(f"== beam searches, {beams} beams, top {ret} returned, batch {args.batch_size}, best of {args.repeats} ==")
    print("search                                        mentions/s")
    for search in ("hf", "fairseq"):
        print(f"{'ours search=' + search:45s} {len(sources) / seconds[search]:10.1f}")
    print(f"{'fairseq step-by-step reference @1':45s} {n / reference_s:10.1f}  (first {n} mentions)")
    same = sum(
        [x for x, _ in a] == [x for x, _ in b]
        and all(abs(s - t) <= 1e-4 * max(1.0, abs(t)) for (_, s), (_, t) in zip(a, b))
        for a, b in zip(outputs["fairseq"][:n], reference)
    )
    print(f"search=fairseq vs its reference: identical ranked names and scores for {same}/{n} mentions")
    lists = sum([x for x, _ in a] == [x for x, _ in b] for a, b in zip(outputs["hf"], outputs["fairseq"]))
    top1 = sum(a[:1] == b[:1] or (a and b and a[0][0] == b[0][0]) for a, b in zip(outputs["hf"], outputs["fairseq"]))
    total = len(sources)
    print(f"search=hf vs search=fairseq: identical top-{ret} lists {lists}/{total}, identical top-1 {top1}/{total}")
    print()


def run_builds(args, names_file: Path, tokenizer_dir: Path, n_medic: int) -> None:
    synthetic = args.synthetic_names
    dict_n = min(synthetic, args.dict_cap)
    plan = [
        ("array", 0, f"MEDIC ({n_medic:,} names)"),
        ("dict", 0, f"MEDIC ({n_medic:,} names)"),
        ("array", synthetic, f"synthetic {synthetic:,}"),
        ("dict", dict_n, f"synthetic {dict_n:,}" + (" (capped)" if dict_n < synthetic else "")),
    ]
    print("trie build, each in a fresh process (peak = resident-memory high-water mark above the process before it)")
    print("structure    KB                       tokenise s   build s   total s   peak MiB   kept MiB   nodes/size")
    results = []
    for structure, n, label in plan:
        result = measure_build(structure, names_file, tokenizer_dir, n, args.seed)
        results.append((structure, n, result))
        if "error" in result:
            print(f"{structure:12s} {label:24s} failed: {result['error']}")
            continue
        total = result["tokenize_s"] + result["build_s"]
        extra = (
            f"{result['nodes']:,} nodes, {result['nbytes'] / MIB:.0f} MiB arrays, load {result['load_s']:.2f} s"
            if structure == "array"
            else "dict of dicts"
        )
        print(
            f"{'ours array' if structure == 'array' else 'nested dict':12s} {label:24s} "
            f"{result['tokenize_s']:10.1f} {result['build_s']:9.1f} {total:9.1f} "
            f"{result['peak_mib']:10.0f} {result['retained_mib']:10.0f}   {extra}"
        )
    big = [r for s, n, r in results if s == "array" and n == synthetic and "error" not in r]
    if big:
        r = big[0]
        total = r["tokenize_s"] + r["build_s"]
        ok = total <= 60 and r["peak_mib"] <= 1024
        print(
            f"ours at {synthetic:,} names: {total:.1f} s ({r['tokenize_s']:.1f} tokenising + {r['build_s']:.1f} "
            f"building), peak +{r['peak_mib']:.0f} MiB: {'meets' if ok else 'MISSES'} the target (<= 60 s, <= 1 GiB)"
        )
    capped = [r for s, n, r in results if s == "dict" and 0 < n < synthetic and "error" not in r]
    if capped:
        r = capped[0]
        scale = synthetic / r["names"]
        print(
            f"nested dict measured at {r['names']:,} names, not {synthetic:,} (--dict-cap: memory); "
            f"linear extrapolation to {synthetic:,}: ~{r['peak_mib'] * scale / 1024:.1f} GiB, "
            f"~{(r['tokenize_s'] + r['build_s']) * scale:.0f} s"
        )


if __name__ == "__main__":
    raise SystemExit(main())
