"""A tiny causal LM built from a config, with a tokenizer trained on the benchmark.

Nothing is downloaded: the tokenizer is byte-level BPE trained in a second on
the KB names and mention strings, and the model is a GPT-2 of a few hundred
thousand parameters with random weights. It proves the ``llm`` path and the
exported lm-eval tasks end to end on a CPU (its answers are noise).
"""

from __future__ import annotations

from collections.abc import Iterable

EOS = "<|endoftext|>"


def train_tiny_tokenizer(texts: Iterable[str], vocab_size: int = 1000):
    """Byte-level BPE on ``texts``, wrapped as a GPT-2 style fast tokenizer (no added specials)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        list(texts), vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS], show_progress=False
    )
    return PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token=EOS, eos_token=EOS, pad_token=EOS)


def tiny_gpt2(tokenizer, seed: int = 0, n_embd: int = 64, n_layer: int = 2, n_head: int = 2, n_positions: int = 512):
    """A GPT-2 from a config around ``tokenizer``'s vocabulary, seeded, in eval mode."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return GPT2LMHeadModel(config).eval()
