"""``genbioel``: generative entity linking without negatives (GenBioEL; Yuan et al., 2022).

A seq2seq model reads the mention in context and generates a KB name, decoding
constrained to the names of the KB by a prefix trie; the name is mapped to all
its concept ids. Training follows DESIGN.md section 5: optional KB-guided
pre-training on synonym pairs, then fine-tuning on training mentions whose
targets are the gold concept's names closest to the mention (top 1, or top 3
as ANGEL's SYN3), mixed with KB pairs. This is the "without negatives" arm of
every ANGEL comparison; ``systems/angel.py`` adds the negative-aware stage.

Backbones: ``small`` (the CPU default: a BART created from a config with a
tokenizer trained on the benchmark, nothing downloaded) or any Hugging Face
seq2seq checkpoint name or path (``facebook/bart-large``,
``GanjinZero/biobart-v2-large``, ``dmis-lab/ANGEL_pretrained``) on a GPU machine.

``checkpoint=NAME_OR_PATH`` evaluates a fine-tuned model as it is (ANGEL's
released ``dmis-lab/ANGEL_ncbi`` and the like, or a local folder): nothing is
trained, the test set is decoded. Pretrained backbones and checkpoints use the
released models' conventions and fairseq's beam search unless told otherwise
(``convention``, ``search``; :mod:`bench.generative.conventions`); what was used
is recorded in every run's ``system_info``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer

from bench import distributed
from bench.generative.conventions import Convention, resolve_convention, resolve_search
from bench.generative.decoding import DecodeConfig, decode
from bench.generative.model import SMALL, SmallBartSize, load_pretrained, parameter_count, small_bart
from bench.generative.sequences import source_text
from bench.generative.targets import TargetSelector
from bench.generative.tokenizer import train_bpe_tokenizer
from bench.generative.training import (
    StageSettings,
    finetuning_examples,
    kb_pretraining_examples,
    mix,
    run_stage,
)
from bench.generative.trie import build_name_trie
from bench.kb import KnowledgeBase
from bench.linker import Candidate, FitConfig, Linker, OptionError, rank
from bench.mention import Mention
from bench.metrics import hit_rank
from bench.normalize import normalize_name
from bench.paths import data_dir
from bench.registry import register_system


@register_system("genbioel")
class GenerativeLinker(Linker):
    @dataclass(frozen=True)
    class Options:
        #: "small" (BART from a config, CPU) or a Hugging Face seq2seq checkpoint name/path to train from
        backbone: str = SMALL
        #: a fine-tuned checkpoint (hub name or local folder) to evaluate as it is: no training at all
        checkpoint: str = ""
        #: sequence conventions: "bench" (</s> <s> mention is), "released" (</s> mention is, as
        #: the released GenBioEL/ANGEL models), "auto" (released for a pretrained backbone or checkpoint)
        convention: str = "auto"
        #: beam search: "hf" (Hugging Face's), "fairseq" (the released decoder's), "auto" (the convention's)
        search: str = "auto"
        #: BPE vocabulary trained on the benchmark (backbone=small only)
        vocab_size: int = 8000
        #: hidden size of the small BART (backbone=small only)
        d_model: int = 256
        #: encoder and decoder layers each (backbone=small only)
        layers: int = 3
        #: attention heads (backbone=small only)
        heads: int = 4
        #: feed-forward width (backbone=small only)
        ffn: int = 1024
        #: dropout of the small BART (a pretrained backbone keeps its config's)
        dropout: float = 0.1
        #: words of context each side of the mention; 0 = "START mention END" only
        context_words: int = 0
        #: target names per training mention: 1 (GenBioEL) or 3 (ANGEL's SYN3)
        targets: int = 1
        #: also train on a mention's corpus label when it is a KB name (GenBioEL's AskAPatient
        #: training lines, aap/prepare_dataset.py L122-126); only AskAPatient mentions carry labels
        label_targets: bool = True
        #: KB-guided pre-training steps (synonym -> synonym pairs from the KB); 0 = none
        pretrain_steps: int = 300
        #: learning rate of KB-guided pre-training
        pretrain_lr: float = 1e-3
        #: give KB definitions as context in pre-training pairs (where the KB has them)
        pretrain_definitions: bool = True
        #: fine-tuning steps on training mentions
        finetune_steps: int = 300
        #: learning rate of fine-tuning
        finetune_lr: float = 5e-4
        #: KB pairs mixed into fine-tuning, as a multiple of the mention examples
        kb_mix: float = 1.0
        #: training examples per step and device (pre-training and fine-tuning)
        batch_size: int = 64
        #: warm-up as a share of a stage's steps (when warmup_steps is 0)
        warmup_ratio: float = 0.05
        #: warm-up in steps (ANGEL's scripts use 500); 0 = warmup_ratio of the steps
        warmup_steps: int = 0
        #: learning-rate schedule (a transformers SchedulerType: "cosine", "polynomial", "linear", ...)
        scheduler: str = "cosine"
        #: gradient clipping by norm (transformers' default 1.0; ANGEL's scripts 0.1)
        max_grad_norm: float = 1.0
        #: AdamW weight decay
        weight_decay: float = 0.01
        #: label smoothing of the cross-entropy (GenBioEL: 0.1)
        label_smoothing: float = 0.1
        #: checkpoint every N steps (an interrupted stage resumes from the last)
        save_steps: int = 200
        #: dev evaluation (constrained acc@1) every N fine-tuning steps, best kept; 0 = off
        eval_steps: int = 0
        #: dev mentions scored per evaluation (a seeded sample when dev is larger)
        dev_eval_mentions: int = 300
        #: beams searched per mention (ANGEL's inference: 10); at most this many names come back,
        #: so the largest --k may not exceed it
        num_beams: int = 10
        #: mentions per batch of constrained beam search
        decode_batch_size: int = 64
        #: scores are sum / length ** length_penalty (1 = the mean log-prob ANGEL ranks by)
        length_penalty: float = 1.0
        #: divides the log-probs before re-normalising (the released decoder passes 0.7 and never applies it: 1)
        temperature: float = 1.0
        #: encoder tokens kept (the rest of a long context is cut)
        max_source_length: int = 256
        #: torch CPU threads (0 = torch's default)
        threads: int = 0

    def __init__(self, options: Options | None = None) -> None:
        super().__init__(options)
        self.model = None
        self.tokenizer = None
        self.trie = None
        self._trie_kb: str | None = None
        self.stage_info: dict[str, Any] = {}

    # --- set-up -------------------------------------------------------------
    def _setup_backbone(self, train: Sequence[Mention], kb: KnowledgeBase, work_dir: Path, seed: int) -> None:
        o = self.options
        if o.threads > 0:
            torch.set_num_threads(o.threads)
        if o.checkpoint:
            self.model, self.tokenizer = load_pretrained(o.checkpoint)
            return
        if o.backbone != SMALL:
            self.model, self.tokenizer = load_pretrained(o.backbone)
            return
        tokenizer_dir = work_dir / "tokenizer"
        with distributed.main_first():  # under `accelerate launch`, one process trains it, all read it
            if (tokenizer_dir / "tokenizer.json").is_file():
                self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
            else:
                texts = list(kb.names) + [normalize_name(m.text) for m in train]
                if o.context_words > 0:
                    texts += sorted({m.context.lower() for m in train if m.context})
                self.tokenizer = train_bpe_tokenizer(texts, vocab_size=o.vocab_size)
                self.tokenizer.save_pretrained(tokenizer_dir)
        torch.manual_seed(seed)
        size = SmallBartSize(d_model=o.d_model, layers=o.layers, heads=o.heads, ffn=o.ffn, dropout=o.dropout)
        self.model = small_bart(self.tokenizer, size)

    def _ensure_trie(self, kb: KnowledgeBase) -> None:
        if self._trie_kb != kb.checksum:
            with distributed.main_first():  # the main process writes the trie cache, the others load it
                self.trie = build_name_trie(kb.names, self.tokenizer, cache_dir=data_dir() / "tries")
            self._trie_kb = kb.checksum

    @classmethod
    def recorded_options(cls, options, ks):
        """Runs recorded before conventions existed (no ``convention`` key): they searched
        ``max(num_beams, largest k)`` beams (num_beams was raised silently) and trained
        without AskAPatient's label lines."""
        completed = super().recorded_options(options, ks)
        if "convention" not in options:
            completed["num_beams"] = max(int(completed["num_beams"]), max(ks, default=1))
            completed["label_targets"] = False
        return completed

    @property
    def pretrained(self) -> bool:
        """True when the weights come from a checkpoint rather than from a config."""
        return bool(self.options.checkpoint) or self.options.backbone != SMALL

    @property
    def convention(self) -> Convention:
        return resolve_convention(self.options.convention, self.pretrained)

    @property
    def search(self) -> str:
        return resolve_search(self.options.search, self.convention)

    def check_request(self, k: int) -> None:
        """Beams are stated, never raised behind the user's back: ``k`` must fit in ``num_beams``."""
        o = self.options
        self.convention, self.search  # noqa: B018  (an unknown convention or search fails here, before training)
        if k > o.num_beams:
            raise OptionError(
                f"{self.name}: --k asks for up to {k} candidates, but beam search returns at most "
                f"num_beams={o.num_beams}; raise num_beams (--set num_beams={k}) or lower --k"
            )

    def decode_config(self, num_return: int) -> DecodeConfig:
        o = self.options
        if num_return > o.num_beams:
            raise OptionError(
                f"{self.name}: {num_return} candidates asked for, more than num_beams={o.num_beams}; "
                f"raise num_beams (--set num_beams={num_return})"
            )
        return DecodeConfig(
            num_beams=o.num_beams,
            num_return=num_return,
            batch_size=o.decode_batch_size,
            length_penalty=o.length_penalty,
            temperature=o.temperature,
            search=self.search,
            prompt_bos=self.convention.prompt_bos,
            source_space=self.convention.source_space,
        )

    # --- training -------------------------------------------------------------
    def fit(self, train: Sequence[Mention], dev: Sequence[Mention], kb: KnowledgeBase, config: FitConfig) -> None:
        """Positive-only training: KB-guided pre-training, then fine-tuning (each resumable)."""
        work_dir = Path(config.work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        self._work_dir = work_dir  # describe() reads the stages' records there
        self._setup_backbone(train, kb, work_dir, config.seed)
        self._ensure_trie(kb)
        if self.options.checkpoint:  # evaluate the checkpoint as it is
            self.stage_info["training"] = "none: checkpoint evaluated as it is"
            self.model.to(distributed.device()).eval()
            return
        from bench.progress import plan_run

        plan_run(self.options.pretrain_steps + self.options.finetune_steps)  # the run-level ETA of progress lines
        self.pretrain(kb, work_dir, config)
        self.after_pretrain(kb, work_dir, config)
        self.finetune(train, dev, kb, work_dir, config)
        self.model.eval()

    def stage_settings(self, steps: int, learning_rate: float, eval_steps: int = 0) -> StageSettings:
        o = self.options
        return StageSettings(
            steps=steps,
            learning_rate=learning_rate,
            eval_steps=eval_steps,
            batch_size=o.batch_size,
            warmup_ratio=o.warmup_ratio,
            weight_decay=o.weight_decay,
            label_smoothing=o.label_smoothing,
            save_steps=o.save_steps,
            max_source_length=o.max_source_length,
            warmup_steps=o.warmup_steps,
            max_grad_norm=o.max_grad_norm,
            scheduler=o.scheduler,
            prompt_bos=self.convention.prompt_bos,
            source_space=self.convention.source_space,
        )

    def kb_examples(self, kb: KnowledgeBase):
        return kb_pretraining_examples(kb, kb.definitions if self.options.pretrain_definitions else None)

    #: options that change decoding only: they do not make a different trained stage
    DECODING_ONLY = frozenset({"num_beams", "decode_batch_size", "length_penalty", "temperature", "search"})

    def shared_stage(self, stage: str, seed: int, *data_checksums: str) -> Path:
        """The cache folder of a stage, keyed by everything that determines its weights.

        That includes ``threads`` (CPU thread count changes float summation
        order, hence the weights), the code of the positive-only linker (the
        class both genbioel and angel train this stage with), a local
        backbone's content and the numeric libraries' versions.
        """
        import hashlib
        import json
        from dataclasses import fields

        from bench.code_identity import checkpoint_identities, code_identity, library_versions
        from bench.generative.trie import tokenizer_fingerprint

        base_fields = {f.name for f in fields(GenerativeLinker.Options)} - self.DECODING_ONLY
        settings = {k: v for k, v in asdict(self.options).items() if k in base_fields}
        blob = json.dumps(
            {
                "stage": stage,
                "seed": seed,
                "settings": settings,
                "data": data_checksums,
                "tokenizer": tokenizer_fingerprint(self.tokenizer),
                "code": code_identity(GenerativeLinker),
                "checkpoints": checkpoint_identities(settings),
                "libraries": library_versions(),
            },
            sort_keys=True,
        )
        return data_dir() / "stages" / f"{stage}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"

    def pretrain(self, kb: KnowledgeBase, work_dir: Path, config: FitConfig) -> None:
        o = self.options
        self.model = run_stage(
            "pretrain",
            self.model,
            self.tokenizer,
            self.kb_examples(kb),
            work_dir,
            self.stage_settings(o.pretrain_steps, o.pretrain_lr),
            seed=config.seed,
            progress=config.progress,
            shared=self.shared_stage("pretrain", config.seed, kb.checksum) if o.backbone == SMALL else None,
        )

    def after_pretrain(self, kb: KnowledgeBase, work_dir: Path, config: FitConfig) -> None:
        """Hook between the two stages (ANGEL's pre-training with negatives goes here)."""

    def finetune(
        self, train: Sequence[Mention], dev: Sequence[Mention], kb: KnowledgeBase, work_dir: Path, config: FitConfig
    ) -> None:
        o = self.options
        selector = TargetSelector(kb)
        mention_examples = finetuning_examples(
            selector.training_pairs(train, o.targets, o.label_targets), o.context_words
        )
        examples = mix(mention_examples, self.kb_examples(kb), o.kb_mix, config.seed)
        dev_subset = self.dev_subset(dev, config.seed)
        self.model = run_stage(
            "finetune",
            self.model,
            self.tokenizer,
            examples,
            work_dir,
            self.stage_settings(o.finetune_steps, o.finetune_lr, o.eval_steps),
            seed=config.seed,
            dev_evaluator=(lambda model: self.dev_accuracy(model, dev_subset, kb)) if dev_subset else None,
            progress=config.progress,
            shared=self.shared_stage(
                "finetune", config.seed, kb.checksum, _mentions_checksum(train), _mentions_checksum(dev)
            )
            if o.backbone == SMALL
            else None,
        )

    def dev_subset(self, dev: Sequence[Mention], seed: int) -> list[Mention]:
        limit = self.options.dev_eval_mentions
        if len(dev) <= limit:
            return list(dev)
        return sorted(random.Random(seed).sample(list(dev), limit), key=lambda m: m.id)

    def dev_accuracy(self, model, mentions: Sequence[Mention], kb: KnowledgeBase) -> dict[str, float]:
        """Constrained-decoding acc@1/acc@5 (ANGEL/GenBioEL rule) of ``model`` on ``mentions``
        (acc@num_beams under the name acc5 when fewer than 5 beams are searched)."""
        predictions = self.decode_with(model, mentions, kb, min(5, self.options.num_beams))
        ranks = [hit_rank(p, m.gold_ids) for m, p in zip(mentions, predictions)]
        n = max(1, len(mentions))
        return {
            "acc1": sum(1 for r in ranks if r is not None and r <= 1) / n,
            "acc5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        }

    # --- prediction -------------------------------------------------------------
    def decode_with(self, model, mentions: Sequence[Mention], kb: KnowledgeBase, k: int) -> list[list[Candidate]]:
        was_training = model.training
        model.eval()
        outputs = decode(
            model,
            self.tokenizer,
            self.trie,
            kb.names,
            [source_text(m, self.options.context_words) for m in mentions],
            [normalize_name(m.text) for m in mentions],
            self.decode_config(k),
        )
        model.train(was_training)
        return [rank([Candidate(name, kb.name_index[name], score) for name, score in ranked], k) for ranked in outputs]

    def predict(self, mentions: Sequence[Mention], kb: KnowledgeBase, k: int) -> list[list[Candidate]]:
        if self.model is None:
            raise RuntimeError("genbioel: fit() must run before predict()")
        self._ensure_trie(kb)
        return self.decode_with(self.model, mentions, kb, k)

    def describe(self) -> dict[str, Any]:
        o = self.options
        info: dict[str, Any] = {
            "backbone": o.backbone,
            "convention": self.convention.name,
            "search": self.search,
            "num_beams": o.num_beams,
        }
        info["health_warnings"] = self.health_warnings()
        if o.checkpoint:  # its content digest or hub commit is in the run's config (``checkpoints``), hashed once
            info["checkpoint"] = o.checkpoint
            info["training"] = "none: checkpoint evaluated as it is"
        if self.model is not None:
            info["parameters"] = parameter_count(self.model)
        if self.tokenizer is not None:
            info["vocabulary"] = len(self.tokenizer)
        return info

    def health_warnings(self) -> list[str]:
        """Warnings from the training stages' records (a loss that did not move, dev acc@1 near 0)."""
        import json

        from bench.health import stage_warnings

        work_dir = getattr(self, "_work_dir", None)
        warnings: list[str] = []
        for stage in ("pretrain", "finetune"):
            record = Path(work_dir or ".") / stage / "final" / "stage.json"
            if work_dir is not None and record.is_file():
                warnings += stage_warnings(stage, json.loads(record.read_text()))
        return warnings


def _mentions_checksum(mentions: Sequence[Mention]) -> str:
    from bench.checksum import sha256_records

    return sha256_records([m.id, m.text, sorted(m.gold_ids), m.context or "", m.label or ""] for m in mentions)
