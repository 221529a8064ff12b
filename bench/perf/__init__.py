"""Performance scripts: they print figures, they are not timed tests.

Run them as modules, e.g. ``python -m bench.perf.decoding_benchmark``.
"""
