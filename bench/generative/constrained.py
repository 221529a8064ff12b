"""Trie-constrained beam search as a vectorised ``LogitsProcessor``.

Hugging Face beam search (transformers 5.x) calls logits processors with the
running sequences flattened to ``(batch * num_beams, t)`` and the next-token
log-probabilities (after ``log_softmax``). :class:`TrieLogitsProcessor` finds
every row's trie node and sets the tokens that do not continue a KB name to
-inf, with a few tensor ops per call whatever the number of rows (no Python
walk per beam, unlike ``prefix_allowed_tokens_fn``).

Row state. Rows are reordered between calls (beams are re-ranked), so the row
order of one call says nothing about the next. Two ways to get the nodes:

- ``"scratch"``: walk the generated tokens from the root, one vectorised
  ``trie.step`` per generated position (cost grows with the length);
- ``"incremental"`` (default): every row of this call extends a row of the
  previous call of the same batch item by one token (its parent beam), so the
  parent is found by comparing generated prefixes among the ``num_beams`` rows
  of the same item (one equality test of ``batch x beams x beams x t``), and
  the node is ``trie.step(parent node, last token)``. A beam search that
  knows the parents can pass them instead (:meth:`TrieLogitsProcessor.reorder`,
  like a cache reorder). Any call that does not fit (new batch, different
  shapes, no parent found for a row) falls back to the scratch walk for the
  rows concerned.

Both give identical nodes; ``bench.perf.decoding_benchmark`` measures the two.
``elapsed`` accumulates the seconds spent inside the processor, for the
"share of decode time spent on the constraint" figure.

``decode(engine="generate")`` uses this processor with ``model.generate``; the
default engine applies the same constraint sparsely inside its own beam search
(:func:`bench.generative.decoding.beam_search`).
"""

from __future__ import annotations

import math
import time

import torch
from transformers import LogitsProcessor

from bench.generative.trie import NameTrie

MODES = ("incremental", "scratch")


class TrieLogitsProcessor(LogitsProcessor):
    """Allow only trie continuations of the tokens generated after ``prompt_length``.

    ``num_beams`` (rows per batch item) enables the incremental mode's
    within-item parent matching; without it every call walks from the root.
    A row with no continuation (a complete name, kept running by beam search
    with a -1e9 penalty, or a filler whose prefix left the trie, at -inf) gets
    EOS allowed, as the reference ``prefix_allowed_tokens_fn`` in
    :mod:`bench.generative.reference` does (HF raises on an empty allowed
    list), so the two give identical scores; such hypotheses score -1e9 or
    less and never reach the output.
    """

    def __init__(self, trie: NameTrie, prompt_length: int, num_beams: int | None = None, mode: str = "incremental"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.trie = trie
        self.prompt_length = int(prompt_length)
        self.num_beams = num_beams
        self.mode = mode
        self.elapsed = 0.0
        self.calls = 0
        self.fallback_rows = 0
        self._prev_ids: torch.Tensor | None = None
        self._prev_nodes: torch.Tensor | None = None
        self._parents: torch.Tensor | None = None

    def reset(self) -> None:
        self._prev_ids = None
        self._prev_nodes = None
        self._parents = None

    def reorder(self, parent_rows: torch.Tensor) -> None:
        """Hint from a beam search that knows the parents: row ``r`` of the next
        call extends row ``parent_rows[r]`` of the last call by one token (like a
        KV-cache reorder). Used instead of prefix matching when given."""
        self._parents = parent_rows.to(torch.int64)

    # --- nodes ---------------------------------------------------------------
    def _walk(self, generated: torch.Tensor) -> torch.Tensor:
        return self.trie.to(generated.device).walk(generated)

    def _incremental(self, generated: torch.Tensor) -> torch.Tensor | None:
        prev_ids, prev_nodes, beams, parents = self._prev_ids, self._prev_nodes, self.num_beams, self._parents
        self._parents = None
        trie = self.trie.to(generated.device)
        rows, t = generated.shape
        if t == 0:
            return None
        if t == 1:  # every row's parent is the bare prompt: the root
            return trie.step(torch.zeros(rows, dtype=torch.int64, device=generated.device), generated[:, 0])
        if prev_ids is None or prev_ids.shape[1] != t - 1:
            return None
        if parents is not None and parents.shape[0] == rows:
            parent_nodes = prev_nodes[parents]
        elif beams and rows % beams == 0 and prev_ids.shape[0] == rows:
            items = rows // beams
            new_prefix = generated[:, :-1].reshape(items, beams, 1, t - 1)
            old = prev_ids.reshape(items, 1, beams, t - 1)
            match = (new_prefix == old).all(dim=-1)  # items x new beam x old beam
            found = match.any(dim=-1).reshape(-1)
            parent = match.to(torch.int8).argmax(dim=-1)  # first matching old beam
            parent_rows = (parent + torch.arange(items, device=generated.device).unsqueeze(1) * beams).reshape(-1)
            parent_nodes = prev_nodes[parent_rows]
            if not bool(found.all()):
                missing = ~found
                self.fallback_rows += int(missing.sum())
                parent_nodes = parent_nodes.clone()
                parent_nodes[missing] = self._walk(generated[missing, :-1])
        else:
            return None
        return trie.step(parent_nodes, generated[:, -1])

    def nodes(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Trie node of every row of ``input_ids`` (prompt included), -1 if invalid."""
        generated = input_ids[:, self.prompt_length :].to(torch.int64)
        nodes = self._incremental(generated) if self.mode == "incremental" else None
        if nodes is None:
            nodes = self._walk(generated)
        if self.mode == "incremental":
            self._prev_ids = generated
            self._prev_nodes = nodes
        return nodes

    # --- the processor ----------------------------------------------------------
    def mask(self, input_ids: torch.Tensor) -> torch.Tensor:
        """``rows x vocab`` bool mask of the allowed next tokens."""
        allowed = self.trie.to(input_ids.device).allowed_mask(self.nodes(input_ids))
        stuck = ~allowed.any(dim=1)
        if bool(stuck.any()):
            allowed[stuck, self.trie.eos_token_id] = True
        return allowed

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        started = time.perf_counter()
        allowed = self.mask(input_ids)
        width = scores.shape[-1]
        if width > allowed.shape[-1]:  # model logits padded beyond the tokenizer's vocabulary
            allowed = torch.nn.functional.pad(allowed, (0, width - allowed.shape[-1]), value=False)
        elif width < allowed.shape[-1]:
            raise ValueError(f"scores have {width} columns, the trie's vocabulary {allowed.shape[-1]}")
        out = torch.where(allowed.to(scores.device), scores, torch.tensor(-math.inf, dtype=scores.dtype))
        self.elapsed += time.perf_counter() - started
        self.calls += 1
        return out


class TemperatureLogProbs(LogitsProcessor):
    """``log_softmax(logits / T)`` from HF's ``log_softmax(logits)`` (beam search passes log-probs).

    ``log_softmax(log_softmax(x) / T) == log_softmax(x / T)``, so this is the
    fairseq convention (logits divided by the temperature before the
    log-softmax) applied where HF lets us act. See ``decoding.DecodeConfig``.
    """

    def __init__(self, temperature: float):
        if temperature <= 0:
            raise ValueError("temperature must be > 0")
        self.temperature = float(temperature)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return torch.log_softmax(scores / self.temperature, dim=-1)
