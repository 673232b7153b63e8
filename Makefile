# campatch: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: start the simulated fleet on loopback, scan it, print the inventory, stop
demo: $(STAMP)
	$(BIN)/campatch sim demo

## system-deps: OS packages the tests use (ip, unshare, chromium); installed only when missing
system-deps:
	@sh scripts/system-deps.sh

## test: lint, type-check and run the whole test suite
test: $(STAMP) system-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## bench: scan benchmark against nmap -sV (see bench/README.md)
bench: $(STAMP)
	@sh scripts/system-deps.sh nmap
	$(BIN)/python bench/scan_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
