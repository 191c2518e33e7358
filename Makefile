# Lulea: the two commands a newcomer needs are `make up` and `make test`.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
# dev/bootstrap.sh installs the pinned uv here when it is missing
export PATH := $(HOME)/.local/bin:$(PATH)
UV ?= uv
RUN := $(UV) run --no-sync
PORT_BASE ?= 20000
STATE_DIR ?= $(CURDIR)/.lulea
# every member's top package, type-checked strictly (pyproject's [tool.mypy])
MYPY_PACKAGES := lulea.core lulea.devstack lulea.ca lulea.schema_registry lulea.placement \
	lulea.operators.project lulea.operators.gpujob lulea.operators.topic lulea.storage \
	lulea.operators.dataset lulea.logs lulea.sdk

.PHONY: help bootstrap sync tools up down status test unit e2e lint typecheck crds crds-check chart-check bench clean

help:
	@echo "make up      start the local platform (etcd, Kubernetes, kwok GPU fleet, Kafka, FerretDB, CRDs, operators)"
	@echo "make down    stop every process make up started"
	@echo "make status  health of each component"
	@echo "make test    lint, unit tests of every member, then e2e against a fresh stack"
	@echo "make tools   build/fetch the tools into ~/.cache/lulea (done by make up when missing)"

bootstrap:
	@bash dev/bootstrap.sh

sync: bootstrap
	@flock /tmp/lulea-uv.lock $(UV) sync --all-packages --frozen --quiet 2>/dev/null || flock /tmp/lulea-uv.lock $(UV) sync --all-packages --quiet

tools:
	@bash dev/tools.sh

up: sync tools
	@$(RUN) lulea-stack up --state-dir $(STATE_DIR) --port-base $(PORT_BASE)

down:
	@$(RUN) lulea-stack down --state-dir $(STATE_DIR) --port-base $(PORT_BASE)

status:
	@$(RUN) lulea-stack status --state-dir $(STATE_DIR) --port-base $(PORT_BASE)

lint:
	@$(RUN) ruff check .
	@$(RUN) lint-imports

typecheck:
	@$(RUN) mypy $(addprefix -p ,$(MYPY_PACKAGES))

crds:
	@$(RUN) python -m lulea.core.crds generate

crds-check:
	@$(RUN) python -m lulea.core.crds generate --check

unit:
	@$(RUN) pytest -q libs/core/tests dev/tests $(wildcard operators/*/tests) $(wildcard services/*/tests) sdk/tests $(wildcard bench/*/test_*.py)

e2e:
	@$(RUN) pytest -q e2e

chart-check: sync tools
	@bash dev/chart-check.sh

# Unit tests first (fast, no I/O), then the e2e suite against a fresh stack on its own ports.
test: sync tools lint typecheck crds-check
	@$(RUN) pytest libs/core/tests dev/tests $(wildcard operators/*/tests) $(wildcard services/*/tests) sdk/tests \
		$(wildcard bench/*/test_*.py) e2e

bench:
	@for b in bench/*/run.py; do echo "== $$b"; $(RUN) python $$b || exit 1; done

clean: down
	rm -rf $(STATE_DIR)
