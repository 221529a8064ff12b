"""Exact maximum-inner-product top-k on a CPU, one block of names at a time.

A UMLS-scale KB has millions of names: the full (mentions x names) score matrix
does not fit in memory, so names are scored in blocks of ``chunk_names`` and a
running top-k is kept per query (``torch.topk`` over the running candidates
concatenated with the block's). Queries are taken ``query_block`` at a time, so
memory is bounded by ``query_block x (chunk_names + k)`` scores whatever the KB
size.

Determinism: scores are rounded to ``decimals`` first (float noise from one
BLAS build or block size to another cannot turn a tie into an order), and equal
scores are ordered by name index. Names are indexed in ``kb.names`` order
(sorted), so the result is exactly ``rank()`` over all names: the top-k by
score, ties by name.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

#: extra scores for (query rows, name start, name stop), e.g. a sparse TF-IDF block
ExtraScores = Callable[[slice, int, int], torch.Tensor]


def exact_top_k(
    queries: torch.Tensor,
    keys: torch.Tensor,
    k: int,
    *,
    chunk_names: int = 16384,
    query_block: int = 1024,
    extra: ExtraScores | None = None,
    decimals: int = 6,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scores, indices)``, each ``[n_queries, min(k, n_keys)]``, best first, ties by index.

    ``scores[i, j] = round(queries[i] . keys[indices[i, j]] (+ extra), decimals)``.
    """
    if chunk_names < 1 or query_block < 1:
        raise ValueError("chunk_names and query_block must be positive")
    n_queries, n_keys = queries.shape[0], keys.shape[0]
    kk = max(0, min(k, n_keys))
    all_scores = torch.empty((n_queries, kk), dtype=torch.float32)
    all_indices = torch.empty((n_queries, kk), dtype=torch.long)
    if kk == 0 or n_queries == 0:
        return all_scores, all_indices
    for q0 in range(0, n_queries, query_block):
        rows = slice(q0, min(q0 + query_block, n_queries))
        best_scores = torch.empty((rows.stop - rows.start, 0), dtype=torch.float32)
        best_indices = torch.empty((rows.stop - rows.start, 0), dtype=torch.long)
        for start in range(0, n_keys, chunk_names):
            stop = min(start + chunk_names, n_keys)
            block = queries[rows] @ keys[start:stop].T
            if extra is not None:
                block = block + extra(rows, start, stop)
            block = torch.round(block.float(), decimals=decimals)
            block_indices = torch.arange(start, stop).expand(block.shape[0], -1)
            # Running candidates first: all their indices are below the block's,
            # so column position order is index order within any group of ties.
            best_scores, best_indices = select_top_k(
                torch.cat([best_scores, block], dim=1), torch.cat([best_indices, block_indices], dim=1), kk
            )
        all_scores[rows], all_indices[rows] = best_scores, best_indices
    return all_scores, all_indices


def select_top_k(scores: torch.Tensor, indices: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row, the ``k`` best columns by (score descending, column position), in that order.

    ``torch.topk`` picks an arbitrary member of a group of equal scores that
    straddles the k-th place; rows where that happens (rare with real scores)
    are redone with a stable sort, which keeps the lowest positions.
    """
    k = min(k, scores.shape[1])
    values, positions = torch.topk(scores, k, dim=1, sorted=True)
    straddling = (scores >= values[:, -1:]).sum(dim=1) > k
    if straddling.any():
        rows = straddling.nonzero().squeeze(1)
        sorted_values, sorted_positions = torch.sort(scores[rows], dim=1, descending=True, stable=True)
        values[rows], positions[rows] = sorted_values[:, :k], sorted_positions[:, :k]
    # Order within the selection: by position, then (stable) by score descending.
    by_position = torch.sort(positions, dim=1, stable=True)
    values = torch.gather(values, 1, by_position.indices)
    positions = by_position.values
    by_score = torch.sort(values, dim=1, descending=True, stable=True)
    positions = torch.gather(positions, 1, by_score.indices)
    return by_score.values, torch.gather(indices, 1, positions)
