"""Resolving annotated gold ids to the KB's canonical ids.

Corpora and KBs spell ids differently (``MESH:C535662`` vs ``C535662``; an OMIM
number listed as an alternative id of a MeSH concept). Resolution happens once,
at load time, so every system and metric sees the same ids. Ids the KB does not
know are kept (respelled) (such a mention can never be a hit) and counted by
``stats``: nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bench.kb import KnowledgeBase
from bench.mention import Mention


def resolve_gold(
    mentions: Iterable[Mention], kb: KnowledgeBase, spell: Callable[[str], str] = lambda i: i
) -> list[Mention]:
    """Mentions whose gold ids are respelled by ``spell`` and resolved through ``kb``."""

    def resolve(concept_id: str) -> str:
        spelled = spell(concept_id)
        return kb.resolve_id(spelled) or spelled

    return [m.with_gold([{resolve(i) for i in group} for group in m.gold_groups]) for m in mentions]


def missing_gold(mentions: Iterable[Mention], kb: KnowledgeBase) -> list[tuple[str, str]]:
    """(mention id, gold id) pairs whose gold id is not in the KB."""
    return [(m.id, i) for m in mentions for i in sorted(m.gold_ids) if i not in kb.concepts]
