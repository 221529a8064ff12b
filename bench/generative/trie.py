"""A prefix trie over the token ids of every KB name, as flat arrays.

GenBioEL and ANGEL keep the trie as nested Python dicts (one dict per node),
which needs tens of GB for UMLS and is walked in Python once per beam per step.
:class:`NameTrie` stores the same trie in a few numpy arrays, CSR style, and
answers the two questions constrained decoding asks with vectorised torch ops:

- ``step(nodes, tokens)``: the node reached from each node by each token (-1 if
  the token does not continue a name);
- ``allowed_mask(nodes)``: a ``rows x vocab`` boolean mask of the tokens allowed
  after each node.

Layout. Nodes are numbered breadth-first, children in increasing token order,
root = 0. Every non-root node has exactly one incoming edge, so with edges in
that same order the edge leading to node ``n`` is edge ``n - 1``: the child
node array of a CSR layout is implicit. Each edge is stored as one int64 key
``parent * vocab_size + token``; breadth-first numbering makes the key array
sorted, so the CSR row of node ``n`` is ``keys[searchsorted(keys, n * V):
searchsorted(keys, (n + 1) * V)]`` (row pointers are found, not stored), its
child tokens are ``key % V`` and its child nodes ``edge index + 1``. That is 8
bytes per edge. Every sequence ends with EOS; the node reached by a name's EOS
is a leaf, and ``leaf_nodes``/``leaf_names`` (sorted by node) map it back to
the index of the name in the caller's list (several indices if two names
tokenise identically).

Construction is level by level: at depth ``d`` the (parent node, token) pairs of
all names still that long are de-duplicated with one sort (``np.unique``), which
yields the new nodes in breadth-first order directly. Tokenisation uses the fast
tokenizer's batch encoder in chunks, so no Python list of all token ids is ever
held.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path

import numpy as np
import torch

from bench.normalize import normalize_name

FORMAT_VERSION = 1


@dataclass
class BuildStats:
    """Where the build time went (seconds) and how big the result is."""

    tokenize_s: float = 0.0
    build_s: float = 0.0
    cached: bool = False
    path: str | None = None
    mode: str = ""


class NameTrie:
    """Prefix trie over token-id sequences (each ending with ``eos_token_id``)."""

    def __init__(
        self,
        keys: np.ndarray,
        leaf_nodes: np.ndarray,
        leaf_names: np.ndarray,
        *,
        vocab_size: int,
        eos_token_id: int,
        n_names: int,
        max_depth: int,
    ) -> None:
        self.keys = np.ascontiguousarray(keys, dtype=np.int64)
        self.leaf_nodes = np.ascontiguousarray(leaf_nodes, dtype=np.int64)
        self.leaf_names = np.ascontiguousarray(leaf_names, dtype=np.int64)
        self.vocab_size = int(vocab_size)
        self.eos_token_id = int(eos_token_id)
        self.n_names = int(n_names)
        self.max_depth = int(max_depth)
        # torch views share the numpy buffers (no copy).
        self._keys_t = torch.from_numpy(self.keys)
        self._leaf_nodes_t = torch.from_numpy(self.leaf_nodes)
        self._leaf_names_t = torch.from_numpy(self.leaf_names)
        self._copies: dict[torch.device, NameTrie] = {}
        self.stats = BuildStats()

    def to(self, device: torch.device | str) -> NameTrie:
        """This trie with its tensors on ``device`` (a cached copy; ``self`` on the CPU).

        The transitions take node/token tensors on the trie's device."""
        device = torch.device(device)
        if device == self._keys_t.device:
            return self
        if device not in self._copies:
            moved = copy.copy(self)
            moved._keys_t = self._keys_t.to(device)
            moved._leaf_nodes_t = self._leaf_nodes_t.to(device)
            moved._leaf_names_t = self._leaf_names_t.to(device)
            moved._copies = {}
            self._copies[device] = moved
        return self._copies[device]

    # --- sizes ----------------------------------------------------------
    @property
    def n_edges(self) -> int:
        return int(self.keys.shape[0])

    @property
    def n_nodes(self) -> int:
        return self.n_edges + 1

    @property
    def nbytes(self) -> int:
        return self.keys.nbytes + self.leaf_nodes.nbytes + self.leaf_names.nbytes

    def __len__(self) -> int:
        return self.n_names

    def __repr__(self) -> str:
        return (
            f"NameTrie(names={self.n_names}, nodes={self.n_nodes}, vocab={self.vocab_size}, "
            f"max_depth={self.max_depth}, {self.nbytes / 2**20:.1f} MiB)"
        )

    # --- vectorised transitions ----------------------------------------
    def step(self, nodes: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Node reached from each of ``nodes`` by the matching token; -1 if not allowed.

        ``nodes`` and ``tokens`` are integer tensors of one shape; a node of -1
        (an invalid prefix) stays -1.
        """
        nodes = nodes.to(torch.int64)
        tokens = tokens.to(torch.int64)
        if self.n_edges == 0:
            return torch.full_like(nodes, -1)
        query = nodes * self.vocab_size + tokens
        index = torch.searchsorted(self._keys_t, query.reshape(-1)).reshape(query.shape)
        index = index.clamp_(max=self.n_edges - 1)
        found = (self._keys_t[index] == query) & (nodes >= 0) & (tokens >= 0) & (tokens < self.vocab_size)
        return torch.where(found, index + 1, torch.full_like(index, -1))

    def _rows(self, nodes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """CSR row bounds ``[start, end)`` in ``keys`` of each node (empty for -1)."""
        base = nodes.to(torch.int64) * self.vocab_size
        start = torch.searchsorted(self._keys_t, base)
        end = torch.searchsorted(self._keys_t, base + self.vocab_size)
        end = torch.where(nodes >= 0, end, start)
        return start, end

    def expand(self, nodes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every (row, edge) pair of a node's outgoing edges, rows in order, edges
        ascending by token: ``token = keys[edge] % vocab_size``, ``child = edge + 1``.
        Invalid nodes (-1) have none. One ``repeat_interleave`` gather, no loop."""
        nodes = nodes.reshape(-1).to(torch.int64)
        start, end = self._rows(nodes)
        counts = end - start
        total = int(counts.sum())
        if not total:
            empty = torch.zeros(0, dtype=torch.int64, device=nodes.device)
            return empty, empty
        row = torch.repeat_interleave(torch.arange(nodes.shape[0], device=nodes.device), counts, output_size=total)
        # edge = start of its row + rank within the row
        offsets = torch.cumsum(counts, 0) - counts
        edge = torch.arange(total, device=nodes.device) - torch.repeat_interleave(
            offsets - start, counts, output_size=total
        )
        return row, edge

    def token_of(self, edge: torch.Tensor) -> torch.Tensor:
        return self._keys_t[edge] % self.vocab_size

    def allowed_mask(self, nodes: torch.Tensor) -> torch.Tensor:
        """``len(nodes) x vocab_size`` bool mask: True where a token continues a name.

        Rows of the same node share the work (``torch.unique``), so the first
        step of a batch, where every beam is at the root, costs one row. Invalid
        nodes (-1) get an all-False row.
        """
        nodes = nodes.reshape(-1).to(torch.int64)
        unique, inverse = torch.unique(nodes, return_inverse=True)
        row, edge = self.expand(unique)
        mask = torch.zeros(unique.shape[0], self.vocab_size, dtype=torch.bool, device=nodes.device)
        mask[row, self.token_of(edge)] = True
        return mask[inverse]

    def walk(self, sequences: torch.Tensor) -> torch.Tensor:
        """Node reached by each row of ``sequences`` (rows x t) from the root."""
        nodes = torch.zeros(sequences.shape[0], dtype=torch.int64, device=sequences.device)
        for j in range(sequences.shape[1]):
            nodes = self.step(nodes, sequences[:, j])
        return nodes

    def names_at(self, node: int) -> list[int]:
        """Indices (into the caller's names) of the names ending at ``node`` (a leaf)."""
        lo, hi = np.searchsorted(self.leaf_nodes, [node, node + 1])
        return self.leaf_names[lo:hi].tolist()

    def name_index_of(self, nodes: torch.Tensor) -> torch.Tensor:
        """Index of the (first) name ending at each node, -1 for non-leaves."""
        nodes = nodes.to(torch.int64)
        if self.leaf_nodes.shape[0] == 0:
            return torch.full_like(nodes, -1)
        index = torch.searchsorted(self._leaf_nodes_t, nodes).clamp_(max=self.leaf_nodes.shape[0] - 1)
        found = self._leaf_nodes_t[index] == nodes
        return torch.where(found, self._leaf_names_t[index], torch.full_like(index, -1))

    def lookup(self, sequence: Sequence[int]) -> list[int]:
        """Name indices whose token ids are exactly ``sequence`` (EOS included)."""
        node = int(self.walk(torch.tensor([list(sequence)], dtype=torch.int64))[0]) if len(sequence) else 0
        return self.names_at(node) if node > 0 else []

    # --- inspection (tests, debugging; Python loops, not for decoding) -----
    def children(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        """``(tokens, child nodes)`` of ``node``, tokens ascending."""
        lo, hi = np.searchsorted(self.keys, [node * self.vocab_size, (node + 1) * self.vocab_size])
        return self.keys[lo:hi] % self.vocab_size, np.arange(lo, hi) + 1

    def sequences(self) -> Iterator[tuple[list[int], int]]:
        """Every stored ``(token ids, name index)``, depth first (duplicates included)."""
        stack: list[tuple[int, list[int]]] = [(0, [])]
        while stack:
            node, prefix = stack.pop()
            tokens, kids = self.children(node)
            for token, kid in zip(tokens[::-1].tolist(), kids[::-1].tolist()):
                seq = [*prefix, token]
                if token == self.eos_token_id:
                    for name in self.names_at(kid):
                        yield seq, name
                else:
                    stack.append((kid, seq))

    # --- persistence ------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write an ``.npz`` (uncompressed, so loading is a read); atomic."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = np.array(
            [FORMAT_VERSION, self.vocab_size, self.eos_token_id, self.n_names, self.max_depth], dtype=np.int64
        )
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, meta=meta, keys=self.keys, leaf_nodes=self.leaf_nodes, leaf_names=self.leaf_names)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> NameTrie:
        with np.load(path) as data:
            version, vocab_size, eos, n_names, max_depth = (int(v) for v in data["meta"])
            if version != FORMAT_VERSION:
                raise ValueError(f"{path}: trie format {version}, expected {FORMAT_VERSION}")
            return cls(
                data["keys"],
                data["leaf_nodes"],
                data["leaf_names"],
                vocab_size=vocab_size,
                eos_token_id=eos,
                n_names=n_names,
                max_depth=max_depth,
            )

    # --- construction -------------------------------------------------------
    @classmethod
    def from_flat(
        cls,
        flat: np.ndarray,
        lengths: np.ndarray,
        *,
        vocab_size: int,
        eos_token_id: int,
    ) -> NameTrie:
        """Build from concatenated sequences: ``flat`` holds sequence ``i`` at
        ``[offsets[i], offsets[i] + lengths[i])``; every sequence ends with EOS
        and contains it nowhere else."""
        flat = np.asarray(flat)
        if not np.issubdtype(flat.dtype, np.integer):
            raise TypeError("token ids must be integers")
        lengths = np.asarray(lengths, dtype=np.int64)
        n = lengths.shape[0]
        if n and lengths.min() < 1:
            raise ValueError("empty token sequence")
        offsets = np.zeros(n, dtype=np.int64)
        if n:
            np.cumsum(lengths[:-1], out=offsets[1:])
            last = flat[offsets + lengths - 1]
            if (last != eos_token_id).any():
                raise ValueError("every sequence must end with EOS")
            if int((flat == eos_token_id).sum()) != n:
                raise ValueError("EOS inside a sequence: a name would end early")
        if flat.size and (flat.min() < 0 or flat.max() >= vocab_size):
            raise ValueError("token id outside the vocabulary")

        node = np.zeros(n, dtype=np.int64)
        levels: list[np.ndarray] = []
        next_id = 1
        max_depth = int(lengths.max()) if n else 0
        active = np.arange(n, dtype=np.int64)
        for depth in range(max_depth):
            active = active[lengths[active] > depth]
            key = node[active] * vocab_size + flat[offsets[active] + depth].astype(np.int64)
            unique, inverse = np.unique(key, return_inverse=True)
            node[active] = next_id + inverse.reshape(-1)
            next_id += unique.shape[0]
            levels.append(unique)
            del key, inverse
        keys = np.concatenate(levels) if levels else np.zeros(0, dtype=np.int64)
        del levels
        order = np.argsort(node, kind="stable")
        return cls(
            keys,
            node[order],
            order,
            vocab_size=vocab_size,
            eos_token_id=eos_token_id,
            n_names=n,
            max_depth=max_depth,
        )

    @classmethod
    def from_sequences(cls, sequences: Sequence[Sequence[int]], *, vocab_size: int, eos_token_id: int) -> NameTrie:
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        flat = np.fromiter((t for s in sequences for t in s), dtype=np.int64, count=int(lengths.sum()))
        return cls.from_flat(flat, lengths, vocab_size=vocab_size, eos_token_id=eos_token_id)


# --- tokenisation and the disk cache ---------------------------------------
def vocab_size_of(tokenizer) -> int:
    """Logit width the model uses for ``tokenizer`` (added tokens included)."""
    return len(tokenizer)


def _encode(tokenizer, texts: list[str]) -> list[list[int]]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return [enc.ids for enc in backend.encode_batch(texts, add_special_tokens=False)]
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def _pack(ids: list[list[int]], eos: int) -> tuple[np.ndarray, np.ndarray]:
    for x in ids:
        x.append(eos)
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    return np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=int(lengths.sum())), lengths


def _tokenize_direct(tokenizer, texts: Sequence[str], chunk: int) -> tuple[np.ndarray, np.ndarray]:
    flats, lens = [], []
    for lo in range(0, len(texts), chunk):
        flat, lengths = _pack(_encode(tokenizer, [" " + t for t in texts[lo : lo + chunk]]), tokenizer.eos_token_id)
        flats.append(flat)
        lens.append(lengths)
    if not flats:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    return np.concatenate(flats), np.concatenate(lens)


def _tokenize_by_word(tokenizer, texts: Sequence[str], chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Encode each distinct word once (as ``" " + word``) and concatenate.

    Valid when pre-tokenisation splits at single spaces (byte-level BPE,
    WordPiece, SentencePiece's Metaspace): then the ids of ``" w1 w2"`` are the
    ids of ``" w1"`` followed by those of ``" w2"``. The caller verifies it on a
    sample. A KB has far fewer distinct words than names, and the BPE merges of
    each word run once instead of once per occurrence.
    """
    eos = tokenizer.eos_token_id
    vocab: dict[str, int] = {}
    occurrences: list[np.ndarray] = []
    words_per_name: list[np.ndarray] = []
    for lo in range(0, len(texts), chunk):
        part = texts[lo : lo + chunk]
        words = " ".join(part).split(" ")
        for word in dict.fromkeys(words):
            if word not in vocab:
                vocab[word] = len(vocab)
        occurrences.append(np.fromiter(map(vocab.__getitem__, words), np.int64, len(words)))
        words_per_name.append(np.fromiter(map(str.count, part, repeat(" ")), np.int64, len(part)) + 1)
        del words
    if not occurrences:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    word_flat, word_len = _pack(_encode(tokenizer, [" " + w for w in vocab]), eos)
    word_len -= 1  # _pack appended EOS to each word: drop it
    keep = np.ones(word_flat.shape[0], dtype=bool)
    keep[np.cumsum(word_len + 1) - 1] = False
    word_flat = word_flat[keep]
    word_start = np.cumsum(word_len) - word_len
    del vocab, keep

    name_lens = [np.add.reduceat(word_len[occ], np.cumsum(nw) - nw) + 1 for occ, nw in zip(occurrences, words_per_name)]
    lengths = np.concatenate(name_lens)
    flat = np.empty(int(lengths.sum()), dtype=np.int32)  # one allocation: no concatenation copy
    out = 0
    for occ, nwords, name_len in zip(occurrences, words_per_name, name_lens):
        occ_len = word_len[occ]
        # position of each occurrence's first token in the output: tokens of the
        # occurrences before it, plus one EOS per name before it
        occ_name = np.repeat(np.arange(nwords.shape[0]), nwords)
        occ_before = np.cumsum(occ_len) - occ_len
        rank = np.arange(int(occ_len.sum())) - np.repeat(occ_before, occ_len)
        part = flat[out : out + int(name_len.sum())]
        part[np.repeat(occ_before + occ_name, occ_len) + rank] = word_flat[np.repeat(word_start[occ], occ_len) + rank]
        part[np.cumsum(name_len) - 1] = eos
        out += part.shape[0]
        del occ_len, occ_name, occ_before, rank
    return flat, lengths


def tokenize_names(
    tokenizer, names: Sequence[str], chunk: int = 200_000, mode: str = "auto", check: int = 2000
) -> tuple[np.ndarray, np.ndarray, str]:
    """``(flat ids, lengths, mode used)``: ``name_ids(tokenizer, name)`` for every
    name, EOS included, concatenated.

    ``mode="direct"`` runs the fast tokenizer's batch encoder over every name
    (in chunks). ``"by_word"`` encodes each distinct word once and
    concatenates; ``"auto"`` uses it after checking ``check`` random names
    (and the longest ones) against direct encoding, falling back to
    ``"direct"`` on any difference.
    """
    # keep the caller's string objects when already normalised (kb.names are): no copy of 3M strings
    texts = [name if (norm := normalize_name(name)) == name else norm for name in names]
    if mode == "auto":
        mode = "direct"
        if len(texts) > 4 * check:
            rng = np.random.default_rng(0)
            sample = rng.choice(len(texts), size=check, replace=False).tolist()
            sample += np.argsort([len(t) for t in texts])[-50:].tolist()
            picked = [texts[i] for i in sample]
            flat_w, len_w = _tokenize_by_word(tokenizer, picked, chunk)
            flat_d, len_d = _tokenize_direct(tokenizer, picked, chunk)
            if np.array_equal(len_w, len_d) and np.array_equal(flat_w, flat_d):
                mode = "by_word"
    if mode == "by_word":
        flat, lengths = _tokenize_by_word(tokenizer, texts, chunk)
    elif mode == "direct":
        flat, lengths = _tokenize_direct(tokenizer, texts, chunk // 4)
    else:
        raise ValueError(f"unknown tokenisation mode {mode!r}")
    return flat, lengths, mode


def tokenizer_fingerprint(tokenizer) -> str:
    """sha256 of what decides tokenisation: the serialised fast tokenizer when
    there is one (vocabulary, merges, normaliser, pre-tokeniser), otherwise the
    vocabulary; plus the EOS id and the logit width."""
    digest = hashlib.sha256()
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        digest.update(backend.to_str().encode())
    else:
        digest.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    digest.update(f"|eos={tokenizer.eos_token_id}|V={vocab_size_of(tokenizer)}".encode())
    return digest.hexdigest()


def names_fingerprint(names: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def cache_key(names: Sequence[str], tokenizer) -> str:
    blob = f"v{FORMAT_VERSION}|{names_fingerprint(names)}|{tokenizer_fingerprint(tokenizer)}"
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def build_name_trie(names: Sequence[str], tokenizer, cache_dir: str | Path | None = None) -> NameTrie:
    """The trie of ``name_ids(tokenizer, name)`` for ``names`` (in the caller's order).

    Leaf ``i`` maps back to ``names[i]``; pass ``kb.names`` and look ids up with
    ``kb.name_index[names[i]]``. With ``cache_dir`` the trie is stored there as
    ``trie-<key>.npz``, ``key`` a sha256 of the names and the tokenizer, and
    loaded instead of rebuilt next time.
    """
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"trie-{cache_key(names, tokenizer)}.npz"
        if path.exists():
            started = time.perf_counter()
            trie = NameTrie.load(path)
            trie.stats = BuildStats(build_s=time.perf_counter() - started, cached=True, path=str(path))
            return trie
    started = time.perf_counter()
    flat, lengths, mode = tokenize_names(tokenizer, names)
    tokenized = time.perf_counter()
    trie = NameTrie.from_flat(flat, lengths, vocab_size=vocab_size_of(tokenizer), eos_token_id=tokenizer.eos_token_id)
    del flat, lengths
    trie.stats = BuildStats(tokenize_s=tokenized - started, build_s=time.perf_counter() - tokenized, mode=mode)
    if path is not None:
        trie.save(path)
        trie.stats.path = str(path)
    return trie
