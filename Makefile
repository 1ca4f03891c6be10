# backoffice — the two commands are `make run` and `make test`; the rest supports them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12: the first interpreter that really is 3.12 (a pyenv shim that is not
# activated for 3.12 fails the check and the next candidate is tried).
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py

# Tests always run against the real PostgreSQL and Redis of this machine.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/backoffice
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: var-dirs help run test lint fmt services migrate seed worker beat web bench bench-quick soak messages audit clean

help:
	@echo "make run    — set up and start web app, Celery worker and beat (SQLite + file broker by default)"
	@echo "make test   — set up and run lint, migration check and the whole test suite (PostgreSQL + Redis)"
	@echo "make lint   — ruff check + format check"
	@echo "make fmt    — ruff format + autofix"
	@echo "make bench  — benchmarks (see docs); make bench-quick for the short version"
	@echo "make soak   — the races and fault tests, SOAK_ROUNDS times (default 20)"
	@echo "make audit  — known vulnerabilities in the pinned requirements (pip-audit; skipped when offline)"

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.12 not found: install python3.12 or set PYTHON=/path/to/python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

var-dirs:
	@mkdir -p var/celery var/media var/log

# make run is the demo/development mode: DEBUG (and so demo logins) unless told otherwise.
run: export DEBUG := $(or $(DEBUG),true)
run: $(VENV)/.installed var-dirs
	$(MANAGE) migrate --no-input
	$(MANAGE) collectstatic --no-input --verbosity 0
	$(MANAGE) seed_demo --once
	$(MANAGE) demo_info
	$(VENV)/bin/honcho -f Procfile.dev start

services:
	@scripts/services.sh

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(VENV)/.installed-dev services lint
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(MANAGE) makemigrations --check --dry-run --settings=backoffice.settings_test
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

# Benchmarks (bench/, README "Benchmarks"): their own PostgreSQL database per scale and Redis
# db 9, never the test or demo data. A benchmark reports; a slow figure never fails it.
# BENCH_ARGS passes options, e.g. BENCH_ARGS="--only intake,reads --profile".
bench: $(VENV)/.installed-dev services
	$(PY) -m bench $(BENCH_ARGS)

# The short run (< 3 minutes) that CI uses to prove the harness works.
bench-quick: $(VENV)/.installed-dev services
	$(PY) -m bench --quick $(BENCH_ARGS)

# Longer than CI: the races and fault tests of tests/reliability/ again and again (each
# round with fresh data and another thread interleaving), stopping at the first failure.
# SOAK_ROUNDS=50 make soak; SOAK_ARGS="-k race" for the races alone.
SOAK_ROUNDS ?= 20
soak: $(VENV)/.installed-dev services
	@for round in $$(seq 1 $(SOAK_ROUNDS)); do \
		echo "soak: round $$round of $(SOAK_ROUNDS)"; \
		DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
			$(VENV)/bin/pytest tests/reliability/test_concurrency.py tests/reliability/test_fault_database.py \
			tests/reliability/test_fault_worker.py -p no:randomly -x $(SOAK_ARGS) || exit 1; \
	done

# Known vulnerabilities in the pinned runtime requirements (pip-audit --strict): fails on
# any finding; prints "audit skipped: vulnerability service unreachable" and passes when
# PyPI's vulnerability service cannot be reached (scripts/audit.py, docs/reliability.md).
audit: $(VENV)/.installed-dev
	$(PY) scripts/audit.py $(AUDIT_ARGS)

# Extract every app's texts into its locale/ and compile; fill Dutch with scripts/i18n.py.
messages: $(VENV)/.installed
	$(PY) scripts/i18n.py update
	$(PY) scripts/i18n.py missing


clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
