"""``angel``: generative linking that learns from negative samples (Kim et al., ACL Findings 2025).

After positive-only training (exactly :mod:`systems.genbioel`), ANGEL runs a
negative-aware stage (DESIGN.md section 6): the training set is shuffled and
split into chunks; for each chunk the dev set is scored (early stopping with
patience), the model beam-searches the chunk, each of its top-k beams is
labelled correct or wrong by concept-id overlap with the gold ids, preference
pairs are built by ANGEL's rule, and one epoch of DPO pushes correct names
above the model's own hard negatives. The best dev model is kept.

Every ablation of the paper is an option: negatives from the model's beams or
from TF-IDF neighbours of other concepts, ANGEL's pair rule or all pairs, top-5
or top-10, gold injection, beta and the DPO loss, a reference model refreshed
each chunk (the released code) or frozen at the positive-only model (the
paper's text), the number of chunks, and pre-training with negatives built from
the KB. The stage resumes after an interruption from its last finished chunk.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from bench import distributed
from bench.generative.dpo import DpoSettings, PairCollator, PreferencePair, dpo_epoch, reference_logprobs
from bench.generative.model import load_seq2seq
from bench.generative.pairs import Beam, all_pairs, angel_pairs, inject_gold, label_beams
from bench.generative.sequences import source_text
from bench.generative.targets import TargetSelector
from bench.kb import KnowledgeBase
from bench.linker import FitConfig, OptionError
from bench.mention import Mention
from bench.normalize import normalize_name
from bench.progress import PlainProgress
from bench.registry import register_system
from systems.genbioel import GenerativeLinker


@register_system("angel")
class AngelLinker(GenerativeLinker):
    @dataclass(frozen=True)
    class Options(GenerativeLinker.Options):
        #: where negatives come from: the model's own beams (ANGEL) or TF-IDF neighbours of other concepts
        negatives: Literal["model", "tfidf"] = "model"
        #: ANGEL's pair rule, or every (correct, wrong) combination
        pair_rule: Literal["angel", "all"] = "angel"
        #: beams labelled per mention, of the num_beams searched (the released script: 10 searched,
        #: the top 5 used; 10 is an ablation)
        top_k: int = 5
        #: most preference pairs built from one mention's beams (ANGEL: 6)
        max_pairs_per_mention: int = 6
        #: pair the gold name with the wrong beams when no beam is correct (the paper does not)
        inject_gold: bool = False
        #: DPO's beta (ANGEL: 0.1)
        beta: float = 0.1
        #: DPO loss: sigmoid (ANGEL), hinge or ipo
        dpo_loss: Literal["sigmoid", "hinge", "ipo"] = "sigmoid"
        #: learning rate of the DPO updates
        dpo_lr: float = 1e-5
        #: preference pairs per DPO step
        dpo_batch_size: int = 32
        #: "refresh": the reference is the policy at the start of each chunk (released code);
        #: "frozen": the positive-only model throughout (the paper's text)
        reference: Literal["refresh", "frozen"] = "refresh"
        #: interleaved chunks of the shuffled training set, one DPO epoch each (ANGEL: 10)
        chunks: int = 10
        #: chunks without a dev improvement before stopping
        patience: int = 3
        #: which model the negative stage keeps (dev acc@1 is measured before each chunk):
        #: "released": ANGEL's code (train_negative_aware.py, main): a chunk's pre-chunk dev score is
        #: compared with the previous chunk's (the first with 0), and when it is higher the model *after*
        #: that chunk is saved; patience counts chunks in a row without such a rise; no dev score after
        #: the last chunk. The kept model has always been through at least one DPO chunk.
        #: "best": the paper's text read literally: the model the best dev score was measured on, the
        #: final one included (the positive-only model when no chunk improves dev).
        selection: Literal["released", "best"] = "released"
        #: KB preference pairs (synonym -> its concept's name vs a TF-IDF-nearest name of another
        #: concept) trained with DPO between pre-training and fine-tuning; 0 = off
        negative_pretrain_pairs: int = 0
        #: who mines a training mention's beams: "self", the policy that was trained on it (ANGEL), or
        #: "crossfit": the training mentions are cut into crossfit_folds folds and each fold is mined by a
        #: positive-only model fine-tuned (same steps) on the other folds (beyond the paper: harder negatives)
        mining: Literal["self", "crossfit"] = "self"
        #: folds of the cross-fitted mining
        crossfit_folds: int = 2
        #: fine-tuning steps of each cross-fitted miner; 0 = finetune_steps (a miner sees (K-1)/K of the
        #: mentions, so finetune_steps * (K-1)/K gives it the same epochs as the positive-only model)
        crossfit_steps: int = 0

    # --- pre-training with negatives ------------------------------------------------
    def after_pretrain(self, kb: KnowledgeBase, work_dir: Path, config: FitConfig) -> None:
        self.negative_pretrain(kb, work_dir, config)
        if self.options.mining == "crossfit" and not (work_dir / "crossfit" / "start" / "stage.json").is_file():
            self.save_model(work_dir / "crossfit" / "start", {"stage": "crossfit start (after pre-training)"})

    def negative_pretrain(self, kb: KnowledgeBase, work_dir: Path, config: FitConfig) -> None:
        o = self.options
        if o.negative_pretrain_pairs <= 0:
            return
        stage = work_dir / "negative_pretrain"
        if (stage / "final" / "stage.json").is_file():
            self.model = load_seq2seq(stage / "final")
            return
        pairs = self.kb_negative_pairs(kb, o.negative_pretrain_pairs, config.seed)
        collator = self.pair_collator()
        reference = reference_logprobs(self.model, pairs, collator, o.dpo_batch_size)
        stats = dpo_epoch(self.model, pairs, reference, collator, self.dpo_settings(), config.seed, config.progress)
        self.save_model(stage / "final", {"stage": "negative_pretrain", **stats})

    def kb_negative_pairs(self, kb: KnowledgeBase, count: int, seed: int) -> list[PreferencePair]:
        """KB pairs: a synonym as the mention, its concept's name as chosen, another concept's
        TF-IDF-nearest name as rejected."""
        rng = random.Random(seed)
        synonyms = [(cid, normalize_name(name)) for cid in sorted(kb.concepts) for name in kb.concepts[cid][1:]] or [
            (cid, normalize_name(kb.concepts[cid][0])) for cid in sorted(kb.concepts)
        ]
        chosen_rows = rng.sample(synonyms, min(count, len(synonyms)))
        queries = [Mention(f"kb:{i}", name, frozenset({cid})) for i, (cid, name) in enumerate(chosen_rows)]
        neighbours = self.tfidf_neighbours(queries, kb, 10)
        pairs = []
        for (cid, name), mention, candidates in zip(chosen_rows, queries, neighbours):
            rejected = next((c.name for c in candidates if cid not in c.ids), None)
            if rejected is not None:
                preferred = normalize_name(kb.preferred_name(cid))
                pairs.append(PreferencePair(source_text(mention, 0), name, preferred, rejected))
        return pairs

    # --- the negative-aware stage -------------------------------------------------
    def fit(self, train: Sequence[Mention], dev: Sequence[Mention], kb: KnowledgeBase, config: FitConfig) -> None:
        super().fit(train, dev, kb, config)
        if self.options.checkpoint:  # a released ANGEL model is evaluated as it is
            return
        self.negative_stage(train, dev, kb, Path(config.work_dir), config)
        self.model.eval()

    @classmethod
    def recorded_options(cls, options, ks):
        """Runs recorded before ``selection`` existed kept the model their best dev score was measured on."""
        completed = super().recorded_options(options, ks)
        if "selection" not in options:
            completed["selection"] = "best"
        return completed

    def check_request(self, k: int) -> None:
        super().check_request(k)
        o = self.options
        if o.negatives == "model" and o.top_k > o.num_beams and not o.checkpoint:
            raise OptionError(
                f"angel: top_k={o.top_k} beams to label, but only num_beams={o.num_beams} are searched; "
                f"raise num_beams or lower top_k"
            )

    def negative_stage(
        self, train: Sequence[Mention], dev: Sequence[Mention], kb: KnowledgeBase, work_dir: Path, config: FitConfig
    ) -> None:
        o = self.options
        stage = work_dir / "angel"
        state_path = stage / "state.json"
        state: dict[str, Any] = {
            "next_chunk": 0,
            "best_acc1": None,
            "best_chunk": None,
            "patience_left": o.patience,
            "history": [],
            "stopped_early": False,
            "done": False,
        }
        if state_path.is_file():
            state = json.loads(state_path.read_text())
            self.model = load_seq2seq(stage / "current")
        else:
            self.save_model(stage / "positive_only", {"stage": "positive_only"})
        self.history = state["history"]
        chunks = self.chunks(train, config.seed)
        dev_subset = self.dev_subset(dev, config.seed)
        selector = TargetSelector(kb)
        self.miners = self.crossfit_miners(train, kb, work_dir, config) if o.mining == "crossfit" else None
        progress = PlainProgress("angel", len(chunks), every=0, unit="chunk")  # a line per chunk (minutes each)
        if state["next_chunk"] == 0:
            progress.log(
                f"[angel] negative-aware stage: {len(chunks)} chunks of about {len(train) // max(1, len(chunks))} "
                f"mentions, {o.num_beams} beams mined, top {o.top_k} paired, DPO lr {o.dpo_lr:g}, patience {o.patience}"
            )
        released = o.selection == "released"
        while not state["done"]:
            index = state["next_chunk"]
            record: dict[str, Any] = {"chunk": index}
            rose = False  # released: the pre-chunk dev score rose above the previous chunk's
            if dev_subset and not (released and index >= len(chunks)):  # ANGEL's code: no score after the last
                record["dev_acc1"] = distributed.agree(self.dev_accuracy(self.model, dev_subset, kb))["acc1"]
                if released:
                    rose = record["dev_acc1"] > (state.get("previous_acc1") or 0.0)
                    state["previous_acc1"] = record["dev_acc1"]
                    if rose:
                        state.update(best_acc1=record["dev_acc1"], best_chunk=index, patience_left=o.patience)
                    else:
                        state["patience_left"] -= 1
                elif state["best_acc1"] is None or record["dev_acc1"] > state["best_acc1"]:
                    state.update(best_acc1=record["dev_acc1"], best_chunk=index, patience_left=o.patience)
                    self.save_model(stage / "best", {"chunk": index, "dev_acc1": record["dev_acc1"]})
                else:
                    state["patience_left"] -= 1
            if index >= len(chunks) or (dev_subset and state["patience_left"] <= 0):
                state["stopped_early"] = index < len(chunks)
                state["done"] = True
                state["history"].append(record)
                self.write_state(stage, state)
                break
            pairs, counts = self.chunk_pairs(chunks[index], kb, selector)
            record.update(counts)
            reference_model = self.reference_model(stage)
            collator = self.pair_collator()
            reference = reference_logprobs(reference_model, pairs, collator, o.dpo_batch_size)
            del reference_model
            record.update(
                {
                    f"dpo_{k}": v
                    for k, v in dpo_epoch(
                        self.model,
                        pairs,
                        reference,
                        collator,
                        self.dpo_settings(),
                        config.seed + index,
                        config.progress,
                    ).items()
                }
            )
            state["history"].append(record)
            progress.update(
                index + 1,
                **{
                    "dev acc@1 before": f"{100 * record['dev_acc1']:.1f}%" if "dev_acc1" in record else "",
                    "pairs": str(record.get("pairs", 0)),
                    "DPO loss": f"{record.get('dpo_loss', float('nan')):.3f}",
                    "margin": f"{record.get('dpo_reward_margin', float('nan')):.3f}",
                },
            )
            state["next_chunk"] = index + 1
            self.save_model(stage / "current", {"chunk": index})
            if rose:  # ANGEL's code saves the model after the chunk whose pre-chunk score rose
                self.save_model(stage / "best", {"after_chunk": index, "dev_acc1_before": record["dev_acc1"]})
            self.write_state(stage, state)
        if (stage / "best").is_dir():
            self.model = load_seq2seq(stage / "best")
        self.history = state["history"]
        best = state.get("best_chunk")
        self.kept = {
            "selection": o.selection,
            "model": "final (no dev selection)"
            if not dev_subset
            else "positive-only (no chunk kept)"
            if best is None
            else f"after chunk {best}"
            if released
            else f"before chunk {best}" + (" (the positive-only model)" if best == 0 else "")
            if best < len(chunks)
            else "after the last chunk",
        }

    def crossfit_folds_of(self, train: Sequence[Mention], seed: int) -> dict[str, int]:
        """Mention id -> fold, from a seeded shuffle (interleaved, as the chunks)."""
        order = sorted(train, key=lambda m: m.id)
        random.Random(seed + 7919).shuffle(order)
        k = max(2, self.options.crossfit_folds)
        return {m.id: i % k for i, m in enumerate(order)}

    def crossfit_miners(self, train: Sequence[Mention], kb: KnowledgeBase, work_dir: Path, config: FitConfig):
        """Fold -> a positive-only model fine-tuned without that fold (each a resumable stage)."""
        from bench.generative.training import finetuning_examples, mix, run_stage

        o = self.options
        folds = self.crossfit_folds_of(train, config.seed)
        start = work_dir / "crossfit" / "start"
        selector = TargetSelector(kb)
        miners = {}
        for fold in range(max(2, o.crossfit_folds)):
            others = [m for m in train if folds[m.id] != fold]
            pairs = selector.training_pairs(others, o.targets, o.label_targets)
            examples = mix(finetuning_examples(pairs, o.context_words), self.kb_examples(kb), o.kb_mix, config.seed)
            model = run_stage(
                f"crossfit{fold}",
                load_seq2seq(start),
                self.tokenizer,
                examples,
                work_dir / "crossfit",
                self.stage_settings(o.crossfit_steps or o.finetune_steps, o.finetune_lr),
                seed=config.seed,
                progress=config.progress,
            )
            miners[fold] = model.eval()
        self.fold_of = folds
        return miners

    def mine(self, mentions: Sequence[Mention], kb: KnowledgeBase):
        """Each mention's top-k beams: from the policy (self) or its fold's held-out model (crossfit)."""
        o = self.options
        if getattr(self, "miners", None) is None:
            return distributed.map_shards(lambda part: self.decode_with(self.model, part, kb, o.top_k), mentions)
        out: dict[str, Any] = {}
        for fold, model in self.miners.items():
            part = [m for m in mentions if self.fold_of.get(m.id) == fold]
            if part:
                for mention, ranked in zip(part, self.decode_with(model, part, kb, o.top_k)):
                    out[mention.id] = ranked
        return [out[m.id] for m in mentions]

    def chunks(self, train: Sequence[Mention], seed: int) -> list[list[Mention]]:
        """The training set shuffled (seeded) and cut into ``chunks`` near-equal parts."""
        order = list(train)
        random.Random(seed).shuffle(order)
        n = max(1, min(self.options.chunks, len(order)))
        return [order[i::n] for i in range(n)] if order else []

    def chunk_pairs(
        self, mentions: Sequence[Mention], kb: KnowledgeBase, selector: TargetSelector
    ) -> tuple[list[PreferencePair], dict[str, int]]:
        """Mine, label and pair one chunk; also count what happened for the record."""
        o = self.options
        if o.negatives == "model":
            # decoded in shares over the processes of a multi-GPU run, and gathered: every process
            # builds the same pairs, so all step through the same number of DPO batches
            candidates = self.mine(mentions, kb)
        else:
            candidates = self.tfidf_neighbours(mentions, kb, o.top_k)
        pairs: list[PreferencePair] = []
        margins: list[float] = []
        counts = {"mentions": len(mentions), "mentions_with_pairs": 0, "all_correct": 0, "all_wrong": 0}
        for mention, ranked in zip(mentions, candidates):
            beams = [Beam(c.name, c.ids) for c in ranked]
            correct = label_beams(beams, mention.gold_ids)
            counts["all_correct"] += bool(beams) and all(correct)
            counts["all_wrong"] += not any(correct)
            if o.negatives == "tfidf":
                # Negatives are other concepts' names; the chosen side is the gold target name.
                targets = selector.targets(mention, 1)
                chosen = targets[0] if targets else None
                named = [(chosen, b.name) for b, ok in zip(beams, correct) if not ok and chosen]
                found = named[: o.max_pairs_per_mention]
            elif o.pair_rule == "angel":
                found = angel_pairs(beams, correct, o.max_pairs_per_mention)
            else:
                found = all_pairs(beams, correct)
            if o.inject_gold and not any(correct):
                targets = selector.targets(mention, 1)
                if targets:
                    found = inject_gold(beams, correct, targets[0], o.max_pairs_per_mention)
            if found:
                counts["mentions_with_pairs"] += 1
            scores = {c.name: c.score for c in ranked}
            margins.extend(scores[c] - scores[r] for c, r in found if c in scores and r in scores)
            source = source_text(mention, o.context_words)
            pairs.extend(PreferencePair(source, normalize_name(mention.text), c, r) for c, r in found)
        counts["pairs"] = len(pairs)
        # how far apart the pair's names were when mined (mean log-prob, chosen minus rejected): hard
        # negatives sit close to the chosen name, easy ones far below it
        counts["mining_margin"] = sum(margins) / len(margins) if margins else None
        return pairs, counts

    def tfidf_neighbours(self, mentions: Sequence[Mention], kb: KnowledgeBase, k: int):
        from bench.registry import SYSTEMS

        if getattr(self, "_tfidf_kb", None) != kb.checksum:
            self._tfidf = SYSTEMS.get("tfidf").from_settings({})
            self._tfidf.fit([], [], kb, FitConfig())
            self._tfidf_kb = kb.checksum
        return self._tfidf.predict(mentions, kb, k)

    def reference_model(self, stage: Path):
        """The policy itself (refresh) or the positive-only model read back from disk (frozen)."""
        if self.options.reference == "refresh":
            return self.model
        return load_seq2seq(stage / "positive_only")

    def pair_collator(self) -> PairCollator:
        return PairCollator(
            self.tokenizer,
            self.model.config.decoder_start_token_id,
            self.options.max_source_length,
            self.convention.prompt_bos,
            self.convention.source_space,
        )

    def dpo_settings(self) -> DpoSettings:
        o = self.options
        return DpoSettings(beta=o.beta, loss_type=o.dpo_loss, learning_rate=o.dpo_lr, batch_size=o.dpo_batch_size)

    def save_model(self, path: Path, info: dict[str, Any]) -> None:
        """Save atomically: a model directory is either complete or absent (the main process saves)."""
        if distributed.is_main():
            tmp = path.with_name(path.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            self.model.save_pretrained(tmp)
            self.tokenizer.save_pretrained(tmp)
            (tmp / "stage.json").write_text(json.dumps(info, indent=2))
            if path.exists():
                shutil.rmtree(path)
            tmp.rename(path)
        distributed.barrier()

    @staticmethod
    def write_state(stage: Path, state: dict[str, Any]) -> None:
        if distributed.is_main():
            tmp = stage / "state.json.tmp"
            tmp.write_text(json.dumps(state, indent=2))
            tmp.replace(stage / "state.json")
        distributed.barrier()

    def health_warnings(self) -> list[str]:
        from bench.health import negative_stage_warnings

        return super().health_warnings() + negative_stage_warnings(getattr(self, "history", []))

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["negative_stage"] = getattr(self, "history", [])
        if getattr(self, "kept", None):
            info["negative_stage_kept"] = self.kept  # which model the stage ended with, and why
        info["options_angel"] = {k: v for k, v in asdict(self.options).items() if k in _ANGEL_KEYS}
        return info


_ANGEL_KEYS = {
    "mining",
    "crossfit_folds",
    "crossfit_steps",
    "negatives",
    "pair_rule",
    "top_k",
    "max_pairs_per_mention",
    "inject_gold",
    "beta",
    "dpo_loss",
    "dpo_lr",
    "dpo_batch_size",
    "reference",
    "chunks",
    "patience",
    "selection",
    "negative_pretrain_pairs",
}
