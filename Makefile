# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

.PHONY: run test lint types audit unit coverage install browser translations messages vectors bundle clean

install: $(STAMP)

# Re-install whenever the declared or pinned dependencies change.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

# Security lint of the packages (medium and high findings fail; each justified one is
# marked inline with its reason), and known vulnerabilities in the installed dependencies.
PACKAGES := crypto store casework web submit review cli
audit: $(STAMP)
	$(BIN)/bandit --quiet --recursive --severity-level medium $(PACKAGES)
	$(BIN)/python scripts/audit-dependencies

browser:
	scripts/ensure-system-packages

# puppeteer-core, which drives Firefox ESR in tests/firefox, axe-core and esbuild;
# re-installed when the lock changes.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

# After changing a module under submit/static/js: rebuild the pages' one script,
# static/js/dist/main.js, and commit it with the change (`make run` needs no Node.js;
# tests/browser/test_bundle.py fails while it is stale).
bundle: $(NODE_STAMP)
	scripts/bundle

# Compiled catalogues are build products (git ignores them); their .po sources are committed.
CATALOGS := $(wildcard web/translations/*/LC_MESSAGES/messages.po)
translations: $(CATALOGS:.po=.mo)

# Quietly: `make run` should print its addresses and credentials, not the build's chatter.
%.mo: %.po $(STAMP)
	@$(BIN)/pybabel --quiet compile -i $< -o $@

# After changing user-facing text: extract it and merge it into every catalogue.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		--no-location --sort-output \
		--project minhbach --copyright-holder minhbach -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations \
		--no-fuzzy-matching --ignore-obsolete

unit: $(STAMP) browser translations $(NODE_STAMP)
	scripts/with-services $(BIN)/pytest -n 2

test: lint types audit unit

# The suite with line and branch coverage of the packages (pyproject's [tool.coverage]).
coverage: $(STAMP) browser translations $(NODE_STAMP)
	scripts/with-services $(BIN)/pytest -n 2 --cov --cov-report=term-missing:skip-covered

run: $(STAMP) translations
	@scripts/run

# Regenerate tests/vectors/*.json from their fixed inputs (the tests check they still match).
vectors: $(STAMP)
	$(BIN)/python -m tests.vectors.generate

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .hypothesis
