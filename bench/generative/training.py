"""Training stages on transformers' Seq2SeqTrainer (KB-guided pre-training, fine-tuning).

The Trainer gives us checkpoints, resume after an interruption, progress bars,
seeding, label smoothing and ``accelerate launch`` on several GPUs for free;
what we add is the data (examples -> tensors, with the decoder prefix fed but
not scored) and dev-set model selection by *constrained decoding accuracy*
rather than loss, since that is what the benchmark measures.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import PrinterCallback, Seq2SeqTrainer, Seq2SeqTrainingArguments, TrainerCallback

from bench import distributed
from bench.generative.model import load_seq2seq
from bench.generative.sequences import TeacherForcedBatches, source_text
from bench.kb import KnowledgeBase
from bench.locks import exclusive
from bench.mention import Mention
from bench.normalize import normalize_name
from bench.progress import PlainProgress, format_seconds, say, stage_done


@dataclass(frozen=True)
class Example:
    """One teacher-forced pair: encoder text, mention (decoder prompt), target name."""

    source: str
    mention: str
    target: str


class ExampleDataset(torch.utils.data.Dataset):
    def __init__(self, examples: Sequence[Example]) -> None:
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> Example:
        return self.examples[index]


class Seq2SeqCollator(TeacherForcedBatches):
    """Tokenise a batch of examples into BART inputs with explicit decoder inputs."""

    def __call__(self, batch: Sequence[Example]) -> dict[str, torch.Tensor]:
        return self.batch([(e.source, e.mention, e.target) for e in batch])


def kb_pretraining_examples(
    kb: KnowledgeBase, definitions: Mapping[str, str] | None = None, max_definition_words: int = 32
) -> list[Example]:
    """Synonym -> name pairs from the KB (GenBioEL's KB-guided pre-training).

    Every name of a concept is a pseudo-mention whose target is the concept's
    preferred name; the preferred name itself targets its next synonym. With
    ``definitions`` the concept's definition follows the marked synonym as
    context, as GenBioEL does with UMLS definitions.
    """
    examples = []
    for concept_id in sorted(kb.concepts):
        names = list(dict.fromkeys(normalize_name(n) for n in kb.concepts[concept_id]))
        definition = (definitions or {}).get(concept_id, "")
        context = " ".join(definition.lower().split()[:max_definition_words])
        for position, name in enumerate(names):
            target = names[0] if position > 0 else names[1] if len(names) > 1 else names[0]
            source = f"START {name} END" + (f" {context}" if context else "")
            examples.append(Example(source, name, target))
    return examples


def finetuning_examples(pairs: Sequence[tuple[Mention, str]], context_words: int) -> list[Example]:
    return [Example(source_text(m, context_words), normalize_name(m.text), name) for m, name in pairs]


def mix(primary: Sequence[Example], secondary: Sequence[Example], ratio: float, seed: int) -> list[Example]:
    """``primary`` plus ``ratio * len(primary)`` examples sampled from ``secondary``.

    Mixing KB pairs into fine-tuning keeps the model's knowledge of KB names
    that no training mention targets (the CPU recipe found 1:1 to work).
    """
    if ratio <= 0 or not secondary:
        return list(primary)
    count = min(len(secondary), int(round(ratio * len(primary))))
    return list(primary) + random.Random(seed).sample(list(secondary), count)


@dataclass(frozen=True)
class StageSettings:
    steps: int
    batch_size: int = 64
    learning_rate: float = 5e-4
    warmup_ratio: float = 0.05
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    scheduler: str = "cosine"
    save_steps: int = 200
    eval_steps: int = 0  # 0: no dev selection
    max_source_length: int = 256
    gradient_accumulation: int = 1
    #: warm-up in steps (ANGEL's scripts); 0 = use ``warmup_ratio``
    warmup_steps: int = 0
    #: gradient clipping (transformers' default 1.0; ANGEL's scripts 0.1)
    max_grad_norm: float = 1.0
    #: ``</s> <s> mention is`` (True) or the released models' ``</s> mention is`` (False)
    prompt_bos: bool = True
    #: the encoder text tokenised as ``" " + text`` (the released models) or as it is
    source_space: bool = False


class PlainProgressCallback(TrainerCallback):
    """Plain progress lines for a Trainer stage when tqdm is off (no terminal): step, loss, dev acc@1, ETA."""

    def __init__(self, name: str, total: int, log) -> None:
        self.progress = PlainProgress(name, total, log=log)

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        extra = {}
        if "loss" in logs:
            extra["loss"] = f"{logs['loss']:.3f}"
        if "eval_acc1" in logs:
            extra["dev acc@1"] = f"{100 * logs['eval_acc1']:.1f}%"
        self.progress.update(state.global_step, **extra)

    def on_step_end(self, args, state, control, **kwargs):
        self.progress.update(state.global_step, force=state.global_step >= self.progress.total)


def _stderr(message: str) -> None:
    say(message)


class DevSelectingTrainer(Seq2SeqTrainer):
    """A Seq2SeqTrainer whose evaluation is constrained decoding accuracy on dev."""

    def __init__(self, *args, dev_evaluator: Callable[[torch.nn.Module], dict[str, float]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.dev_evaluator = dev_evaluator

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        was_training = self.model.training
        scores = distributed.agree(self.dev_evaluator(self.model))
        metrics = {f"{metric_key_prefix}_{k}": v for k, v in scores.items()}
        self.model.train(was_training)
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics


def run_stage(
    name: str,
    model: torch.nn.Module,
    tokenizer,
    examples: Sequence[Example],
    work_dir: Path,
    settings: StageSettings,
    seed: int,
    dev_evaluator: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    progress: bool = True,
    log=None,
    shared: Path | None = None,
) -> torch.nn.Module:
    """Train one stage, resuming from its last checkpoint; return the final (best-on-dev) model.

    A finished stage leaves ``<work_dir>/<name>/final`` (model + tokenizer +
    ``stage.json``) and is not trained again when the run resumes. ``shared`` is
    a cache folder keyed by everything the stage depends on: when another run
    (say ``genbioel`` before ``angel``, with the same settings, data and seed)
    already trained the identical stage, it is copied instead of retrained, so
    both arms of a comparison share one positive-only model.
    """
    log = log or _stderr
    # Two runs that need the same shared stage (genbioel and angel started together) train it once:
    # the second waits for the first and then copies its result.
    with exclusive(shared, f"[{name}] the shared stage", log) if shared is not None else nullcontext():
        return _run_stage_locked(
            name, model, tokenizer, examples, Path(work_dir), settings, seed, dev_evaluator, progress, log, shared
        )


def _run_stage_locked(
    name: str,
    model: torch.nn.Module,
    tokenizer,
    examples: Sequence[Example],
    work_dir: Path,
    settings: StageSettings,
    seed: int,
    dev_evaluator: Callable[[torch.nn.Module], dict[str, float]] | None,
    progress: bool,
    log,
    shared: Path | None,
) -> torch.nn.Module:
    stage_dir = work_dir / name
    final = stage_dir / "final"
    with distributed.main_first():  # files are the main process's; the others read them after it
        if distributed.is_main():
            if not (final / "stage.json").is_file() and shared is not None and (shared / "stage.json").is_file():
                log(f"[{name}] reusing the identical stage trained by another run ({shared})")
                _copy_dir(shared, final)
        # the main process also deletes a checkpoint cut short; the others then find what it kept
        checkpoint = last_complete_checkpoint(stage_dir)
    if (final / "stage.json").is_file():
        log(f"[{name}] already trained; loading {final}")
        stage_done(settings.steps, trained=False)
        return load_seq2seq(final)
    if settings.steps <= 0 or not examples:
        return model
    selecting = dev_evaluator is not None and settings.eval_steps > 0
    args = Seq2SeqTrainingArguments(
        output_dir=str(stage_dir),
        max_steps=settings.steps,
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation,
        learning_rate=settings.learning_rate,
        # a float in [0, 1) is a ratio of the total steps, an int a number of steps
        warmup_steps=settings.warmup_steps if settings.warmup_steps > 0 else settings.warmup_ratio,
        max_grad_norm=settings.max_grad_norm,
        weight_decay=settings.weight_decay,
        lr_scheduler_type=settings.scheduler,
        label_smoothing_factor=settings.label_smoothing,
        save_strategy="steps",
        save_steps=settings.eval_steps if selecting else settings.save_steps,
        save_total_limit=2,
        eval_strategy="steps" if selecting else "no",
        eval_steps=settings.eval_steps if selecting else None,
        load_best_model_at_end=selecting,
        metric_for_best_model="acc1" if selecting else None,
        greater_is_better=True,
        logging_steps=max(1, min(50, settings.steps // 10)),
        seed=seed,
        data_seed=seed,
        report_to=[],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        disable_tqdm=not progress,
        use_cpu=not torch.cuda.is_available(),
        ddp_find_unused_parameters=False,  # every parameter of a BART takes part in each step
    )
    collator = Seq2SeqCollator(
        tokenizer,
        model.config.decoder_start_token_id,
        settings.max_source_length,
        settings.prompt_bos,
        settings.source_space,
    )
    dataset = ExampleDataset(examples)
    common = dict(model=model, args=args, train_dataset=dataset, data_collator=collator)
    if selecting:
        trainer = DevSelectingTrainer(**common, eval_dataset=dataset, dev_evaluator=dev_evaluator)
    else:
        trainer = Seq2SeqTrainer(**common)
    if checkpoint:
        log(f"[{name}] resuming from {checkpoint}")
    log(
        f"[{name}] {settings.steps} steps of {settings.batch_size} examples ({len(examples):,} examples), "
        f"learning rate {settings.learning_rate:g}"
        + (f", dev scored every {settings.eval_steps} steps" if selecting else "")
    )
    if not progress and distributed.is_main():  # no bar: plain lines every 30 s instead of the raw log dicts
        trainer.remove_callback(PrinterCallback)
        trainer.add_callback(PlainProgressCallback(name, settings.steps, log))
    began = time.monotonic()
    trainer.train(resume_from_checkpoint=checkpoint)
    log(f"[{name}] done: {trainer.state.global_step} steps in {format_seconds(time.monotonic() - began)}")
    stage_done(settings.steps)
    model = trainer.model
    # Each process reloads the best checkpoint at the end of train(); the main process must not
    # remove the checkpoints below before every process has done so (a process that finds its best
    # checkpoint gone keeps its last weights, and the processes then diverge).
    distributed.barrier()
    if not distributed.is_main():
        distributed.barrier()  # the main process publishes the stage
        return load_seq2seq(final)  # the published weights, so every process holds the same model
    tmp = stage_dir / "final.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    history = [entry for entry in trainer.state.log_history if any(k.startswith("eval_") for k in entry)]
    stage_info = {
        "stage": name,
        "settings": asdict(settings),
        "examples": len(examples),
        "global_step": trainer.state.global_step,
        "processes": trainer.args.world_size,  # data-parallel processes (accelerate launch), 1 otherwise
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_metric": trainer.state.best_metric,
        "dev_history": history,
        "train_loss": [e["loss"] for e in trainer.state.log_history if "loss" in e],
    }
    (tmp / "stage.json").write_text(json.dumps(stage_info, indent=2))
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    for old in stage_dir.glob("checkpoint-*"):  # the stage is done; its checkpoints are not needed
        shutil.rmtree(old, ignore_errors=True)
    if shared is not None and not shared.exists():
        _copy_dir(final, shared)
    distributed.barrier()
    return model


def last_complete_checkpoint(stage_dir: Path) -> str | None:
    """The newest checkpoint the Trainer finished writing, or None.

    The Trainer writes ``trainer_state.json`` last, so a checkpoint without it
    was cut short by a kill; resuming from it would fail, so it is deleted.
    """
    if not stage_dir.is_dir():
        return None
    steps = sorted(
        (int(p.name.split("-")[1]), p) for p in stage_dir.glob("checkpoint-*") if p.name.split("-")[1].isdigit()
    )
    for _, path in reversed(steps):
        if (path / "trainer_state.json").is_file():
            return str(path)
        shutil.rmtree(path, ignore_errors=True)
    return None


def _copy_dir(source: Path, target: Path) -> None:
    """Copy a finished model folder so that ``target`` appears complete or not at all."""
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(target)
    except OSError:  # another process published it first: theirs is identical
        shutil.rmtree(tmp, ignore_errors=True)
