# Two commands for a new user: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5050
STORE  ?= sqlite:///var/beacon.sqlite

.PHONY: run test install lint format clean benchmark benchmark-privacy

run: $(STAMP)
	BEACON_STORE_URI=$(STORE) $(BIN)/beacon load demo
	BEACON_STORE_URI=$(STORE) BEACON_ACCESS_FILE=$${BEACON_ACCESS_FILE:-beacon/demo/access-policy.yaml} \
		BEACON_BASE_URL=$${BEACON_BASE_URL:-http://$(HOST):$(PORT)/api} \
		$(BIN)/beacon serve --host $(HOST) --port $(PORT)

test: $(STAMP) tests/oidc/node_modules/.installed
	@command -v curl >/dev/null 2>&1 || ./scripts/install-debian-packages curl  # the README examples' test
	$(BIN)/ruff check beacon loaders tests benchmarks
	$(BIN)/pytest -n 2 --dist loadgroup

install: $(STAMP)

# The venv needs Debian's python3-venv (ensurepip); install it when it is missing.
$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || ./scripts/install-debian-packages python3-venv
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The local OpenID provider used by the access-tier tests; Debian's nodejs and npm are installed when
# missing (a skipped test for a missing prerequisite fails the run under CI=true, see tests/conftest.py).
tests/oidc/node_modules/.installed: tests/oidc/package-lock.json
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || ./scripts/install-debian-packages nodejs npm
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed

lint: $(STAMP)
	$(BIN)/ruff check beacon loaders tests benchmarks
	$(BIN)/ruff format --check beacon loaders tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format beacon loaders tests benchmarks
	$(BIN)/ruff check --fix beacon loaders tests benchmarks

# Speed figures, not tests: a 1M-site load, then HTTP queries against 1M and 10M variants (wrk).
benchmark: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || ./scripts/install-debian-packages wrk
	$(BIN)/python -m benchmarks.load_benchmark --sites 1000000
	$(BIN)/python -m benchmarks.query_benchmark --sizes 1000000,10000000

# The membership attack of Shringarpure & Bustamante against our own node, per protection (README:
# Re-identification). PRIVACY_ARGS sizes it, e.g. PRIVACY_ARGS="--sites 20000 --targets 10".
benchmark-privacy: $(STAMP)
	$(BIN)/python -m benchmarks.privacy_benchmark $(PRIVACY_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info tests/oidc/node_modules
