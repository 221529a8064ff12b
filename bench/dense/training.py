"""SapBERT-style training: pull synonyms together, push other concepts apart.

Pairs are (name, other name of the same concept) from the KB, and optionally
(training mention, a name of its gold concept). A batch is ``batch_pairs``
pairs, i.e. ``2 x batch_pairs`` strings labelled by concept; every string of
another concept in the batch is a negative (in-batch negatives), and strings
of the same concept are positives whichever pair they came from.

Losses (on cosine similarities of the pooled, normalised vectors):

* ``multi_similarity`` (Wang et al., 2019; SapBERT's choice): with hard-pair
  mining (a negative counts if it is within ``epsilon`` of the hardest
  positive, a positive if within ``epsilon`` of the hardest negative), then
  ``1/a log(1 + sum_P exp(-a (s - l))) + 1/b log(1 + sum_N exp(b (s - l)))``
  with SapBERT's a=1, b=60, l=0.5.
* ``infonce``: supervised contrastive InfoNCE, each string against all others
  in the batch at temperature ``t`` (0.05), averaged over its positives.

The loop is resumable: a checkpoint (weights, optimizer, scheduler, loss
history) every ``save_steps``; batch ``s`` is drawn from a generator seeded by
``(seed, s)`` and dropout is seeded per step, so a resumed run continues exactly
as an uninterrupted one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from bench.dense.encoder import Pooling, encode_batch
from bench.kb import KnowledgeBase
from bench.mention import Mention
from bench.normalize import normalize_name
from bench.progress import progress_bar

Loss = Literal["multi_similarity", "infonce"]


@dataclass(frozen=True)
class Pair:
    anchor: str
    positive: str
    label: int
    #: "kb" (two names of a concept) or "mention" (a training mention and a gold name)
    source: str = "kb"


def synonym_pairs(
    kb: KnowledgeBase,
    mentions: Sequence[Mention] = (),
    *,
    max_pairs_per_concept: int = 50,
    names_per_mention: int = 3,
    seed: int = 0,
) -> list[Pair]:
    """KB synonym pairs (every pair of a concept's names, capped per concept) and mention pairs.

    A mention is used when it has one gold id that the KB knows; it is paired
    with up to ``names_per_mention`` names of that concept. Labels are concept
    positions in sorted id order, so they are the same from run to run.
    """
    rng = random.Random(seed)
    labels = {cid: i for i, cid in enumerate(sorted(kb.concepts))}
    names = {cid: list(dict.fromkeys(normalize_name(n) for n in kb.concepts[cid])) for cid in sorted(kb.concepts)}
    pairs: list[Pair] = []
    for cid, concept_names in names.items():
        combos = [(a, b) for i, a in enumerate(concept_names) for b in concept_names[i + 1 :]]
        if len(combos) > max_pairs_per_concept:
            combos = rng.sample(combos, max_pairs_per_concept)
        pairs += [Pair(a, b, labels[cid]) for a, b in combos]
    seen: set[tuple[str, str]] = set()
    for mention in mentions:
        if len(mention.gold_ids) != 1:
            continue
        cid = kb.resolve_id(next(iter(mention.gold_ids)))
        if cid is None:
            continue
        text = normalize_name(mention.text)
        choices = names[cid] if len(names[cid]) <= names_per_mention else rng.sample(names[cid], names_per_mention)
        for name in choices:
            if name != text and (text, name) not in seen:
                seen.add((text, name))
                pairs.append(Pair(text, name, labels[cid], source="mention"))
    return pairs


# --- losses ---------------------------------------------------------------------


def multi_similarity_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    alpha: float = 1.0,
    beta: float = 60.0,
    base: float = 0.5,
    epsilon: float = 0.1,
) -> torch.Tensor:
    """Multi-similarity loss with its hard-pair miner, averaged over anchors that have a positive."""
    sim = embeddings @ embeddings.T
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=sim.device)
    pos_mask, neg_mask = same & ~eye, ~same
    with torch.no_grad():
        hardest_pos = sim.masked_fill(~pos_mask, float("inf")).min(dim=1, keepdim=True).values
        hardest_neg = sim.masked_fill(~neg_mask, float("-inf")).max(dim=1, keepdim=True).values
    hard_neg = neg_mask & (sim + epsilon > hardest_pos)
    hard_pos = pos_mask & (sim - epsilon < hardest_neg)
    pos_term = _log1p_sum_exp((-alpha * (sim - base)).masked_fill(~hard_pos, float("-inf"))) / alpha
    neg_term = _log1p_sum_exp((beta * (sim - base)).masked_fill(~hard_neg, float("-inf"))) / beta
    has_pos = pos_mask.any(dim=1)
    return (pos_term + neg_term)[has_pos].mean()


def _log1p_sum_exp(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + sum_j exp(x_ij))`` per row, stable; rows of -inf give 0."""
    zeros = torch.zeros((x.shape[0], 1), dtype=x.dtype, device=x.device)
    return torch.logsumexp(torch.cat([zeros, x], dim=1), dim=1)


def info_nce_loss(embeddings: torch.Tensor, labels: torch.Tensor, temperature: float = 0.05) -> torch.Tensor:
    """Supervised-contrastive InfoNCE: in-batch negatives, averaged over each anchor's positives."""
    eye = torch.eye(len(labels), dtype=torch.bool, device=embeddings.device)
    logits = (embeddings @ embeddings.T / temperature).masked_fill(eye, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos_mask = (labels[:, None] == labels[None, :]) & ~eye
    has_pos = pos_mask.any(dim=1)
    per_anchor = -(log_prob.masked_fill(~pos_mask, 0.0).sum(dim=1)) / pos_mask.sum(dim=1).clamp(min=1)
    return per_anchor[has_pos].mean()


LOSSES = {"multi_similarity": multi_similarity_loss, "infonce": info_nce_loss}


# --- the loop ---------------------------------------------------------------------


@dataclass(frozen=True)
class TrainSettings:
    steps: int
    batch_pairs: int = 32
    lr: float = 2e-5
    loss: Loss = "multi_similarity"
    pooling: Pooling = "mean"
    max_length: int = 32
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    save_steps: int = 100
    #: share of each batch drawn from mention pairs (when there are both kinds)
    mention_fraction: float = 0.5


class PairSampler:
    """Batch ``step`` as a function of (seed, step) only, so a resumed run draws the same batches.

    ``mention_fraction`` of each batch comes from mention pairs and the rest
    from KB pairs, each drawn uniformly without replacement; with one kind of
    pair only, the whole batch is of that kind.
    """

    def __init__(self, pairs: Sequence[Pair], batch_pairs: int, seed: int, mention_fraction: float = 0.5) -> None:
        self.pairs = list(pairs)
        self.mention_pool = np.array([i for i, p in enumerate(self.pairs) if p.source == "mention"], dtype=np.int64)
        self.kb_pool = np.array([i for i, p in enumerate(self.pairs) if p.source != "mention"], dtype=np.int64)
        size = min(batch_pairs, len(self.pairs))
        if len(self.mention_pool) and len(self.kb_pool):
            n_mention = min(round(size * mention_fraction), len(self.mention_pool))
        else:
            n_mention = size if len(self.mention_pool) else 0
        self.counts = (n_mention, min(size - n_mention, len(self.kb_pool)))
        self.seed = seed

    def batch(self, step: int) -> tuple[list[str], torch.Tensor]:
        rng = np.random.default_rng([self.seed, step])
        chosen = [
            int(pool[j])
            for pool, n in zip((self.mention_pool, self.kb_pool), self.counts)
            if n
            for j in rng.choice(len(pool), size=n, replace=False)
        ]
        texts = [self.pairs[i].anchor for i in chosen] + [self.pairs[i].positive for i in chosen]
        labels = torch.tensor([self.pairs[i].label for i in chosen] * 2)
        return texts, labels


def batch_loss(model, tokenizer, texts: Sequence[str], labels: torch.Tensor, settings: TrainSettings) -> torch.Tensor:
    embeddings = encode_batch(model, tokenizer, texts, settings.pooling, settings.max_length, normalize=True)
    return LOSSES[settings.loss](embeddings, labels.to(embeddings.device))


def train_encoder(
    model,
    tokenizer,
    pairs: Sequence[Pair],
    settings: TrainSettings,
    work_dir: Path,
    *,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``model`` in place for ``settings.steps`` steps (resuming from ``work_dir``); return facts."""
    from transformers import get_linear_schedule_with_warmup

    if len(pairs) < 2:
        raise ValueError("dense training needs at least two synonym pairs (KB synonyms or training mentions)")
    work_dir.mkdir(parents=True, exist_ok=True)
    final, checkpoint = work_dir / "encoder_final.pt", work_dir / "checkpoint.pt"
    if final.is_file():
        state = torch.load(final, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        return state["facts"] | {"reused": True}

    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(settings.warmup_ratio * settings.steps), settings.steps)
    start, losses, elapsed = 0, [], 0.0
    if checkpoint.is_file():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start, losses, elapsed = state["step"], state["losses"], state["elapsed"]
    sampler = PairSampler(pairs, settings.batch_pairs, seed, settings.mention_fraction)
    model.train()
    t0 = time.perf_counter()
    steps = range(start, settings.steps)
    for step in progress_bar(steps, desc="dense train", unit="step") if progress else steps:
        texts, labels = sampler.batch(step)
        torch.manual_seed(seed * 1_000_003 + step)  # dropout: the same masks after a resume
        loss = batch_loss(model, tokenizer, texts, labels, settings)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
        done = step + 1
        if done % settings.save_steps == 0 and done < settings.steps:
            _save(
                checkpoint,
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "step": done,
                    "losses": losses,
                    "elapsed": elapsed + time.perf_counter() - t0,
                },
            )
    model.eval()
    window = max(1, min(20, len(losses) // 5))
    facts = {
        "steps": settings.steps,
        "pairs": len(pairs),
        "loss_first": float(np.mean(losses[:window])),
        "loss_last": float(np.mean(losses[-window:])),
        "train_s": round(elapsed + time.perf_counter() - t0, 2),
        "resumed_from_step": start,
    }
    _save(final, {"model": model.state_dict(), "facts": facts})
    checkpoint.unlink(missing_ok=True)  # the optimizer state is not needed once training is done
    return facts


def _save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
