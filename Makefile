# settee — the two commands in the README: `make demo` and `make test`.
# Everything they need is installed here, into folders of the repo's own
# (.venv for Python, .cache/npm for PouchDB Server), ignored by git.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
NPM_DIR := .cache/npm
POUCHDB_BIN := $(abspath $(NPM_DIR))/node_modules/.bin/pouchdb-server
export SETTEE_POUCHDB_BIN := $(POUCHDB_BIN)

.PHONY: test demo lint typecheck pytest docs venv pouchdb clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,docs,cli]'
	touch $@

venv: $(VENV)/.installed

$(POUCHDB_BIN): tests/servers/pouchdb/package.json
	mkdir -p $(NPM_DIR)
	cp tests/servers/pouchdb/package.json $(NPM_DIR)/package.json
	cd $(NPM_DIR) && npm install --no-audit --no-fund --loglevel=error
	touch $@

pouchdb: $(POUCHDB_BIN)

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports --no-cache  # the layer contracts in pyproject.toml

typecheck: venv
	$(VENV)/bin/mypy

# The pytest session starts (and stops) PouchDB Server and the django-rql
# service itself, on free loopback ports; COUCHDB_URL adds Apache CouchDB.
pytest: venv pouchdb
	$(PY) -m pytest

docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir .cache/site

test: lint typecheck pytest docs

demo: venv
	$(VENV)/bin/settee demo

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache .hypothesis
