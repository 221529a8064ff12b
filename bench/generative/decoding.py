"""Batched beam search constrained to KB names.

``decode`` decodes batches of mentions and returns, per mention, KB names with
their scores. Two engines give the same names and scores (tests compare them
with each other and with the reference of :mod:`bench.generative.reference`):

- ``"fast"`` (default): :func:`beam_search`, Hugging Face's beam-search
  algorithm (transformers 5.x, step for step) with the trie constraint applied
  sparsely and without the work ``generate`` does for nothing (see there);
- ``"generate"``: ``model.generate`` with
  :class:`~bench.generative.constrained.TrieLogitsProcessor`, for models the
  fast engine does not drive (it needs an encoder-decoder with HF's
  ``EncoderDecoderCache``, such as BART or T5).

``DecodeConfig.search`` picks the beam-search algorithm of the fast engine:
``"hf"`` (above) or ``"fairseq"``, the released GenBioEL/ANGEL decoder's
(:mod:`bench.generative.fairseq_search`; checked against a step-by-step
re-implementation in :mod:`bench.generative.reference`). ``prompt_bos`` and
``source_space`` give the released models' sequence layout
(:mod:`bench.generative.conventions`).

Scores are HF's ``sequences_scores``: the sum of the log-probabilities of the
name tokens and EOS (the ``<s> mention is`` prompt is fed, not scored) divided
by ``(number of those tokens) ** length_penalty``; with ``length_penalty=1``
that is the mean token log-prob ANGEL/GenBioEL rank by (their fairseq
``finalize_hypos`` sums the positional scores after " is" and divides by their
count). Generated sequences map back to names through the trie's leaves;
``concept_ids`` maps names to all their concept ids.

Batching. The decoder prompt ``</s> <s> mention is`` differs in length between
mentions, and BART's learned positions forbid left padding, so a batch holds
mentions of one prompt length: mentions are sorted by prompt length (then by
encoder length, to pad less), cut into batches of at most ``batch_size``, and
results are returned in the caller's order. Encoder inputs are right-padded
with an attention mask.

Temperature. ANGEL's evaluation passes ``temperature=0.7`` to its (modified)
fairseq ``SequenceGenerator``, but its ``EnsembleModel.forward_decoder`` (also
GenBioEL's) computes ``log_softmax(logits)`` and never uses the argument, so
the reference decodes at an effective temperature of 1.0. Upstream fairseq
divides the last-step logits by the temperature before the log-softmax; that is
what ``temperature`` does here (:class:`TemperatureLogProbs`), and the default
1.0 reproduces the reference. Note that HF's own ``temperature`` would do
nothing here: in transformers 5.x ``TemperatureLogitsWarper`` is only added when
``do_sample=True`` (plain beam search ignores ``temperature``), and beam search
applies processors to log-probs, after the log-softmax.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from transformers import GenerationConfig, LogitsProcessorList

from bench.generative.constrained import TemperatureLogProbs, TrieLogitsProcessor
from bench.generative.fairseq_search import fairseq_beam_search
from bench.generative.sequences import prefix_ids
from bench.generative.trie import NameTrie

# HF initialises the finished-hypothesis slots at -1e9 and pushes hypotheses it
# must not keep down by -1e9 (divided by the length): anything at or below this
# is such a slot, never a real name (a real score is a mean token log-prob).
_EMPTY_SLOT = -1.0e5
SEARCHES = ("hf", "fairseq")


@dataclass
class DecodeConfig:
    num_beams: int = 5
    num_return: int = 5
    batch_size: int = 64
    length_penalty: float = 1.0
    temperature: float = 1.0
    max_new_tokens: int | None = None  # None: the trie's depth (the longest name and its EOS)
    # HF's stopping heuristic (False, its default); fairseq, as ANGEL uses it,
    # stops an item once num_beams names are finished, like early_stopping=True.
    early_stopping: bool | str = False
    #: "hf": Hugging Face's beam search (:func:`beam_search`); "fairseq": the released
    #: GenBioEL/ANGEL decoder's (:mod:`bench.generative.fairseq_search`)
    search: str = "hf"
    #: ``</s> <s> mention is`` (True) or the released models' ``</s> mention is`` (False)
    prompt_bos: bool = True
    #: the encoder text tokenised as ``" " + text`` (the released models) or as it is
    source_space: bool = False

    def __post_init__(self) -> None:
        if self.num_return > self.num_beams:
            raise ValueError(f"num_return ({self.num_return}) cannot exceed num_beams ({self.num_beams})")
        if self.batch_size < 1 or self.num_beams < 1 or self.num_return < 1:
            raise ValueError("batch_size, num_beams and num_return must be >= 1")
        if self.temperature <= 0:
            raise ValueError("temperature must be > 0")
        if self.search not in SEARCHES:
            raise ValueError(f"search must be one of {', '.join(SEARCHES)}, got {self.search!r}")


@dataclass
class DecodeStats:
    """Accumulated over ``decode`` calls: wall time, time inside the constraint, counts."""

    seconds: float = 0.0
    constraint_seconds: float = 0.0
    mentions: int = 0
    batches: int = 0
    processor_calls: int = 0
    fallback_rows: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def constraint_share(self) -> float:
        return self.constraint_seconds / self.seconds if self.seconds else 0.0

    @property
    def mentions_per_second(self) -> float:
        return self.mentions / self.seconds if self.seconds else 0.0


def plan_batches(
    prompts: Sequence[Sequence[int]], sources: Sequence[Sequence[int]], batch_size: int
) -> list[list[int]]:
    """Batches of mention indices: one prompt length per batch, at most ``batch_size`` each.

    Sorted by (prompt length, encoder length, index), so the plan is
    deterministic and a batch pads its encoder inputs little.
    """
    order = sorted(range(len(prompts)), key=lambda i: (len(prompts[i]), len(sources[i]), i))
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < batch_size and len(prompts[batches[-1][0]]) == len(prompts[i]):
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def encode_inputs(
    model,
    tokenizer,
    sources: Sequence[str],
    mention_texts: Sequence[str],
    prompt_bos: bool = True,
    source_space: bool = False,
):
    """Encoder ids (with the tokenizer's special tokens) and decoder prompts per mention."""
    if len(sources) != len(mention_texts):
        raise ValueError("sources and mention_texts differ in length")
    limit = getattr(model.config, "max_position_embeddings", None) or 1024
    texts = [" " + s for s in sources] if source_space else list(sources)
    encoder_ids = tokenizer(texts, truncation=True, max_length=limit)["input_ids"]
    start = model.generation_config.decoder_start_token_id
    if start is None:
        start = model.config.decoder_start_token_id
    prompts = [[start, *prefix_ids(tokenizer, text, prompt_bos)] for text in mention_texts]
    return encoder_ids, prompts


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for k, row in enumerate(rows):
        ids[k, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[k, : len(row)] = 1
    return ids, mask


def generation_config(tokenizer, trie: NameTrie, config: DecodeConfig) -> GenerationConfig:
    """The full generation config (the model's own defaults, e.g. bart-large's
    ``no_repeat_ngram_size=3`` or forced BOS, must not apply)."""
    return GenerationConfig(
        do_sample=False,
        num_beams=config.num_beams,
        num_return_sequences=config.num_return,
        length_penalty=config.length_penalty,
        early_stopping=config.early_stopping,
        max_new_tokens=config.max_new_tokens or trie.max_depth,
        min_new_tokens=0,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
        no_repeat_ngram_size=0,
        use_cache=True,
        return_dict_in_generate=True,
        output_scores=True,
    )


def sequences_to_names(
    trie: NameTrie, generated: torch.Tensor, scores: torch.Tensor, names: Sequence[str], num_return: int
) -> list[list[tuple[str, float]]]:
    """Rows ``(items * num_return) x t`` of generated ids (prompt removed) -> names, best first.

    Each row is walked through the trie up to its first EOS (vectorised over
    rows); a row that is not a complete KB name, or an unfilled slot, is dropped.
    """
    generated, scores = generated.cpu(), scores.cpu()
    rows = generated.shape[0]
    nodes = torch.zeros(rows, dtype=torch.int64)
    done = torch.zeros(rows, dtype=torch.bool)
    for j in range(generated.shape[1]):
        token = generated[:, j]
        nodes = torch.where(done, nodes, trie.step(nodes, token))
        done |= token == trie.eos_token_id
    index = trie.name_index_of(torch.where(done, nodes, torch.full_like(nodes, -1)))
    index = torch.where(scores > _EMPTY_SLOT, index, torch.full_like(index, -1)).tolist()
    values = scores.tolist()
    out: list[list[tuple[str, float]]] = []
    for item in range(rows // num_return):
        hits = []
        for r in range(item * num_return, (item + 1) * num_return):
            if index[r] >= 0:
                hits.append((names[index[r]], values[r]))
        out.append(hits)
    return out


def _decoder_logits(model, hidden, enc_mask, decoder_input_ids, cache):
    """Next-token logits (last position only) and the updated cache.

    For BART the decoder and ``lm_head`` are called directly, so the prompt's
    earlier positions are not projected onto the vocabulary (the forward of
    ``BartForConditionalGeneration`` projects every position); other models go
    through their forward.
    """
    decoder = getattr(getattr(model, "model", None), "decoder", None)
    if decoder is not None and hasattr(model, "final_logits_bias") and hasattr(model, "lm_head"):
        out = decoder(
            input_ids=decoder_input_ids,
            encoder_hidden_states=hidden,
            encoder_attention_mask=enc_mask,
            cache=cache,
            use_cache=True,
        )
        logits = model.lm_head(out.last_hidden_state[:, -1, :])
        if bool(model.final_logits_bias.any()):  # zeros unless a checkpoint set it: skip a dense add
            logits = logits + model.final_logits_bias
        return logits, out.cache
    out = model(
        encoder_outputs=(hidden,),
        attention_mask=enc_mask,
        decoder_input_ids=decoder_input_ids,
        cache=cache,
        use_cache=True,
    )
    return out.logits[:, -1, :], out.cache


def step_log_probs(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Float32 log-probs of the next token (the temperature applied as :class:`TemperatureLogProbs`)."""
    log_probs = torch.log_softmax(logits.to(dtype=torch.float32), dim=-1)
    if temperature != 1.0:
        log_probs = torch.log_softmax(log_probs / temperature, dim=-1)
    return log_probs


def encode_and_prompt(model, input_ids, attention_mask, prompt, temperature: float = 1.0):
    """``(encoder states, decoder cache, log-probs after the prompt)``: once per mention, shared by
    both searches (every beam of a mention starts from the same prompt)."""
    hidden = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask, return_dict=True)[0]
    logits, cache = _decoder_logits(model, hidden, attention_mask, prompt, None)
    return hidden, cache, step_log_probs(logits, temperature)


def beam_search(
    model,
    trie: NameTrie,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    prompt: torch.Tensor,
    gen_config: GenerationConfig,
    temperature: float = 1.0,
    timing: DecodeStats | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Trie-constrained beam search with the semantics of HF 5.x beam search.

    Returns ``(nodes, scores)``, both ``items x num_beams``, best first: the trie
    leaf each finished hypothesis reached (a name: ``trie.name_index_of``) and
    its ``sequences_scores``. Step for step it is ``GenerationMixin._beam_search``
    with a constraint that gives -inf to every token outside the trie: the
    top ``2 * num_beams`` continuations of the accumulated log-probs per mention,
    the best ``num_beams`` non-EOS ones run on, EOS ones enter the finished set
    scored ``sum / length ** length_penalty``, the same early-stop heuristic and
    ``early_stopping`` options. What differs is how much work that takes:

    - the constraint is applied sparsely: each beam's trie node is carried along
      (child node = edge + 1), its allowed tokens are gathered with one
      ``repeat_interleave`` per step, and the top-k runs over the allowed
      candidates only (``log_softmax`` over the whole vocabulary is still
      computed, so scores are HF's log-probs bit for bit), instead of masking
      and sorting ``beams x vocab`` dense rows;
    - the encoder and the decoder prompt run once per mention, not once per beam
      (at the first step every beam holds the same prompt; HF runs copies of it,
      scored -1e9), and the first step's log-probs are computed once;
    - a mention leaves the batch as soon as its finished set can no longer
      change (HF keeps decoding it until the whole batch stops; once its
      early-stop heuristic is satisfied HF adds nothing to its finished set);
    - the cross-attention cache is not reordered between steps (all beams of a
      mention share it; HF copies it every step), only compacted when
      mentions leave; the prompt's earlier positions are not projected onto
      the vocabulary (BART).

    A beam whose name is complete or whose prefix left the trie has no
    continuation; HF with ``prefix_allowed_tokens_fn`` must allow it something
    (the reference allows EOS, at a score of -inf or about -1e9): those
    hypotheses never rank above a real name and are dropped from the output in
    both, so the names and scores returned are the same.
    ``timing.constraint_seconds`` accumulates the time spent finding the
    allowed tokens and gathering their scores.
    """
    device = input_ids.device
    trie = trie.to(device)
    nb = gen_config.num_beams
    eos = gen_config.eos_token_id
    length_penalty = gen_config.length_penalty
    early_stopping = gen_config.early_stopping
    items, prompt_len = prompt.shape
    max_length = prompt_len + gen_config.max_new_tokens
    keep_k = 2 * nb  # one EOS token: max(2, 1 + 1) * num_beams, as HF
    top_nb_mask = torch.arange(keep_k, device=device) < nb
    neg_inf = torch.tensor(-math.inf, device=device)
    constraint = 0.0

    def log_softmax(logits: torch.Tensor) -> torch.Tensor:
        return step_log_probs(logits, temperature)

    hidden, cache, first_log_probs = encode_and_prompt(model, input_ids, attention_mask, prompt, temperature)
    enc_mask = attention_mask

    on = {"device": device}
    running_nodes = torch.zeros((items, nb), dtype=torch.int64, **on)  # all at the root
    running_tokens = torch.full((items, nb), -1, dtype=torch.int64, **on)
    running_scores = torch.zeros((items, nb), dtype=torch.float, **on)
    running_scores[:, 1:] = -1e9
    finished_nodes = torch.full((items, nb), -1, dtype=torch.int64, **on)
    beam_scores = torch.full((items, nb), -1e9, dtype=torch.float, **on)
    finished = torch.zeros((items, nb), dtype=torch.bool, **on)
    unsatisfied = torch.ones((items, 1), dtype=torch.bool, **on)
    origin = torch.arange(items, **on)  # caller's item index of each active item
    final_nodes = torch.full((items, nb), -1, dtype=torch.int64, **on)
    final_scores = torch.full((items, nb), -1e9, dtype=torch.float, **on)
    cur_len = prompt_len
    first = True
    while True:
        active = running_nodes.shape[0]
        if not first:
            step_input = running_tokens.reshape(-1, 1)
            logits, cache = _decoder_logits(model, hidden, enc_mask, step_input, cache)
            log_probs = log_softmax(logits)
            del logits

        started = time.perf_counter()
        if first:
            # every beam holds the prompt: the root's children, from one row per mention
            _, root_edge = trie.expand(torch.zeros(1, dtype=torch.int64, **on))
            root_tokens = trie.token_of(root_edge)
            width = root_edge.shape[0]
            cand = (first_log_probs[:, None, root_tokens] + running_scores[:, :, None]).reshape(active, nb * width)
            cand_beam = torch.arange(nb, **on).repeat_interleave(width).expand(active, -1)
            cand_edge = root_edge.repeat(nb).expand(active, -1)
        else:
            row, edge = trie.expand(running_nodes)
            per_item = torch.bincount(row // nb, minlength=active)
            width = max(int(per_item.max()) if row.numel() else 0, keep_k)
            item = row // nb
            slot = torch.arange(row.shape[0], **on) - torch.repeat_interleave(
                torch.cumsum(per_item, 0) - per_item, per_item
            )
            cand = torch.full((active, width), -math.inf, **on)
            # the float addition of HF's `log_probs + running_beam_scores[:, :, None]`
            cand[item, slot] = log_probs[row, trie.token_of(edge)] + running_scores.reshape(-1)[row]
            cand_beam = torch.zeros((active, width), dtype=torch.int64, **on)
            cand_beam[item, slot] = row % nb
            cand_edge = torch.full((active, width), -1, dtype=torch.int64, **on)
            cand_edge[item, slot] = edge
        if width < keep_k:  # fewer allowed continuations than candidates kept: -inf fillers
            pad = keep_k - width
            cand = torch.cat((cand, cand.new_full((active, pad), -math.inf)), dim=1)
            cand_beam = torch.cat((cand_beam, cand_beam.new_zeros((active, pad))), dim=1)
            cand_edge = torch.cat((cand_edge, cand_edge.new_full((active, pad), -1)), dim=1)
        constraint += time.perf_counter() - started

        topk_log_probs, topk_indices = torch.topk(cand, k=keep_k)
        topk_beams = torch.take_along_dim(cand_beam, topk_indices, dim=1)
        topk_edges = torch.take_along_dim(cand_edge, topk_indices, dim=1)
        live = topk_edges >= 0
        topk_tokens = torch.where(live, trie.token_of(topk_edges.clamp(min=0)), -1)
        topk_nodes = torch.where(live, topk_edges + 1, -1)
        hits = topk_tokens == eos
        if cur_len + 1 >= max_length:
            hits = torch.ones_like(hits)

        # running beams for the next step
        topk_running_log_probs = topk_log_probs + hits.to(torch.float32) * -1.0e9
        next_indices = torch.topk(topk_running_log_probs, k=nb)[1]
        running_scores = torch.take_along_dim(topk_running_log_probs, next_indices, dim=1)
        running_nodes = torch.take_along_dim(topk_nodes, next_indices, dim=1)
        running_tokens = torch.take_along_dim(topk_tokens, next_indices, dim=1)
        parents = torch.take_along_dim(topk_beams, next_indices, dim=1)

        # finished set
        just_finished = hits & top_nb_mask[None, :]
        candidate_scores = topk_log_probs / ((cur_len + 1 - prompt_len) ** length_penalty)
        full = torch.all(finished, dim=-1, keepdim=True) & (early_stopping is True)
        candidate_scores += full.to(torch.float32) * -1.0e9
        candidate_scores += (~unsatisfied).to(torch.float32) * -1.0e9
        candidate_scores += (~just_finished) * -1.0e9
        merged_scores = torch.cat((beam_scores, candidate_scores), dim=1)
        best = torch.topk(merged_scores, k=nb)[1]
        beam_scores = torch.take_along_dim(merged_scores, best, dim=1)
        finished_nodes = torch.take_along_dim(torch.cat((finished_nodes, topk_nodes), dim=1), best, dim=1)
        finished = torch.take_along_dim(torch.cat((finished, just_finished), dim=1), best, dim=1)

        cur_len += 1
        if early_stopping == "never" and length_penalty > 0.0:
            best_length = max_length - prompt_len
        else:
            best_length = cur_len - prompt_len
        best_running = running_scores[:, :1] / (best_length**length_penalty)
        worst_finished = torch.where(finished, torch.min(beam_scores, dim=1, keepdim=True)[0], -1.0e9)
        unsatisfied = unsatisfied & torch.any(best_running > worst_finished, dim=-1, keepdim=True)

        # an item whose running beams are all -inf fillers can add nothing more
        going = unsatisfied[:, 0] & (running_scores > neg_inf).any(dim=1)
        if early_stopping is True:
            going = going & ~torch.all(finished, dim=-1)
        if cur_len >= max_length:
            going = torch.zeros_like(going)
        kept_items = None
        if not bool(going.all()):
            done = ~going
            final_nodes[origin[done]] = finished_nodes[done]
            final_scores[origin[done]] = beam_scores[done]
            if not bool(going.any()):
                break
            kept_items = going.nonzero().reshape(-1)
            state = (running_nodes, running_tokens, running_scores, parents)
            running_nodes, running_tokens, running_scores, parents = (t[kept_items] for t in state)
            state = (finished_nodes, beam_scores, finished, unsatisfied, origin)
            finished_nodes, beam_scores, finished, unsatisfied, origin = (t[kept_items] for t in state)
        items_now = torch.arange(active, **on) if kept_items is None else kept_items
        if first:
            # so far one row per mention; from now on num_beams rows per mention
            rows = items_now.repeat_interleave(nb)
            cache.batch_select_indices(rows)
            hidden, enc_mask = hidden[rows], enc_mask[rows]
            first = False
        else:
            cache.self_attention_cache.reorder_cache((parents + items_now[:, None] * nb).reshape(-1))
            if kept_items is not None:
                rows = (items_now[:, None] * nb + torch.arange(nb, **on)).reshape(-1)
                cache.cross_attention_cache.batch_select_indices(rows)
                hidden, enc_mask = hidden[rows], enc_mask[rows]
        # dead beams (no trie node) still need a valid input id
        running_tokens = running_tokens.clamp(min=0)
    if timing is not None:
        timing.constraint_seconds += constraint
    return final_nodes, final_scores


def nodes_to_names(
    trie: NameTrie, nodes: torch.Tensor, scores: torch.Tensor, names: Sequence[str], num_return: int
) -> list[list[tuple[str, float]]]:
    """``items x beams`` leaves and scores (best first) -> up to ``num_return`` names per item."""
    nodes, scores = nodes.cpu(), scores.cpu()
    index = trie.name_index_of(nodes.reshape(-1))
    index = torch.where(scores.reshape(-1) > _EMPTY_SLOT, index, torch.full_like(index, -1))
    index = index.reshape(nodes.shape).tolist()
    values = scores.tolist()
    out = []
    for idx_row, score_row in zip(index, values):
        out.append([(names[i], s) for i, s in zip(idx_row, score_row) if i >= 0][:num_return])
    return out


ENGINES = ("fast", "generate")


def generate_constrained(
    model, input_ids, attention_mask, prompt, gen_config: GenerationConfig, constraint, temperature: float
):
    """transformers ``generate`` with one constraint processor, the temperature applied before it
    (the order of the released GenBioEL/ANGEL code); shared by our processor mode and the reference."""
    processors = LogitsProcessorList([constraint])
    if temperature != 1.0:
        processors.insert(0, TemperatureLogProbs(temperature))
    return model.generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        decoder_input_ids=prompt,
        generation_config=gen_config,
        logits_processor=processors,
    )


def decode(
    model,
    tokenizer,
    trie: NameTrie,
    names: Sequence[str],
    sources: Sequence[str],
    mention_texts: Sequence[str],
    config: DecodeConfig | None = None,
    *,
    stats: DecodeStats | None = None,
    engine: str = "fast",
    mode: str = "incremental",
) -> list[list[tuple[str, float]]]:
    """Per mention, up to ``num_return`` ``(KB name, score)`` best first.

    ``names`` are the names the trie was built from (``kb.names``), in the same
    order; ``sources`` the encoder texts (``source_text``), ``mention_texts``
    the mention strings of the decoder prompt. ``engine="fast"`` runs
    :func:`beam_search` (HF's algorithm without its redundant work; needs an
    encoder-decoder with HF's ``EncoderDecoderCache``, e.g. BART, T5);
    ``engine="generate"`` passes the same constraint to ``model.generate``.
    ``stats`` accumulates timings; ``mode`` is the constraint's row-state
    strategy (see :class:`TrieLogitsProcessor`).
    """
    config = config or DecodeConfig()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if config.search == "fairseq" and engine != "fast":
        raise ValueError("search='fairseq' runs on the fast engine only (generate() has no fairseq search)")
    started = time.perf_counter()
    encoder_ids, prompts = encode_inputs(
        model, tokenizer, sources, mention_texts, config.prompt_bos, config.source_space
    )
    gen_config = generation_config(tokenizer, trie, config)
    results: list[list[tuple[str, float]]] = [[] for _ in sources]
    model.eval()
    device = next(model.parameters()).device
    with torch.inference_mode():
        for batch in plan_batches(prompts, encoder_ids, config.batch_size):
            input_ids, attention_mask = pad_batch([encoder_ids[i] for i in batch], tokenizer.pad_token_id)
            prompt = torch.tensor([prompts[i] for i in batch], dtype=torch.long)
            input_ids, attention_mask, prompt = input_ids.to(device), attention_mask.to(device), prompt.to(device)
            if engine == "fast":
                search = fairseq_beam_search if config.search == "fairseq" else beam_search
                nodes, scores = search(
                    model, trie, input_ids, attention_mask, prompt, gen_config, config.temperature, timing=stats
                )
                decoded = nodes_to_names(trie, nodes, scores, names, config.num_return)
            else:
                processor = TrieLogitsProcessor(trie, prompt.shape[1], num_beams=config.num_beams, mode=mode)
                out = generate_constrained(
                    model, input_ids, attention_mask, prompt, gen_config, processor, config.temperature
                )
                decoded = sequences_to_names(
                    trie, out.sequences[:, prompt.shape[1] :], out.sequences_scores, names, config.num_return
                )
                if stats is not None:
                    stats.constraint_seconds += processor.elapsed
                    stats.processor_calls += processor.calls
                    stats.fallback_rows += processor.fallback_rows
            for i, hits in zip(batch, decoded):
                results[i] = hits
            if stats is not None:
                stats.batches += 1
    if stats is not None:
        stats.seconds += time.perf_counter() - started
        stats.mentions += len(sources)
    return results


def concept_ids(
    results: Sequence[Sequence[tuple[str, float]]], name_index: Mapping[str, frozenset[str]]
) -> list[list[tuple[frozenset[str], float]]]:
    """Map each generated name to all the concept ids carrying it (``kb.name_index``)."""
    return [[(name_index[name], score) for name, score in hits] for hits in results]
