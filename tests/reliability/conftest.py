"""Shared by the reliability suite: PostgreSQL-only guards and how a child process reaches the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: several processes writing to one committed database")


def database_url(name: str | None = None) -> str:
    """A DATABASE_URL for a child process: the database this test runs against (or ``name`` on its server)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{name or db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name or db['NAME']}"


def child_env(url: str, **extra: str) -> dict:
    env = dict(os.environ)
    env.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "charity.settings", "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


def manage(url: str, *args: str, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
    """``manage.py ARGS`` in a child process against ``url``; output captured as bytes."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=child_env(url, **extra), cwd=ROOT,
        capture_output=True, timeout=timeout,
    )
