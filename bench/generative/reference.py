"""The reference approach, for comparison only: GenBioEL's nested-dict trie and
``model.generate(..., prefix_allowed_tokens_fn=...)``.

GenBioEL/ANGEL keep the KB names' token ids in a dict of dicts (``Trie`` in
``src/trie/trie.py``: ``trie_dict[token] -> {next token -> ...}``) and, at every
step, walk it in Python from the root for every beam
(``trie.get(sent.tolist())``). Their evaluation decodes one mention at a time.
Here that walk is plugged into Hugging Face beam search exactly as
``prefix_allowed_tokens_fn``: ``generate`` would wrap the function in a
``PrefixConstrainedLogitsProcessor(fn, num_beams)``; we build that same object
and pass it in ``logits_processor`` so that its time can be measured and so that
it runs after the temperature (``generate`` puts processors built from its own
arguments before the caller's, which would renormalise over the allowed tokens
only). Batches, generation config and scores are those of
:func:`decoding.decode`, so the two differ only in the constraint. Generated ids are turned back into strings
with ``tokenizer.decode`` as GenBioEL does, then looked up among the names.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import torch
from transformers import LogitsProcessor
from transformers.generation.logits_process import PrefixConstrainedLogitsProcessor

from bench.generative.decoding import (
    _EMPTY_SLOT,
    DecodeConfig,
    DecodeStats,
    encode_inputs,
    generate_constrained,
    generation_config,
    pad_batch,
    plan_batches,
)
from bench.generative.trie import tokenize_names


class DictTrie:
    """GenBioEL's trie: nested dicts of token ids (an empty dict after EOS)."""

    def __init__(self, sequences: Sequence[Sequence[int]] = ()):
        self.trie_dict: dict = {}
        self.len = 0
        self.max_depth = 0
        for sequence in sequences:
            self.add(sequence)

    def add(self, sequence: Sequence[int]) -> None:
        node = self.trie_dict
        for token in sequence:
            node = node.setdefault(token, {})
        self.len += 1
        self.max_depth = max(self.max_depth, len(sequence))

    def get(self, prefix_sequence: Sequence[int]) -> list[int]:
        node = self.trie_dict
        for token in prefix_sequence:
            node = node.get(token)
            if node is None:
                return []
        return list(node.keys())

    def __len__(self) -> int:
        return self.len


def build_dict_trie(names: Sequence[str], tokenizer) -> DictTrie:
    """Dict trie of ``name_ids(tokenizer, name)`` for every name."""
    flat, lengths, _ = tokenize_names(tokenizer, names)
    trie = DictTrie()
    ends = lengths.cumsum()
    flat_list = flat.tolist()
    for end, length in zip(ends.tolist(), lengths.tolist()):
        trie.add(flat_list[end - length : end])
    return trie


class _Timed(LogitsProcessor):
    def __init__(self, inner: LogitsProcessor):
        self.inner = inner
        self.elapsed = 0.0

    def __call__(self, input_ids, scores):
        started = time.perf_counter()
        out = self.inner(input_ids, scores)
        self.elapsed += time.perf_counter() - started
        return out


def reference_decode(
    model,
    tokenizer,
    dict_trie: DictTrie,
    names: Sequence[str],
    sources: Sequence[str],
    mention_texts: Sequence[str],
    config: DecodeConfig | None = None,
    *,
    batch_size: int = 1,
    stats: DecodeStats | None = None,
) -> list[list[tuple[str, float]]]:
    """Same contract as :func:`decoding.decode`; ``batch_size`` overrides ``config.batch_size``."""
    config = config or DecodeConfig()
    name_to_index = {name: i for i, name in enumerate(names)}
    eos = tokenizer.eos_token_id
    started = time.perf_counter()
    encoder_ids, prompts = encode_inputs(model, tokenizer, sources, mention_texts)
    gen_config = generation_config(tokenizer, dict_trie, config)
    results: list[list[tuple[str, float]]] = [[] for _ in sources]
    constraint = 0.0
    model.eval()
    with torch.inference_mode():
        for batch in plan_batches(prompts, encoder_ids, batch_size):
            input_ids, attention_mask = pad_batch([encoder_ids[i] for i in batch], tokenizer.pad_token_id)
            prompt = torch.tensor([prompts[i] for i in batch], dtype=torch.long)
            prompt_length = prompt.shape[1]
            device = next(model.parameters()).device
            input_ids, attention_mask, prompt = input_ids.to(device), attention_mask.to(device), prompt.to(device)

            def prefix_allowed_tokens_fn(batch_id: int, sent: torch.Tensor, prompt_length=prompt_length) -> list[int]:
                # A prefix that left the trie (a -inf filler beam) gets EOS, so the
                # processor does not raise on an empty list; its score stays -inf.
                return dict_trie.get(sent[prompt_length:].tolist()) or [eos]

            processor = _Timed(PrefixConstrainedLogitsProcessor(prefix_allowed_tokens_fn, config.num_beams))
            out = generate_constrained(
                model, input_ids, attention_mask, prompt, gen_config, processor, config.temperature
            )
            constraint += processor.elapsed
            scores = out.sequences_scores.tolist()
            for row, sequence in enumerate(out.sequences[:, prompt_length:].tolist()):
                if scores[row] <= _EMPTY_SLOT or eos not in sequence:
                    continue
                text = tokenizer.decode(sequence[: sequence.index(eos)], skip_special_tokens=True).strip()
                if text in name_to_index and not math.isinf(scores[row]):
                    results[batch[row // config.num_return]].append((text, scores[row]))
            if stats is not None:
                stats.batches += 1
    if stats is not None:
        stats.seconds += time.perf_counter() - started
        stats.constraint_seconds += constraint
        stats.mentions += len(sources)
    return results
