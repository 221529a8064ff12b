"""Seq2seq backbones: a checkpoint by name or path, or a small BART from a config.

On a GPU machine ``backbone="facebook/bart-large"`` (or a local path, or
``dmis-lab/ANGEL_pretrained``) loads weights and tokenizer with
``from_pretrained``. On a CPU, ``backbone="small"`` builds a BART from a config
(sizes are options) with a tokenizer trained on the benchmark; nothing is
downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, BartConfig, BartForConditionalGeneration

from bench import distributed

SMALL = "small"


@dataclass(frozen=True)
class SmallBartSize:
    d_model: int = 256
    layers: int = 3
    heads: int = 4
    ffn: int = 1024
    max_positions: int = 512
    dropout: float = 0.1


def small_bart(tokenizer, size: SmallBartSize) -> BartForConditionalGeneration:
    """A BART created from a config around ``tokenizer``'s vocabulary (tied embeddings)."""
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=size.d_model,
        encoder_layers=size.layers,
        decoder_layers=size.layers,
        encoder_attention_heads=size.heads,
        decoder_attention_heads=size.heads,
        encoder_ffn_dim=size.ffn,
        decoder_ffn_dim=size.ffn,
        max_position_embeddings=size.max_positions,
        dropout=size.dropout,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
        tie_word_embeddings=True,
    )
    return BartForConditionalGeneration(config)


def load_pretrained(name_or_path: str):
    """Model and tokenizer of a Hugging Face seq2seq checkpoint (name or local path)."""
    tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    model = AutoModelForSeq2SeqLM.from_pretrained(name_or_path)
    return model, tokenizer


def load_seq2seq(path: str | Path):
    """A saved seq2seq model, on this process's device (:func:`bench.distributed.device`).

    ``from_pretrained`` loads onto the CPU; without the move, a stage read back
    from disk (a resumed run, ANGEL's best chunk) would decode on the CPU of a GPU machine.
    """
    return AutoModelForSeq2SeqLM.from_pretrained(path).to(distributed.device())


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())
