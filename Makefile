# Every target creates .venv (and node_modules where needed) on first use:
# on a fresh machine `make demo` and `make test` need nothing installed by hand.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What `make install` installs, hashes checked: every package (requirements.lock), and apart from
# them the build backend that builds Sluice itself (requirements-build.lock, in its own folder).
LOCK := requirements.lock
BUILD_LOCK := requirements-build.lock
BACKEND := $(VENV)/build-backend
# The release tools (build, twine, check-wheel-contents, and the backend) in a venv of their own.
RELEASE_LOCK := requirements-release.lock
RELEASE_VENV := $(VENV)/release
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) $(BUILD_LOCK) | cksum | cut -d' ' -f1)
UV_COMPILE = $(BIN)/uv pip compile --generate-hashes --python-version 3.11 \
	--no-emit-package sluice-aws --custom-compile-command "make lock" --quiet

# Keep every cache inside the project's ignored folders, never in $HOME.
export XDG_CACHE_HOME := $(CURDIR)/.cache
export npm_config_cache := $(CURDIR)/.cache/npm
export JSII_RUNTIME_PACKAGE_CACHE_ROOT := $(CURDIR)/.cache/jsii
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_VERSION_CHECK := 1
export AWS_EC2_METADATA_DISABLED := true

PYTEST_FLAGS ?= -q
# Test workers side by side (pytest-xdist): most tests wait on a server or a subprocess, not the CPU.
# Each file runs whole on one worker, in the order tests/conftest.py sets (long tiers first).
TEST_JOBS ?= 3

# docs/ is a folder too: without .PHONY, `make docs` would find it and do nothing.
.PHONY: help install lock upgrade graphviz tmux demo test lint fmt bench chaos mutate synth clean \
	dist release-check api-snapshot docs

help:  ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# Exactly what the locks pin, hashes checked, and nothing else: Sluice itself goes in with no
# dependencies of its own, built by the locked backend, so no unpinned package is ever fetched.
PIP := $(BIN)/python -m pip install -q --disable-pip-version-check
$(STAMP): pyproject.toml $(LOCK) $(BUILD_LOCK)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) --require-hashes --no-deps -r $(LOCK)
	$(PIP) --require-hashes --no-deps --upgrade --target $(BACKEND) -r $(BUILD_LOCK)
	@# the distribution was named `sluice` before it was `sluice-aws`: a venv made then has both
	@$(BIN)/python -m pip uninstall -q -y sluice 2>/dev/null || true
	PYTHONPATH=$(BACKEND) $(PIP) --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check -q >/dev/null || { $(BIN)/python -m pip check; \
	  echo "error: $(LOCK) does not satisfy pyproject.toml: run make lock" >&2; exit 1; }
	@rm -f $(VENV)/.installed-* && touch $@

# Dependencies move only on purpose: `make lock` after editing pyproject.toml keeps every other
# pin; `make upgrade` moves everything to the newest release the ranges allow. Either way, run
# `make test` before committing the new requirements.lock.
lock: $(STAMP)  ## Re-resolve the locks after a pyproject.toml change (keeps the other pins)
	$(UV_COMPILE) pyproject.toml --extra dev --extra infra --extra docs -o $(LOCK) $(UPGRADE)
	$(UV_COMPILE) --group build -o $(BUILD_LOCK) $(UPGRADE)
	$(UV_COMPILE) --group release -o $(RELEASE_LOCK) $(UPGRADE)

upgrade:  ## Move every locked dependency to its newest allowed release
	$(MAKE) lock UPGRADE=--upgrade

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

# Graphviz `dot` draws `sluice graph --format png|svg`; installed only when missing.
# In CI (CI=true) a failed install fails the build; elsewhere those tests are skipped.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
graphviz:  ## Install Graphviz (Debian package) if `dot` is missing
	@command -v dot >/dev/null || { command -v apt-get >/dev/null && \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq graphviz >/dev/null; } || \
	  { [ "$$CI" = true ] && echo "error: Graphviz could not be installed" >&2 && exit 1; } || \
	  echo "warning: Graphviz not installed; png/svg graph tests will be skipped"

# tmux is the real terminal the `sluice top` tests drive; installed only when missing (same rule).
tmux:  ## Install tmux (Debian package) if it is missing
	@command -v tmux >/dev/null || { command -v apt-get >/dev/null && \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq tmux >/dev/null; } || \
	  { [ "$$CI" = true ] && echo "error: tmux could not be installed" >&2 && exit 1; } || \
	  echo "warning: tmux not installed; the sluice top terminal tests will be skipped"

install: $(STAMP) node_modules/.installed graphviz tmux  ## Create .venv and node_modules

demo: $(STAMP)  ## Run the whole pipeline locally and check it end to end
	$(BIN)/sluice demo

test: install  ## Run every test tier (unit, functional, sandbox, infra)
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadgroup --no-loadscope-reorder $(PYTEST_FLAGS)

lint: $(STAMP)  ## ruff, mypy, the import layers and the public API
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m release.api check

# The public API's baseline (release/api.json), which `make lint` compares the code with. Rewrite
# it on purpose only: when a release is cut, or when a major bump accepts what it breaks.
api-snapshot: $(STAMP)  ## Record the public API as it is now (at a release; docs/versioning.md)
	$(BIN)/python -m release.api snapshot

fmt: $(STAMP)  ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The documentation site, into site/ (ignored). --strict: a broken link or reference, a public
# name missing from the API reference or an undocumented declaration knob fails the build.
# The hooks (docsite/hooks.py) run `sluice graph --format svg`, so Graphviz comes first.
docs: $(STAMP) graphviz  ## Build the documentation site into site/ (mkdocs, --strict)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

bench: install  ## Run the benchmarks and write bench/RESULTS.md
	$(BIN)/python -m bench

chaos: $(STAMP)  ## The full-size fault-injection scenario
	SLUICE_CHAOS_ORDERS=2000 $(BIN)/python -m pytest -q -m chaos tests/chaos

# The fuzz tier runs in `make test` too, with few derandomized examples (tests/fuzz/conftest.py).
.PHONY: fuzz
FUZZ_EXAMPLES ?= 1000
fuzz: $(STAMP)  ## Fuzz every entry point with many random examples (Hypothesis)
	SLUICE_FUZZ_PROFILE=fuzz SLUICE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/fuzz

# mutmut mutates a copy of the tree in mutants/ (the sources are never touched, so an
# interrupted run leaves nothing to undo) and resumes where it stopped. A whole run takes
# hours: its verdicts are saved in bench/mutation_state/ (committed) after every run, even an
# interrupted one, and restored before the next, so it resumes in a later session too.
MUTATE_JOBS ?= 2
mutate: $(STAMP)  ## Mutation testing of the safety-critical modules (bench/MUTATION.md)
	$(BIN)/python -m bench.mutation restore
	$(BIN)/mutmut run --max-children $(MUTATE_JOBS); status=$$?; \
	  $(BIN)/python -m bench.mutation save; exit $$status
	$(BIN)/python -m bench.mutation

synth: install  ## Synthesize the CDK app into cdk.out
	$(BIN)/python -m infra.app

# The release tools, from requirements-release.lock alone, hashes checked, in a venv of their own
# (twine needs packaging 26; checkov, in .venv, allows no packaging past 23). Builds run with
# --no-isolation on the backend it pins, so they fetch nothing.
RELEASE_STAMP := $(RELEASE_VENV)/.installed-$(shell cat $(RELEASE_LOCK) | cksum | cut -d' ' -f1)
$(RELEASE_STAMP): $(RELEASE_LOCK)
	@test -x $(RELEASE_VENV)/bin/python || $(PY) -m venv $(RELEASE_VENV)
	$(RELEASE_VENV)/bin/python -m pip install -q --disable-pip-version-check \
	  --require-hashes --no-deps -r $(RELEASE_LOCK)
	@rm -f $(RELEASE_VENV)/.installed-* && touch $@

DIST ?= dist
dist: $(RELEASE_STAMP)  ## Build the sdist, and the wheel from it, into dist/
	rm -rf $(DIST)
	$(RELEASE_VENV)/bin/python -m build --no-isolation --outdir $(DIST) .

# What a release would upload, checked as a user meets it: the metadata and README render
# (twine), the wheel's layout (check-wheel-contents), then tests/release installs the wheel
# into a clean venv with no access to this tree and runs a `sluice new` project's make test
# and make synth on it. Nothing is uploaded: the last step prints what would be.
release-check: install dist  ## Build, check and smoke-test the release files; upload nothing
	$(RELEASE_VENV)/bin/twine check --strict $(DIST)/*
	$(RELEASE_VENV)/bin/check-wheel-contents $(DIST)/*.whl
	SLUICE_DIST=$(CURDIR)/$(DIST) $(BIN)/python -m pytest -q -p no:cacheprovider tests/release
	$(MAKE) docs
	$(BIN)/python -m release.manifest $(DIST)

clean:  ## Remove build output and caches (keeps .venv)
	rm -rf cdk.out .cache .pytest_cache .mypy_cache .ruff_cache .sluice bench/.out mutants site dist
