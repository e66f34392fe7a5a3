# Every target builds what it needs in .venv: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The JupyterLab extension is rebuilt only when its sources change (the stamp's name
# carries a hash of them); it needs Node.js >= 18 and the npm registry.
LABEXT_SOURCES := $(sort $(wildcard labextension/src/*.ts)) labextension/package.json \
	labextension/yarn.lock labextension/tsconfig.json labextension/install.json \
	odyssey_jupyter/body_forms.json
LABEXT_KEY := $(shell cat $(LABEXT_SOURCES) 2>/dev/null | cksum | cut -d' ' -f1)
LABEXT_STAMP := $(VENV)/.labextension-$(LABEXT_KEY)
LABEXT_LINK := $(VENV)/share/jupyter/labextensions/odyssey-jupyter

.PHONY: demo test lint typecheck bench lab clean venv labextension

venv: $(STAMP) $(LABEXT_STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

labextension: $(LABEXT_STAMP)

$(LABEXT_STAMP): $(LABEXT_SOURCES) | $(STAMP)
	@command -v node >/dev/null || { echo "building the JupyterLab extension needs Node.js >= 18 (https://nodejs.org)"; exit 1; }
	cd labextension && PATH="$(CURDIR)/$(BIN):$$PATH" jlpm install --immutable
	cd labextension && PATH="$(CURDIR)/$(BIN):$$PATH" jlpm build
	cp labextension/install.json odyssey_jupyter/labextension/install.json
	@mkdir -p $(dir $(LABEXT_LINK))
	rm -rf $(LABEXT_LINK) && ln -s $(CURDIR)/odyssey_jupyter/labextension $(LABEXT_LINK)
	@rm -f $(VENV)/.labextension-*
	@touch $@

demo: $(STAMP)
	$(BIN)/python tools/run_demo.py notebooks/quickstart.ipynb build/quickstart.html

lint: $(STAMP)
	$(BIN)/ruff check odyssey_jupyter tests benchmarks tools
	$(BIN)/ruff format --check odyssey_jupyter tests benchmarks tools
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python tools/check_import_cycles.py

typecheck: $(STAMP)
	$(BIN)/mypy

# Coverage of the package, also inside the engines and kernels the tests start (see
# [tool.coverage] in pyproject.toml); `.venv/bin/coverage report` lists it per module.
# The summary line is printed also when tests fail; the exit status is pytest's.
test: lint typecheck $(LABEXT_STAMP)
	@rm -f .coverage .coverage.*
	@echo "$(BIN)/pytest --cov --cov-report= $(PYTEST_ARGS)"
	@status=0; $(BIN)/pytest --cov --cov-report= $(PYTEST_ARGS) || status=$$?; \
	echo "coverage of odyssey_jupyter: $$($(BIN)/coverage report --format=total)% of lines"; \
	exit $$status

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lab: $(STAMP) $(LABEXT_STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* labextension/lib odyssey_jupyter/labextension
