"""Minimal standalone Django settings for driving django-hordak in the benchmarks (bench/hordak_bench.py).

The database comes from HORDAK_DATABASE_URL, which hordak_bench.py sets to the scratch database it made:
PostgreSQL ``ctl_bench_hordak`` or the SQLite file ``var/bench_hordak.sqlite3``. Nothing here is imported by
the project.
"""

import os

import dj_database_url

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "mptt",
    "djmoney",
    "hordak",
]
DATABASES = {"default": dj_database_url.parse(os.environ["HORDAK_DATABASE_URL"], conn_max_age=600)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The same SQLite set-up as the project, so both sides pay the same commit cost.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    # django-hordak does not support SQLite: its migrations raise NotImplementedError("Database vendor sqlite not
    # supported") when they install its triggers. To still have a figure on SQLite, its tables are made straight
    # from its models (``migrate --run-syncdb`` with no migration module), i.e. hordak WITHOUT its database
    # triggers and functions: it does less work there than on PostgreSQL. run.py notes this in the results.
    MIGRATION_MODULES = {"hordak": None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DEFAULT_CURRENCY = "CNY"
HORDAK_INTERNAL_CURRENCY = "CNY"
CURRENCIES = ["CNY"]
HORDAK_CURRENCIES = ["CNY"]
HORDAK_DECIMAL_PLACES = 2
HORDAK_MAX_DIGITS = 13
