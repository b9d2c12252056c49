# The two commands:  `make up` (run Maestro on its embedded stack)  and  `make test` (every test).
SHELL := /bin/bash
VENV  := .venv/bin
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: up setup test test-deps lint typecheck ui ui-check openapi openapi-check pytest e2e bench clean

up: setup ## set everything up and run Maestro (Temporal, Valkey, SQLite, worker, API, UI)
	$(VENV)/maestro up

setup:
	@scripts/setup.sh

test: test-deps lint typecheck openapi-check ui-check pytest ## install what tests need and run them all

test-deps:
	@scripts/test-deps.sh

lint:
	$(VENV)/ruff check maestro tests bench scripts
	$(VENV)/ruff format --check maestro tests bench scripts

typecheck:
	$(VENV)/mypy

openapi: ## regenerate frontend/openapi.json and the generated TypeScript client
	$(VENV)/maestro openapi --out frontend/openapi.json
	cd frontend && npm run generate

openapi-check: ## the committed OpenAPI document must match the code
	@out=$$(mktemp -t maestro-openapi.XXXXXX.json); trap 'rm -f "$$out"' EXIT; \
	  $(VENV)/maestro openapi --out "$$out" && \
	  { diff -q frontend/openapi.json "$$out" >/dev/null || \
	    { echo "frontend/openapi.json is stale: run 'make openapi'"; exit 1; }; }

ui: setup
	cd frontend && npm run build

ui-check: ## generated client fresh, lint, types, component tests, production build
	cd frontend && npm run check:client && npm run lint && npm run typecheck && npm test && npm run build

pytest:
	$(VENV)/pytest

bench: ## benchmarks (not part of make test); figures go to docs/perf.md
	@scripts/bench-deps.sh
	$(VENV)/python bench/ui_load.py
	$(VENV)/python bench/runs.py
	$(VENV)/python bench/runs_list.py
	$(VENV)/python bench/costs.py
	$(VENV)/python bench/edge.py
	$(VENV)/python bench/gateway.py

clean:
	rm -rf .venv frontend/node_modules frontend/dist .pytest_cache .mypy_cache .ruff_cache
