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
from collections.abc import Callable, Iterator, Sequence
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


def device() -> torch.device:
    """Where this process keeps its model: its own GPU under a launcher, else the first GPU, else the CPU.

    Models read back from disk (a resumed stage, ANGEL's best chunk) land on the
    CPU; they are moved here so that a resumed run decodes where a fresh one does.
    """
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


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
        if tensor.device.type == "cpu" and torch.distributed.get_backend() == "nccl":
            on_gpu = tensor.to(device())  # NCCL reduces GPU tensors only; counts and scores live on the CPU
            torch.distributed.all_reduce(on_gpu, op=torch.distributed.ReduceOp.SUM)
            tensor.copy_(on_gpu)
        else:
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


def require_same(value: int, what: str) -> int:
    """``value``, after checking every process holds the same one.

    Collectives are matched by order, not by name: if one process loops over
    more batches than another, its extra all-reduce pairs with the other's
    next barrier and both wait for ever. A count that decides a loop's length is
    checked here first, so a divergence fails at once with a message instead.
    """
    if not is_distributed():
        return value
    values = torch.zeros(world_size(), dtype=torch.int64)
    values[rank()] = value
    values = all_reduce_sum(values).tolist()
    if len(set(values)) > 1:
        raise RuntimeError(f"{what} differ between processes: {values} (one per rank)")
    return value


def map_shards(function: Callable[[list], list], items: Sequence) -> list:
    """``function(items)``, computed in shares: each process takes ``items[rank::world_size]``.

    Every process gets the whole result in the order of ``items``, so all of them
    continue from identical data (ANGEL's pairs decide how many DPO batches each
    process steps through) and the work is split instead of repeated.
    """
    if not is_distributed():
        return function(list(items))
    init()
    mine = list(items[rank() :: world_size()])
    share = function(mine)
    if len(share) != len(mine):
        raise ValueError(f"map_shards: {len(share)} results for {len(mine)} items")
    shares: list = [None] * world_size()
    torch.distributed.all_gather_object(shares, share)
    merged: list = [None] * len(items)
    for index, part in enumerate(shares):
        merged[index :: world_size()] = part
    return merged
