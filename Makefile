# The two commands of the README: `make demo` and `make test`.
# Each creates .venv and installs what it needs on first use: the package (English
# recognition is a core dependency) with Dutch (nl), MQTT, PostgreSQL and the test tools.
# The pip way without make: `pip install .` (README, Quick start).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench serve lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[nl,mqtt,db,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sparring demo

serve: $(STAMP)
	$(BIN)/sparring serve

test: $(STAMP)
	.ci/system-deps
	$(BIN)/python -m pytest -q --durations=15

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not browser and not install"

bench: $(STAMP)
	$(BIN)/python bench/bench_sessions.py

lint: $(STAMP)
	$(BIN)/ruff check server models client
	$(BIN)/mypy --strict models server/core

clean:
	rm -rf $(VENV) .pytest_cache
