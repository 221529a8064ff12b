"""exact and tfidf: real behaviour on a tiny KB, checked against brute force."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bench.linker import FitConfig
from bench.mention import Mention
from bench.registry import SYSTEMS


def test_exact_matches_normalised_names_only(tiny_benchmark, tiny_kb):
    linker = SYSTEMS.get("exact").from_settings({})
    linker.fit(tiny_benchmark.split("train"), [], tiny_kb, FitConfig())
    preds = linker.predict(tiny_benchmark.split("test"), tiny_kb, 5)
    assert [c.ids for c in preds[0]] == [frozenset({"D1"})]  # "Breast Cancer" -> breast cancer
    assert preds[1] == []  # "ovarian carcinoma" is not a KB name
    assert preds[2][0].ids == frozenset({"D3", "D4"})  # an ambiguous name keeps every id


def test_exact_can_memorise_training_mentions(tiny_kb):
    linker = SYSTEMS.get("exact").from_settings({"use_training_mentions": True})
    linker.fit([Mention("t", "BC", frozenset({"D1"}))], [], tiny_kb, FitConfig())
    assert linker.predict([Mention("q", "bc", frozenset({"D1"}))], tiny_kb, 1)[0][0].ids == frozenset({"D1"})


def test_tfidf_top_k_equals_brute_force_cosine(tiny_kb, tiny_benchmark):
    linker = SYSTEMS.get("tfidf").from_settings({"analyzer": "char_wb", "ngram_max": 3, "batch_size": 2})
    linker.fit([], [], tiny_kb, FitConfig())
    mentions = tiny_benchmark.split("test")
    preds = linker.predict(mentions, tiny_kb, 3)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), lowercase=False)
    names = list(tiny_kb.names)
    matrix = vectorizer.fit_transform(names)
    for mention, ranked in zip(mentions, preds):
        scores = (vectorizer.transform([mention.text.lower()]) @ matrix.T).toarray()[0]
        order = sorted(range(len(names)), key=lambda i: (-round(scores[i], 6), names[i]))[:3]
        assert [c.name for c in ranked] == [names[i] for i in order]
        assert np.allclose([c.score for c in ranked], [scores[i] for i in order], atol=1e-5)
        assert all(c.ids == tiny_kb.name_index[c.name] for c in ranked)


def test_tfidf_breaks_ties_by_name(tiny_kb):
    # "xyz" shares no n-gram with any name except through the space-padded
    # single characters, so many names tie; the order must be alphabetical.
    linker = SYSTEMS.get("tfidf").from_settings({"ngram_max": 1})
    linker.fit([], [], tiny_kb, FitConfig())
    first = linker.predict([Mention("q", "zz", frozenset())], tiny_kb, 10)[0]
    again = linker.predict([Mention("q", "zz", frozenset())], tiny_kb, 10)[0]
    assert first == again
    for a, b in zip(first, first[1:]):
        assert (-a.score, a.name) <= (-b.score, b.name)


def test_the_memorisation_floor_links_a_string_to_its_most_frequent_gold():
    """majority: the most frequent gold id set of a training string (ties by ids), before the KB."""
    from bench.kb import KnowledgeBase
    from bench.linker import FitConfig
    from bench.mention import Mention
    from bench.registry import SYSTEMS

    kb = KnowledgeBase("toy", {"D1": ["cold"], "D2": ["common cold"], "D3": ["chill"]})
    train = [
        Mention("t1", "Cold", frozenset({"D2"})),
        Mention("t2", "cold", frozenset({"D2"})),
        Mention("t3", "cold", frozenset({"D1"})),
        Mention("t4", "chills", frozenset({"D3"})),
        Mention("t5", "chills", frozenset({"D1"})),  # a tie: the smaller id set wins
    ]
    test = [Mention("e1", "cold", frozenset({"D2"})), Mention("e2", "chills", frozenset({"D1"}))]
    floor = SYSTEMS.get("exact").from_settings({"use_training_mentions": True, "memory_rule": "majority"})
    floor.fit(train, [], kb, FitConfig())
    assert [[c.ids for c in p] for p in floor.predict(test, kb, 1)] == [[{"D2"}], [{"D1"}]]
    union = SYSTEMS.get("exact").from_settings({"use_training_mentions": True})
    union.fit(train, [], kb, FitConfig())
    assert [[c.ids for c in p] for p in union.predict(test, kb, 1)] == [[{"D1"}], [{"D1", "D3"}]]


def test_a_train_only_floor_forgets_the_dev_strings():
    """memory_splits=train: the floor of a linker that never trains on dev (GenBioEL's COMETA, BC5CDR, AAP)."""
    from bench.kb import KnowledgeBase
    from bench.linker import FitConfig
    from bench.mention import Mention
    from bench.registry import SYSTEMS

    kb = KnowledgeBase("toy", {"D1": ["cold"], "D2": ["common cold"]})
    train = [Mention("t1", "sniffles", frozenset({"D2"}))]
    dev = [Mention("d1", "runny nose", frozenset({"D2"}))]
    test = [Mention("e1", "sniffles", frozenset({"D2"})), Mention("e2", "runny nose", frozenset({"D2"}))]
    settings = {"use_training_mentions": True, "memory_rule": "majority"}
    both = SYSTEMS.get("exact").from_settings(settings)
    both.fit(train, dev, kb, FitConfig())
    assert [[c.ids for c in p] for p in both.predict(test, kb, 1)] == [[{"D2"}], [{"D2"}]]
    train_only = SYSTEMS.get("exact").from_settings({**settings, "memory_splits": "train"})
    train_only.fit(train, dev, kb, FitConfig())
    assert [[c.ids for c in p] for p in train_only.predict(test, kb, 1)] == [[{"D2"}], []]
