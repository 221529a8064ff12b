"""Machinery of the ``dense`` linker (``systems/dense.py``): encoders, exact search, training.

* :mod:`bench.dense.encoder`: load a BERT-style encoder (the packaged MiniLM or
  any checkpoint) and embed strings with [CLS] or mean pooling.
* :mod:`bench.dense.search`: exact inner-product top-k over name blocks with a
  running top-k and deterministic ties (memory bounded by the block size).
* :mod:`bench.dense.training`: SapBERT-style synonym pairs, multi-similarity and
  InfoNCE losses with in-batch negatives, and a resumable training loop.
"""
