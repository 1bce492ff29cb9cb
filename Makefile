# Two commands on a fresh clone: `make run` and `make test`. Everything else is a step.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
RUNTIME_LOCK := requirements.runtime.lock
LOCK_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=

.PHONY: install lock system-deps port-free run migrate test test-sqlite test-postgres lint openapi \
	bench bench-connections bench-scale clean console console-deps console-if-possible test-console \
	lint-console

# Exactly the locked set (hash-checked), then the project itself without re-resolving.
$(STAMP): pyproject.toml $(LOCK)
	@echo "setting up $(VENV) from $(LOCK) (the first time takes a minute or two; pip shows its progress)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar on --require-hashes -r $(LOCK)
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
	# The image's runtime set: the same pins, without the dev tools.
	printf 'setuptools>=78.1.1\n' | $(BIN)/uv pip compile --quiet pyproject.toml - \
	  --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	  --custom-compile-command 'make lock' --constraint $(LOCK) -o $(RUNTIME_LOCK)

# Debian packages that tests drive for real: nginx, Apache with mod_oauth2 and mod_auth_openidc
# (tests/deploy, the shipped gateway examples), Chromium (/docs offline, the console's browser
# tests), jq (the README's walk) and pgbouncer (the service behind transaction pooling).
system-deps:
	@missing=""; \
	command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	test -x /usr/sbin/apache2 || missing="$$missing apache2"; \
	test -e /usr/lib/apache2/modules/mod_oauth2.so || missing="$$missing libapache2-mod-oauth2"; \
	test -e /usr/lib/apache2/modules/mod_auth_openidc.so || missing="$$missing libapache2-mod-auth-openidc"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v jq >/dev/null 2>&1 || missing="$$missing jq"; \
	command -v pgbouncer >/dev/null 2>&1 || test -x /usr/sbin/pgbouncer || missing="$$missing pgbouncer"; \
	command -v caddy >/dev/null 2>&1 || missing="$$missing caddy"; \
	test -z "$$missing" || { echo "installing with apt-get:$$missing"; \
	  command -v apt-get >/dev/null 2>&1 && { \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || { \
	      apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; }; }; } || \
	  echo "could not install$$missing: the tests that need them are skipped (and fail under CI=true)"

# The operators' console (console/): a Vite + React app, built into console/dist and served at
# /console/ by the management component. Node is needed to build it, never to run the service.
NODE_HINT := the console needs Node.js 20.19+ and npm: install them (e.g. apt-get install nodejs npm) and run make again
CONSOLE_STAMP := console/node_modules/.installed
CONSOLE_SOURCES := $(filter-out console/src/api/schema.d.ts,$(shell find console/src -type f 2>/dev/null)) console/index.html console/package-lock.json \
	console/vite.config.ts console/tsconfig.json console/tsconfig.app.json openapi.yaml
CHROMIUM ?= /usr/bin/chromium

$(CONSOLE_STAMP): console/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "$(NODE_HINT)"; exit 1; }
	cd console && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	touch $(CONSOLE_STAMP)

console-deps: $(CONSOLE_STAMP)

console/dist/index.html: $(CONSOLE_STAMP) $(CONSOLE_SOURCES)
	cd console && npm run --silent build
	touch console/dist/index.html

console: console/dist/index.html

# make run serves the API even where Node is missing; /console/ then says how to build it.
console-if-possible:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory console; \
	else echo "$(NODE_HINT) (serving the API without the console)"; fi

# Debian's Chromium (system-deps installs it) drives the console's browser tests; Playwright
# never downloads a browser.
test-console: install system-deps console
	@test -x $(CHROMIUM) || test "$$CI" != true || { echo "chromium is required in CI"; exit 1; }
	cd console && npm run --silent test
	@if test -x $(CHROMIUM); then cd console && PYTHON=$(CURDIR)/$(BIN)/python CHROMIUM_PATH=$(CHROMIUM) npx playwright test; \
	else echo "skipping the console's browser tests: no $(CHROMIUM)"; fi

lint-console: console-deps
	cd console && npm run --silent typecheck && npm run --silent lint

migrate: install
	$(BIN)/python -m app migrate

# Before anything else (even the first install): is the port free?
port-free:
	@$(PYTHON) -c "import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('$(HOST)', $(PORT)))" 2>/dev/null || { \
	  echo "port $(PORT) on $(HOST) is taken (is the service already running?); pick another: make run PORT=$$(( $(PORT) + 1 ))"; exit 1; }

run: port-free migrate console-if-possible
	$(BIN)/python -m app bootstrap-admin --host $(HOST) --port $(PORT)
	@echo "serving on http://$(HOST):$(PORT): console at http://$(HOST):$(PORT)/console/ (OpenAPI docs at /docs)"
	$(BIN)/python -m app serve --host $(HOST) --port $(PORT)

# Third-party clients that tests/deploy drives for real (openid-client).
CLIENTS := tests/clients
$(CLIENTS)/node_modules/.installed: $(CLIENTS)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "$(NODE_HINT)"; exit 1; }
	npm ci --prefix $(CLIENTS) --no-audit --no-fund --loglevel=error
	touch $@

test: install system-deps $(CLIENTS)/node_modules/.installed test-sqlite test-postgres test-console

test-sqlite: install
	TEST_DATABASE=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install
	TEST_DATABASE=postgres TEST_POSTGRES_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: install lint-console
	$(BIN)/ruff check app tests migrations bench devkit
	$(BIN)/mypy app bench devkit

bench: install
	$(BIN)/python -m bench.run

# The PostgreSQL connection peak of `serve --workers 4` under load, against the budget formula.
bench-connections: install
	$(BIN)/python -m bench.connections

openapi: install
	$(BIN)/python -m app.openapi > openapi.yaml

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
	rm -rf console/node_modules console/dist console/test-results console/src/api/schema.d.ts

# Management reads and mass revocations at 10k and 1M tokens (issue 13); PostgreSQL only.
bench-scale: install
	$(BIN)/python -m bench.scale
