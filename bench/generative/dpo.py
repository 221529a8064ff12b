"""Direct preference optimisation for encoder-decoder models (ANGEL's negative-aware stage).

trl's DPOTrainer treats every model as causal since trl 0.29: a BART runs
without error and gets wrong log-probs (DESIGN.md section 6). So the two pieces
DPO needs are written here for seq2seq models, and checked against trl on a
causal model in the tests:

* the sequence log-probability of the labels (the KB name and EOS; the
  ``<s> mention is`` decoder prefix is fed but masked) given the encoder input;
* the DPO losses as trl defines them: ``sigmoid`` (Rafailov et al., 2023),
  ``hinge`` (SLiC) and ``ipo`` (Azar et al., 2023; log-ratios averaged per token,
  as trl does).

Reference log-probs are computed once per chunk, before the updates, so no
second model sits in memory while the policy trains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bench import distributed
from bench.generative.sequences import TeacherForcedBatches

LOSSES = ("sigmoid", "hinge", "ipo")


@dataclass(frozen=True)
class PreferencePair:
    """Encoder text and mention (the prompt), the chosen and the rejected KB name."""

    source: str
    mention: str
    chosen: str
    rejected: str


def token_logprobs(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum and count of log p(label) over positions whose label is not -100."""
    mask = labels != -100
    safe = labels.masked_fill(~mask, 0)
    per_token = torch.gather(F.log_softmax(logits.float(), dim=-1), 2, safe.unsqueeze(-1)).squeeze(-1)
    return (per_token * mask).sum(dim=-1), mask.sum(dim=-1)


def seq2seq_logprobs(model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(labels | encoder input, decoder prefix) per row, and label counts."""
    outputs = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        decoder_input_ids=batch["decoder_input_ids"],
        use_cache=False,
    )
    return token_logprobs(outputs.logits, batch["labels"])


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    beta: float,
    loss_type: str = "sigmoid",
    chosen_lengths: torch.Tensor | None = None,
    rejected_lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pair DPO losses and the implicit rewards ``beta * log(pi/ref)`` of both answers."""
    chosen_ratio = policy_chosen - reference_chosen
    rejected_ratio = policy_rejected - reference_rejected
    delta = chosen_ratio - rejected_ratio
    if loss_type == "sigmoid":
        losses = -F.logsigmoid(beta * delta)
    elif loss_type == "hinge":
        losses = torch.relu(1 - beta * delta)
    elif loss_type == "ipo":
        if chosen_lengths is None or rejected_lengths is None:
            raise ValueError("the ipo loss needs the token counts of both answers")
        averaged = chosen_ratio / chosen_lengths.clamp(min=1) - rejected_ratio / rejected_lengths.clamp(min=1)
        losses = (averaged - 1 / (2 * beta)) ** 2
    else:
        raise ValueError(f"unknown DPO loss {loss_type!r}; choose from {', '.join(LOSSES)}")
    return losses, beta * chosen_ratio.detach(), beta * rejected_ratio.detach()


class PairCollator(TeacherForcedBatches):
    """Tokenise pairs into one batch: the chosen rows first, then the rejected rows."""

    def __call__(self, pairs: Sequence[PreferencePair]) -> dict[str, torch.Tensor]:
        chosen = [(p.source, p.mention, p.chosen) for p in pairs]
        rejected = [(p.source, p.mention, p.rejected) for p in pairs]
        return self.batch(chosen + rejected)


@torch.inference_mode()
def reference_logprobs(
    model, pairs: Sequence[PreferencePair], collator: PairCollator, batch_size: int = 64
) -> torch.Tensor:
    """(n_pairs, 2) log-probs of chosen and rejected under ``model``: computed once per chunk."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        logps, _ = seq2seq_logprobs(model, collator(chunk))
        out.append(torch.stack(logps.chunk(2), dim=1))
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros((0, 2))


@dataclass(frozen=True)
class DpoSettings:
    beta: float = 0.1
    loss_type: str = "sigmoid"
    learning_rate: float = 1e-5
    batch_size: int = 32
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0


def dpo_epoch(
    model,
    pairs: Sequence[PreferencePair],
    reference: torch.Tensor,
    collator: PairCollator,
    settings: DpoSettings,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, float]:
    """One pass of DPO updates over ``pairs`` (shuffled by ``seed``); returns mean statistics.

    Dropout is off during the updates (as trl's ``disable_dropout``), so the
    policy's log-probs are comparable with the reference's. Under ``accelerate
    launch`` each process takes every N-th pair of each batch and the gradients
    are summed over the processes before the step, so the update is the same
    full-batch mean a single process makes (written by hand because the loop is:
    trl's DPOTrainer cannot train encoder-decoder models).
    """
    from tqdm.auto import tqdm

    if settings.loss_type not in LOSSES:
        raise ValueError(f"unknown DPO loss {settings.loss_type!r}; choose from {', '.join(LOSSES)}")
    if len(pairs) != len(reference):
        raise ValueError(f"{len(pairs)} pairs but {len(reference)} reference log-prob rows")
    distributed.require_same(len(pairs), "numbers of DPO pairs")  # they set how many batches all-reduce
    if not pairs:
        return {"pairs": 0, "loss": float("nan"), "reward_margin": float("nan"), "reward_accuracy": float("nan")}
    model.eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(seed)).tolist()
    totals = {"loss": 0.0, "reward_margin": 0.0, "reward_accuracy": 0.0}
    batches = range(0, len(order), settings.batch_size)
    share, shares = distributed.rank(), distributed.world_size()
    for start in tqdm(batches, desc="dpo", unit="batch", disable=not progress):
        batch_index = order[start : start + settings.batch_size]
        index = batch_index[share::shares]
        optimizer.zero_grad(set_to_none=True)
        sums = torch.zeros(3)
        if index:
            batch = collator([pairs[i] for i in index])
            logps, counts = seq2seq_logprobs(model, batch)
            chosen, rejected = logps.chunk(2)
            chosen_n, rejected_n = counts.chunk(2)
            ref = reference[index].to(logps.device)
            losses, chosen_reward, rejected_reward = dpo_loss(
                chosen, rejected, ref[:, 0], ref[:, 1], settings.beta, settings.loss_type, chosen_n, rejected_n
            )
            (losses.sum() / len(batch_index)).backward()  # this share of the whole batch's mean loss
            margin = (chosen_reward - rejected_reward).detach()
            sums = torch.stack([losses.detach().sum(), margin.sum(), (margin > 0).float().sum()]).cpu()
        if shares > 1:
            for parameter in model.parameters():
                if parameter.grad is None:
                    parameter.grad = torch.zeros_like(parameter)
                distributed.all_reduce_sum(parameter.grad)
            distributed.all_reduce_sum(sums)
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.max_grad_norm)
        optimizer.step()
        for key, value in zip(("loss", "reward_margin", "reward_accuracy"), sums.tolist()):
            totals[key] += value
    return {"pairs": len(pairs), **{k: v / len(pairs) for k, v in totals.items()}}
