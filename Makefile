# Every target builds what it needs in .venv: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The JupyterLab extension is built by the package's own build hook (pyproject.toml,
# hatch-jupyter-builder), the one path a user's `pip install -e .` takes too: it needs
# Node.js >= 18 and the npm registry. It is rebuilt only when its sources change (the
# stamp's name carries a hash of them).
LABEXT_SOURCES := $(sort $(wildcard labextension/src/*.ts)) labextension/package.json \
	labextension/yarn.lock labextension/tsconfig.json labextension/install.json \
	odyssey_jupyter/script/grammar.json odyssey_jupyter/display/common/live_mark.json
LABEXT_KEY := $(shell cat $(LABEXT_SOURCES) 2>/dev/null | cksum | cut -d' ' -f1)
LABEXT_STAMP := $(VENV)/.labextension-$(LABEXT_KEY)
LABEXT_DIR := $(VENV)/share/jupyter/labextensions/odyssey-jupyter
# JupyterLab refuses to start as root unless told to.
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

.PHONY: demo docs test lint typecheck bench lab clean venv labextension

venv: $(STAMP) $(LABEXT_STAMP)

# An editable install with the test and dev extras; its build hook also builds the extension
# and installs it into the virtualenv's share/jupyter (a link left by an older Makefile
# is removed first, or pip would write through it into the build).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if [ -L $(LABEXT_DIR) ]; then rm -f $(LABEXT_DIR); fi
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@rm -f $(VENV)/.labextension-* && touch $(LABEXT_STAMP)
	@touch $(STAMP)

labextension: $(LABEXT_STAMP)

$(LABEXT_STAMP): $(LABEXT_SOURCES) | $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.labextension-*
	@touch $@

demo: $(STAMP)
	$(BIN)/python tools/run_demo.py notebooks/quickstart.ipynb build/quickstart.html

# The site, offline, warnings as errors; the tutorials run against the embedded engine
# and are cached under build/docs/, so an unchanged notebook is not run again.
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs build/docs/html
	@echo "Built build/docs/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check odyssey_jupyter tests benchmarks tools docs/conf.py docs/_ext
	$(BIN)/ruff format --check odyssey_jupyter tests benchmarks tools docs/conf.py docs/_ext
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python tools/check_import_cycles.py
	$(BIN)/python tools/check_module_shape.py

typecheck: $(STAMP)
	$(BIN)/mypy

# Coverage of the package, also inside the engines and kernels the tests start (see
# [tool.coverage] in pyproject.toml); `.venv/bin/coverage report` lists it per module.
# The summary line is printed also when tests fail; the exit status is pytest's.
test: lint typecheck $(LABEXT_STAMP) docs
	@rm -f .coverage .coverage.*
	@echo "$(BIN)/pytest --cov --cov-report= $(PYTEST_ARGS)"
	@status=0; $(BIN)/pytest --cov --cov-report= $(PYTEST_ARGS) || status=$$?; \
	echo "coverage of odyssey_jupyter: $$($(BIN)/coverage report --format=total)% of lines"; \
	exit $$status

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lab: $(STAMP) $(LABEXT_STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* labextension/lib odyssey_jupyter/labextension
