# Set-up and everyday commands. Everything runs inside .venv, made from requirements.txt on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test test-pg test-browser messages screenshots serve migrate bench bench-full clean

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

var:
	mkdir -p var

migrate: $(VENV)/.installed var
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py demo_setup
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

test-pg: $(VENV)/.installed
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ctl} $(PY) -m pytest $(PYTEST_ARGS)

# The browser test alone (headless Debian chromium driven by Playwright; skips when either is missing).
test-browser: $(VENV)/.installed
	$(PY) -m pytest tests/browser $(PYTEST_ARGS)

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
