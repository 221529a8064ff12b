"""A tiny benchmark and tiny model settings shared by the generative-system tests."""

from __future__ import annotations

import itertools

from bench.benchmark import Benchmark
from bench.kb import KnowledgeBase
from bench.mention import Mention

CONCEPTS = {
    "D1": ["breast cancer", "mammary carcinoma", "breast neoplasm"],
    "D2": ["ovarian cancer", "ovary neoplasm"],
    "D3": ["common cold", "coryza"],
    "D4": ["cold sensation", "feeling cold"],
    "D5": ["myotonic dystrophy", "steinert disease"],
    "D6": ["huntington disease", "huntington chorea"],
    "D7": ["colon cancer", "colorectal carcinoma"],
    "D8": ["diabetes mellitus", "diabetes"],
}

TRAIN = [
    ("breast tumour", "D1"),
    ("mammary cancer", "D1"),
    ("ovary cancer", "D2"),
    ("cold", "D3"),
    ("coryza", "D3"),
    ("chills", "D4"),
    ("steinert", "D5"),
    ("dm1", "D5"),
    ("huntington", "D6"),
    ("hd", "D6"),
    ("crc", "D7"),
    ("colon tumour", "D7"),
    ("diabetic", "D8"),
    ("sugar disease", "D8"),
    ("breast carcinoma", "D1"),
    ("ovarian tumour", "D2"),
]
DEV = [("breast cancers", "D1"), ("ovarian neoplasm", "D2"), ("huntingtons", "D6"), ("diabetes type", "D8")]
TEST = [("mammary tumour", "D1"), ("cold", "D3"), ("colorectal cancer", "D7"), ("steinert disease", "D5")]

#: small enough that fit + predict take seconds on one CPU thread
TINY = {
    "vocab_size": 400,
    "d_model": 32,
    "layers": 1,
    "heads": 2,
    "ffn": 64,
    "dropout": 0.0,
    "pretrain_steps": 4,
    "finetune_steps": 6,
    "batch_size": 8,
    "save_steps": 2,
    "num_beams": 5,
    "decode_batch_size": 8,
    "threads": 1,
    "pretrain_lr": 5e-3,
    "finetune_lr": 5e-3,
}


def mentions(rows, split: str) -> list[Mention]:
    return [Mention(f"{split}{i}", text, frozenset({cid})) for i, (text, cid) in enumerate(rows)]


def tiny_benchmark() -> Benchmark:
    kb = KnowledgeBase("tiny", CONCEPTS)
    return Benchmark(
        "tiny-gen",
        {"train": mentions(TRAIN, "t"), "dev": mentions(DEV, "d"), "test": mentions(TEST, "e")},
        kb,
    )


NAME_WORDS = ["breast", "cancer", "ovarian", "cold", "common", "sensation", "renal", "failure", "type", "2", "diabetes"]


def tiny_names() -> list[str]:
    """~50 distinct names, some the prefix of others ("cold" / "cold sensation")."""
    names = {"cold", "cold sensation", "common cold", "breast cancer", "breast", "diabetes type 2", "diabetes"}
    for a, b in itertools.product(NAME_WORDS, repeat=2):
        if a != b and len(names) < 50:
            names.add(f"{a} {b}")
    return sorted(names)
