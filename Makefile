# openclaw-codex: the model-pinning codex shim and its companion tools.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

MUSL_TARGET := x86_64-unknown-linux-musl
STATIC_SHIM := target/$(MUSL_TARGET)/release/codex
STAGED_SHIM := services/openclaw/bin/codex
STAGED_GUARD := services/openclaw/bin/openclaw-app-server-guard
STAGED_GATE := services/openclaw/bin/openclaw-model-gate

.PHONY: all shim codex-cli demo test test-python test-sdk lint bench image base-image clean fuzz fuzz-real

all: shim

## shim: build the static `codex` shim, its app-server guard and the model gate, staged where the image builds pick them up
shim:
	packaging/build-static.sh codex $(STAGED_SHIM)
	packaging/build-static.sh openclaw-app-server-guard $(STAGED_GUARD)
	packaging/build-static.sh openclaw-model-gate $(STAGED_GATE)

## demo: show the shim pinning a model (explain mode, then a real exec of a stand-in codex)
demo: shim codex-cli
	cargo run --quiet --example demo -- $(STAGED_SHIM) "$$(packaging/fetch-codex.sh)"

## codex-cli: fetch the pinned real Codex CLI (PyPI, hash-checked) into ~/.cache/openclaw-codex
codex-cli:
	packaging/fetch-codex.sh >/dev/null

# Integration suites (Cargo.toml's [[test]] targets): those run against the static bins `make shim`
# stages (what ships), and the others. `lint` fails when a target is in neither list.
STATIC_SUITES := shim audit real_codex conformance app_server model_gate differential openclaw_calls
OTHER_SUITES := image compose bootstrap app_server_schema rewrite_props

## test: every test (unit, integration, the suites against the static bins, the real Codex CLI)
test: lint shim codex-cli
	packaging/with-test-image.sh cargo test --lib --bins --examples --benches $(addprefix --test ,$(OTHER_SUITES))
	OPENCLAW_TEST_SHIM=$(STAGED_SHIM) cargo test $(addprefix --test ,$(STATIC_SUITES))
	$(MAKE) test-python
	$(MAKE) test-sdk

FUZZ_CASES ?= 200000
FUZZ_REAL_ARGVS ?= 3000

## fuzz: the property tests of the rewrite on many more generated argvs (FUZZ_CASES per property)
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) cargo test --release --test rewrite_props

## fuzz-real: the differential run, shim against the real Codex CLI, on FUZZ_REAL_ARGVS argvs
## (FUZZ_SEED picks another sequence); prints its counts
fuzz-real: shim codex-cli
	OPENCLAW_TEST_SHIM=$(STAGED_SHIM) DIFFERENTIAL_ARGVS=$(FUZZ_REAL_ARGVS) DIFFERENTIAL_SEED=$(or $(FUZZ_SEED),0) \
	  cargo test --release --test differential -- --nocapture

PYVENV := target/pyvenv
PYTEST_VERSION := 8.3.4

## test-python: the adapter (services/openclaw, installed into a venv) with pytest
test-python: shim codex-cli
	cargo build --example mock_api
	test -x $(PYVENV)/bin/python || python3 -m venv $(PYVENV)
	$(PYVENV)/bin/pip install --quiet --disable-pip-version-check pytest==$(PYTEST_VERSION) ./services/openclaw
	OPENCLAW_TEST_SHIM=$(CURDIR)/$(STAGED_SHIM) CODEX_BIN="$$(packaging/fetch-codex.sh)" \
	  OPENCLAW_MOCK_API=$(CURDIR)/target/debug/examples/mock_api \
	  $(PYVENV)/bin/python -m pytest -q -p no:cacheprovider services/openclaw/tests

SDKVENV := target/sdkvenv

## test-sdk: OpenAI's Python SDK for Codex (pinned, hash-checked) through the shim and its app-server guard,
## and with its bundled codex through the model gate (root: a private mount namespace)
test-sdk: shim codex-cli
	cargo build --example mock_api
	test -x $(SDKVENV)/bin/python || python3 -m venv $(SDKVENV)
	$(SDKVENV)/bin/pip install --quiet --disable-pip-version-check --only-binary=:all: --require-hashes -r shim-tests/sdk/requirements.txt
	$(SDKVENV)/bin/pip install --quiet --disable-pip-version-check pytest==$(PYTEST_VERSION)
	# In a private mount namespace: the model gate's test mounts its own /etc/codex there.
	OPENCLAW_TEST_SHIM=$(CURDIR)/$(STAGED_SHIM) CODEX_BIN="$$(packaging/fetch-codex.sh)" \
	  OPENCLAW_MOCK_API=$(CURDIR)/target/debug/examples/mock_api OPENCLAW_TEST_GATE=$(CURDIR)/$(STAGED_GATE) \
	  unshare --mount --propagation private $(SDKVENV)/bin/python -m pytest -q -p no:cacheprovider shim-tests/sdk

## bench: what the shim costs per call: medians vs a direct run, the C and Rust execve floors, a bash
## wrapper and the real codex; peak RSS; fails if the static shim exceeds its size or RSS budget.
## Then the model gate: added latency to first byte, 10 MB stream throughput, RSS with 50 streams.
# BASELINE=path/to/another/codex-shim measures a second build in the same rounds.
bench: shim codex-cli
	cargo build --quiet --release --locked --target $(MUSL_TARGET) --example execve_floor
	EXECVE_FLOOR=target/$(MUSL_TARGET)/release/examples/execve_floor \
	  cargo bench --bench startup -- $(STAGED_SHIM) "$$(packaging/fetch-codex.sh)" $(BASELINE)
	cargo bench --bench gate -- $(STAGED_GATE)

# BASE_IMAGE: python:3.11-slim when the engine has it, else a local stand-in built from Debian
# packages (packaging/make-base-image.sh, which stops with one line when it cannot build it).
BASE_IMAGE ?=
OPENCLAW_IMAGE ?= moonmind/openclaw:local

## image: build the OpenClaw image (static bins, wheels, Node.js, OpenClaw from npm, docker build) and verify it.
## OpenClaw: the Dockerfile's pinned release from the npm registry; OPENCLAW_NPM_SPEC=path/to/openclaw.tgz
## (an npm tarball, installed offline), another npm spec, or OPENCLAW_NPM_SPEC= (none) overrides it.
image:
	@base='$(BASE_IMAGE)'; \
	if [ -z "$$base" ]; then \
	  if docker image inspect python:3.11-slim >/dev/null 2>&1; then base=python:3.11-slim; \
	  else base=$$(packaging/make-base-image.sh); fi; \
	fi; \
	cargo run --release --quiet --bin openclaw-image -- --tag "$(OPENCLAW_IMAGE)" --base-image "$$base" \
	  $(if $(filter undefined,$(origin OPENCLAW_NPM_SPEC)),,--build-arg 'OPENCLAW_NPM_SPEC=$(OPENCLAW_NPM_SPEC)')

## base-image: the local stand-in for python:3.11-slim (debootstrap + docker import), cached by tag
base-image:
	packaging/make-base-image.sh

lint:
	@for suite in $$(sed -n '/^\[\[test\]\]/{n;s/^name = "\(.*\)"/\1/p}' Cargo.toml); do \
	  case " $(STATIC_SUITES) $(OTHER_SUITES) " in *" $$suite "*) ;; \
	  *) echo "lint: the test target $$suite is in neither STATIC_SUITES nor OTHER_SUITES (Makefile)" >&2; exit 1 ;; esac; \
	done
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

clean:
	cargo clean
	rm -f $(STAGED_SHIM) $(STAGED_GUARD) $(STAGED_GATE)

# Compose profile targets (config, up, down).
include mk/compose.mk
