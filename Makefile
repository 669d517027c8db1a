# Two commands for a new user: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5050
STORE  ?= sqlite:///var/beacon.sqlite

.PHONY: run test install lint format clean benchmark benchmark-scale benchmark-privacy test-mongo

run: $(STAMP)
	BEACON_STORE_URI=$(STORE) $(BIN)/beacon load demo
	BEACON_STORE_URI=$(STORE) BEACON_ACCESS_FILE=$${BEACON_ACCESS_FILE:-beacon/demo/access-policy.yaml} \
		BEACON_BASE_URL=$${BEACON_BASE_URL:-http://$(HOST):$(PORT)/api} \
		$(BIN)/beacon serve --host $(HOST) --port $(PORT)

test: $(STAMP) tests/oidc/node_modules/.installed
	@test -x /usr/bin/chromium && test -x /usr/bin/chromedriver || ./scripts/install-debian-packages chromium chromium-driver  # the lookup page's browser tests
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
	$(BIN)/python -m benchmarks.page_benchmark --sizes 10000000

# National scale (not in CI): 22 per-chromosome VCFs loaded with --add, 100M variants by default
# (hours; SCALE_VARIANTS=2000000 for a quick run), then queries at the final size.
SCALE_VARIANTS ?= 100000000
benchmark-scale: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || ./scripts/install-debian-packages wrk
	$(BIN)/python -m benchmarks.scale_benchmark --variants $(SCALE_VARIANTS)

# The store tests against a real MongoDB 7 replica set in Docker (docker/compose.test-mongo.yml): the
# contract suite on the `mongo` backend, the failure tests and the query plan checks
# (tests/store/test_mongo_real_server.py). Needs Docker; CI machines cannot run it (README).
MONGO_COMPOSE := docker compose -f docker/compose.test-mongo.yml
TEST_MONGO_URI ?= mongodb://localhost:27117/?replicaSet=rs0
test-mongo: $(STAMP)
	$(MONGO_COMPOSE) up -d --wait
	BEACON_TEST_MONGO_URI='$(TEST_MONGO_URI)' $(BIN)/pytest -q -p no:randomly tests/store; \
		status=$$?; $(MONGO_COMPOSE) down -v; exit $$status

# The membership attack of Shringarpure & Bustamante against our own node, per protection (README:
# Re-identification). PRIVACY_ARGS sizes it, e.g. PRIVACY_ARGS="--sites 20000 --targets 10".
benchmark-privacy: $(STAMP)
	$(BIN)/python -m benchmarks.privacy_benchmark $(PRIVACY_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info tests/oidc/node_modules
