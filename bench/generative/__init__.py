"""Generative entity linking machinery (GenBioEL/ANGEL): tokenizer, model, inputs,
the KB-name prefix trie, constrained decoding and training.

Everything here imports torch/transformers; ``bench`` itself does not import
this package, so the harness stays light until a generative system is chosen.
"""
