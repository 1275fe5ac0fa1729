# Market Sentinel — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) deploy/local/stack.py
KAFKA_LIBS := .cache/kafka/libs
# The identity provider (deploy/local/identity.py has the same version).
KEYCLOAK_VERSION := 26.7.3
KEYCLOAK_DIST := .cache/keycloak/keycloak-$(KEYCLOAK_VERSION)

.PHONY: help setup kafka-jars keycloak up down status demo demo-stop simulator-stop simulator-start test test-unit lint typecheck contracts \
        contracts-check contracts-release token bench lock clean fault tail

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# --- set-up ---------------------------------------------------------------------------------
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

$(KAFKA_LIBS)/.complete: deploy/kafka/pom.xml
	@command -v mvn >/dev/null || { echo "Maven (mvn) is needed to resolve the Kafka jars"; exit 1; }
	@rm -rf $(KAFKA_LIBS)
	mvn -q -B -f deploy/kafka/pom.xml dependency:copy-dependencies \
	    -DoutputDirectory=$(CURDIR)/$(KAFKA_LIBS) -DincludeScope=runtime
	@touch $@

# The unpack goal leaves a `$${project.basedir}` marker folder in its working directory: a
# scratch one. `stack.py up` builds the server for PostgreSQL on its first start (~30 s).
$(KEYCLOAK_DIST)/.complete:
	@command -v mvn >/dev/null || { echo "Maven (mvn) is needed to fetch Keycloak"; exit 1; }
	@rm -rf $(KEYCLOAK_DIST)
	@mkdir -p $(dir $(KEYCLOAK_DIST))
	scratch=$$(mktemp -d) && cd $$scratch && mvn -q -B dependency:unpack \
	    -Dartifact=org.keycloak:keycloak-quarkus-dist:$(KEYCLOAK_VERSION):zip \
	    -DoutputDirectory=$(CURDIR)/$(dir $(KEYCLOAK_DIST)); status=$$?; rm -rf $$scratch; exit $$status
	@touch $@

# The console's scripts (htmx, charts) from the npm registry, pinned by its package-lock.json; it
# serves them itself, never from a CDN.
CONSOLE_NODE := services/console/node_modules
$(CONSOLE_NODE)/.installed: services/console/package.json services/console/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node 20) is needed for the console's scripts"; exit 1; }
	npm ci --prefix services/console --no-audit --no-fund --loglevel=error
	@touch $@

# The official AsyncAPI parser (@asyncapi/parser 3, pinned by its package-lock.json) that
# `make contracts-check` and tests/unit/contracts/test_asyncapi_parser.py run on asyncapi.yaml.
ASYNCAPI_NODE := tools/asyncapi-validate/node_modules
$(ASYNCAPI_NODE)/.installed: tools/asyncapi-validate/package.json tools/asyncapi-validate/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node 20) is needed for the AsyncAPI parser"; exit 1; }
	npm ci --prefix tools/asyncapi-validate --no-audit --no-fund --loglevel=error
	@touch $@

# axe-core (pinned by its package-lock.json): the accessibility rules that
# tests/browser/test_accessibility.py runs in Chromium on the portal's and the console's pages.
AXE_NODE := tools/axe/node_modules
$(AXE_NODE)/.installed: tools/axe/package.json tools/axe/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node 20) is needed for axe-core"; exit 1; }
	npm ci --prefix tools/axe --no-audit --no-fund --loglevel=error
	@touch $@

# Telemetry's fast path in Rust (native/, PyO3; services/telemetry/native.py), built by maturin
# with the crates pinned by native/Cargo.lock (from crates.io) and installed into the venv as a
# wheel. cargo comes with rustup: ~/.cargo/bin when it is not on the PATH. About a minute, once.
NATIVE_SOURCES := native/Cargo.toml native/Cargo.lock native/pyproject.toml \
    native/sentinel_native.pyi $(wildcard native/src/*.rs)
CARGO_PATH := PATH="$$PATH:$$HOME/.cargo/bin"
$(VENV)/.native-installed: $(VENV)/.installed $(NATIVE_SOURCES)
	@$(CARGO_PATH) command -v cargo >/dev/null || { echo "Rust (cargo, by rustup) is needed for native/"; exit 1; }
	@rm -rf native/target/wheels
	$(CARGO_PATH) $(VENV)/bin/maturin build --quiet --release --locked -m native/Cargo.toml -i $(PY) --out native/target/wheels
	$(PY) -m pip install -q --no-deps --force-reinstall native/target/wheels/sentinel_native-*.whl
	@touch $@

setup: $(VENV)/.installed $(VENV)/.native-installed $(KAFKA_LIBS)/.complete $(KEYCLOAK_DIST)/.complete $(CONSOLE_NODE)/.installed $(ASYNCAPI_NODE)/.installed $(AXE_NODE)/.installed ## venv, pinned dependencies, the native verifier, Kafka jars, Keycloak, console scripts, AsyncAPI parser, axe-core, Chromium (idempotent)
	@$(STACK) install-extras

kafka-jars: $(KAFKA_LIBS)/.complete ## resolve the Kafka broker jars from Maven Central

keycloak: $(KEYCLOAK_DIST)/.complete ## fetch the identity provider (Keycloak) from Maven Central

lock: ## re-pin every dependency into constraints.txt from the current venv
	$(PY) -m pip freeze --exclude-editable | grep -v -e '^-e' -e '^sentinel-native' > constraints.txt

# --- local stack ----------------------------------------------------------------------------
up: setup ## start Kafka, PostgreSQL, Keycloak (and Prometheus) on loopback, provision topics, write .run/env (PROFILE=cluster: three brokers)
	@$(STACK) --profile $(or $(PROFILE),dev) up

down: ## stop everything this checkout started: `make up` / `make demo`, the test and secure stacks
	@if test -x $(PY); then $(STACK) down --all; fi

status: ## show what runs, for every profile this checkout started
	@$(STACK) status --all

demo: setup ## the whole system: stack, every service, a seeded demo city; prints where to look
	@$(STACK) up
	@$(PY) -m deploy.local.demo start

demo-stop: ## stop the demo's services and simulator; the stack keeps its data and runs on (`make down` stops it)
	@if test -x $(PY); then $(PY) -m deploy.local.demo stop; fi

simulator-stop: ## stop the demo's terminal simulator and keep it stopped: `make demo` leaves it so until `make simulator-start`
	@if test -x $(PY); then $(PY) -m deploy.local.demo simulator-stop; fi

simulator-start: ## start the demo's terminal simulator again after `make simulator-stop` (live, no replayed hour)
	@$(PY) -m deploy.local.demo simulator-start

# --- quality --------------------------------------------------------------------------------
lint: $(VENV)/.installed $(VENV)/.native-installed ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

contracts: $(VENV)/.installed ## regenerate JSON Schemas and the AsyncAPI document into contracts/
	$(PY) -m contracts.generate

contracts-check: $(VENV)/.installed $(ASYNCAPI_NODE)/.installed ## generated files current, no breaking change since the release, AsyncAPI document valid
	$(PY) -m contracts.generate --check
	$(PY) -m contracts.compat
	node tools/asyncapi-validate/validate.mjs contracts/asyncapi.yaml

# RETIRE/REASON: take a released schema the models dropped out of the baseline, with the reason.
contracts-release: $(VENV)/.installed ## make the current schemas the released baseline (contracts/released/): [RETIRE=<file>.json REASON='why']
	$(PY) -m contracts.release $(if $(RETIRE),--retire '$(RETIRE)' --reason '$(REASON)')

# The suite starts the test stack (tests/support/infra.py) and leaves it for the next session;
# `make test` leaves the machine as it found it: a test stack it started, it stops. The unit tests
# (no infrastructure, CPU only) run first on two workers (pytest-xdist) while the stack starts
# beside them; then everything else, which finds the stack up (`up` again is a no-op). The tests
# of brokers of their own run beside everything else in a process of their own, and spend most of
# their time waiting on those brokers, which the single-file rest does not have to wait for: the
# failover test (a cluster, a database and tokens of its own, tests/faults/conftest.py), the stop
# in an outage and the outage that is no silence (each a single broker it freezes), the chaos
# test (the `chaos` profile's broker and PostgreSQL, which it restarts), the secured broker's
# tests and the dead letters on it (the `secure` profile), and the stack's own start and stop
# (stacks on free ports). Their report is printed after the rest's. The tests stop the
# profiles they started (tests/support/profiles.py); `.ci/run` stops every profile again.
BESIDE = tests/faults/test_failover.py tests/faults/test_stop_without_kafka.py tests/faults/test_chaos.py tests/faults/test_outage_is_not_silence.py tests/integration/security tests/integration/cli/test_dlq_secured.py tests/integration/stack
# Once those are done, the rest alone kept about one core of two busy for its last ~400 s
# (measured in CI runs), so the same background chain then takes the last integration folders
# of the rest, in a session of its own on the `beside` profile's broker and PostgreSQL
# (SENTINEL_TEST_BESIDE_STACK, tests/support/infra.py), signing in at the test stack's identity
# provider. Not on the test stack: its tests share its topics, and a service of one session
# consumes what a test of the other sends (tried: the robustness tests' credit service, beside
# the credit tests, scored a credit test's merchant first, and the test read that event).
BESIDE_APART = tests/integration/simulator tests/integration/robustness tests/integration/telemetry
test: setup lint contracts-check ## install, start what the tests need, run the whole suite
	@if $(STACK) --profile test status --running; then keep=1; else keep=0; fi; \
	mkdir -p .run; $(STACK) --profile test up > .run/test-stack-up.log 2>&1 & up=$$!; \
	$(PY) -m pytest -n 2 tests/unit; unit=$$?; \
	wait $$up || { echo "the test stack did not start (.run/test-stack-up.log):" >&2; \
		tail -n 40 .run/test-stack-up.log >&2; }; \
	( $(PY) -m pytest -p no:cacheprovider --basetemp=.run/beside-tmp --durations=5 $(BESIDE); \
	  first=$$?; SENTINEL_TEST_BESIDE_STACK=1 $(PY) -m pytest -p no:cacheprovider \
		--basetemp=.run/beside-apart-tmp --durations=10 $(BESIDE_APART); apart=$$?; \
	  [ $$first = 0 ] || exit $$first; exit $$apart ) > .run/beside-test.log 2>&1 & besides=$$!; \
	$(PY) -m pytest --ignore=tests/unit $(addprefix --ignore=,$(BESIDE) $(BESIDE_APART)) \
		--durations=30; status=$$?; \
	wait $$besides; beside=$$?; \
	echo "== $(BESIDE) $(BESIDE_APART), run beside the rest (.run/beside-test.log):"; \
	cat .run/beside-test.log; \
	if [ $$keep = 0 ]; then $(STACK) --profile test down >&2 || true; fi; \
	for s in $$unit $$status $$beside; do if [ $$s != 0 ]; then exit $$s; fi; done

test-unit: $(VENV)/.installed $(VENV)/.native-installed ## only the unit tests (no infrastructure)
	$(PY) -m pytest -n 2 tests/unit

# USER counts only when given on the command line (the environment always has one).
TOKEN_WHO = $(if $(filter command line,$(origin USER)),--user '$(USER)',$(if $(CLIENT),--client '$(CLIENT)',--role '$(or $(ROLE),admin)' --district '$(or $(DISTRICT),*)'))
token: $(VENV)/.installed ## a token from the identity provider: make token USER=inspector.zhifu | ROLE=clerk DISTRICT=zhifu | CLIENT=sentinel-ops
	@$(PY) -m sentinel_cli token $(TOKEN_WHO)

tail: $(VENV)/.installed ## print a topic as validated JSON lines: make tail TOPIC=registry.markets.v1 [FROM=beginning|end|<RFC 3339 time>]
	@$(PY) -m sentinel_cli tail '$(TOPIC)' --json --from '$(or $(FROM),end)'

fault: $(VENV)/.installed ## inject a fault into the demo's simulator: make fault SPEC='door_open:terminal=auto'
	@$(PY) -m simulator fault '$(SPEC)'

$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml constraints.txt
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,bench]'
	@touch $@

# The Quix Streams peer pins pydantic < 2.14 (the services 2.14): its own virtualenv.
.cache/bench-quix/.installed: bench/quix-requirements.txt
	@test -x .cache/bench-quix/bin/python || $(PY) -c 'import venv; venv.create(".cache/bench-quix", with_pip=True)'
	.cache/bench-quix/bin/python -m pip install -q -r bench/quix-requirements.txt
	@touch $@

bench: setup $(VENV)/.bench-installed .cache/bench-quix/.installed ## benchmarks against baselines measured in the same run, twice (BENCH_ARGS='--repeat 3 --loop uvloop')
	$(PY) -m bench $(BENCH_ARGS)

clean: down ## stop the stacks (dev, test, secure) and delete their data, logs and caches
	@if test -x $(PY); then $(STACK) --profile test down; $(STACK) --profile secure down; fi
	rm -rf .run $(VENV) .cache native/target
