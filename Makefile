# stacks-opsd: `make demo` and `make test` create or refresh .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench lint format

$(BIN)/stacks-opsd: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[postgres,test]'
	touch $@

demo: $(BIN)/stacks-opsd
	$(BIN)/stacks-opsd demo

test: $(BIN)/stacks-opsd
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

bench: $(BIN)/stacks-opsd
	$(BIN)/python -m tests.benchmarks

lint: $(BIN)/stacks-opsd
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/stacks-opsd
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
