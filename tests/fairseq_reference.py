"""A plain, one-mention-at-a-time re-implementation of the released decoder's beam search.

Written for the tests from the algorithm of ANGEL's ``fairseq_beam/sequence_generator.py``
with GenBioEL's ``PrefixConstrainedBeamSearch`` (see :mod:`bench.generative.fairseq_search`
for the steps), as directly as Python allows: the whole decoder input is run
again at every step (no cache, as the released code), the trie is GenBioEL's
dict of dicts walked from the prompt's end, the vocabulary is masked densely,
``topk`` runs over the flattened ``beams x vocab`` scores, and the
``cands_to_ignore`` bookkeeping is kept as fairseq keeps it (a mask over candidate
positions, updated with its ``active_mask`` trick) rather than as a count.
``bench.generative.fairseq_search`` must give the same ranked names and scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from bench.generative.decoding import encode_inputs
from bench.generative.reference import DictTrie


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
