# Two commands on a fresh clone: `make run` and `make test`. Everything else is a step.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
LOCK_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=

.PHONY: install lock system-deps run migrate test test-sqlite test-postgres lint openapi bench bench-scale clean

# Exactly the locked set (hash-checked), then the project itself without re-resolving.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# Re-resolve $(LOCK) from pyproject.toml (runtime + dev + the build backend) for CPython 3.11
# on Linux. Keeps current pins where they still fit; LOCK_ARGS=--upgrade takes the newest,
# LOCK_ARGS='--upgrade-package NAME' one package. See the README's "Dependencies".
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'uv>=0.9'
	printf 'setuptools>=78.1.1\n' | $(BIN)/uv pip compile --quiet pyproject.toml - \
	  --extra dev --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu --custom-compile-command 'make lock' \
	  $(LOCK_ARGS) -o $(LOCK)

# nginx is needed by tests/deploy (the shipped gateway example, run for real).
system-deps:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
	  command -v apt-get >/dev/null 2>&1 && { \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null 2>&1 || { \
	      apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null; }; }; } || \
	  echo "nginx is not installed and could not be: tests/deploy will be skipped (fail under CI=true)"

migrate: install
	$(BIN)/python -m app migrate

run: migrate
	$(BIN)/python -m app bootstrap-admin --host $(HOST) --port $(PORT)
	@echo "serving on http://$(HOST):$(PORT) (OpenAPI docs at http://$(HOST):$(PORT)/docs)"
	$(BIN)/python -m app serve --host $(HOST) --port $(PORT)

test: install system-deps test-sqlite test-postgres

test-sqlite: install
	TEST_DATABASE=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install
	TEST_DATABASE=postgres TEST_POSTGRES_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check app tests migrations bench devkit
	$(BIN)/mypy app

bench: install
	$(BIN)/python -m bench.run

openapi: install
	$(BIN)/python -m app.openapi > openapi.yaml

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Management reads and mass revocations at 10k and 1M tokens (issue 13); PostgreSQL only.
bench-scale: install
	$(BIN)/python -m bench.scale
