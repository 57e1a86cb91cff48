# Nexus — the two Quick start commands are `make demo` and `make test`.
# Both set everything up on a fresh Debian/Ubuntu machine with Python 3.11.

PYTHON ?= python3
# Test workers (pytest-xdist): Docker-marked tests share one worker (see tests/conftest.py).
PYTEST_WORKERS ?= 4
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint typecheck check bench docs docs-check docs-serve clean mutation

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,docs]'
	touch $(STAMP)

## demo: install Nexus and run the guided demo (works with or without Docker and a GPU)
demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash docs/demo.sh

## test: install what the tests need and run lint, types, the docs check and the whole suite
test: $(STAMP)
	$(BIN)/ruff check nexus_cli tests benchmarks scripts
	$(BIN)/ruff format --check nexus_cli tests benchmarks scripts
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(MAKE) --no-print-directory docs-check
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check nexus_cli tests benchmarks scripts
	$(BIN)/ruff format --check nexus_cli tests benchmarks scripts
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

## docs: regenerate the CLI reference from --help, build the site into site/ (strict) and check its links
docs: $(STAMP)
	$(BIN)/python docs/gen_cli_reference.py
	rm -rf site
	$(BIN)/zensical build --strict --clean
	$(BIN)/python docs/check_links.py site

## docs-check: what CI runs: the CLI reference is current, the strict build passes, every internal link resolves
docs-check: $(STAMP)
	$(BIN)/python docs/gen_cli_reference.py --check
	rm -rf site
	$(BIN)/zensical build --strict --clean
	$(BIN)/python docs/check_links.py site

## docs-serve: serve the site on http://localhost:8000 and rebuild on every change
docs-serve: $(STAMP)
	$(BIN)/zensical serve

## bench: the performance budget: every headline ratio and figure in one run, with the machine described
bench: $(STAMP)
	$(BIN)/python benchmarks/budget.py

## mutation: mutation-test the critical modules with mutmut and report each score (slow: minutes)
mutation: $(STAMP)
	$(BIN)/pip install --quiet 'mutmut>=3.8,<4'
	$(BIN)/python scripts/mutation.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist site .cache
