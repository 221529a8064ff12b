"""The prompt a causal language model sees, shared by the exported tasks and ``llm``.

Both paths render the prompt with :func:`render_prompt`: the exporter writes
the rendered text into each document (``doc_to_text: "{{prompt}}"``) and the
``llm`` system builds the same string, so a model gets the same input whichever
way it is run. The answer follows the prompt after one space (lm-eval's
``target_delimiter``): ``"... Concept name:" + " " + name``.
"""

from __future__ import annotations

from bench.mention import Mention
from bench.normalize import normalize_name

DEFAULT_PROMPT = "Link the biomedical mention to its standard concept name.\n{context}Mention: {mention}\nConcept name:"
TARGET_DELIMITER = " "


def context_window(mention: Mention, words: int) -> str:
    """Up to ``words`` words each side of the mention, with the mention itself; "" if no context."""
    if words <= 0 or mention.context is None or mention.span is None:
        return ""
    start, end = mention.span
    left = mention.context[:start].split()[-words:]
    right = mention.context[end:].split()[:words]
    return " ".join([*left, mention.context[start:end], *right])


def render_prompt(mention: Mention, template: str = DEFAULT_PROMPT, context_words: int = 0) -> str:
    """``template`` with ``{mention}`` (normalised) and ``{context}`` (``"Context: ...\\n"`` or empty)."""
    context = context_window(mention, context_words)
    return template.format(
        mention=normalize_name(mention.text),
        context=f"Context: {' '.join(context.split())}\n" if context else "",
    )
