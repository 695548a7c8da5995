# Two entry points for a fresh machine with Python 3.11+ and make: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
CLUSTER_DIR ?= .cluster
NODES ?= 4
DEMO_HOUSEHOLDS ?= 3000

.PHONY: run test lint typecheck check sim bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(STAMP_RUN)

# A new cluster gets the demo county: `demo load` waits for the nodes, then loads in the
# background while `cluster up` supervises them (progress in $(CLUSTER_DIR)/demo-load.log).
run: $(STAMP_RUN)
	@if test -f $(CLUSTER_DIR)/cluster.json; then \
		echo "using the existing cluster in $(CLUSTER_DIR)"; \
	else \
		$(BIN)/aidchain cluster init --dir $(CLUSTER_DIR) --nodes $(NODES) && \
		echo "loading the demo county in the background: $(CLUSTER_DIR)/demo-load.log" && \
		($(BIN)/aidchain demo load --dir $(CLUSTER_DIR) --households $(DEMO_HOUSEHOLDS) \
			> $(CLUSTER_DIR)/demo-load.log 2>&1 &) ; \
	fi
	$(BIN)/aidchain cluster up --dir $(CLUSTER_DIR)

# Unit and simulation tests run on one worker per core (pytest-xdist); the integration tests,
# which start real 4-node clusters and wait on them, run one at a time after them.
TEST_WORKERS ?= auto
test: $(STAMP_TEST)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m "not integration"
	$(BIN)/python -m pytest -q -m integration

lint: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP_TEST)
	$(BIN)/mypy

check: lint typecheck test

sim: $(STAMP_RUN)
	$(BIN)/aidchain sim --seeds 1000

bench: $(STAMP_RUN)
	$(BIN)/aidchain bench --dir $(CLUSTER_DIR)

clean:
	rm -rf $(VENV) $(CLUSTER_DIR) .pytest_cache .mypy_cache .ruff_cache
