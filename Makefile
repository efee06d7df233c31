# steadyml: two commands for a new user.
#   make demo   set up .venv, then run the guided lifecycle on the sample project
#   make test   set up .venv, then lint, type-check, check import rules and run every test
#   make test-quick   while you work: lint and every test not marked slow (under 90 s)
# Nothing else to install: each target creates or updates .venv from pyproject.toml.

SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.steadyml-installed

# The first Python 3.11+ on PATH (override: make demo PYTHON=/path/to/python3.12).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3 python; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	    command -v $$p; break; fi; done)

.PHONY: demo test test-quick setup lint clean help
.DEFAULT_GOAL := help

help:
	@echo "make demo   run the guided lifecycle on the sample churn project (in ./demo-project)"
	@echo "make test   lint, type-check, import rules and the whole test suite"
	@echo "make test-quick   ruff, import rules and every test not marked slow (while you work)"

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "Error: steadyml needs Python 3.11 or newer; none was found on PATH." >&2; \
	  echo "Install Python 3.11+ (python.org or your package manager), or run: make demo PYTHON=/path/to/python3.11" >&2; \
	  exit 1; fi
	@[ -x $(BIN)/python ] || { echo "Creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "Installing steadyml and its test tools into $(VENV) (first time: a few minutes)"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/steadyml demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

test: $(STAMP)
	bash scripts/test.sh

test-quick: $(STAMP)
	STEADYML_QUICK=1 bash scripts/test.sh -m "not slow"

clean:
	rm -rf $(VENV) demo-project .pytest_cache .mypy_cache .ruff_cache
