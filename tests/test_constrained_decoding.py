"""Constrained decoding: the trie LogitsProcessor and batched beam search against
the reference (HF ``generate`` with ``prefix_allowed_tokens_fn`` over a dict
trie, one mention at a time), on a tiny random BART."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from generative_fixtures import tiny_names  # noqa: E402
from transformers.generation.logits_process import PrefixConstrainedLogitsProcessor  # noqa: E402

from bench.generative.constrained import TrieLogitsProcessor  # noqa: E402
from bench.generative.decoding import DecodeConfig, DecodeStats, concept_ids, decode, encode_inputs  # noqa: E402
from bench.generative.model import SmallBartSize, small_bart  # noqa: E402
from bench.generative.reference import build_dict_trie, reference_decode  # noqa: E402
from bench.generative.sequences import name_ids  # noqa: E402
from bench.generative.tokenizer import train_bpe_tokenizer  # noqa: E402
from bench.generative.trie import build_name_trie  # noqa: E402
from bench.kb import KnowledgeBase  # noqa: E402

MENTIONS = [
    "cold",
    "breast carcinoma",
    "type 2 diabetes",
    "renal failure",
    "common colds",
    "ovarian cancer type 2 diabetes renal",
    "x",
    "breast",
    "cancer of the breast",
    "sensation",
]


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    names = tiny_names()
    tokenizer = train_bpe_tokenizer(names + MENTIONS, vocab_size=300)
    torch.manual_seed(0)
    model = small_bart(tokenizer, SmallBartSize(d_model=32, layers=1, heads=2, ffn=64, max_positions=128)).eval()
    with torch.no_grad():  # spread the random model's scores so that beams differ clearly
        model.model.shared.weight.normal_(0, 1.0)
    trie = build_name_trie(names, tokenizer)
    dict_trie = build_dict_trie(names, tokenizer)
    sources = [f"START {m} END" for m in MENTIONS]
    return model, tokenizer, names, trie, dict_trie, sources


def assert_same_ranking(ours, reference, rel=1e-5):
    """Identical names in identical order; scores equal up to float noise
    (batch composition changes the last bits). A swap is accepted only where
    the two scores tie."""
    assert len(ours) == len(reference)
    for got, want in zip(ours, reference):
        assert len(got) == len(want)
        for (name, score), (want_name, want_score) in zip(got, want):
            assert score == pytest.approx(want_score, rel=rel, abs=1e-6)
            if name != want_name:
                tied = [s for n, s in want if n == name]
                assert tied and tied[0] == pytest.approx(want_score, rel=rel, abs=1e-6), (got, want)


def test_decode_returns_kb_names_best_first_and_is_deterministic(setup):
    model, tokenizer, names, trie, _, sources = setup
    config = DecodeConfig(num_beams=5, num_return=4, batch_size=4)
    out = decode(model, tokenizer, trie, names, sources, MENTIONS, config)
    assert len(out) == len(MENTIONS)
    for hits in out:
        assert len(hits) == 4
        assert len({n for n, _ in hits}) == 4
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        for name, score in hits:
            assert name in names and math.isfinite(score) and score < 0
            # the returned string is the name whose ids were generated
            assert [names[i] for i in trie.lookup(name_ids(tokenizer, name))] == [name]
    assert decode(model, tokenizer, trie, names, sources, MENTIONS, config) == out


def test_batches_mix_prompt_lengths(setup):
    model, tokenizer, _, _, _, sources = setup
    _, prompts = encode_inputs(model, tokenizer, sources, MENTIONS)
    assert len({len(p) for p in prompts}) >= 4


@pytest.mark.parametrize(
    "config",
    [
        DecodeConfig(batch_size=4),
        DecodeConfig(batch_size=3, num_beams=4, num_return=3, length_penalty=0.5, temperature=0.7),
        DecodeConfig(batch_size=10, early_stopping=True),
        DecodeConfig(batch_size=10, early_stopping="never", length_penalty=2.0),
    ],
    ids=["default", "lp-temperature", "early-stop", "never-lp2"],
)
def test_decode_equals_reference_at_batch_one(setup, config):
    model, tokenizer, names, trie, dict_trie, sources = setup
    ours = decode(model, tokenizer, trie, names, sources, MENTIONS, config)
    reference = reference_decode(model, tokenizer, dict_trie, names, sources, MENTIONS, config, batch_size=1)
    assert_same_ranking(ours, reference)
    via_generate = decode(model, tokenizer, trie, names, sources, MENTIONS, config, engine="generate")
    assert_same_ranking(via_generate, reference)


def test_reference_at_the_same_batch_size_agrees(setup):
    model, tokenizer, names, trie, dict_trie, sources = setup
    config = DecodeConfig(batch_size=4)
    ours = decode(model, tokenizer, trie, names, sources, MENTIONS, config)
    batched = reference_decode(model, tokenizer, dict_trie, names, sources, MENTIONS, config, batch_size=4)
    assert_same_ranking(ours, batched)


def test_fewer_names_than_beams(setup):
    model, tokenizer, _, _, _, sources = setup
    few = ["breast", "cold", "cold sensation"]
    trie = build_name_trie(few, tokenizer)
    config = DecodeConfig(num_beams=5, num_return=5, batch_size=4)
    ours = decode(model, tokenizer, trie, few, sources, MENTIONS, config)
    reference = reference_decode(model, tokenizer, build_dict_trie(few, tokenizer), few, sources, MENTIONS, config)
    assert all(sorted(n for n, _ in hits) == few for hits in ours)
    assert_same_ranking(ours, reference)


def test_generated_names_map_to_all_their_concept_ids(setup):
    model, tokenizer, _, _, _, sources = setup
    kb = KnowledgeBase("k", {"D1": ["Cold", "common cold"], "D2": ["cold", "cold sensation"], "D3": ["breast"]})
    trie = build_name_trie(kb.names, tokenizer)
    out = decode(model, tokenizer, trie, kb.names, sources, MENTIONS, DecodeConfig(num_beams=4, num_return=4))
    linked = concept_ids(out, kb.name_index)
    for hits, ids in zip(out, linked):
        assert sorted(n for n, _ in hits) == sorted(kb.names)
        for (name, score), (concepts, same_score) in zip(hits, ids):
            assert concepts == kb.name_index[name] and same_score == score
        assert dict(zip((n for n, _ in hits), (c for c, _ in ids)))["cold"] == frozenset({"D1", "D2"})


def test_stats_measure_the_constraint(setup):
    model, tokenizer, names, trie, _, sources = setup
    for engine in ("fast", "generate"):
        stats = DecodeStats()
        decode(model, tokenizer, trie, names, sources, MENTIONS, DecodeConfig(batch_size=5), stats=stats, engine=engine)
        assert stats.mentions == len(MENTIONS) and stats.batches >= 2
        assert 0 < stats.constraint_seconds < stats.seconds
        assert 0 < stats.constraint_share < 1 and stats.mentions_per_second > 0


def test_config_is_validated():
    with pytest.raises(ValueError, match="num_return"):
        DecodeConfig(num_beams=3, num_return=5)
    with pytest.raises(ValueError, match="temperature"):
        DecodeConfig(temperature=0)


# --- the LogitsProcessor ------------------------------------------------------
def reference_mask(dict_trie, eos, prompt_length, num_beams, input_ids, vocab):
    def allowed(batch_id, sent):
        return dict_trie.get(sent[prompt_length:].tolist()) or [eos]

    processor = PrefixConstrainedLogitsProcessor(allowed, num_beams)
    return torch.isfinite(processor(input_ids, torch.zeros(input_ids.shape[0], vocab)))


def simulate_beams(trie, items, beams, steps, seed, prompt_length=3):
    """Histories of ``items * beams`` rows as beam search builds them: each step
    every row extends a random beam of its item (rows reordered) by a random
    allowed token, now and then a token outside the trie (a dead row)."""
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randint(5, 50, (items * beams, prompt_length), generator=generator)
    history = [(rows, None)]
    for _ in range(steps):
        parents = torch.randint(0, beams, (items, beams), generator=generator)
        parents = (parents + torch.arange(items)[:, None] * beams).reshape(-1)
        previous = rows[parents]
        nodes = trie.walk(previous[:, prompt_length:])
        mask = trie.allowed_mask(nodes)
        tokens = []
        for r in range(previous.shape[0]):
            choices = mask[r].nonzero().reshape(-1)
            if choices.numel() == 0 or torch.rand(1, generator=generator) < 0.1:
                tokens.append(int(torch.randint(0, trie.vocab_size, (1,), generator=generator)))
            else:
                tokens.append(int(choices[torch.randint(0, choices.numel(), (1,), generator=generator)]))
        rows = torch.cat((previous, torch.tensor(tokens)[:, None]), dim=1)
        history.append((rows, parents))
    return history


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_processor_masks_match_the_reference_whatever_the_row_order(setup, seed):
    _, tokenizer, _, trie, dict_trie, _ = setup
    items, beams, prompt_length = 3, 4, 3
    history = simulate_beams(trie, items, beams, steps=6, seed=seed, prompt_length=prompt_length)
    eos = tokenizer.eos_token_id
    incremental = TrieLogitsProcessor(trie, prompt_length, num_beams=beams)
    hinted = TrieLogitsProcessor(trie, prompt_length, num_beams=beams)
    scratch = TrieLogitsProcessor(trie, prompt_length, num_beams=beams, mode="scratch")
    shuffled = TrieLogitsProcessor(trie, prompt_length, num_beams=beams)
    generator = torch.Generator().manual_seed(100 + seed)
    for rows, parents in history:
        scores = torch.randn(rows.shape[0], trie.vocab_size, generator=generator)
        want = reference_mask(dict_trie, eos, prompt_length, beams, rows, trie.vocab_size)
        if parents is not None:
            hinted.reorder(parents)
        for processor in (incremental, hinted, scratch):
            out = processor(rows, scores)
            assert torch.equal(torch.isfinite(out), want)
            assert torch.equal(out[want], scores[want])  # allowed scores untouched
        # the same rows in another order (beams permuted within each item)
        perm = torch.cat([torch.randperm(beams, generator=generator) + i * beams for i in range(items)])
        assert torch.equal(torch.isfinite(shuffled(rows[perm], scores[perm])), want[perm])
    assert incremental.fallback_rows == 0 and incremental.calls == len(history)
    assert incremental.elapsed > 0


def test_processor_pads_wider_logits_and_rejects_narrower(setup):
    _, _, _, trie, _, _ = setup
    processor = TrieLogitsProcessor(trie, prompt_length=2)
    rows = torch.tensor([[7, 8], [7, 8]])
    out = processor(rows, torch.zeros(2, trie.vocab_size + 6))
    assert torch.isinf(out[:, trie.vocab_size :]).all()
    with pytest.raises(ValueError):
        processor(rows, torch.zeros(2, trie.vocab_size - 1))
