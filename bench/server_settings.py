"""The settings B6's gunicorn runs with: the project's own (``charity.settings``, unchanged), with the bench's
URLconf, which adds one trivial DRF endpoint in front of the project's routes (``bench/server_urls.py``)."""

from charity.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.server_urls"
