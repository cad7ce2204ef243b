# Two entry points for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The strict ocpp-rpc (npm) CSMS that the simulator's interop tests run against.
NPM_PEER := tests/peers/ocpp-rpc
NPM_STAMP := $(NPM_PEER)/node_modules/.installed

.PHONY: run test install lint typecheck pytest bench clean browser conformance

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# No npm: nothing to install (without node those tests skip; with node they say what is missing).
$(NPM_STAMP): $(NPM_PEER)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --prefix $(NPM_PEER) && touch $@; \
	else \
		echo "npm not found: the ocpp-rpc interop tests will be skipped"; \
	fi

# The dashboard's browser test drives Debian's Chromium (no browser download): install it when
# missing and we are root; otherwise the test skips (and fails under CI=true).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium not installed: the dashboard's browser test will skip (fail under CI)"

run: $(STAMP)
	$(BIN)/opencsms serve --demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

# The conformance suite runs with the rest; its verdicts must match docs/conformance.md.
CONFORMANCE_REPORT := .conformance.json

pytest: $(STAMP) $(NPM_STAMP) browser
	OPENCSMS_CONFORMANCE_REPORT=$(CONFORMANCE_REPORT) $(BIN)/pytest -q
	$(BIN)/python scripts/conformance_matrix.py --check $(CONFORMANCE_REPORT)

# Run the conformance suite alone and write docs/conformance.md from its verdicts.
conformance: $(STAMP)
	OPENCSMS_CONFORMANCE_REPORT=$(CONFORMANCE_REPORT) $(BIN)/pytest -q tests/conformance || true
	$(BIN)/python scripts/conformance_matrix.py $(CONFORMANCE_REPORT)

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
