# Set-up and everyday commands. Everything runs inside .venv, made from requirements.txt on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test mutants test-pg test-slow test-browser messages screenshots serve migrate bench bench-full clean chaos chaos-16 fuzz-api fuzz-import reliability-long stack-test backup restore

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

var:
	mkdir -p var/static

migrate: $(VENV)/.installed var
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py demo_setup
	@echo "open http://127.0.0.1:$(PORT)/  (public disclosure; sign in for the portal, reports and office)"
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

# Break each core invariant in a temporary copy and check that its test notices (tools/mutants.py; README
# "Mutation checks"). SQLite unless DATABASE_URL is set; exits 1 when a mutation survives.
mutants: $(VENV)/.installed
	$(PY) tools/mutants.py $(MUTANTS)

test-pg: $(VENV)/.installed
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ctl} $(PY) -m pytest $(PYTEST_ARGS)

# The tests marked slow outside the reliability suite (whose long modes follow): the journal and general ledger
# streaming in constant memory, the sample year's aid and donor reports, the bench apps' smoke run. SQLite, or
# DATABASE_URL; .ci/run runs both. Kept out of `make test` because each builds large books (a long ledger to
# stream, the sample year, a demo for the bench): every run would pay for checks that only reports and the bench
# can break.
SLOW_TESTS := tests/reports/test_streaming.py tests/reports/test_sample_year_reports.py tests/reports/test_cash_flow.py \
              tests/reports/test_year_close_sample.py \
              tests/bench/test_bench_apps_tiny.py

test-slow: $(VENV)/.installed
	$(PY) -m pytest $(SLOW_TESTS) -m slow $(PYTEST_ARGS)

# The reliability suite's long modes (tests/reliability; README "Reliability and security suite"). The chaos
# run needs PostgreSQL: DATABASE_URL defaults to the ctl database of test-pg (its test database is test_<name>).
RELIABILITY_PG ?= $${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ctl}

# `make chaos`: CHAOS_ROUNDS (5) rounds of CHAOS_PROCS (8) processes x CHAOS_SECONDS (60) s, each with its own seed;
# stops at the first round with an unexpected error. `make chaos-16`: the same with 16 processes. .ci/run runs
# one round (CHAOS_ROUNDS=1).
CHAOS_ROUNDS ?= 5

chaos: $(VENV)/.installed
	@for round in $$(seq 1 $(CHAOS_ROUNDS)); do \
		echo "== chaos round $$round of $(CHAOS_ROUNDS)"; \
		DATABASE_URL=$(RELIABILITY_PG) CHAOS_PROCS=$${CHAOS_PROCS:-8} CHAOS_SECONDS=$${CHAOS_SECONDS:-60} \
			CHAOS_SEED=$$((round + 1)) $(PY) -m pytest tests/reliability/test_chaos.py -m slow -s $(PYTEST_ARGS) \
			|| exit 1; \
	done

chaos-16:
	$(MAKE) chaos CHAOS_PROCS=16

fuzz-api: $(VENV)/.installed
	API_FUZZ_EXAMPLES=$${API_FUZZ_EXAMPLES:-50} $(PY) -m pytest tests/reliability/test_api_fuzz.py -m slow $(PYTEST_ARGS)

fuzz-import: $(VENV)/.installed
	IMPORT_FUZZ_EXAMPLES=$${IMPORT_FUZZ_EXAMPLES:-600} $(PY) -m pytest tests/reliability/test_import_fuzz.py -m slow $(PYTEST_ARGS)

reliability-long: chaos fuzz-api fuzz-import

# The browser test alone (headless Debian chromium driven by Playwright; skips when either is missing).
test-browser: $(VENV)/.installed
	$(PY) -m pytest tests/browser $(PYTEST_ARGS)

# The production stack on 127.0.0.1 high ports, from deploy/'s files: nginx -> gunicorn -> PgBouncer -> PostgreSQL
# primary + synchronous hot standby; a bounded load, the restore drill and the failover drill; everything torn
# down (deploy/stack_test.py; README "Running it for real"). Skips, saying why, without nginx, pgbouncer or
# PostgreSQL 15's programs. LOAD_SECONDS (30), LOAD_WRITERS, LOAD_READERS; STACK_KEEP=1 keeps its directory.
stack-test: $(VENV)/.installed
	$(PY) deploy/stack_test.py

# A real install, run as the postgres user: a base backup into BACKUP_DIR (deploy/backup.sh; libpq's PGHOST,
# PGPORT, PGUSER for a REPLICATION user), and a point-in-time restore into a new cluster beside the live one
# (deploy/restore.sh; RESTORE_DIR, RESTORE_PORT, BACKUP_DIR, ARCHIVE_DIR).
backup:
	deploy/backup.sh

restore:
	@test -n "$(TARGET_TIME)" || { echo "usage: make restore TARGET_TIME='2026-12-06 18:30:00+00'"; exit 2; }
	TARGET_TIME="$(TARGET_TIME)" deploy/restore.sh

# After changing a translatable string: refresh the Chinese catalogue, translate the new entries in
# locale/zh_Hans/LC_MESSAGES/django.po, then `make messages` again and commit the .po and the .mo (CI has no gettext).
messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l zh_Hans --no-location --ignore '.venv/*' --ignore 'bench/*' --ignore 'tests/*' --ignore 'var/*' --ignore 'docs/*'
	$(PY) manage.py compilemessages -l zh_Hans

# The README's screenshots, from a running demo seeded with `seed_demo --passwords username` (docs/screenshots/take.py).
screenshots: $(VENV)/.installed
	$(PY) docs/screenshots/take.py http://127.0.0.1:$(PORT)

-include bench/bench.mk

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
