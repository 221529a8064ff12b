"""The ``biosyn`` profile: BioSyn's ``preprocess/`` pipeline, rebuilt from the official PubTator files.

Step for step as dmis-lab/BioSyn's README commands run it on NCBI-disease and
BC5CDR (facts with file and line in ``datasets/protocols/biosyn.md``):

1. parse (``ncbi_disease_preprocess.py`` / ``bc5cdr_preprocess.py``): a PMID seen
   before is dropped with its mentions (the first copy wins: NCBI's training file
   holds 8528200 twice); BC5CDR keeps one entity type and, on a 7-column line,
   puts the 7th column in place of the mention when it has as many ``|`` as the ids;
2. queries (``query_preprocess.py``, :func:`biosyn_query_steps`): Ab3P's short
   forms replaced token by token, composites resolved (OMIM rule included),
   lower-case, the NCBI typo list (NCBI only), punctuation removed keeping ``|``,
   ``OMIM:``/``MESH:`` removed, and ``--remove_cuiless``: a mention is dropped
   unless every id is in the dictionary;
3. dictionary (``dictionary_preprocess.py``): every KB name lower-cased with all
   punctuation removed; then ``test_dictionary`` = that + the processed train and
   dev mention strings (a composite ``a|b`` enters as the name ``a b``) under
   their ids;
4. train and dev merged (BioSyn trains on ``traindev``); dev is empty.

How a result maps onto the harness: a resolved composite keeps BioSyn's mention
string (``a|b``) and gets one part per piece; every part's gold is the whole id
set, because BioSyn's scorer (``utils.py`` ``check_label``) accepts any id of the
mention for any part; composite-mode accuracy (``acc_composite``: every part
must hit) is BioSyn's number. Ids are spelled the harness's way (``OMIM:`` on
OMIM numbers, resolved to the KB's canonical id), which changes no outcome since
BioSyn's dictionary lines carry all ids of a MEDIC line.

Departures, each listed on the card: a concept whose names all become empty
keeps none of them and leaves the KB (BioSyn writes ``cui||``, a name nothing can
match); the KB is ``test_dictionary`` for training too (BioSyn trains against
``train_dictionary``, which lacks the mention strings).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from bench.benchmark import DEV, TEST, TRAIN
from bench.benchmarks.biosyn_composites import biosyn_query_steps, split_ids
from bench.benchmarks.peer_text import NCBI_TYPOS, biosyn_clean
from bench.benchmarks.pubtator import Document
from bench.kb import KnowledgeBase
from bench.mention import Mention


def biosyn_id(concept_id: str) -> str:
    """BioSyn's spelling of an id: no ``OMIM:``/``MESH:`` prefix (MEDIC's own flat-file form)."""
    return concept_id.replace("OMIM:", "").replace("MESH:", "")


def harness_id(biosyn: str) -> str:
    """The harness's spelling of a BioSyn id: a bare number is an OMIM id."""
    return f"OMIM:{biosyn}" if biosyn.isdigit() else biosyn


@dataclass
class BiosynQuery:
    """One processed query, as a line of BioSyn's ``processed_*/<pmid>.concept`` file, with where it came from."""

    mention_id: str
    document: Document
    start: int
    end: int
    entity_type: str
    text: str
    cui: str


@dataclass
class BiosynCorpus:
    """BioSyn's processed queries per split and what each step did."""

    queries: dict[str, list[BiosynQuery]] = field(default_factory=dict)
    counts: dict[str, Counter] = field(default_factory=dict)


def known_ids(kb: KnowledgeBase) -> set[str]:
    """BioSyn's ``load_cui_set``: every id on a dictionary line (canonical and alternative), BioSyn-spelled."""
    return {biosyn_id(i) for i in (*kb.concepts, *kb.alt_ids)}


def biosyn_queries(
    documents: Mapping[str, Sequence[Document]],
    abbreviations: Mapping[str, Mapping[str, str]],
    kb: KnowledgeBase,
    *,
    entity_types: Sequence[str] | None = None,
    typos: Mapping[str, str] | None = None,
) -> BiosynCorpus:
    """Every split's documents through BioSyn's parse and query steps (module docstring, steps 1-2)."""
    corpus = BiosynCorpus()
    ids = known_ids(kb)
    for split, docs in documents.items():
        counts: Counter = Counter()
        queries: list[BiosynQuery] = []
        seen: set[str] = set()
        for document in docs:
            if document.pmid in seen:
                counts["dropped: mention of a repeated document"] += len(document.annotations)
                continue
            seen.add(document.pmid)
            used: set[str] = set()
            for annotation in document.annotations:
                if entity_types is not None and annotation.type not in entity_types:
                    counts["mentions of another entity type"] += 1
                    continue
                counts["mentions read"] += 1
                mention = annotation.text
                # bc5cdr_preprocess.py strips each line before splitting it on tabs, so an empty 7th
                # column (a trailing tab, as in 19211690) leaves 6 fields; a real one with as many
                # "|" as the ids stands for the mention
                seventh = annotation.extra[0].rstrip() if len(annotation.extra) == 1 else ""
                if seventh and seventh.count("|") == annotation.ids.count("|"):
                    mention = seventh
                    counts["mention replaced by the 7th column"] += 1
                steps = biosyn_query_steps(mention, annotation.ids, abbreviations.get(document.doc_id, {}), ids, typos)
                counts["abbreviation expanded"] += steps.expanded != " ".join(mention.split())
                counts["composite split"] += steps.split
                counts["OMIM ids dropped from a mixed composite"] += len(split_ids(steps.cui)[0]) < len(
                    split_ids(annotation.ids)[0]
                )
                counts["string normalised"] += steps.cleaned != steps.resolved
                if not steps.kept:
                    counts["dropped: an id is not in the dictionary"] += 1
                    continue
                mention_id = f"{document.doc_id}:{annotation.start}-{annotation.end}"
                if mention_id in used:
                    mention_id = f"{mention_id}:{annotation.type}"
                used.add(mention_id)
                queries.append(
                    BiosynQuery(
                        mention_id,
                        document,
                        annotation.start,
                        annotation.end,
                        annotation.type,
                        steps.cleaned,
                        steps.cui,
                    )
                )
        counts["mentions kept"] = len(queries)
        corpus.queries[split] = queries
        corpus.counts[split] = counts
    return corpus


def query_mention(query: BiosynQuery, kb: KnowledgeBase, *, id_prefix: str = "") -> Mention:
    """A processed query as a harness mention (composite parts scored as BioSyn scores them)."""
    ids = [harness_id(i) for i in split_ids(query.cui)[0]]
    resolved = [kb.resolve_id(i) or i for i in ids]
    groups = tuple(dict.fromkeys(frozenset({i}) for i in resolved))
    mention_id = id_prefix + query.mention_id
    base = Mention(
        id=mention_id,
        text=query.text,
        gold_ids=frozenset(resolved),
        doc_id=query.document.doc_id,
        span=(query.start, query.end),
        context=query.document.text,
        entity_type=query.entity_type,
        gold_groups=groups,
    )
    if "|" not in query.text:
        return base
    pieces = [piece.strip() for piece in query.text.split("|")]
    parts = tuple(
        Mention(
            id=f"{mention_id}#{i}",
            text=piece,
            gold_ids=base.gold_ids,  # utils.py check_label: any id of the mention counts for any part
            doc_id=base.doc_id,
            span=base.span,
            context=base.context,
            entity_type=base.entity_type,
        )
        for i, piece in enumerate(pieces, start=1)
    )
    return replace(base, parts=parts)


def biosyn_dictionary(kb: KnowledgeBase, training: Sequence[BiosynQuery], counts: Counter) -> KnowledgeBase:
    """BioSyn's ``test_dictionary``: KB names processed, plus the processed train+dev mention strings."""
    concepts: dict[str, list[str]] = {}
    for concept_id, names in kb.concepts.items():
        processed = [biosyn_clean(name) for name in names]
        counts["KB names emptied by punctuation removal"] += sum(not p for p in processed)
        kept = list(dict.fromkeys(p for p in processed if p))
        counts["KB names merged with another name of the concept"] += sum(1 for p in processed if p) - len(kept)
        if kept:
            concepts[concept_id] = kept
        else:
            counts["concepts left without a name"] += 1
    added = 0
    for query in training:
        name = biosyn_clean(query.text)  # "a|b" -> "a b": the dictionary removes "|" with the rest
        for biosyn in split_ids(query.cui)[0]:
            concept_id = kb.resolve_id(harness_id(biosyn))
            if concept_id is None or not name:
                continue
            names = concepts.setdefault(concept_id, [])
            if name not in names:
                names.append(name)
                added += 1
    counts["train+dev mention strings added as names"] = added
    alt_ids = {alt: target for alt, target in kb.alt_ids.items() if target in concepts}
    note = (
        "biosyn profile: names lower-cased with punctuation removed (BioSyn dictionary_preprocess.py), "
        f"plus {added} processed train+dev mention strings (test_dictionary)"
    )
    return KnowledgeBase(
        f"{kb.name}, BioSyn test_dictionary", concepts, alt_ids, closed_world=kb.closed_world, notes=[*kb.notes, note]
    )


def biosyn_splits(corpus: BiosynCorpus, kb: KnowledgeBase) -> dict[str, list[Mention]]:
    """train = processed train + processed dev (BioSyn's ``traindev``), dev empty, test as processed."""
    train = [query_mention(q, kb) for q in corpus.queries.get(TRAIN, [])]
    train_ids = {m.id for m in train}
    dev = [
        query_mention(q, kb, id_prefix="dev:" if q.mention_id in train_ids else "") for q in corpus.queries.get(DEV, [])
    ]
    return {TRAIN: train + dev, DEV: [], TEST: [query_mention(q, kb) for q in corpus.queries.get(TEST, [])]}


TYPOS_FOR = {"ncbi-disease": NCBI_TYPOS}  # BioSyn passes --typo_path for NCBI-disease only
