"""The ``genbioel`` profile: the data as GenBioEL prepared it and ANGEL evaluated on it.

Per benchmark, following Yuanhy1997/GenBioEL ``src/data_utils/<benchmark>/prepare_dataset.py``
and ``use_all.py`` (facts with file and line in ``datasets/protocols/genbioel.md``):

- **NCBI-disease** starts from BioSyn's processed output (:mod:`profile_biosyn`): the
  mentions lower-cased; a composite keeps only its first ``|`` piece as the input in
  every split with the whole id set as gold (``if 'test' or 'dev' in part: break`` is
  always true); training = train + dev with multi-id mentions removed; dev separate;
  the KB is BioSyn's ``test_dictionary`` through ``conv``, no cross-id de-duplication.
- **BC5CDR**: a 7-column composite is split into single-id mentions when its pieces
  joined by spaces are the span text, or, with two ids, at `` and `` / `` or ``;
  any other 7-column composite is dropped; a mention that *is* a short form of its
  document (Ab3P, case-sensitive) becomes the long form; everything lower-cased;
  a mention whose id is not a KB key is dropped in every split, test included; the
  KB's names go through ``conv`` and a name shared by several ids is kept for the
  id with the fewest names only (:func:`deduplicate_names`).
- **COMETA**: the term lower-cased; a mention whose (general) id is not in the KB
  is dropped; KB as BC5CDR's.
- **AskAPatient**: the phrase through ``conv`` without strip or whitespace collapse,
  lower-cased; training lines dropped by ``clean_aap_dataset`` (same id as the
  previous kept line and the phrase equal to the label); KB names through ``conv``,
  de-duplicated only where an id keeps another name.
- **MedMentions ST21pv**: lower-cased with the whole-mention Ab3P rule; nothing dropped.

Names are lower-cased in every KB (the peers' tries lower-case names and their
evaluators match decoded lower-case strings exactly; their BC5CDR/COMETA builders
leave the case, so this is an inference written on the card).

``genbioel-fixed`` corrects GenBioEL's two quirks: composite test/dev mentions keep
every part (NCBI), and shared names stay with every id (no de-duplication).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from bench.benchmark import DEV, TEST, TRAIN
from bench.benchmarks.biosyn_composites import split_ids
from bench.benchmarks.peer_text import genbioel_conv, genbioel_expand
from bench.benchmarks.profile_biosyn import BiosynCorpus, BiosynQuery, query_mention
from bench.benchmarks.pubtator import Annotation, Document
from bench.kb import KnowledgeBase
from bench.mention import Mention

# --- the KB ---------------------------------------------------------------------------------


def deduplicate_names(concepts: dict[str, list[str]], *, keep_last_name: bool = False) -> int:
    """GenBioEL's cross-id de-duplication, in place; returns how many (id, name) pairs it removed.

    A name listed under several ids stays only with the id that has the fewest
    names at that moment (the first such id in KB order on a tie), and is removed
    from the others. GenBioEL visits the shared names in Python set order (hash
    dependent, so not reproducible); we visit them sorted, which fixes one of its
    possible outcomes. ``keep_last_name`` is its AskAPatient variant: a name is
    removed from an id only while that id keeps another name.
    """
    holders: dict[str, list[str]] = {}
    for concept_id, names in concepts.items():
        for name in names:
            holders.setdefault(name, []).append(concept_id)
    removed = 0
    for name in sorted(n for n, ids in holders.items() if len(ids) > 1):
        ids = holders[name]
        winner = ids[0]
        for concept_id in ids[1:]:
            if len(concepts[concept_id]) < len(concepts[winner]):
                winner = concept_id
        for concept_id in ids:
            if concept_id == winner or name not in concepts[concept_id]:
                continue
            if keep_last_name and len(concepts[concept_id]) <= 1:
                continue
            concepts[concept_id].remove(name)
            removed += 1
    return removed


def genbioel_kb(
    kb: KnowledgeBase,
    counts: Counter,
    *,
    dedup: bool = True,
    keep_last_name: bool = False,
    normalise: Callable[[str], str] = genbioel_conv,
) -> KnowledgeBase:
    """The KB's names through ``conv`` (lower-cased), de-duplicated across ids, each id's names by length."""
    concepts: dict[str, list[str]] = {}
    for concept_id, names in kb.concepts.items():
        processed = [normalise(n) for n in names]
        kept = list(dict.fromkeys(p for p in processed if p))
        counts["KB names changed by conv"] += sum(p != n for p, n in zip(processed, names))
        counts["KB names merged with another name of the concept"] += len(names) - len(kept)
        concepts[concept_id] = kept
    if dedup:
        counts["KB names removed from all but one id (shared names)"] = deduplicate_names(
            concepts, keep_last_name=keep_last_name
        )
    empty = [cid for cid, names in concepts.items() if not names]
    counts["concepts left without a name"] = len(empty)
    kept_concepts = {cid: sorted(names, key=len) for cid, names in concepts.items() if names}
    alt_ids = {alt: target for alt, target in kb.alt_ids.items() if target in kept_concepts}
    note = "genbioel profile: names through GenBioEL's conv (lower-cased), sorted by length" + (
        "; a name shared by several ids kept for the id with the fewest names only" if dedup else ""
    )
    return KnowledgeBase(
        f"{kb.name}, GenBioEL names", kept_concepts, alt_ids, closed_world=kb.closed_world, notes=[*kb.notes, note]
    )


# --- NCBI-disease: from BioSyn's output ----------------------------------------------------------


def _first_piece(query: BiosynQuery, kb: KnowledgeBase, id_prefix: str = "") -> Mention:
    """GenBioEL's NCBI mention: the first ``|`` piece of BioSyn's string, gold = all its ids."""
    whole = query_mention(query, kb, id_prefix=id_prefix)
    first = query.text.split("|")[0].strip().lower()
    return replace(whole, text=first, parts=())


def genbioel_ncbi_splits(
    corpus: BiosynCorpus, kb: KnowledgeBase, counts: dict[str, Counter], *, fixed: bool = False
) -> dict[str, list[Mention]]:
    """train = BioSyn train + dev without multi-id mentions; dev and test with the first-piece quirk."""
    make = (lambda q, k, p="": query_mention(q, k, id_prefix=p)) if fixed else _first_piece
    splits: dict[str, list[Mention]] = {}
    for split in (DEV, TEST):
        queries = corpus.queries.get(split, [])
        counts[split]["composite reduced to its first piece"] = 0 if fixed else sum("|" in q.text for q in queries)
        splits[split] = [make(q, kb) for q in queries]
    train: list[Mention] = []
    for split in (TRAIN, DEV):
        for query in corpus.queries.get(split, []):
            if len(split_ids(query.cui)[0]) > 1:
                counts[TRAIN][f"dropped: {split} mention with several ids (training only)"] += 1
                continue
            train.append(make(query, kb, "dev:" if split == DEV else ""))
            counts[TRAIN]["dev mentions merged into train"] += split == DEV
    splits[TRAIN] = train
    return splits


# --- BC5CDR ----------------------------------------------------------------------------------


def split_bc5cdr_composite(annotation: Annotation) -> list[tuple[int, int, str, str]] | None:
    """GenBioEL's ``read_bc5cdr`` on a 7-column composite: (start, end, text, id) per piece, None = dropped."""
    ids = annotation.ids.split("|")
    pieces = annotation.extra[0].split("|")
    text = annotation.text
    if " ".join(pieces) == text:
        separators = [(piece, 1) for piece in pieces]
    elif len(ids) == 2 and " and " in text:
        separators = [(piece, 5) for piece in text.split(" and ")]
    elif len(ids) == 2 and " or " in text:
        separators = [(piece, 4) for piece in text.split(" or ")]
    else:
        return None
    found = []
    offset = 0
    for (piece, gap), concept_id in zip(separators, ids):  # zip: the shorter list decides, as in GenBioEL
        start = annotation.start + offset
        found.append((start, start + len(piece), piece, concept_id))
        offset += gap + len(piece)
    return found


def genbioel_bc5cdr_splits(
    documents: Mapping[str, Sequence[Document]],
    abbreviations: Mapping[str, Mapping[str, str]],
    kb: KnowledgeBase,
    entity_types: Sequence[str],
    counts: dict[str, Counter],
) -> dict[str, list[Mention]]:
    """Every split as GenBioEL's BC5CDR script builds it (module docstring)."""
    splits: dict[str, list[Mention]] = {}
    for split, docs in documents.items():
        c = counts[split]
        mentions: list[Mention] = []
        for document in docs:
            pairs = abbreviations.get(document.doc_id, {})
            used: set[str] = set()
            for annotation in document.annotations:
                if annotation.type not in entity_types:
                    continue
                c["mentions read"] += 1
                pieces = [(annotation.start, annotation.end, annotation.text, annotation.ids)]
                if annotation.extra and "|" in annotation.ids:
                    split_pieces = split_bc5cdr_composite(annotation)
                    if split_pieces is None:
                        c["dropped: composite its script cannot split"] += 1
                        continue
                    c["composite split into single-id mentions"] += 1
                    pieces = split_pieces
                for start, end, text, concept_id in pieces:
                    if concept_id not in kb.concepts:
                        c["dropped: id not in the KB"] += 1
                        continue
                    expanded = genbioel_expand(text, pairs)
                    c["abbreviation expanded"] += expanded != text.lower()
                    mention_id = f"{document.doc_id}:{start}-{end}"
                    if mention_id in used:
                        mention_id = f"{mention_id}:{annotation.type}"
                    used.add(mention_id)
                    mentions.append(
                        Mention(
                            id=mention_id,
                            text=expanded,
                            gold_ids=frozenset({concept_id}),
                            doc_id=document.doc_id,
                            span=(start, end),
                            context=document.text,
                            entity_type=annotation.type,
                        )
                    )
        c["mentions kept"] = len(mentions)
        splits[split] = mentions
    return splits


# --- COMETA, AskAPatient, MedMentions --------------------------------------------------------


def lowercase_and_drop_missing(
    splits: Mapping[str, Sequence[Mention]], kb: KnowledgeBase, counts: dict[str, Counter], *, drop: bool
) -> dict[str, list[Mention]]:
    """COMETA's steps: the term lower-cased, and (``drop``) a mention whose gold is not in the KB dropped."""
    result: dict[str, list[Mention]] = {}
    for split, mentions in splits.items():
        kept = []
        for mention in mentions:
            if drop and not all(i in kb.concepts for i in mention.gold_ids):
                counts[split]["dropped: id not in the KB"] += 1
                continue
            counts[split]["string normalised"] += mention.text.lower() != mention.text
            kept.append(replace(mention, text=mention.text.lower()))
        counts[split]["mentions kept"] = len(kept)
        result[split] = kept
    return result


def aap_phrase(text: str) -> str:
    """GenBioEL's AskAPatient phrase: conv's characters to spaces, no strip or collapse, lower-cased."""
    return genbioel_conv(text, strip=False, collapse=False).lower()


def clean_aap_training(mentions: Sequence[Mention], labels: Mapping[str, str], counts: Counter) -> list[Mention]:
    """``clean_aap_dataset``: drop a line whose id is the previous kept line's and whose phrase is its label."""
    kept: list[Mention] = []
    previous: str | None = None
    for mention in mentions:
        concept_id = next(iter(sorted(mention.gold_ids)))
        if concept_id == previous and labels.get(mention.id) == mention.text:
            counts["dropped: repeats the previous line's id with the label as phrase"] += 1
            continue
        previous = concept_id
        kept.append(mention)
    return kept


def genbioel_aap_splits(
    splits: Mapping[str, Sequence[Mention]], labels: Mapping[str, str], counts: dict[str, Counter]
) -> dict[str, list[Mention]]:
    result: dict[str, list[Mention]] = {}
    for split, mentions in splits.items():
        if split == TRAIN:
            mentions = clean_aap_training(mentions, labels, counts[split])
        result[split] = [replace(m, text=aap_phrase(m.text)) for m in mentions]
        counts[split]["string normalised"] += sum(a.text != b.text for a, b in zip(mentions, result[split]))
        counts[split]["mentions kept"] = len(result[split])
    return result


def expand_whole_mentions(
    splits: Mapping[str, Sequence[Mention]], abbreviations: Mapping[str, Mapping[str, str]], counts: dict[str, Counter]
) -> dict[str, list[Mention]]:
    """MedMentions: the whole-mention Ab3P rule and lower-casing, nothing dropped."""
    result: dict[str, list[Mention]] = {}
    for split, mentions in splits.items():
        out = []
        for mention in mentions:
            expanded = genbioel_expand(mention.text, abbreviations.get(mention.doc_id or "", {}))
            counts[split]["abbreviation expanded"] += expanded != mention.text.lower()
            out.append(replace(mention, text=expanded))
        counts[split]["mentions kept"] = len(out)
        result[split] = out
    return result
