"""Language models as entity linkers through lm-evaluation-harness.

* :mod:`bench.lmeval.export`: any benchmark as an lm-eval task folder (a
  generation task and a ranking task over a retriever's top-N), run with
  ``lm-eval run --include_path DIR --tasks bioel_...``.
* :mod:`bench.lmeval.task_utils`: the tasks' scoring code (copied into the
  folder as ``utils.py``), also used by the ``llm`` system.
* :mod:`bench.lmeval.prompts`: the one prompt both paths render.
* :mod:`bench.lmeval.tiny`: a tiny GPT-2 from a config for tests (nothing downloaded).

Importing this package imports neither torch nor lm-eval.
"""
