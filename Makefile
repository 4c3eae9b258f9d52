# The two commands of the README: `make demo` and `make test`.
# Each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench serve lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[asr,asr-base,mqtt,db,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sparring demo

serve: $(STAMP)
	$(BIN)/sparring serve

test: $(STAMP)
	.ci/system-deps
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not browser"

bench: $(STAMP)
	$(BIN)/python bench/bench_sessions.py

lint: $(STAMP)
	$(BIN)/ruff check server models client
	$(BIN)/mypy --strict models server/core

clean:
	rm -rf $(VENV) .pytest_cache
