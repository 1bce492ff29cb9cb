# Two commands on a fresh clone: `make run` and `make test`. Everything else is a step.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=

.PHONY: install system-deps run migrate test test-sqlite test-postgres lint openapi bench clean \
	console console-deps console-if-possible test-console lint-console chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# nginx is needed by tests/deploy (the shipped gateway example, run for real).
system-deps:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
	  command -v apt-get >/dev/null 2>&1 && { \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null 2>&1 || { \
	      apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null; }; }; } || \
	  echo "nginx is not installed and could not be: tests/deploy will be skipped (fail under CI=true)"

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

# Debian's Chromium, for the console's browser tests (Playwright never downloads a browser).
chromium:
	@test -x $(CHROMIUM) || { \
	  command -v apt-get >/dev/null 2>&1 && { \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || { \
	      apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; }; } || true
	@test -x $(CHROMIUM) || { \
	  if [ "$$CI" = true ]; then echo "chromium is required in CI and could not be installed"; exit 1; fi; \
	  echo "chromium is not installed and could not be: the console's browser tests will be skipped (fail under CI=true)"; }

test-console: install console chromium
	cd console && npm run --silent test
	@if test -x $(CHROMIUM); then cd console && PYTHON=$(CURDIR)/$(BIN)/python CHROMIUM_PATH=$(CHROMIUM) npx playwright test; \
	else echo "skipping the console's browser tests: no $(CHROMIUM)"; fi

lint-console: console-deps
	cd console && npm run --silent typecheck && npm run --silent lint

migrate: install
	$(BIN)/python -m app migrate

run: migrate console-if-possible
	$(BIN)/python -m app bootstrap-admin --host $(HOST) --port $(PORT)
	@echo "serving on http://$(HOST):$(PORT): console at http://$(HOST):$(PORT)/console/ (OpenAPI docs at /docs)"
	$(BIN)/python -m app serve --host $(HOST) --port $(PORT)

test: install system-deps test-sqlite test-postgres test-console

test-sqlite: install
	TEST_DATABASE=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install
	TEST_DATABASE=postgres TEST_POSTGRES_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: install lint-console
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/mypy app

bench: install
	$(BIN)/python -m bench.run

openapi: install
	$(BIN)/python -m app.openapi > openapi.yaml

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
	rm -rf console/node_modules console/dist console/test-results console/src/api/schema.d.ts
