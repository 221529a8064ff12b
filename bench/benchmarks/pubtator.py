"""PubTator format (NCBI-disease, BC5CDR, MedMentions): documents and mentions.

A document is a title line ``PMID|t|...``, an abstract line ``PMID|a|...`` and
tab-separated annotation lines ``PMID start end text type ids [extra]``;
documents are separated by blank lines. Offsets index the title and abstract
joined by one space. BC5CDR adds relation lines ``PMID CID id id``, which are
not mentions and are skipped by kind, not by accident.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench.benchmarks.textio import iter_lines
from bench.errors import DataFormatError
from bench.mention import COMPOSITE_SEPARATORS, Mention, parse_gold_ids

_TEXT_LINE = re.compile(r"^([^\t|]+)\|([ta])\|(.*)$")


@dataclass
class Annotation:
    start: int
    end: int
    text: str
    type: str
    ids: str
    extra: tuple[str, ...]
    line: int


@dataclass
class Document:
    pmid: str
    title: str
    abstract: str
    annotations: list[Annotation] = field(default_factory=list)
    line: int = 0
    doc_id: str = ""

    def __post_init__(self) -> None:
        self.doc_id = self.doc_id or self.pmid

    @property
    def text(self) -> str:
        return f"{self.title} {self.abstract}"


# The id forms of the PubTator benchmarks here (NCBI-disease, BC5CDR): MeSH descriptors and
# supplementary concepts (D/C + digits, optionally MESH:), OMIM numbers (optionally OMIM:), and
# BC5CDR's -1 for "no MeSH concept". Each part of a composite (| or +) must have one of them.
MESH_OMIM_IDS = re.compile(r"(?:MESH:)?[CD]\d{6,9}|(?:OMIM:)?\d{6}|-1")


def read_pubtator(path: str | Path, id_form: re.Pattern[str] | None = None) -> list[Document]:
    """Parse a PubTator file, checking every span against the document text.

    With ``id_form``, every part of every concept id field must match it in
    full; junk such as ``2971Z2003`` is an error naming the line.
    """
    path = Path(path)
    documents: list[Document] = []
    current: Document | None = None
    pending_title: tuple[str, str, int] | None = None
    spans: dict[tuple[int, int, str], int] = {}  # (start, end, type) -> line, in the current document
    for number, line in iter_lines(path):
        if not line.strip():
            if pending_title is not None:
                raise DataFormatError(path, number, "title line without an abstract line")
            current = None
            continue
        text_line = _TEXT_LINE.match(line)
        if text_line and text_line.group(2) == "t":
            if pending_title is not None:
                raise DataFormatError(path, number, "title line follows a title line (missing abstract)")
            pending_title = (text_line.group(1), text_line.group(3), number)
            continue
        if text_line:
            pmid, abstract = text_line.group(1), text_line.group(3)
            if pending_title is None or pending_title[0] != pmid:
                raise DataFormatError(path, number, f"abstract of {pmid!r} without its title line")
            current = Document(pmid, pending_title[1], abstract, line=pending_title[2])
            spans = {}
            documents.append(current)
            pending_title = None
            continue
        fields = line.split("\t")
        if current is None:
            raise DataFormatError(path, number, "annotation line outside a document (missing title/abstract?)")
        if fields[0] != current.pmid:
            raise DataFormatError(path, number, f"annotation for {fields[0]!r} inside document {current.pmid!r}")
        if len(fields) == 4 and fields[1] in {"CID", "CIDRel"}:
            continue  # a relation, not a mention
        if len(fields) < 6:
            raise DataFormatError(path, number, f"expected at least 6 tab-separated fields, got {len(fields)}")
        try:
            start, end = int(fields[1]), int(fields[2])
        except ValueError:
            raise DataFormatError(path, number, f"offsets must be integers, got {fields[1]!r} {fields[2]!r}") from None
        text = current.text
        if not 0 <= start < end <= len(text):
            raise DataFormatError(path, number, f"span {start}-{end} outside the document ({len(text)} chars)")
        # The official NCBI files carry a few mention strings with trailing
        # blanks; whitespace at the edges is tolerated, any other mismatch is not.
        if text[start:end].strip() != fields[3].strip():
            raise DataFormatError(
                path, number, f"span {start}-{end} reads {text[start:end]!r}, the line says {fields[3]!r}"
            )
        if not fields[5].strip():
            raise DataFormatError(path, number, "empty concept id field")
        if not fields[4].strip():
            raise DataFormatError(path, number, "empty entity type field")
        if id_form is not None:
            for part in (p.strip() for p in COMPOSITE_SEPARATORS.split(fields[5].strip())):
                if not id_form.fullmatch(part):
                    shown = part if len(part) <= 40 else part[:40] + "..."
                    raise DataFormatError(path, number, f"concept id {shown!r} is not a MeSH, OMIM or -1 id")
        first = spans.setdefault((start, end, fields[4]), number)
        if first != number:
            raise DataFormatError(
                path, number, f"annotation {start}-{end} {fields[4]} repeats the one on line {first} (duplicated line?)"
            )
        current.annotations.append(
            Annotation(start, end, text[start:end], fields[4], fields[5].strip(), tuple(fields[6:]), number)
        )
    if pending_title is not None:
        raise DataFormatError(path, pending_title[2], "title line without an abstract line")
    if not documents:
        raise DataFormatError(path, None, "no document in the file (empty or not PubTator)")
    # The official NCBI training file holds PMID 8528200 twice, and the
    # published mention counts include both copies; a repeated PMID is kept
    # as a document of its own with the id "PMID#2" so that mention ids stay unique.
    occurrences: dict[str, int] = {}
    for document in documents:
        occurrences[document.pmid] = occurrences.get(document.pmid, 0) + 1
        if occurrences[document.pmid] > 1:
            document.doc_id = f"{document.pmid}#{occurrences[document.pmid]}"
    return documents


def pubtator_mentions(
    documents: Iterable[Document], types: Iterable[str] | None = None, path: str | Path = "?"
) -> list[Mention]:
    """Mentions of the given entity types (all when None), in file order.

    The id ``PMID:start-end`` is stable; when two annotations share a span (one
    per entity type in some corpora) the type is appended.
    """
    wanted = set(types) if types is not None else None
    mentions: list[Mention] = []
    for document in documents:
        used: set[str] = set()
        for annotation in document.annotations:
            if wanted is not None and annotation.type not in wanted:
                continue
            mention_id = f"{document.doc_id}:{annotation.start}-{annotation.end}"
            if mention_id in used:
                mention_id = f"{mention_id}:{annotation.type}"
            if mention_id in used:
                raise DataFormatError(path, annotation.line, f"duplicate annotation {mention_id}")
            used.add(mention_id)
            groups = parse_gold_ids(annotation.ids)
            mentions.append(
                Mention(
                    id=mention_id,
                    text=annotation.text,
                    gold_ids=frozenset().union(*groups),
                    doc_id=document.doc_id,
                    span=(annotation.start, annotation.end),
                    context=document.text,
                    entity_type=annotation.type,
                    gold_groups=groups,
                )
            )
    return mentions
