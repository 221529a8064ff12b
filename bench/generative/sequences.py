"""How a mention and a KB name become token sequences (DESIGN.md section 5).

Encoder input: the lower-cased context with the mention marked
``... START mention END ...`` (a window of words around it), or
``START mention END`` when the corpus has no context.
Decoder sequence: ``<s> mention is NAME </s>``; the ``<s> mention is`` prefix is
fed to the decoder but not scored, and constrained decoding starts after it.
The released GenBioEL/ANGEL models were trained without the ``<s>``
(``prompt_bos=False``, :mod:`bench.generative.conventions`): their decoder reads
``</s> mention is NAME </s>``.
Names are the KB's normalised names, so a generated sequence maps back to ids
through ``KnowledgeBase.name_index``.

Byte-level BPE splits words with their leading space, so ``" " + name``
tokenises to the same ids alone as after the prefix: the trie can be built from
names alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.mention import Mention
from bench.normalize import normalize_name

START, END = "START", "END"


def name_ids(tokenizer, name: str) -> list[int]:
    """Token ids of a KB name as the decoder generates it, EOS included."""
    return tokenizer(" " + normalize_name(name), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]


def prefix_ids(tokenizer, mention_text: str, prompt_bos: bool = True) -> list[int]:
    """``<s> mention is`` ids (``mention is`` without ``prompt_bos``): fed to the decoder before
    the name, never scored.

    The released models' prefix is ``tokenizer(" " + "mention is")`` without its special
    tokens (GenBioEL/ANGEL ``encode_data_to_json`` and ``read_ids_from_json``).
    """
    words = tokenizer(" " + normalize_name(mention_text) + " is", add_special_tokens=False)["input_ids"]
    return [tokenizer.bos_token_id, *words] if prompt_bos else list(words)


def source_text(mention: Mention, context_words: int = 64) -> str:
    """The encoder text: mention marked in a window of ``context_words`` words each side.

    GenBioEL caps the input at 384 words around the mention; the window is an
    option because CPU-sized models train much faster on short inputs.
    ``context_words=0`` gives ``START mention END`` alone.
    """
    text = normalize_name(mention.text)
    if context_words <= 0 or mention.context is None or mention.span is None:
        return f"{START} {text} {END}"
    start, end = mention.span
    left = mention.context[:start].split()[-context_words:]
    right = mention.context[end:].split()[:context_words]
    return " ".join([*(w.lower() for w in left), START, text, END, *(w.lower() for w in right)])


def decoder_example(
    tokenizer, mention_text: str, name: str, decoder_start_id: int, prompt_bos: bool = True
) -> tuple[list[int], list[int]]:
    """``(decoder_input_ids, labels)`` for teacher forcing, prefix masked with -100.

    BART would build decoder inputs by shifting the labels, which turns the
    masked prefix into padding; we build both explicitly so the prefix is fed.
    With ``prompt_bos=False`` this is the released models' layout: inputs
    ``[</s>] + prefix + name``, labels ``[-100] * len(prefix) + name + [</s>]``.
    """
    prefix = prefix_ids(tokenizer, mention_text, prompt_bos)
    target = name_ids(tokenizer, name)
    sequence = prefix + target
    decoder_input_ids = [decoder_start_id] + sequence[:-1]
    labels = [-100] * len(prefix) + target
    return decoder_input_ids, labels


class TeacherForcedBatches:
    """Tokenises (encoder text, mention, target name) triples into one BART batch, in a model's layout.

    The training collator and the DPO pair collator both build their batches here,
    so the two stages can never disagree on the layout (``prompt_bos``,
    ``source_space``: :mod:`bench.generative.conventions`).
    """

    def __init__(
        self,
        tokenizer,
        decoder_start_id: int,
        max_source_length: int = 256,
        prompt_bos: bool = True,
        source_space: bool = False,
    ) -> None:
        self.tokenizer = tokenizer
        self.decoder_start_id = decoder_start_id
        self.max_source_length = max_source_length
        self.prompt_bos = prompt_bos
        self.source_space = source_space  # the released models' encoder text: " " + text

    def batch(self, rows: Sequence[tuple[str, str, str]]):
        """``input_ids``, ``attention_mask``, ``decoder_input_ids`` and ``labels`` for ``(source, mention,
        name)`` rows, the decoder prefix fed and masked out of the labels."""
        import torch

        sources = [(" " + source) if self.source_space else source for source, _, _ in rows]
        encoded = self.tokenizer(
            sources, padding=True, truncation=True, max_length=self.max_source_length, return_tensors="pt"
        )
        pairs = [
            decoder_example(self.tokenizer, mention, name, self.decoder_start_id, self.prompt_bos)
            for _, mention, name in rows
        ]
        return {
            "input_ids": encoded["input_ids"],
            "attention_mask": encoded["attention_mask"],
            "decoder_input_ids": torch.tensor(pad([r[0] for r in pairs], self.tokenizer.pad_token_id)),
            "labels": torch.tensor(pad([r[1] for r in pairs], -100)),
        }


def pad(rows: Sequence[Sequence[int]], value: int) -> list[list[int]]:
    width = max(len(r) for r in rows)
    return [list(r) + [value] * (width - len(r)) for r in rows]
