"""bioel-bench: a harness for biomedical entity linking research.

Importing ``bench`` is cheap (no torch, no scikit-learn): systems and
benchmarks are imported when chosen. The public names a plug-in needs:
"""

from bench.benchmark import Benchmark
from bench.kb import KnowledgeBase
from bench.linker import Candidate, FitConfig, Linker, rank
from bench.mention import Mention
from bench.registry import register_benchmark, register_system

__version__ = "0.1.0"

__all__ = [
    "Benchmark",
    "Candidate",
    "FitConfig",
    "KnowledgeBase",
    "Linker",
    "Mention",
    "rank",
    "register_benchmark",
    "register_system",
    "__version__",
]
