"""Benchmark loaders: one module per corpus format or benchmark.

Loaders are registered lazily in :mod:`bench.registry`; importing this package
imports nothing heavy.
"""
