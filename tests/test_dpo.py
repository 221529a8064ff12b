"""DPO for encoder-decoder models: losses equal trl's, log-probs skip the prefix, a step helps."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("trl")

from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402
from trl import DPOConfig, DPOTrainer  # noqa: E402

from bench.generative.dpo import (  # noqa: E402
    DpoSettings,
    PairCollator,
    PreferencePair,
    dpo_epoch,
    dpo_loss,
    reference_logprobs,
    seq2seq_logprobs,
    token_logprobs,
)
from bench.generative.model import SmallBartSize, small_bart  # noqa: E402
from bench.generative.tokenizer import train_bpe_tokenizer  # noqa: E402
from datasets import Dataset  # noqa: E402

TEXTS = ["breast cancer is a disease", "ovarian cancer is a tumour", "cold is common", "common cold"] * 20


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer(TEXTS, vocab_size=300)


def tiny_gpt2(tokenizer, seed: int) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=64,
        n_embd=32,
        n_layer=2,
        n_head=2,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return GPT2LMHeadModel(config)


@pytest.mark.parametrize("loss_type", ["sigmoid", "hinge", "ipo"])
def test_our_dpo_loss_equals_trl_on_a_tiny_causal_model(tokenizer, tmp_path, loss_type):
    policy, reference = tiny_gpt2(tokenizer, 0), tiny_gpt2(tokenizer, 1)  # a reference that differs
    data = Dataset.from_dict(
        {
            "prompt": ["breast cancer is", "cold is", "ovarian cancer is", "tumour is"],
            "chosen": [" a disease", " common", " a tumour", " a disease"],
            "rejected": [" common", " a tumour", " common", " cold"],
        }
    )
    args = DPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        beta=0.1,
        loss_type=loss_type,
        report_to=[],
        use_cpu=True,
    )
    trainer = DPOTrainer(model=policy, ref_model=reference, args=args, train_dataset=data, processing_class=tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    trainer.model.eval()
    with torch.no_grad():
        trl_loss = float(trainer.compute_loss(trainer.model, batch))
        labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)[:, 1:]
        inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        policy_logps, counts = token_logprobs(policy(**inputs).logits[:, :-1], labels)
        reference_logps, _ = token_logprobs(reference(**inputs).logits[:, :-1], labels)
        chosen, rejected = policy_logps.chunk(2)
        ref_chosen, ref_rejected = reference_logps.chunk(2)
        n_chosen, n_rejected = counts.chunk(2)
        ours = float(
            dpo_loss(chosen, rejected, ref_chosen, ref_rejected, 0.1, loss_type, n_chosen, n_rejected)[0].mean()
        )
    assert ours == pytest.approx(trl_loss, abs=1e-5)


def test_dpo_loss_by_hand():
    losses, chosen_reward, rejected_reward = dpo_loss(
        torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([-2.0]), torch.tensor([-2.0]), beta=0.5
    )
    # delta = (-1 - -2) - (-3 - -2) = 2; loss = -log sigmoid(1) = log(1 + e^-1)
    assert float(losses[0]) == pytest.approx(0.31326168751822286)
    assert float(chosen_reward[0]) == pytest.approx(0.5) and float(rejected_reward[0]) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="unknown DPO loss"):
        dpo_loss(torch.zeros(1), torch.zeros(1), torch.zeros(1), torch.zeros(1), 0.1, "nope")


@pytest.fixture(scope="module")
def bart(tokenizer):
    torch.manual_seed(0)
    return small_bart(tokenizer, SmallBartSize(d_model=32, layers=1, heads=2, ffn=64, dropout=0.0))


PAIRS = [
    PreferencePair("START breast cancer END", "breast cancer", "breast cancer", "ovarian cancer"),
    PreferencePair("START cold END", "cold", "common cold", "breast cancer"),
    PreferencePair("START ovarian tumour END", "ovarian tumour", "ovarian cancer", "common cold"),
]


def test_seq2seq_logprobs_score_the_name_and_eos_only(tokenizer, bart):
    collator = PairCollator(tokenizer, bart.config.decoder_start_token_id)
    batch = collator(PAIRS[:1])
    logps, counts = seq2seq_logprobs(bart, batch)
    name_tokens = tokenizer(" breast cancer", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert int(counts[0]) == len(name_tokens)
    with torch.no_grad():
        logits = bart(**{k: batch[k] for k in ("input_ids", "attention_mask", "decoder_input_ids")}).logits
    labels = batch["labels"][0]
    positions = (labels != -100).nonzero().ravel()
    manual = sum(torch.log_softmax(logits[0, p], -1)[labels[p]] for p in positions)
    assert float(logps[0]) == pytest.approx(float(manual.detach()), abs=1e-5)


def test_reference_logprobs_do_not_depend_on_batching(tokenizer, bart):
    collator = PairCollator(tokenizer, bart.config.decoder_start_token_id)
    together = reference_logprobs(bart, PAIRS, collator, batch_size=3)
    one_by_one = reference_logprobs(bart, PAIRS, collator, batch_size=1)
    assert together.shape == (3, 2)
    assert torch.allclose(together, one_by_one, atol=1e-5)


def test_a_dpo_epoch_raises_the_chosen_vs_rejected_margin(tokenizer, bart):
    import copy

    model = copy.deepcopy(bart)
    collator = PairCollator(tokenizer, model.config.decoder_start_token_id)
    reference = reference_logprobs(model, PAIRS, collator)
    before = reference[:, 0] - reference[:, 1]
    stats = dpo_epoch(
        model, PAIRS, reference, collator, DpoSettings(beta=0.1, learning_rate=5e-3, batch_size=3), seed=0
    )
    after_logps = reference_logprobs(model, PAIRS, collator)
    after = after_logps[:, 0] - after_logps[:, 1]
    assert stats["pairs"] == 3 and stats["reward_accuracy"] == 0.0  # first step: policy == reference
    assert (after > before).all()
