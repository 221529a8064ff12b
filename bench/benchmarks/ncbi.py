"""NCBI-disease (Doğan et al., 2014) with the MEDIC KB, as ANGEL/GenBioEL/BioSyn use it.

Splits are the official PubTator files (592/100/100 abstracts; the training file
repeats one abstract, which the official counts include). The KB is the MEDIC
flat file of 06 Jul 2012 (the paper protocol).

Variant ``ncbi-disease-ctd``: the same splits with the KB read from CTD's
official ``CTD_diseases.tsv.gz`` (the MEDIC vocabulary in CTD's own format;
the copy mirrored here is the 2017 release, the download URL serves the newest
one). It is an optional source of the card: the variant stops with a clear
message when the file was not prepared.
"""

from __future__ import annotations

from pathlib import Path

from bench.benchmark import Benchmark
from bench.benchmarks.ctd import read_ctd_diseases
from bench.benchmarks.gold import resolve_gold
from bench.benchmarks.medic import medic_id, read_medic_flat
from bench.benchmarks.profiles import ProfileInputs, apply_profile, check_profile, expander_for
from bench.benchmarks.pubtator import MESH_OMIM_IDS, pubtator_mentions, read_pubtator
from bench.benchmarks.sources import cached_build, default_data_dir, load_card, locate_sources, source_digests
from bench.errors import BenchError
from bench.kb import KnowledgeBase
from bench.protocols import DEFAULT_PROFILE
from bench.registry import register_benchmark

FAMILY = "ncbi-disease"
SPLITS = {
    "train": "ncbi-disease/NCBItrainset_corpus.txt",
    "dev": "ncbi-disease/NCBIdevelopset_corpus.txt",
    "test": "ncbi-disease/NCBItestset_corpus.txt",
}
MEDIC_FLAT = "ncbi-disease/medic_06Jul2012.txt"
CTD_DISEASES = "ctd/CTD_diseases.tsv.gz"


def _load(
    name: str, kb_source: str, read_kb, data_dir: str | Path | None, profile: str, sources: dict[str, Path | None]
) -> Benchmark:
    used = {n: sources[n] for n in (*SPLITS.values(), kb_source)}
    profile = check_profile(FAMILY, name, profile)
    expander = expander_for(FAMILY, profile)

    def build() -> Benchmark:
        kb: KnowledgeBase = read_kb(sources[kb_source])
        documents = {split: read_pubtator(sources[file], MESH_OMIM_IDS) for split, file in SPLITS.items()}
        splits = {
            split: resolve_gold(pubtator_mentions(documents[split], path=sources[file]), kb, medic_id)
            for split, file in SPLITS.items()
        }
        benchmark = Benchmark(
            name=name,
            splits=splits,
            kb=kb,
            card=load_card(FAMILY),
            source_files=source_digests(used),
        )
        inputs = ProfileInputs(
            FAMILY, documents, expander=expander, cache_dir=default_data_dir(data_dir) / "abbreviations"
        )
        return apply_profile(benchmark, profile, inputs)

    stamp = {"expander": expander.identity if expander else None}
    return cached_build(f"{name}-{profile}", used, data_dir, build, stamp)


@register_benchmark("ncbi-disease")
def load_ncbi_disease(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    sources = locate_sources(FAMILY, data_dir)
    return _load(
        "ncbi-disease",
        MEDIC_FLAT,
        lambda path: read_medic_flat(path, name="MEDIC (06 Jul 2012)"),
        data_dir,
        profile,
        sources,
    )


@register_benchmark("ncbi-disease-ctd")
def load_ncbi_disease_ctd(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    """NCBI-disease with the KB from CTD's ``CTD_diseases.tsv.gz`` instead of the 2012 flat file."""
    sources = locate_sources(FAMILY, data_dir)
    if sources.get(CTD_DISEASES) is None:
        raise BenchError(
            f"ncbi-disease-ctd needs {CTD_DISEASES}, which is not prepared (it is optional for ncbi-disease). "
            f"Run: bioel-bench prepare ncbi-disease --from DIR (a folder holding {CTD_DISEASES}) or without "
            f"--from to download it from http://ctdbase.org/reports/CTD_diseases.tsv.gz"
        )
    return _load("ncbi-disease-ctd", CTD_DISEASES, read_ctd_diseases, data_dir, profile, sources)
