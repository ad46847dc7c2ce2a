# Partner Connector — the README's commands.
#   make run    the whole platform with demo data (installs first)
#   make test   the test-suite (installs first; starts its own stores)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The web client (web/): npm ci when the lock changes, npm run build when any of its
# sources change (stamps, so an unchanged web/ costs nothing). No web/ yet: skipped.
WEB := web
WEB_DEPS := $(WEB)/node_modules/.pc-npm-ci
WEB_BUILT := $(WEB)/dist/.pc-built
WEB_SOURCES := $(shell test -d $(WEB) && find $(WEB) \( -path $(WEB)/node_modules \
	-o -path $(WEB)/dist \) -prune -o -type f -print)
WEB_TARGETS := $(if $(wildcard $(WEB)/package.json),$(WEB_BUILT))
# Debian's Chromium for the browser tests (no browser download by any test tool).
CHROMIUM := /usr/bin/chromium

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

$(WEB_DEPS): $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

$(WEB_BUILT): $(WEB_DEPS) $(WEB_SOURCES)
	cd $(WEB) && npm run build
	@touch $@

$(CHROMIUM):
	@if command -v apt-get >/dev/null 2>&1; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q chromium >/dev/null 2>&1 \
		|| { apt-get update -q && apt-get install -y -q chromium; }; \
	else echo "warning: no apt-get; install Chromium at $(CHROMIUM) for the browser tests"; fi

install: $(STAMP) $(WEB_TARGETS) $(CHROMIUM)

run: install
	$(BIN)/pc run

test: install
	$(if $(WEB_TARGETS),cd $(WEB) && npm test --silent)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# Every bench/*.py (helpers start with _), one table; QUICK=1: the smaller --quick sizes.
bench: install
	$(BIN)/python bench/run_all.py $(if $(QUICK),--quick) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pc
