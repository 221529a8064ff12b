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


# --- the released decoder's search, step by step (checks bench.generative.fairseq_search) ---------------
#
# A plain, one-mention-at-a-time re-implementation of the beam search of ANGEL's
# ``fairseq_beam/sequence_generator.py`` with GenBioEL's ``PrefixConstrainedBeamSearch``
# (the steps are listed in bench.generative.fairseq_search), as directly as Python
# allows: the whole decoder input is run again at every step (no cache, as the
# released code), the trie is GenBioEL's dict of dicts walked from the prompt's end,
# the vocabulary is masked densely, ``topk`` runs over the flattened
# ``beams x vocab`` scores, and fairseq's ``cands_to_ignore`` is kept as fairseq
# keeps it (a mask over candidate positions, reordered with its ``active_mask``
# trick) rather than as the count the batched search uses. The tests and the
# decoding benchmark require the same ranked names and scores from both.


@torch.inference_mode()
def fairseq_reference_decode(
    model,
    tokenizer,
    dict_trie: DictTrie,
    names: Sequence[str],
    sources: Sequence[str],
    mention_texts: Sequence[str],
    beam_size: int,
    num_return: int,
    length_penalty: float = 1.0,
    prompt_bos: bool = True,
    source_space: bool = False,
) -> list[list[tuple[str, float]]]:
    model.eval()
    eos = tokenizer.eos_token_id
    vocab = model.config.vocab_size
    encoder_ids, prompts = encode_inputs(model, tokenizer, sources, mention_texts, prompt_bos, source_space)
    out = []
    for source_ids, prompt in zip(encoder_ids, prompts):
        src = torch.tensor([source_ids])
        encoder_out = model.get_encoder()(input_ids=src, return_dict=True)
        n = len(prompt)
        tokens = [list(prompt) for _ in range(beam_size)]
        cumulative = [0.0] * beam_size  # running sums after the prompt
        positional: list[list[float]] = [[] for _ in range(beam_size)]
        cands_to_ignore = [False] * beam_size
        finalized: list[tuple[list[int], float]] = []
        for step in range(dict_trie.max_depth):
            decoder_input = torch.tensor(tokens)
            hidden = encoder_out.last_hidden_state.expand(beam_size, -1, -1)
            logits = model(encoder_outputs=(hidden,), decoder_input_ids=decoder_input).logits[:, -1, :]
            lprobs = torch.log_softmax(logits.float(), dim=-1)
            mask = torch.full_like(lprobs, -math.inf)
            for b in range(beam_size):
                allowed = dict_trie.get(tokens[b][n:])
                if allowed:
                    mask[b, allowed] = 0.0
            lprobs = lprobs + mask
            if step == 0:
                flat = lprobs[0]  # every beam holds the prompt: beam 0 only
            else:
                flat = (lprobs + torch.tensor(cumulative)[:, None]).reshape(-1)
            cand_scores, cand_index = torch.topk(flat, k=beam_size)
            cand_beams = (cand_index // vocab).tolist() if step else [0] * beam_size
            cand_tokens = (cand_index % vocab).tolist()
            cand_scores = cand_scores.tolist()
            eos_mask = [t == eos and s != -math.inf for t, s in zip(cand_tokens, cand_scores)]
            for j in range(beam_size):
                if cands_to_ignore[j]:
                    eos_mask[j] = False
            for j in range(beam_size):
                if eos_mask[j] and len(finalized) < beam_size:
                    b = cand_beams[j]
                    steps = positional[b] + [cand_scores[j] - cumulative[b] if step else cand_scores[j]]
                    finalized.append((tokens[b][n:] + [eos], sum(steps) / len(steps) ** length_penalty))
            if len(finalized) == beam_size:
                break
            # fairseq's active_mask: ignored or EOS positions sort after the others
            flagged = [cands_to_ignore[j] or eos_mask[j] for j in range(beam_size)]
            order = sorted(range(beam_size), key=lambda j: flagged[j] * 2 * beam_size + j)
            cands_to_ignore = [flagged[j] for j in order]
            new_tokens, new_cumulative, new_positional = [], [], []
            for j in order:
                b = cand_beams[j]
                new_tokens.append(tokens[b] + [cand_tokens[j]])
                new_cumulative.append(cand_scores[j])
                step_score = cand_scores[j] - cumulative[b] if step else cand_scores[j]
                new_positional.append(positional[b] + [step_score])
            tokens, cumulative, positional = new_tokens, new_cumulative, new_positional
        finalized.sort(key=lambda item: -item[1])
        ranked = []
        for sequence, score in finalized[:num_return]:
            text = tokenizer.decode(sequence[:-1], skip_special_tokens=True).strip()
            if text in names:
                ranked.append((text, score))
        out.append(ranked)
    return out
