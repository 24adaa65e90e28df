# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint types unit install browser vectors clean

install: $(STAMP)

# Re-install whenever the declared or pinned dependencies change.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

browser:
	scripts/ensure-chromium

unit: $(STAMP) browser
	$(BIN)/pytest -n 2

test: lint types unit

# Regenerate tests/vectors/*.json from their fixed inputs (the tests check they still match).
vectors: $(STAMP)
	$(BIN)/python -m tests.vectors.generate

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis
