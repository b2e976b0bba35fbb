# Benchmarks (issue 8). Included by the main Makefile with `-include bench/bench.mk`; uses its VENV/PY.
# DATABASE_URL picks the engine: unset -> SQLite (var/bench.sqlite3), postgres://... -> PostgreSQL (ctl_bench,
# dropped and re-created; the peer gets ctl_bench_hordak). Results: bench/results/<vendor>-<mode>.json.
#   make bench         quick: N=2,000 entries, M=100,000 legs (under 5 minutes)
#   make bench-full    N=10,000, M=1,000,000 (under 30 minutes)
#   make bench-tiny    seconds; our side only (no hordak, no pgbench), what tests/bench runs
#   make bench-venv    the peer's own virtualenv, bench/.venv-hordak, from bench/requirements-hordak.txt
# BENCH_ARGS passes more options to bench/run.py (e.g. BENCH_ARGS=--profile).
VENV ?= .venv
PY ?= $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)
BENCH_ARGS ?=
HORDAK_VENV := bench/.venv-hordak

.PHONY: bench bench-full bench-tiny bench-venv

$(HORDAK_VENV)/.installed: bench/requirements-hordak.txt
	test -x $(HORDAK_VENV)/bin/python || $(PYTHON) -m venv $(HORDAK_VENV)
	$(HORDAK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements-hordak.txt
	touch $@

bench-venv: $(HORDAK_VENV)/.installed

bench: $(VENV)/.installed $(HORDAK_VENV)/.installed
	mkdir -p var
	DJANGO_SETTINGS_MODULE=charity.settings $(PY) bench/run.py --mode quick $(BENCH_ARGS)

bench-full: $(VENV)/.installed $(HORDAK_VENV)/.installed
	mkdir -p var
	DJANGO_SETTINGS_MODULE=charity.settings $(PY) bench/run.py --mode full $(BENCH_ARGS)

bench-tiny: $(VENV)/.installed
	mkdir -p var
	DJANGO_SETTINGS_MODULE=charity.settings $(PY) bench/run.py --mode tiny --ours-only $(BENCH_ARGS)
