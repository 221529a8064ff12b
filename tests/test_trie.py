"""The KB-name prefix trie: every name decodable and nothing else, transitions,
masks, tokenisation, persistence and the disk cache."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from generative_fixtures import tiny_names  # noqa: E402

from bench.generative.reference import DictTrie, build_dict_trie  # noqa: E402
from bench.generative.sequences import name_ids  # noqa: E402
from bench.generative.tokenizer import train_bpe_tokenizer  # noqa: E402
from bench.generative.trie import NameTrie, build_name_trie, cache_key, tokenize_names  # noqa: E402
from bench.kb import KnowledgeBase  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer():
    names = tiny_names()
    return train_bpe_tokenizer(names + ["breast carcinoma", "common colds"], vocab_size=300)


@pytest.fixture(scope="module")
def names() -> list[str]:
    return tiny_names()


@pytest.fixture(scope="module")
def trie(names, tokenizer) -> NameTrie:
    return build_name_trie(names, tokenizer)


def test_every_name_is_decodable_and_nothing_else(trie, names, tokenizer):
    expected = {(tuple(name_ids(tokenizer, name)), i) for i, name in enumerate(names)}
    stored = {(tuple(seq), i) for seq, i in trie.sequences()}
    assert stored == expected
    assert len(trie) == len(names) == trie.leaf_nodes.shape[0]
    for i, name in enumerate(names):
        ids = name_ids(tokenizer, name)
        assert trie.lookup(ids) == [i]
        assert trie.lookup(ids[:-1]) == []  # a prefix without EOS is not a name
    assert trie.max_depth == max(len(name_ids(tokenizer, n)) for n in names)


def test_step_follows_edges_and_rejects_the_rest(trie, names, tokenizer):
    ids = name_ids(tokenizer, names[3])
    node = torch.zeros(1, dtype=torch.int64)
    for token in ids:
        node = trie.step(node, torch.tensor([token]))
        assert int(node) > 0
    assert trie.names_at(int(node)) == [3]
    # the EOS leaf has no continuation
    assert int(trie.step(node, torch.tensor([ids[0]]))) == -1
    root_tokens = set(trie.children(0)[0].tolist())
    outside = next(t for t in range(trie.vocab_size) if t not in root_tokens)
    nodes = torch.tensor([0, 0, -1, 0, 0])
    tokens = torch.tensor([ids[0], outside, ids[0], -3, trie.vocab_size + 5])
    out = trie.step(nodes, tokens)
    assert int(out[0]) > 0 and out[1:].tolist() == [-1, -1, -1, -1]


def brute_force_allowed(prefix: list[int], sequences: list[list[int]]) -> set[int]:
    return {s[len(prefix)] for s in sequences if len(s) > len(prefix) and s[: len(prefix)] == prefix}


def test_prefix_masking_matches_brute_force(trie, names, tokenizer):
    sequences = [name_ids(tokenizer, n) for n in names]
    prefixes = {tuple(s[:k]) for s in sequences for k in range(len(s))}
    prefixes = sorted(prefixes)
    nodes = torch.stack([trie.walk(torch.tensor([list(p)], dtype=torch.int64))[0] for p in prefixes])
    mask = trie.allowed_mask(nodes)
    assert mask.shape == (len(prefixes), trie.vocab_size)
    for row, prefix in enumerate(prefixes):
        assert set(mask[row].nonzero().reshape(-1).tolist()) == brute_force_allowed(list(prefix), sequences)


def test_a_name_that_prefixes_another_allows_eos_and_continuation(trie, tokenizer):
    cold = name_ids(tokenizer, "cold")
    cold_sensation = name_ids(tokenizer, "cold sensation")
    assert cold_sensation[: len(cold) - 1] == cold[:-1]
    node = trie.walk(torch.tensor([cold[:-1]]))
    allowed = set(trie.allowed_mask(node)[0].nonzero().reshape(-1).tolist())
    assert tokenizer.eos_token_id in allowed
    assert cold_sensation[len(cold) - 1] in allowed


def test_allowed_mask_rows_are_independent_of_order_and_duplicates(trie, names, tokenizer):
    walks = [trie.walk(torch.tensor([name_ids(tokenizer, n)[:2]]))[0] for n in names[:6]]
    nodes = torch.stack([*walks, torch.tensor(0), torch.tensor(-1), walks[0]])
    mask = trie.allowed_mask(nodes)
    perm = torch.randperm(nodes.shape[0], generator=torch.Generator().manual_seed(0))
    assert torch.equal(trie.allowed_mask(nodes[perm]), mask[perm])
    assert not mask[-2].any()  # invalid node: nothing allowed
    assert torch.equal(mask[-1], mask[0])


def test_tokenisation_modes_agree_with_name_ids(names, tokenizer):
    expected = [name_ids(tokenizer, n) for n in names]
    for mode in ("direct", "by_word"):
        flat, lengths, used = tokenize_names(tokenizer, names, mode=mode)
        assert used == mode
        ends = np.cumsum(lengths)
        assert [flat[e - n : e].tolist() for e, n in zip(ends, lengths)] == expected
    # non-normalised input is normalised as name_ids does
    flat, lengths, _ = tokenize_names(tokenizer, ["  Breast   CANCER "], mode="by_word")
    assert flat.tolist() == name_ids(tokenizer, "breast cancer")


def test_invalid_sequences_are_refused():
    with pytest.raises(ValueError, match="end with EOS"):
        NameTrie.from_sequences([[5, 6]], vocab_size=10, eos_token_id=2)
    with pytest.raises(ValueError, match="EOS inside"):
        NameTrie.from_sequences([[5, 2, 6, 2]], vocab_size=10, eos_token_id=2)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        NameTrie.from_sequences([[12, 2]], vocab_size=10, eos_token_id=2)


def test_identical_sequences_map_to_every_name():
    trie = NameTrie.from_sequences([[5, 6, 2], [5, 2], [5, 6, 2]], vocab_size=10, eos_token_id=2)
    assert trie.lookup([5, 6, 2]) == [0, 2]
    assert trie.lookup([5, 2]) == [1]
    assert trie.n_nodes == 5  # root, 5, 5-6, 5-6-EOS, 5-EOS


def test_save_load_round_trip(tmp_path, trie, names, tokenizer):
    path = tmp_path / "t.npz"
    trie.save(path)
    loaded = NameTrie.load(path)
    assert np.array_equal(loaded.keys, trie.keys)
    assert np.array_equal(loaded.leaf_nodes, trie.leaf_nodes)
    assert np.array_equal(loaded.leaf_names, trie.leaf_names)
    assert (loaded.vocab_size, loaded.eos_token_id, loaded.n_names, loaded.max_depth) == (
        trie.vocab_size,
        trie.eos_token_id,
        trie.n_names,
        trie.max_depth,
    )
    assert sorted(loaded.sequences()) == sorted(trie.sequences())


def test_disk_cache_is_reused_and_rebuilt_when_names_change(tmp_path, names, tokenizer):
    first = build_name_trie(names, tokenizer, cache_dir=tmp_path)
    assert not first.stats.cached and len(list(tmp_path.glob("trie-*.npz"))) == 1
    again = build_name_trie(names, tokenizer, cache_dir=tmp_path)
    assert again.stats.cached and again.stats.path == first.stats.path
    assert np.array_equal(again.keys, first.keys)
    changed = build_name_trie([*names, "zz new name"], tokenizer, cache_dir=tmp_path)
    assert not changed.stats.cached and changed.stats.path != first.stats.path
    assert changed.lookup(name_ids(tokenizer, "zz new name")) == [len(names)]
    other_tokenizer = train_bpe_tokenizer(names, vocab_size=280)
    assert cache_key(names, other_tokenizer) != cache_key(names, tokenizer)
    assert len(list(tmp_path.glob("trie-*.npz"))) == 2


def test_kb_names_round_trip_through_name_index(tokenizer):
    kb = KnowledgeBase("k", {"D1": ["Cold", "common cold"], "D2": ["cold"], "D3": ["Breast Cancer"]})
    trie = build_name_trie(kb.names, tokenizer)
    hit = trie.lookup(name_ids(tokenizer, "COLD"))
    assert [kb.names[i] for i in hit] == ["cold"]
    assert kb.name_index[kb.names[hit[0]]] == frozenset({"D1", "D2"})


def test_dict_trie_agrees_with_the_array_trie(trie, names, tokenizer):
    dict_trie = build_dict_trie(names, tokenizer)
    assert isinstance(dict_trie, DictTrie) and len(dict_trie) == len(names)
    for name in names[:10]:
        ids = name_ids(tokenizer, name)
        for k in range(len(ids)):
            node = trie.walk(torch.tensor([ids[:k]]))
            assert set(dict_trie.get(ids[:k])) == set(trie.allowed_mask(node)[0].nonzero().reshape(-1).tolist())
    assert dict_trie.get([10_000]) == []
