"""Protocol profiles: how a published system family prepared the same benchmark.

A loader builds a benchmark once from the official files and then calls
:func:`apply_profile`; the profile's name is recorded as ``Benchmark.protocol``
(and so in every run's config), and the data checksums change with it, so runs
under different profiles are never compared by mistake.

``angel`` (default; ANGEL and GenBioEL): the benchmark as loaded. Official
train/dev/test splits, the KB as published, composite mentions kept whole and
scored by the union rule.

``biosyn`` (Sung et al. 2020, dmis-lab/BioSyn ``preprocess/``), as far as its
preprocessing is public:

* train = train + dev (BioSyn trains on ``processed_traindev``); dev is empty.
  A dev mention whose id clashes with a train id gets the prefix ``dev:``.
* the KB's names are augmented with the train+dev mention strings as synonyms
  of their gold concepts (BioSyn's ``test_dictionary`` = dictionary + training
  mentions, ``dictionary_preprocess.py --additional_data_dir``). Only
  mentions with one gold concept (after resolving alternative ids) that is in
  the KB add a name; never a test mention. The KB keeps its ``closed_world``
  flag and gains a note.
* composite mentions get ``parts`` (BioSyn's ``--resolve_composites``): one
  sub-mention per id group, with ids ``<mention id>#<i>`` (i from 1), gold = its
  id group. The part strings come, in order of preference, from the corpus
  (BC5CDR's 7th PubTator column, passed as ``split_parts``) when it lists as
  many pieces as the mention has id groups, else from the coordination
  heuristics of :mod:`bench.benchmarks.composite` when they yield that many
  pieces, else each part is the whole mention text. Groups that name the
  same concept after alternative ids are resolved ("cat eye syndrome",
  ``C535918|OMIM:115470``) count once, and a mention left with one group gets
  no parts: BioSyn reaches the same result by dropping the OMIM ids of a
  mention that mixes OMIM and MeSH ids. That filter itself is not reproduced:
  it reads the annotator's spelling, which resolution replaces by the KB's
  canonical id (MEDIC makes some OMIM ids canonical, so a resolved OMIM id
  may stand for an annotated MeSH id). The mention's own gold ids are never
  changed. Composite mode scoring (``--composite``) then needs every part to
  be a hit.

Not reproduced from BioSyn: Ab3P abbreviation expansion (needs the Ab3P
binary), lower-casing and punctuation removal of mentions and names (a
system's own normalisation, see ``bench.normalize``), the NCBI typo list,
BioSyn's last-resort split of a composite into its whitespace tokens
(``composite.split_composite(..., token_fallback=True)`` offers it), and
``--remove_cuiless``: mentions whose gold ids are not in the KB (BC5CDR's
``-1``) are kept and count as misses; ``bioel-bench stats`` gives their number
(``mentions_with_gold_missing_from_kb``) so that BioSyn's filtered
denominators can be recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from bench.benchmark import DEV, TRAIN, Benchmark
from bench.benchmarks.composite import split_composite
from bench.errors import BenchError
from bench.kb import KnowledgeBase
from bench.mention import Mention

PROFILES = ("angel", "biosyn")


def apply_profile(
    benchmark: Benchmark, profile: str, split_parts: Mapping[str, Sequence[str]] | None = None
) -> Benchmark:
    """``benchmark`` prepared under ``profile`` (see the module docstring).

    ``split_parts`` maps a mention id to the sub-mention strings the corpus
    itself gives for a composite mention (BC5CDR's 7th column).
    """
    if profile == "angel":
        return benchmark if benchmark.protocol == "angel" else replace(benchmark, protocol="angel")
    if profile == "biosyn":
        return biosyn_profile(benchmark, split_parts or {})
    raise BenchError(f"unknown protocol profile {profile!r}; choose from {', '.join(PROFILES)}")


# --- biosyn -------------------------------------------------------------------


def biosyn_profile(benchmark: Benchmark, split_parts: Mapping[str, Sequence[str]]) -> Benchmark:
    train = list(benchmark.splits.get(TRAIN, ()))
    dev = list(benchmark.splits.get(DEV, ()))
    train_ids = {m.id for m in train}
    renamed = {f"dev:{m.id}": m.id for m in dev if m.id in train_ids}
    merged_train = train + [m if m.id not in train_ids else replace(m, id=f"dev:{m.id}") for m in dev]
    kb = augment_kb(benchmark.kb, merged_train)

    def split(mentions: Sequence[Mention]) -> list[Mention]:
        return [with_parts(m, split_parts.get(renamed.get(m.id, m.id))) for m in mentions]

    splits: dict[str, list[Mention]] = {}
    for name, mentions in benchmark.splits.items():
        if name == DEV:
            splits[name] = []
        else:
            splits[name] = split(merged_train if name == TRAIN else mentions)
    if TRAIN not in splits and dev:
        splits[TRAIN] = split(merged_train)
    return replace(benchmark, splits=splits, kb=kb, protocol="biosyn")


def augment_kb(kb: KnowledgeBase, mentions: Sequence[Mention]) -> KnowledgeBase:
    """The KB with each single-concept training mention string added to its concept."""
    concepts = {cid: list(names) for cid, names in kb.concepts.items()}
    added = 0
    for mention in mentions:
        if len(mention.gold_ids) != 1:  # composites naming two concepts add nothing
            continue
        concept_id = kb.resolve_id(next(iter(mention.gold_ids)))
        text = mention.text.strip()
        if concept_id is None or not text:
            continue
        if text not in concepts[concept_id]:
            concepts[concept_id].append(text)
            added += 1
    note = f"biosyn profile: {added} train+dev mention strings added as synonyms of their gold concepts"
    augmented = KnowledgeBase(
        f"{kb.name} + train/dev mentions",
        concepts,
        kb.alt_ids,
        closed_world=kb.closed_world,
        notes=[*kb.notes, note],
    )
    for attribute in ("definitions", "report_created"):
        if hasattr(kb, attribute):
            setattr(augmented, attribute, getattr(kb, attribute))
    return augmented


def effective_groups(groups: Sequence[frozenset[str]]) -> list[frozenset[str]]:
    """Distinct id groups in annotation order (a group repeated after id resolution counts once)."""
    return list(dict.fromkeys(groups))


def with_parts(mention: Mention, corpus_parts: Sequence[str] | None = None) -> Mention:
    """``mention`` with sub-mentions when it is composite (see the module docstring)."""
    if not mention.composite:
        return mention
    pieces = [p.strip() for p in corpus_parts or () if p.strip()]
    if len(pieces) == len(mention.gold_groups):
        groups = list(mention.gold_groups)
    else:
        groups = effective_groups(mention.gold_groups)
        if len(groups) < 2:
            return mention
        pieces = split_composite(mention.text, len(groups)) or [mention.text] * len(groups)
    parts = tuple(
        Mention(
            id=f"{mention.id}#{i}",
            text=piece,
            gold_ids=group,
            doc_id=mention.doc_id,
            span=mention.span,
            context=mention.context,
            entity_type=mention.entity_type,
            gold_groups=(group,),
        )
        for i, (piece, group) in enumerate(zip(pieces, groups), start=1)
    )
    return replace(mention, parts=parts)
