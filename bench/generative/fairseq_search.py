"""Trie-constrained beam search with the semantics of the released GenBioEL/ANGEL decoder.

ANGEL decodes with a modified fairseq ``SequenceGenerator``
(``fairseq_beam/sequence_generator.py``) driving a ``PrefixConstrainedBeamSearch``
(GenBioEL's fairseq fork, ``fairseq/search.py``). Per mention, step by step:

1. every beam's next-token log-probs (``log_softmax`` over the whole vocabulary)
   are masked to the trie's allowed tokens (-inf elsewhere) and added to the
   beam's cumulative score; at the first step only beam 0 counts (all beams hold
   the same prompt);
2. the top ``beam_size`` candidates over all beams are taken (``topk`` with
   ``k = beam_size``: fairseq's plain beam search takes ``2 * beam_size``, the
   prefix-constrained one only ``beam_size``);
3. a candidate that is EOS with a finite score is *finalised* (its name is
   complete, scored by the mean log-prob of its tokens after the prompt), unless
   it sits in one of the last ``f`` candidate positions, where ``f`` is the number
   of hypotheses finalised before this step (fairseq's ``cands_to_ignore``: once
   a hypothesis is finished it holds one beam slot for good, the lowest-ranked);
4. all ``beam_size`` candidates become the beams of the next step, finished ones
   included (they have no continuation in the trie, so they hold a slot and
   expand to nothing); -inf fillers (fewer allowed continuations than beams) are
   dead beams;
5. a mention is done once ``beam_size`` hypotheses are finalised (or when nothing
   can be extended any more); its finalised names are sorted by score.

Hugging Face's beam search (``search="hf"``, :func:`decoding.beam_search`) keeps
``2 * num_beams`` candidates, lets a better finished hypothesis replace a worse
one and stops on a length heuristic, so on a trained model its ranked lists
differ from these for most mentions (the top name mostly agrees).

What we add is speed, not semantics: mentions are decoded in batches, the
constraint is applied sparsely (each beam's trie node is carried along and only
its allowed tokens are scored and ranked), the encoder and the prompt run once
per mention, the decoder runs incrementally with a key/value cache (the released
code recomputes the whole prefix every step), and a finished mention leaves the
batch. :func:`bench.generative.reference.fairseq_reference_decode` is a plain
per-mention re-implementation of the steps above; the tests and the decoding
benchmark require identical ranked lists and scores.

The released decoder also caps the output at the model config's ``max_length``;
here the cap is the trie's depth (the longest name and its EOS), so every KB
name can be generated.
"""

from __future__ import annotations

import math
import time

import torch
from transformers import GenerationConfig

from bench.generative.trie import NameTrie


def fairseq_beam_search(
    model,
    trie: NameTrie,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    prompt: torch.Tensor,
    gen_config: GenerationConfig,
    temperature: float = 1.0,
    timing=None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(nodes, scores)``, both ``items x num_beams``, best first (fairseq's finalised set).

    ``nodes`` are the trie leaves of the finalised names (``trie.name_index_of``),
    -1 in unfilled slots, whose score is -1e9. Scores are the sum of the name's
    token log-probs (EOS included) divided by ``(number of tokens) ** length_penalty``.
    """
    from bench.generative.decoding import (  # the shared BART steps (imported here: no import cycle)
        _decoder_logits,
        encode_and_prompt,
        step_log_probs,
    )

    device = input_ids.device
    trie = trie.to(device)
    nb = gen_config.num_beams
    eos = gen_config.eos_token_id
    length_penalty = gen_config.length_penalty
    max_steps = gen_config.max_new_tokens
    items = prompt.shape[0]
    on = {"device": device}
    positions = torch.arange(nb, **on)
    constraint = 0.0

    # the temperature as in decoding.TemperatureLogProbs; the released code never applies it (1.0)
    hidden, cache, log_probs = encode_and_prompt(model, input_ids, attention_mask, prompt, temperature)
    enc_mask = attention_mask

    # running beams of the active items; before the first step one row per item (beam 0)
    running_nodes = torch.zeros((items, 1), dtype=torch.int64, **on)
    running_scores = torch.zeros((items, 1), dtype=torch.float32, **on)
    done_nodes = torch.full((items, nb), -1, dtype=torch.int64, **on)
    done_scores = torch.full((items, nb), -1.0e9, dtype=torch.float32, **on)
    n_done = torch.zeros(items, dtype=torch.int64, **on)
    origin = torch.arange(items, **on)  # caller's item index of each active item
    final_nodes = done_nodes.clone()
    final_scores = done_scores.clone()
    step = 0
    while True:
        active, rows_per_item = running_nodes.shape
        started = time.perf_counter()
        row, edge = trie.expand(running_nodes)  # rows of running_nodes flattened: item * rows_per_item + beam
        item = row // rows_per_item
        per_item = torch.bincount(item, minlength=active)
        width = max(int(per_item.max()) if row.numel() else 0, nb)
        first_of_item = torch.cumsum(per_item, 0) - per_item
        slot = torch.arange(row.shape[0], **on) - torch.repeat_interleave(first_of_item, per_item)
        cand = torch.full((active, width), -math.inf, **on)
        # fairseq's `lprobs + scores[:, :, step - 1]`: the step's log-prob plus the beam's running sum
        cand[item, slot] = log_probs[row, trie.token_of(edge)] + running_scores.reshape(-1)[row]
        cand_beam = torch.zeros((active, width), dtype=torch.int64, **on)
        cand_beam[item, slot] = row % rows_per_item
        cand_edge = torch.full((active, width), -1, dtype=torch.int64, **on)
        cand_edge[item, slot] = edge
        constraint += time.perf_counter() - started

        top_scores, top_index = torch.topk(cand, k=nb)
        top_edges = torch.take_along_dim(cand_edge, top_index, dim=1)
        parents = torch.take_along_dim(cand_beam, top_index, dim=1)
        live = top_edges >= 0  # False for -inf fillers
        tokens = torch.where(live, trie.token_of(top_edges.clamp(min=0)), -1)
        nodes = torch.where(live, top_edges + 1, -1)
        step += 1

        # finalise EOS candidates outside the last n_done positions, in position order
        finishing = (tokens == eos) & live & (positions[None, :] < (nb - n_done)[:, None])
        rank = torch.cumsum(finishing.to(torch.int64), dim=1) - 1
        target = n_done[:, None] + rank
        finishing &= target < nb
        if bool(finishing.any()):
            f_item, f_pos = finishing.nonzero(as_tuple=True)
            f_slot = target[f_item, f_pos]
            done_nodes[f_item, f_slot] = nodes[f_item, f_pos]
            done_scores[f_item, f_slot] = top_scores[f_item, f_pos] / (step**length_penalty)
            n_done = n_done + finishing.sum(dim=1)

        # every candidate is a beam of the next step; a finished one (past EOS) and a filler are dead
        running_nodes = torch.where(live & (tokens != eos), nodes, -1)
        running_scores = torch.where(running_nodes >= 0, top_scores, -math.inf)
        going = (n_done < nb) & (running_nodes >= 0).any(dim=1)
        if step >= max_steps:
            going = torch.zeros_like(going)
        if not bool(going.all()):
            stop = ~going
            final_nodes[origin[stop]] = done_nodes[stop]
            final_scores[origin[stop]] = done_scores[stop]
            if not bool(going.any()):
                break
            kept = going.nonzero().reshape(-1)
            running_nodes, running_scores, parents = running_nodes[kept], running_scores[kept], parents[kept]
            done_nodes, done_scores, n_done, origin = done_nodes[kept], done_scores[kept], n_done[kept], origin[kept]
        else:
            kept = None
        items_now = torch.arange(active, **on) if kept is None else kept
        # cache rows follow the beams: row (item, beam) of the next step continues (item, parent)
        rows = (parents + items_now[:, None] * rows_per_item).reshape(-1)
        if rows_per_item == 1:
            cache.batch_select_indices(rows)  # from one row per item to num_beams rows per item
            hidden, enc_mask = hidden[items_now].repeat_interleave(nb, 0), enc_mask[items_now].repeat_interleave(nb, 0)
        else:
            cache.self_attention_cache.reorder_cache(rows)
            if kept is not None:
                beams = (items_now[:, None] * nb + torch.arange(nb, **on)).reshape(-1)
                cache.cross_attention_cache.batch_select_indices(beams)
                hidden, enc_mask = hidden[beams], enc_mask[beams]
        step_input = tokens.clamp(min=0)
        if kept is not None:
            step_input = step_input[kept]
        logits, cache = _decoder_logits(model, hidden, enc_mask, step_input.reshape(-1, 1), cache)
        log_probs = step_log_probs(logits, temperature)
        del logits
    if timing is not None:
        timing.constraint_seconds += constraint
    order = torch.sort(final_scores, dim=1, descending=True, stable=True)[1]
    return torch.take_along_dim(final_nodes, order, dim=1), torch.take_along_dim(final_scores, order, dim=1)
