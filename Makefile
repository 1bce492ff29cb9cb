# Two commands on a fresh clone: `make run` and `make test`. Everything else is a step.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=

.PHONY: install system-deps port-free run migrate test test-sqlite test-postgres lint openapi bench clean

$(STAMP): pyproject.toml
	@echo "setting up $(VENV) (the first time takes a minute or two; pip shows its progress)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar on -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages that tests drive for real: nginx, Apache with mod_oauth2 and mod_auth_openidc (tests/deploy,
# the shipped gateway examples), Chromium (/docs renders offline) and jq (the README's walk).
system-deps:
	@missing=""; \
	command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	test -x /usr/sbin/apache2 || missing="$$missing apache2"; \
	test -e /usr/lib/apache2/modules/mod_oauth2.so || missing="$$missing libapache2-mod-oauth2"; \
	test -e /usr/lib/apache2/modules/mod_auth_openidc.so || missing="$$missing libapache2-mod-auth-openidc"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v jq >/dev/null 2>&1 || missing="$$missing jq"; \
	test -z "$$missing" || { echo "installing with apt-get:$$missing"; \
	  command -v apt-get >/dev/null 2>&1 && { \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || { \
	      apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; }; }; } || \
	  echo "could not install$$missing: the tests that need them are skipped (and fail under CI=true)"

migrate: install
	$(BIN)/python -m app migrate

# Before anything else (even the first install): is the port free?
port-free:
	@$(PYTHON) -c "import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('$(HOST)', $(PORT)))" 2>/dev/null || { \
	  echo "port $(PORT) on $(HOST) is taken (is the service already running?); pick another: make run PORT=$$(( $(PORT) + 1 ))"; exit 1; }

run: port-free migrate
	$(BIN)/python -m app bootstrap-admin --host $(HOST) --port $(PORT)
	@echo "serving on http://$(HOST):$(PORT) (OpenAPI docs at http://$(HOST):$(PORT)/docs)"
	$(BIN)/python -m app serve --host $(HOST) --port $(PORT)

test: install system-deps test-sqlite test-postgres

test-sqlite: install
	TEST_DATABASE=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install
	TEST_DATABASE=postgres TEST_POSTGRES_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/mypy app

bench: install
	$(BIN)/python -m bench.run

openapi: install
	$(BIN)/python -m app.openapi > openapi.yaml

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
