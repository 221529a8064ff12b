"""The released models' conventions and checkpoint evaluation, on a tiny stand-in saved in
their layout (tests/released_standin.py): prompt, trie, ranking, both searches, eval-only runs."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from conftest import run_cli  # noqa: E402
from released_standin import perturb_weights, save_released_standin  # noqa: E402

from bench.errors import BenchError  # noqa: E402
from bench.generative.conventions import BENCH, RELEASED, resolve_convention, resolve_search  # noqa: E402
from bench.generative.decoding import DecodeConfig, decode, encode_inputs  # noqa: E402
from bench.generative.model import load_pretrained  # noqa: E402
from bench.generative.reference import build_dict_trie, fairseq_reference_decode, reference_decode  # noqa: E402
from bench.generative.sequences import decoder_example  # noqa: E402
from bench.generative.trie import build_name_trie, tokenize_names  # noqa: E402
from bench.registry import SYSTEMS  # noqa: E402
from bench.runner import RunSpec, execute, load_benchmark  # noqa: E402

NAMES = [
    "breast cancer",
    "breast neoplasm",
    "ovarian cancer",
    "colon cancer",
    "colorectal carcinoma",
    "common cold",
    "cold sensation",
    "huntington disease",
    "diabetes mellitus",
    "diabetes",
    "type 2 diabetes mellitus",
    "myotonic dystrophy",
]
MENTIONS = ["breast tumour", "cold", "colorectal cancer", "diabetic", "x", "huntingtons chorea", "ovary neoplasm"]


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    torch.set_num_threads(1)
    folder = save_released_standin(tmp_path_factory.mktemp("ANGEL_tiny"), NAMES + MENTIONS)
    model, tokenizer = load_pretrained(str(folder))
    return folder, model.eval(), tokenizer


def test_the_standin_has_the_released_layout(standin):
    folder, _, tokenizer = standin
    assert {"config.json", "vocab.json", "merges.txt", "tokenizer_config.json"} <= {p.name for p in folder.iterdir()}
    assert [tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id] == [0, 1, 2]
    assert len(tokenizer(" is", add_special_tokens=False)["input_ids"]) == 1  # " is" is one token, as id 16 is


def test_released_prompt_is_eos_then_mention_is(standin):
    """`</s> mention is`: [2] + tok(" mention is")[1:-1] (ANGEL utils.read_ids_from_json); ours adds <s>."""
    _, model, tokenizer = standin
    mention_is = tokenizer(" breast tumour is")["input_ids"][1:-1]
    sources, released = encode_inputs(
        model, tokenizer, ["START breast tumour END"], ["breast tumour"], prompt_bos=False, source_space=True
    )
    assert sources == [tokenizer(" START breast tumour END")["input_ids"]]  # encode_data_to_json: " " + source
    _, ours = encode_inputs(model, tokenizer, ["START breast tumour END"], ["breast tumour"], prompt_bos=True)
    assert released == [[2, *mention_is]]
    assert ours == [[2, 0, *mention_is]]
    # training rows of the released layout: inputs [2] + prefix + name, labels -100 * prefix + name + [2]
    name = tokenizer(" breast cancer")["input_ids"][1:-1]
    inputs, labels = decoder_example(tokenizer, "breast tumour", "breast cancer", 2, prompt_bos=False)
    assert inputs == [2, *mention_is, *name]
    assert labels == [-100] * len(mention_is) + [*name, 2]


def test_trie_paths_are_the_released_ones(standin):
    """ANGEL's trie holds [" is"] + tok(" " + name.lower()).input_ids[1:]; below its root, ours is the same."""
    _, _, tokenizer = standin
    flat, lengths, _ = tokenize_names(tokenizer, NAMES)
    ends = lengths.cumsum()
    ours = [flat[end - n : end].tolist() for end, n in zip(ends, lengths)]
    released = [tokenizer(" " + name.lower())["input_ids"][1:] for name in NAMES]
    assert ours == released


def mean_logprob_after_is(model, tokenizer, mention: str, name: str) -> float:
    """ANGEL's ranking score, by teacher forcing `</s> mention is name </s>` once."""
    prefix = tokenizer(" " + mention + " is")["input_ids"][1:-1]
    target = tokenizer(" " + name)["input_ids"][1:]  # name tokens and EOS
    source = tokenizer(" START " + mention + " END", return_tensors="pt")  # [0] + tok(" " + source)[1:-1] + [2]
    decoder = torch.tensor([[2, *prefix, *target[:-1]]])
    with torch.no_grad():
        logits = model(**source, decoder_input_ids=decoder).logits[0]
    logp = torch.log_softmax(logits.float(), -1)
    rows = range(len(prefix), len(prefix) + len(target))
    return sum(float(logp[r, t]) for r, t in zip(rows, target)) / len(target)


@pytest.mark.parametrize("search", ["fairseq", "hf"])
def test_scores_are_the_mean_logprob_after_is(standin, search):
    _, model, tokenizer = standin
    trie = build_name_trie(NAMES, tokenizer)
    sources = [f"START {m} END" for m in MENTIONS]
    config = DecodeConfig(num_beams=5, num_return=5, search=search, prompt_bos=False, source_space=True)
    for mention, ranked in zip(MENTIONS, decode(model, tokenizer, trie, NAMES, sources, MENTIONS, config)):
        assert ranked, mention
        for name, score in ranked:
            assert score == pytest.approx(mean_logprob_after_is(model, tokenizer, mention, name), abs=1e-4)
        assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)


@pytest.mark.parametrize("beams", [1, 3, 5, 10])
@pytest.mark.parametrize("prompt_bos", [False, True])
def test_fairseq_search_equals_the_step_by_step_reference(standin, beams, prompt_bos):
    _, model, tokenizer = standin
    trie = build_name_trie(NAMES, tokenizer)
    dict_trie = build_dict_trie(NAMES, tokenizer)
    sources = [f"START {m} END" for m in MENTIONS]
    config = DecodeConfig(num_beams=beams, num_return=beams, batch_size=3, search="fairseq", prompt_bos=prompt_bos)
    ours = decode(model, tokenizer, trie, NAMES, sources, MENTIONS, config)
    want = fairseq_reference_decode(
        model, tokenizer, dict_trie, NAMES, sources, MENTIONS, beams, beams, prompt_bos=prompt_bos
    )
    for got, expected in zip(ours, want):
        assert [n for n, _ in got] == [n for n, _ in expected]
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-5)


def test_hf_search_still_equals_generate(standin):
    _, model, tokenizer = standin
    trie = build_name_trie(NAMES, tokenizer)
    sources = [f"START {m} END" for m in MENTIONS]
    config = DecodeConfig(num_beams=5, num_return=5, search="hf", prompt_bos=False)
    ours = decode(model, tokenizer, trie, NAMES, sources, MENTIONS, config)
    want = reference_decode(model, tokenizer, build_dict_trie(NAMES, tokenizer), NAMES, sources, MENTIONS, config)
    for got, expected in zip(ours, want):
        assert [n for n, _ in got] == [n for n, _ in expected]


def test_conventions_follow_the_backbone():
    assert resolve_convention("auto", pretrained=False) is BENCH
    assert resolve_convention("auto", pretrained=True) is RELEASED
    assert resolve_search("auto", RELEASED) == "fairseq" and resolve_search("auto", BENCH) == "hf"
    assert resolve_search("hf", RELEASED) == "hf"
    with pytest.raises(ValueError, match="convention must be one of"):
        resolve_convention("angel", pretrained=True)
    linker = SYSTEMS.get("angel").from_settings({"checkpoint": "dmis-lab/ANGEL_ncbi"})
    assert (linker.convention, linker.search) == (RELEASED, "fairseq")
    assert SYSTEMS.get("genbioel").from_settings({}).search == "hf"


def test_beams_are_never_raised_behind_the_users_back():
    linker = SYSTEMS.get("genbioel").from_settings({"num_beams": 5})
    linker.check_request(5)
    with pytest.raises(BenchError, match=r"--k asks for up to 10 candidates.*num_beams=5.*--set num_beams=10"):
        linker.check_request(10)
    with pytest.raises(BenchError, match="top_k=5 beams to label, but only num_beams=4"):
        SYSTEMS.get("angel").from_settings({"num_beams": 4}).check_request(1)


def test_a_run_asking_more_than_its_beams_fails_before_training(tmp_path):
    result = run_cli(
        "run", "--system", "genbioel", "--benchmark", "demo", "--set", "num_beams=3", "--out", str(tmp_path)
    )
    assert result.returncode != 0
    assert "num_beams=3" in result.stderr and "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written


def test_checkpoint_is_evaluated_without_training_and_its_content_is_in_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("BIOEL_BENCH_DATA", str(tmp_path / "data"))
    demo = load_benchmark("demo")
    texts = list(demo.kb.names) + [m.text.lower() for m in demo.split("train")]
    folder = save_released_standin(tmp_path / "ANGEL_demo", texts, vocab_size=800)
    spec = RunSpec("angel", "demo", settings={"checkpoint": str(folder), "decode_batch_size": 64}, ks=(1, 5, 10))
    first = execute(spec, out_dir=tmp_path / "runs", log=lambda *_: None)
    info = first.metrics["system_info"]
    assert info["training"] == "none: checkpoint evaluated as it is"
    assert (info["convention"], info["search"], info["num_beams"]) == ("released", "fairseq", 10)
    identity = first.config["checkpoints"]["checkpoint"]  # what the run key holds, hashed once per run
    assert identity.startswith("sha256:")
    assert not list((first.path).rglob("pretrain")) and not list(first.path.rglob("angel/state.json"))
    # the same request is served from its finished run; a changed checkpoint at the same path is not
    again = execute(spec, out_dir=tmp_path / "runs", log=lambda *_: None)
    assert again.path == first.path
    perturb_weights(folder)
    changed = execute(spec, out_dir=tmp_path / "runs", log=lambda *_: None)
    assert changed.config["run_key"] != first.config["run_key"]
    assert changed.config["checkpoints"]["checkpoint"] != identity
    predictions = [json.loads(line) for line in (first.path / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == len(demo.split("test"))


def test_runs_recorded_before_conventions_read_as_what_they_ran():
    """Old records lack the new options: they searched max(num_beams, largest k) beams, no label lines."""
    from bench.linker import options_to_dict

    genbioel = SYSTEMS.get("genbioel")
    old = genbioel.recorded_options({"num_beams": 5, "threads": 1}, [1, 5, 10])
    assert (old["num_beams"], old["label_targets"], old["convention"], old["threads"]) == (10, False, "auto", 1)
    new = options_to_dict(genbioel.Options(num_beams=5))
    assert genbioel.recorded_options(new, [1, 5]) == new
