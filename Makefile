# Every target builds what it needs in .venv: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench lab clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python tools/run_demo.py notebooks/quickstart.ipynb build/quickstart.html

lint: $(STAMP)
	$(BIN)/ruff check odyssey_jupyter tests benchmarks tools
	$(BIN)/ruff format --check odyssey_jupyter tests benchmarks tools
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python tools/check_import_cycles.py

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
