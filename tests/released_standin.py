"""A tiny stand-in for a released GenBioEL/ANGEL checkpoint, saved in the same layout.

The released models (``dmis-lab/ANGEL_ncbi`` ...) are BART-large folders:
``config.json`` (``BartForConditionalGeneration``, ``decoder_start_token_id`` 2,
``forced_bos_token_id`` 0, ``no_repeat_ngram_size`` 3 ...), the weights, and a
GPT-2-style byte-level BPE tokenizer (``vocab.json`` + ``merges.txt``, ``<s>`` 0,
``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, ``<mask>`` last; " is" is a single token).
The hub is not reachable from tests, so this builds the same layout with a
vocabulary of a few hundred tokens and a model of a few thousand parameters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import BartConfig, BartForConditionalGeneration, BartTokenizerFast


def save_released_standin(folder: Path, texts: Iterable[str], vocab_size: int = 600, seed: int = 0) -> Path:
    """Write a tiny BART + GPT-2-style BPE tokenizer to ``folder`` in the released layout."""
    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    # bart-large's special tokens, in its order (ids 0-3; <mask> is added last, as in bart-large)
    bpe.train_from_iterator(
        [*texts, "is " * 5], vocab_size=vocab_size, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>"]
    )
    bpe.save_model(str(folder))  # vocab.json, merges.txt
    vocab = json.loads((folder / "vocab.json").read_text())
    lines = (folder / "merges.txt").read_text().splitlines()
    merges = [tuple(line.split(" ")) for line in lines if line and not line.startswith("#")]
    tokenizer = BartTokenizerFast(vocab=vocab, merges=merges, mask_token="<mask>")
    tokenizer.save_pretrained(folder)
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=128,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=0,  # bart-large's generation defaults: decoding must not apply them
        forced_eos_token_id=2,
        no_repeat_ngram_size=3,
        num_beams=4,
        scale_embedding=False,
    )
    torch.manual_seed(seed)
    model = BartForConditionalGeneration(config)
    with torch.no_grad():  # spread the random model's scores so that beams differ clearly
        model.model.shared.weight.normal_(0, 1.0)
    model.save_pretrained(folder)
    return folder


def perturb_weights(folder: Path) -> None:
    """Change the checkpoint's weights in place (same path, same config): a different model."""
    model = BartForConditionalGeneration.from_pretrained(folder)
    with torch.no_grad():
        model.lm_head.weight.add_(0.5)
    model.save_pretrained(folder)
