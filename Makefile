# Two set-up commands (see README): `make demo` and `make test`.
# Both create .venv with the project and its test tools installed, then run.
PYTHON ?= python3
# The CPU wheel of this version lies on the build machines' disk; on a GPU machine set TORCH to
# the build for your CUDA (or install it first: an installed torch satisfies the requirement).
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
RUNS ?= runs/demo

.PHONY: demo test lint install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the project metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[all,test]'
	touch $@

install: $(VENV)/.installed

# The mission on the embedded demo: genbioel and angel (one shared positive-only stage) beside exact
# and tfidf, each one's acc@1/5/10, the paired genbioel-vs-angel test and the main table (configs/demo.yaml).
demo: install
	$(BIN)/bioel-bench demo --out $(RUNS)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check bench systems tests

clean:
	rm -rf $(VENV) runs build *.egg-info
