"""NCBI-disease (Doğan et al., 2014) with the MEDIC KB, as ANGEL/GenBioEL/BioSyn use it.

Splits are the official PubTator files (592/100/100 abstracts; the training file
repeats one abstract, which the official counts include). The KB is the MEDIC
flat file of 06 Jul 2012 (the paper protocol).
"""

from __future__ import annotations

from pathlib import Path

from bench.benchmark import Benchmark
from bench.benchmarks.gold import resolve_gold
from bench.benchmarks.medic import medic_id, read_medic_flat
from bench.benchmarks.pubtator import pubtator_mentions, read_pubtator
from bench.benchmarks.sources import cached_build, check_profile, load_card, locate_sources, source_digests
from bench.registry import register_benchmark

FAMILY = "ncbi-disease"
SPLITS = {
    "train": "ncbi-disease/NCBItrainset_corpus.txt",
    "dev": "ncbi-disease/NCBIdevelopset_corpus.txt",
    "test": "ncbi-disease/NCBItestset_corpus.txt",
}
MEDIC_FLAT = "ncbi-disease/medic_06Jul2012.txt"


@register_benchmark("ncbi-disease")
def load_ncbi_disease(data_dir: str | Path | None = None, profile: str = "angel") -> Benchmark:
    check_profile("ncbi-disease", profile)
    sources = locate_sources(FAMILY, data_dir)

    def build() -> Benchmark:
        kb = read_medic_flat(sources[MEDIC_FLAT], name="MEDIC (06 Jul 2012)")
        splits = {
            split: resolve_gold(pubtator_mentions(read_pubtator(sources[name]), path=sources[name]), kb, medic_id)
            for split, name in SPLITS.items()
        }
        benchmark = Benchmark(
            name="ncbi-disease",
            splits=splits,
            kb=kb,
            card=load_card(FAMILY),
            source_files=source_digests({n: sources[n] for n in (*SPLITS.values(), MEDIC_FLAT)}),
        )
        from bench.benchmarks.profiles import apply_profile

        return apply_profile(benchmark, profile)

    used = {n: sources[n] for n in (*SPLITS.values(), MEDIC_FLAT)}
    return cached_build(f"ncbi-disease-{profile}", used, data_dir, build)
