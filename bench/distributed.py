"""One run in several processes (``accelerate launch``): who writes files, and waiting for each other.

Under ``accelerate launch --num_processes N -m bench run ...`` every process
runs the same command. The Trainer stages are data-parallel by themselves
(transformers' Trainer reads the launcher's environment); everything else a run
does must not be done N times over the same files. The rule used throughout:
the main process (rank 0) writes (tokenizers, trie caches, checkpoints of the
negative stage, the run directory), the others wait at a barrier and then read
what it wrote. Prediction and scoring happen on the main process only.

Single-process runs (``WORLD_SIZE`` unset or 1) never touch torch.distributed:
every function here is then a no-op or a constant.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import torch

#: how long a process waits at a barrier: the main process may spend hours predicting a large
#: test set while the others wait for it to publish the run directory
BARRIER_TIMEOUT = timedelta(hours=12)


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_distributed() -> bool:
    return world_size() > 1


def is_main() -> bool:
    return rank() == 0


def init() -> None:
    """Join the launcher's process group (once), with a long barrier timeout.

    accelerate's ``PartialState`` picks the backend (NCCL on GPUs, gloo on CPUs)
    and is the same state the Trainer uses later, so both share one group.
    """
    if not is_distributed() or (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return
    from accelerate import PartialState

    PartialState(timeout=BARRIER_TIMEOUT)


def barrier() -> None:
    if is_distributed():
        init()
        torch.distributed.barrier()


@contextmanager
def main_first() -> Iterator[None]:
    """The main process runs the block first (filling a cache); the others run it after (reading it)."""
    if is_distributed() and not is_main():
        barrier()
    yield
    if is_distributed() and is_main():
        barrier()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over the processes, in place (unchanged in a single process)."""
    if is_distributed():
        init()
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
    return tensor


def agree(values: dict[str, float]) -> dict[str, float]:
    """The mean of each value over the processes, so that every process takes the same decision.

    Dev scores decide which checkpoint is kept and when a stage stops; all
    processes hold the same weights and score the same mentions, but GPU kernels
    need not be bit-for-bit deterministic, and diverging decisions would leave
    processes waiting at different barriers.
    """
    if not is_distributed() or not values:
        return values
    keys = sorted(values)
    summed = all_reduce_sum(torch.tensor([float(values[k]) for k in keys], dtype=torch.float64))
    return {k: float(v) / world_size() for k, v in zip(keys, summed.tolist())}
