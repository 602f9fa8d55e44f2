# The two commands: `make dev` runs everything locally, `make test` runs the whole suite.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(HOME)/.bun/bin:$(PATH)

.PHONY: dev test setup setup-test lint typecheck bench demo

setup:
	@command -v bun >/dev/null 2>&1 || { \
	  command -v npm >/dev/null 2>&1 || { echo "Bun is missing and so is npm: install Node.js/npm or Bun 1.4.5"; exit 1; }; \
	  echo "installing Bun 1.4.5 through npm"; \
	  if [ "$$(id -u)" = 0 ]; then npm install -g bun@1.4.5; else npm install -g --prefix "$(HOME)/.local" bun@1.4.5; fi; }
	@command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing redis-server through apt"; apt-get update -qq && apt-get install -y -qq redis-server redis-tools >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	    sudo apt-get update -qq && sudo apt-get install -y -qq redis-server redis-tools >/dev/null; \
	  else echo "redis-server is missing: install Redis 7 (e.g. apt-get install redis-server) or set REDIS_URL"; exit 1; fi; }
	@bun install

dev: setup
	@bun scripts/dev.ts

lint: setup
	@bunx biome check .

typecheck: setup
	@bunx tsc --noEmit -p tsconfig.json

# Everything as under `make dev`, fed by the city simulator; open the printed dashboard URL with the printed token.
demo: setup
	@bun scripts/dev.ts & dev=$$!; trap 'kill $$dev 2>/dev/null' EXIT INT TERM; \
	  until bun -e 'process.exit((await fetch("http://127.0.0.1:3000/ready").catch(() => null))?.ok ? 0 : 1)'; do sleep 1; done; \
	  echo "dashboard: http://127.0.0.1:3000/dashboard   admin token: $$(bun scripts/token.ts ops --role admin)"; \
	  bun bench/sim/main.ts --users $${DEMO_USERS:-1000} --minutes $${DEMO_MINUTES:-30} --interval 5 --out .data/sim-ground-truth.json

# The suite also drives the admin dashboard in headless Chromium.
setup-test: setup
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium through apt (the dashboard's browser test)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else echo "chromium is missing: install it (e.g. apt-get install chromium) for the dashboard's browser test"; exit 1; fi; }

test: setup-test
	@bunx biome check . && bunx tsc --noEmit -p tsconfig.json && bun scripts/test.ts
