"""``predictions``: any linker's predictions, read from a file and scored like a run (``bioel-bench score``).

Nothing is trained: ``fit`` reads the file (:mod:`bench.prediction_formats`),
``predict`` hands each test mention the candidates its row gives, ranked as the
file ranks them. Mentions without a row get no candidate (wrong at every k) and
are counted, as are rows that name no mention; both counts and examples are
recorded in the run (``system_info.matching``). The file's content is part of the
run key (its digest, like any local file an option names), so an edited file is
scored again, never served from an old run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.kb import KnowledgeBase
from bench.linker import Candidate, FitConfig, Linker
from bench.mention import Mention
from bench.prediction_formats import FORMATS, ORDERED_FORMATS, ExternalPrediction, match, read_predictions
from bench.registry import register_system


@register_system("predictions")
class PredictionsFile(Linker):
    @dataclass(frozen=True)
    class Options:
        #: the predictions file (an absolute path is recorded in the run)
        path: str = ""
        #: its format: auto (from its name and first bytes), or one of jsonl, tsv, belb, biosyn, angel
        format: str = "auto"

    def __init__(self, options: Options | None = None) -> None:
        super().__init__(options)
        if self.options.format not in ("auto", *FORMATS):
            raise BenchError(f"predictions: format must be auto or one of {', '.join(FORMATS)}")
        self.rows: list[ExternalPrediction] = []
        self.format = self.options.format
        self.matching: dict[str, Any] = {}

    def fit(self, train: Sequence[Mention], dev: Sequence[Mention], kb: KnowledgeBase, config: FitConfig) -> None:
        if not self.options.path:
            raise BenchError("predictions: give the file with --set path=FILE (or use bioel-bench score FILE)")
        self.format, self.rows = read_predictions(self.options.path, self.options.format)

    def predict(self, mentions: Sequence[Mention], kb: KnowledgeBase, k: int) -> list[list[Candidate]]:
        """Candidates of each mention's row; a composite part takes its own row (by id) or the
        matching entry of its mention's row (formats that nest parts)."""
        part_ids = {p.id for m in mentions for p in m.parts}
        top = [m for m in mentions if m.id not in part_ids]
        ordered = self.format in ORDERED_FORMATS
        found = match(self.rows, top if ordered else mentions, self.format, Path(self.options.path))
        found.missing = [i for i in found.missing if i not in part_ids]
        self.matching = found.summary()
        by_id: dict[str, list[Candidate]] = {}
        for mention in top:
            row = found.by_mention.get(mention.id)
            by_id[mention.id] = [] if row is None else row.candidates
            for index, part in enumerate(mention.parts):
                own = found.by_mention.get(part.id)
                if own is not None:
                    by_id[part.id] = own.candidates
                elif row is not None and len(row.parts) == len(mention.parts):
                    by_id[part.id] = row.parts[index]
        return [by_id.get(m.id, [])[:k] for m in mentions]

    def describe(self) -> dict[str, Any]:
        return {"path": self.options.path, "format": self.format, "matching": self.matching}
