# Benchmarks (issue 8). Included by the main Makefile with `-include bench/bench.mk`; uses its VENV/PY.
# DATABASE_URL picks the engine: unset -> SQLite (var/bench*.sqlite3), postgres://... -> PostgreSQL. The scratch
# databases are named after the database in DATABASE_URL when it starts with ctl_bench (.../ctl_bench2 ->
# ctl_bench2, ctl_bench2_hordak, ctl_bench2_demo), else ctl_bench*; they are dropped and re-created.
# Results: bench/results/<vendor>-<mode>.json (+ -B5/-B6/-B7.json).
#   make bench         quick: B1-B4 with N=2,000 entries, M=100,000 legs; B5-B7 on the default demo year
#   make bench-full    N=10,000, M=1,000,000
#   make bench-tiny    seconds; our side only (no hordak, no pgbench), what tests/bench runs
#   make bench-venv    the peer's own virtualenv, bench/.venv-hordak, from bench/requirements-hordak.txt
#   make bench-deps    httpx (B6's load generator) and the profilers into the project venv, from
#                      bench/requirements-bench.txt
#   make bench-compare BASE=<git rev> [MODE=tiny|quick|full]
#                      before/after in one invocation (bench/compare.py): BASE in a temporary git worktree, then the
#                      working tree, each with its own bench/run.py (default options: --ours-only --only-apps B6,
#                      i.e. B1-B4 and B6 on PostgreSQL; COMPARE_ARGS='--run-args "..."' to change), scratch databases
#                      <base>_base* and <base>_new*; a table of new/base per figure, WORSE when >10% worse
# BENCH_ARGS passes more options to bench/run.py (e.g. BENCH_ARGS=--profile, --no-apps, --apps-only).
# BENCH_SITE=dir: bench-deps installs into that directory (pip --target) instead of the project venv, and the bench
#   targets put it on PYTHONPATH (for a project venv shared with other trees, e.g. BENCH_SITE=var/bench-site).
# With a project venv made elsewhere: make bench VENV=/path/to/venv BENCH_VENV_DEP=   (skips its .installed stamp)
VENV ?= .venv
PY ?= $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)
BENCH_ARGS ?=
HORDAK_VENV := bench/.venv-hordak
BENCH_VENV_DEP ?= $(VENV)/.installed
BENCH_SITE ?=
BENCH_ENV := $(if $(BENCH_SITE),PYTHONPATH=$(abspath $(BENCH_SITE))$${PYTHONPATH:+:$$PYTHONPATH})
BASE ?=
MODE ?= quick
COMPARE_ARGS ?=

.PHONY: bench bench-full bench-tiny bench-venv bench-deps bench-compare

$(HORDAK_VENV)/.installed: bench/requirements-hordak.txt
	test -x $(HORDAK_VENV)/bin/python || $(PYTHON) -m venv $(HORDAK_VENV)
	$(HORDAK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements-hordak.txt
	touch $@

bench-venv: $(HORDAK_VENV)/.installed

# No stamp file in the project venv (it may be shared): install only when httpx is missing or not the pinned one.
bench-deps: $(BENCH_VENV_DEP)
	@$(BENCH_ENV) $(PY) -c "import sys, httpx, pyinstrument; sys.exit(httpx.__version__ != '$$(sed -n 's/^httpx==//p' bench/requirements-bench.txt)')" 2>/dev/null \
	  || $(PY) -m pip install --quiet --disable-pip-version-check $(if $(BENCH_SITE),--upgrade --target $(BENCH_SITE)) \
	       -r bench/requirements-bench.txt

bench: $(BENCH_VENV_DEP) $(HORDAK_VENV)/.installed bench-deps
	mkdir -p var
	$(BENCH_ENV) DJANGO_SETTINGS_MODULE=charity.settings $(PY) bench/run.py --mode quick $(BENCH_ARGS)

bench-full: $(BENCH_VENV_DEP) $(HORDAK_VENV)/.installed bench-deps
	mkdir -p var
	$(BENCH_ENV) DJANGO_SETTINGS_MODULE=charity.settings $(PY) bench/run.py --mode full $(BENCH_ARGS)

bench-tiny: $(BENCH_VENV_DEP) bench-deps
	mkdir -p var
	$(BENCH_ENV) DJANGO_SETTINGS_MODULE=charity.settings $(PY) bench/run.py --mode tiny --ours-only $(BENCH_ARGS)

bench-compare: $(BENCH_VENV_DEP) bench-deps
	@test -n "$(BASE)" || { echo "usage: make bench-compare BASE=<git rev> [MODE=tiny|quick|full]"; exit 2; }
	mkdir -p var
	$(BENCH_ENV) $(PY) bench/compare.py --base $(BASE) --mode $(MODE) $(COMPARE_ARGS)

# Legs partitioned by year (docs/scale.md): the B3/B4 book of M legs (default 1,000,000) in <base>, a copy with
# ledger_leg and ledger_dailybalance partitioned by year in <base>_part, B3/B4 and leg reads measured alternately.
# PostgreSQL only: DATABASE_URL=postgres://postgres@127.0.0.1:5432/ctl_bench_part make bench-partition [PARTITION_M=...]
PARTITION_M ?= 1000000
.PHONY: bench-partition
bench-partition: $(BENCH_VENV_DEP)
	$(BENCH_ENV) $(PY) bench/partition.py --m $(PARTITION_M)
