"""``llm``: any causal language model as a linker, through lm-evaluation-harness.

Two modes, the same two as the exported lm-eval tasks (``bench.lmeval.export``):

* ``rank`` (default): a first-stage retriever (any registered system, ``tfidf``
  by default) proposes its top-N names; the model scores each by the
  log-likelihood of ``" " + name`` after the prompt, and the names are ranked by
  it (per character with ``length_norm``), ties by name. The retriever's
  recall@N bounds every acc@k and is recorded in ``system_info``.
* ``generate``: greedy generation after the prompt up to a newline; the answer,
  normalised, is looked up in ``kb.name_index`` (no match: no candidate, a miss).

The model runs through lm-eval's ``HFLM`` (``loglikelihood`` and
``generate_until``), which takes a checkpoint name or an already built
``PreTrainedModel``: its batching, context/continuation tokenisation and
truncation are then exactly those of ``lm-eval run`` on the exported tasks, so
this system and the task folder give the same numbers for the same model, and
scoring is shared through ``bench.lmeval.task_utils``. ``model="tiny"`` builds a
GPT-2 from a config with a tokenizer trained on the benchmark (random weights:
it proves the path on a CPU, nothing is downloaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bench.kb import KnowledgeBase
from bench.linker import Candidate, FitConfig, Linker, rank
from bench.lmeval.prompts import DEFAULT_PROMPT, TARGET_DELIMITER, render_prompt
from bench.lmeval.task_utils import candidate_score, generated_ids
from bench.mention import Mention
from bench.registry import SYSTEMS, register_system

TINY = "tiny"


@register_system("llm")
class LanguageModelLinker(Linker):
    @dataclass(frozen=True)
    class Options:
        #: "tiny" (a GPT-2 from a config, for tests) or a Hugging Face causal LM name or path
        model: str = TINY
        #: "rank": score a retriever's candidates by log-likelihood; "generate": generate a name and map it to ids
        mode: Literal["rank", "generate"] = "rank"
        #: first-stage system of the rank mode, and its options (a mapping)
        retriever: str = "tfidf"
        #: options of the retriever (a mapping; None = its defaults)
        retriever_settings: Any = None
        #: N: retriever candidates scored per mention
        candidates: int = 10
        #: rank by log-likelihood per character of the candidate (lm-eval's acc_norm)
        length_norm: bool = False
        #: most tokens generated per mention in the generate mode
        max_new_tokens: int = 32
        #: Python format string with {mention} and {context} (see bench/lmeval/prompts.py)
        prompt: str = DEFAULT_PROMPT
        #: words of document context each side of the mention in the prompt; 0 = none
        context_words: int = 0
        #: prompts per forward pass
        batch_size: int = 16
        #: "auto" (cuda when available) or a torch device; a checkpoint's dtype ("auto", "bfloat16", ...)
        device: str = "auto"
        #: weights' dtype when loading a checkpoint: "auto" (the checkpoint's), "bfloat16", "float32", ...
        dtype: str = "auto"
        #: torch CPU threads (0 = torch's default)
        threads: int = 0

    def __init__(self, options: Options | None = None) -> None:
        super().__init__(options)
        self.lm = None
        self.retriever: Linker | None = None
        self._facts: dict[str, Any] = {}

    # --- set-up ---------------------------------------------------------------
    def fit(self, train: Sequence[Mention], dev: Sequence[Mention], kb: KnowledgeBase, config: FitConfig) -> None:
        o = self.options
        if o.candidates < 1:
            raise ValueError(f"llm: candidates must be at least 1, got {o.candidates}")
        import torch

        if o.threads > 0:
            torch.set_num_threads(o.threads)
        self.lm = self._load_lm(train, kb, config.seed)
        if o.mode == "rank":
            settings = dict(o.retriever_settings or {})
            self.retriever = SYSTEMS.get(o.retriever).from_settings(settings)
            sub = FitConfig(seed=config.seed, work_dir=Path(config.work_dir) / "retriever", progress=config.progress)
            self.retriever.fit(train, dev, kb, sub)

    def _load_lm(self, train: Sequence[Mention], kb: KnowledgeBase, seed: int):
        import torch
        from lm_eval.models.huggingface import HFLM

        o = self.options
        if o.model == TINY:
            from bench.lmeval.tiny import tiny_gpt2, train_tiny_tokenizer

            texts = [*kb.names, *(render_prompt(m, o.prompt, o.context_words) for m in train)]
            tokenizer = train_tiny_tokenizer(texts)
            model = tiny_gpt2(tokenizer, seed=seed)
            self._facts["parameters"] = sum(p.numel() for p in model.parameters())
            return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=o.batch_size)
        device = ("cuda" if torch.cuda.is_available() else "cpu") if o.device == "auto" else o.device
        lm = HFLM(pretrained=o.model, device=device, dtype=o.dtype, batch_size=o.batch_size)
        self._facts["parameters"] = sum(p.numel() for p in lm.model.parameters())
        return lm

    # --- prediction -----------------------------------------------------------
    def predict(self, mentions: Sequence[Mention], kb: KnowledgeBase, k: int) -> list[list[Candidate]]:
        if self.lm is None:
            raise RuntimeError("llm: predict() before fit()")
        prompts = [render_prompt(m, self.options.prompt, self.options.context_words) for m in mentions]
        if self.options.mode == "generate":
            return self._generate(prompts, kb, k)
        return self._rank(mentions, prompts, kb, k)

    def _generate(self, prompts: Sequence[str], kb: KnowledgeBase, k: int) -> list[list[Candidate]]:
        from lm_eval.api.instance import Instance

        gen_kwargs = {"until": ["\n"], "max_gen_toks": self.options.max_new_tokens, "do_sample": False}
        requests = [Instance("generate_until", {}, (p, dict(gen_kwargs)), 0) for p in prompts]
        outputs = self.lm.generate_until(requests, disable_tqdm=True)
        results: list[list[Candidate]] = []
        valid = 0
        for text in outputs:
            name, ids = generated_ids(text, kb.name_index)
            valid += bool(ids)
            results.append([Candidate(name, ids, 0.0)] if ids and k > 0 else [])
        self._facts["valid_generations"] = valid / max(len(prompts), 1)
        return results

    def _rank(
        self, mentions: Sequence[Mention], prompts: Sequence[str], kb: KnowledgeBase, k: int
    ) -> list[list[Candidate]]:
        from lm_eval.api.instance import Instance

        o = self.options
        pools = [rank(c, o.candidates) for c in self.retriever.predict(mentions, kb, o.candidates)]
        requests = [
            Instance("loglikelihood", {}, (prompt, TARGET_DELIMITER + c.name), 0)
            for prompt, pool in zip(prompts, pools)
            for c in pool
        ]
        scores = iter(self.lm.loglikelihood(requests, disable_tqdm=True) if requests else [])
        results: list[list[Candidate]] = []
        for pool in pools:
            scored = [Candidate(c.name, c.ids, candidate_score(c.name, next(scores)[0], o.length_norm)) for c in pool]
            results.append(rank(scored, k))
        hits = sum(any(c.ids & m.gold_ids for c in pool) for m, pool in zip(mentions, pools))
        self._facts[f"retriever_recall@{o.candidates}"] = hits / max(len(mentions), 1)
        return results

    def describe(self) -> dict[str, Any]:
        o = self.options
        facts: dict[str, Any] = {"backend": "lm-eval HFLM", "model": o.model, "mode": o.mode}
        if o.mode == "rank":
            facts |= {"retriever": o.retriever, "candidates": o.candidates}
        return facts | self._facts
