# Every target creates .venv from the pinned lock file when it is missing, so on a fresh machine
# `make demo` and `make test` work with nothing but Python 3.10+ and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo bench bench-full lint docs docs-rerun clean

install: $(STAMP)

$(STAMP): requirements-lock.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-lock.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

# The regularization study on bundled data; writes report/index.html.
demo: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m skreg.demo --out report

# Quick mode: a sanity run of every benchmark in a few minutes; bench-full measures for real.
bench: $(STAMP)
	for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script --quick || exit 1; done

bench-full: $(STAMP)
	for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .

# The site goes to docs/_build/html, with the gallery's examples at their full settings (the
# figures the user guide describes). Their outputs are cached in docs/_build: a rebuild re-runs
# only the examples whose source changed (docs-rerun runs them all, after a change of skreg).
docs: $(STAMP)
	$(BIN)/python docs/build.py

docs-rerun: $(STAMP)
	$(BIN)/python docs/build.py --rerun-examples

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
