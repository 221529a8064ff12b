"""A small byte-level BPE tokenizer trained on a benchmark's own text.

The CPU default model is created from a config, so it needs a vocabulary: we
train one with Hugging Face ``tokenizers`` on the KB names and the training
mentions (and contexts), which takes about a second, and wrap it as a
``PreTrainedTokenizerFast`` with BART's special tokens so the rest of the code
is the same as with ``facebook/bart-large``.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import ByteLevelBPETokenizer, processors
from transformers import PreTrainedTokenizerFast

from bench.generative.sequences import END, START

SPECIAL = {"bos_token": "<s>", "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>", "mask_token": "<mask>"}


def train_bpe_tokenizer(
    texts: Iterable[str], vocab_size: int = 8000, min_frequency: int = 2
) -> PreTrainedTokenizerFast:
    """Train byte-level BPE on ``texts`` (lower-cased upstream) and wrap it."""
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        texts,
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>", START, END],
        show_progress=False,
    )
    # Encoder inputs are wrapped as "<s> text </s>", as BART's own tokenizer does.
    bpe._tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", bpe.token_to_id("<s>")), ("</s>", bpe.token_to_id("</s>"))]
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, **SPECIAL)
    tokenizer.add_special_tokens({"additional_special_tokens": [START, END]})
    return tokenizer
