# Every target creates .venv from the pinned lock file when it is missing, so on a fresh machine
# `make demo` and `make test` work with nothing but Python 3.10+ and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make bench` runs every benchmark in its quick mode; `make bench BENCH_FLAGS=` runs the full one.
BENCH_FLAGS ?= --quick

.PHONY: install test demo bench lint docs clean

install: $(STAMP)

$(STAMP): requirements-lock.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-lock.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

demo: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m skreg.demo

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script $(BENCH_FLAGS) || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .

docs: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python docs/build.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
