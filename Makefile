# Two commands: `make run` serves the demo, `make test` runs every test. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: setup run test bench chaos clean

setup: $(STAMP) node_modules/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Front-end libraries (Leaflet, HTMX) from package-lock.json; served from node_modules, never committed.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

run: setup
	$(BIN)/jiayuan init
	$(BIN)/jiayuan demo --scale district --if-empty
	@echo ""
	@echo "  Jiayuan 家园 — open http://$(HOST):$(PORT)/"
	@echo "  Sign in as admin (吉州区 district administrator), password jiayuan2026."
	@echo "  Other demo accounts (same password): street360802003-1 (文山街道), comm<community code>-1,"
	@echo "  gw<grid code>-1 (a grid lead), hotline1. Press Ctrl+C to stop."
	@echo ""
	$(BIN)/jiayuan serve --host $(HOST) --port $(PORT)

# pytest exits non-zero (5) when it collects no test, and make fails with it. Test files are spread over one
# process per core (pytest-xdist), each with its own scratch databases; the 25 slowest tests are listed at the end
# (docs/testing.md).
test: setup
	$(BIN)/python -m pytest -n auto --dist loadfile --durations=25

# Benchmarks print figures and write docs/performance.md; they are not tests.
bench: setup
	$(BIN)/python -m bench.run

# Load with faults (bench/chaos.py): 32 clients post cases for 60 s while the worker is SIGKILLed twice and the
# local PostgreSQL server restarts once (JIAYUAN_CHAOS_DATABASE_URL, loopback only; it interrupts everyone else's
# connections to that server). A scratch database, about 3 minutes; exit 1 when a check fails.
chaos: setup
	$(BIN)/python -m bench.chaos

clean:
	rm -rf $(VENV) node_modules var .pytest_cache
