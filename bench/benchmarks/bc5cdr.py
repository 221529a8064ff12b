"""BioCreative V CDR (Li et al., 2016): chemical and disease mentions normalised to MeSH.

Splits are the official PubTator files of ``CDR_Data.zip`` (500/500/500
abstracts). Three variants:

* ``bc5cdr``: Chemical and Disease mentions in one benchmark against one KB
  (CTD diseases + CTD chemicals), the ANGEL/GenBioEL protocol;
* ``bc5cdr-disease`` / ``bc5cdr-chemical``: one entity type each against its
  own vocabulary, the BioSyn protocol.

Gold ids are MeSH ids (``D009270``); composite mentions join ids with ``|`` and
list their individual mention texts in a 7th column, which is kept and handed
to the profiles (BioSyn splits composites with it). The gold id ``-1`` means
"no MeSH concept": such mentions are kept, never dropped, and count as gold
missing from the KB (no prediction can hit them).

CTD chemicals (``ctd/CTD_chemicals.tsv.gz``) is optional. Without it the
chemical part of the KB is **closed-world**: built from the train and dev
chemical mention strings (and the 7th-column pieces of composite ones) with
their gold ids, never from test. The KB is then flagged ``closed_world`` with a
note, and the benchmark carries ``flags["closed_world_kb"]`` saying what was
substituted, so stats, runs and tables show it. Test chemicals whose concept
never occurs in train/dev are then missing from the KB.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from bench.benchmark import DEV, TRAIN, Benchmark
from bench.benchmarks.ctd import ctd_id, merge_kbs, read_ctd_chemicals, read_ctd_diseases
from bench.benchmarks.gold import resolve_gold
from bench.benchmarks.medic import read_medic_flat
from bench.benchmarks.profiles import ProfileInputs, apply_profile, check_profile, expander_for
from bench.benchmarks.pubtator import MESH_OMIM_IDS, Annotation, Document, pubtator_mentions, read_pubtator
from bench.benchmarks.sources import cached_build, default_data_dir, load_card, locate_sources, source_digests
from bench.errors import BenchError, DataFormatError
from bench.kb import KnowledgeBase
from bench.mention import Mention
from bench.protocols import BIOSYN, DEFAULT_PROFILE
from bench.registry import register_benchmark

FAMILY = "bc5cdr"
SPLITS = {
    "train": "bc5cdr/CDR_TrainingSet.PubTator.txt",
    "dev": "bc5cdr/CDR_DevelopmentSet.PubTator.txt",
    "test": "bc5cdr/CDR_TestSet.PubTator.txt",
}
CTD_DISEASES = "ctd/CTD_diseases.tsv.gz"
CTD_CHEMICALS = "ctd/CTD_chemicals.tsv.gz"
MEDIC_FLAT = "ncbi-disease/medic_06Jul2012.txt"  # BioSyn's dictionary for BC5CDR diseases (optional)
CHEMICAL, DISEASE = "Chemical", "Disease"
VARIANTS: dict[str, tuple[str, ...]] = {
    "bc5cdr": (CHEMICAL, DISEASE),
    "bc5cdr-disease": (DISEASE,),
    "bc5cdr-chemical": (CHEMICAL,),
}
CLOSED_WORLD_FLAG = (
    f"{CTD_CHEMICALS} not available: the chemical KB was built from the train+dev chemical mention strings "
    "and their gold ids (never test); test chemicals whose concept is not in train/dev cannot be linked; "
    "not comparable with published numbers"
)


def _mentions_with_parts(
    documents: Sequence[Document], types: Iterable[str], path: Path
) -> tuple[list[Mention], dict[str, tuple[str, ...]]]:
    """Mentions of ``types`` and, per mention id, the pieces of the 7th column (when non-empty)."""
    wanted = set(types)
    mentions = pubtator_mentions(documents, wanted, path=path)
    annotations: list[Annotation] = [a for d in documents for a in d.annotations if a.type in wanted]
    if len(annotations) != len(mentions):  # pubtator_mentions keeps every annotation of the wanted types
        raise DataFormatError(path, None, "internal: annotations and mentions do not line up")
    parts: dict[str, tuple[str, ...]] = {}
    for mention, annotation in zip(mentions, annotations):
        extra = annotation.extra[0].strip() if annotation.extra else ""
        if extra:
            parts[mention.id] = tuple(p.strip() for p in extra.split("|"))
    return mentions, parts


def closed_world_chemical_kb(mentions: Iterable[Mention], parts: dict[str, tuple[str, ...]]) -> KnowledgeBase:
    """A chemical KB from training mentions: each gold id named by the strings annotated with it.

    Single-concept mentions give their text; a composite mention gives its
    7th-column pieces when they match its id groups one to one. ``-1`` (no
    concept) is never a concept. Names are ordered by frequency, then first use.
    """
    counts: dict[str, Counter[str]] = {}
    order: dict[str, dict[str, int]] = {}
    n_mentions = 0

    def add(concept_id: str, text: str) -> None:
        concept_id, text = ctd_id(concept_id), text.strip()
        if not text or concept_id == "-1":
            return
        counts.setdefault(concept_id, Counter())[text] += 1
        order.setdefault(concept_id, {}).setdefault(text, len(order[concept_id]))

    for mention in mentions:
        n_mentions += 1
        groups = [sorted(g) for g in mention.gold_groups]
        if len(groups) == 1 and len(groups[0]) == 1:
            add(groups[0][0], mention.text)
            continue
        pieces = parts.get(mention.id, ())
        if len(pieces) == len(groups):
            for piece, group in zip(pieces, groups):
                if len(group) == 1:
                    add(group[0], piece)
    concepts = {
        cid: sorted(names, key=lambda n, c=cid: (-counts[c][n], order[c][n])) for cid, names in sorted(counts.items())
    }
    note = (
        f"closed-world: {CTD_CHEMICALS} was not available, so the chemical concepts are the "
        f"{len(concepts)} gold ids of {n_mentions} train+dev chemical mentions, named by their mention strings "
        "(and the 7th-column pieces of composite mentions); no test string is used"
    )
    return KnowledgeBase("closed-world chemicals (train+dev mentions)", concepts, closed_world=True, notes=[note])


def _load(variant: str, data_dir: str | Path | None, profile: str) -> Benchmark:
    profile = check_profile(FAMILY, variant, profile)
    expander = expander_for(FAMILY, profile)
    types = VARIANTS[variant]
    sources = locate_sources(FAMILY, data_dir)
    used_names = [*SPLITS.values()]
    if DISEASE in types:
        used_names.append(CTD_DISEASES)
    if CHEMICAL in types:
        used_names.append(CTD_CHEMICALS)
    used = {n: sources[n] for n in used_names}
    if profile == BIOSYN and variant == "bc5cdr-disease":
        # BioSyn links BC5CDR diseases against the MEDIC flat file of NCBI-disease (preprocess/README.md)
        if sources.get(MEDIC_FLAT) is None:
            raise BenchError(
                f"bc5cdr-disease --profile biosyn needs {MEDIC_FLAT} (BioSyn's dictionary for BC5CDR diseases), "
                "which is not prepared. Run: bioel-bench prepare bc5cdr --from DIR (a folder holding it)"
            )
        used[MEDIC_FLAT] = sources[MEDIC_FLAT]

    def build() -> Benchmark:
        documents: dict[str, list[Document]] = {}
        mentions: dict[str, list[Mention]] = {}
        split_parts: dict[str, tuple[str, ...]] = {}
        for split, name in SPLITS.items():
            path = sources[name]
            assert path is not None
            documents[split] = read_pubtator(path, MESH_OMIM_IDS)
            mentions[split], parts = _mentions_with_parts(documents[split], types, path)
            split_parts.update(parts)

        kbs: list[KnowledgeBase] = []
        flags: dict[str, str] = {}
        closed_world = False
        if DISEASE in types:
            kbs.append(read_ctd_diseases(sources[CTD_DISEASES]))  # type: ignore[arg-type]
        if CHEMICAL in types:
            if sources[CTD_CHEMICALS] is not None:
                kbs.append(read_ctd_chemicals(sources[CTD_CHEMICALS]))  # type: ignore[arg-type]
            else:
                training = [m for s in (TRAIN, DEV) for m in mentions[s] if m.entity_type == CHEMICAL]
                kbs.append(closed_world_chemical_kb(training, split_parts))
                flags["closed_world_kb"] = CLOSED_WORLD_FLAG
                closed_world = True
        if len(kbs) == 1:
            kb = kbs[0]
        else:
            kb = merge_kbs(
                " + ".join(k.name for k in kbs),
                kbs,
                closed_world=closed_world,
                notes=["closed-world only in its chemical part; the disease part is CTD's vocabulary"]
                if closed_world
                else (),
            )
        splits = {split: resolve_gold(found, kb, ctd_id) for split, found in mentions.items()}
        benchmark = Benchmark(
            name=variant,
            splits=splits,
            kb=kb,
            card=load_card(FAMILY),
            source_files=source_digests(used),
            flags=flags,
        )
        biosyn_kb = None
        if profile == BIOSYN and variant == "bc5cdr-disease":
            biosyn_kb = read_medic_flat(used[MEDIC_FLAT], name="MEDIC (06 Jul 2012)")
        inputs = ProfileInputs(
            FAMILY,
            documents,
            entity_types=types,
            biosyn_kb=biosyn_kb,
            expander=expander,
            cache_dir=default_data_dir(data_dir) / "abbreviations",
        )
        return apply_profile(benchmark, profile, inputs)

    stamp = {"expander": expander.identity if expander else None}
    return cached_build(f"{variant}-{profile}", used, data_dir, build, stamp)


@register_benchmark("bc5cdr")
def load_bc5cdr(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    """Chemical + Disease mentions, one KB (the ANGEL/GenBioEL protocol)."""
    return _load("bc5cdr", data_dir, profile)


@register_benchmark("bc5cdr-disease")
def load_bc5cdr_disease(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    """Disease mentions against CTD diseases (BioSyn's BC5CDR-D)."""
    return _load("bc5cdr-disease", data_dir, profile)


@register_benchmark("bc5cdr-chemical")
def load_bc5cdr_chemical(data_dir: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> Benchmark:
    """Chemical mentions against CTD chemicals, or the flagged closed-world KB (BioSyn's BC5CDR-C)."""
    return _load("bc5cdr-chemical", data_dir, profile)
