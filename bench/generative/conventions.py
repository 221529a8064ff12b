"""Sequence and search conventions: ours for models we create, the released ones for theirs.

A checkpoint only works with the conventions it was trained with (DESIGN.md
section 2b). The released GenBioEL/ANGEL models (``dmis-lab/ANGEL_*``) read

- the decoder prompt ``</s> mention is`` (no ``<s>`` after ``</s>``): ANGEL
  ``datagen/datageneration_finetune.py`` writes ``[mention + " is", name]`` targets,
  ``utils.py`` ``read_ids_from_json`` builds ``[2] + prefix + name`` decoder inputs;
- the encoder text tokenised with a leading space, ``[0] + tok(" " + source)[1:-1] + [2]``
  (``encode_data_to_json``), so its first word is a word-initial token;
- a trie rooted at the " is" token whose paths are ``tok(" " + name.lower())``
  without ``<s>``, EOS included (``trie/create_trie_and_target_kb.py``): our trie
  of :func:`bench.generative.sequences.name_ids` over the KB's normalised names,
  walked from the prompt's end, is that trie below its root;
- names ranked by the mean log-prob of the tokens after " is"
  (``fairseq_beam/sequence_generator.py`` ``finalize_hypos``): our score with
  ``length_penalty=1``;
- fairseq's beam search (:mod:`bench.generative.fairseq_search`).

So the two conventions differ in the prompt, the encoder text's first token and the
default search only.
``bench`` is what the CPU models of this harness are trained with (the ``<s>``
marks where the mention starts, which helps a model trained from scratch);
``released`` is what a pretrained checkpoint expects. ``auto`` picks ``released``
for any pretrained backbone or checkpoint and ``bench`` for ``small``.

One quirk of the released scorer is not reproduced: it averages the scores after
the *first* " is" token of the whole sequence, so a mention that itself holds the
word "is" is scored from inside the mention; we always score after the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

CONVENTION_NAMES = ("auto", "bench", "released")
SEARCH_NAMES = ("auto", "hf", "fairseq")


@dataclass(frozen=True)
class Convention:
    name: str
    #: ``</s> <s> mention is`` (True) or ``</s> mention is`` (False)
    prompt_bos: bool
    #: the encoder text is tokenised as ``" " + text`` (True) or as it is (False)
    source_space: bool
    #: the beam search a model of this convention is decoded with unless told otherwise
    search: str


BENCH = Convention("bench", prompt_bos=True, source_space=False, search="hf")
RELEASED = Convention("released", prompt_bos=False, source_space=True, search="fairseq")


def resolve_convention(option: str, pretrained: bool) -> Convention:
    """The convention an option value means for a model that is (or is not) pretrained."""
    if option not in CONVENTION_NAMES:
        raise ValueError(f"convention must be one of {', '.join(CONVENTION_NAMES)}, got {option!r}")
    if option == "auto":
        return RELEASED if pretrained else BENCH
    return RELEASED if option == "released" else BENCH


def resolve_search(option: str, convention: Convention) -> str:
    """``hf`` or ``fairseq``: the option, or the convention's own search for ``auto``."""
    if option not in SEARCH_NAMES:
        raise ValueError(f"search must be one of {', '.join(SEARCH_NAMES)}, got {option!r}")
    return convention.search if option == "auto" else option
