"""Helpers shared by bench/run.py (project venv) and bench/hordak_bench.py (hordak's venv).

Only the standard library, psycopg and dj-database-url: both virtualenvs have them.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/ctl"


def vendor_of(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme.startswith("postgres") or scheme == "pgsql":
        return "postgresql"
    if scheme.startswith("sqlite"):
        return "sqlite"
    raise SystemExit(f"bench: unsupported DATABASE_URL scheme {scheme!r} (use postgres:// or sqlite://)")


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def scratch_base(url: str) -> str:
    """The prefix of every scratch database of a run: the database named in DATABASE_URL when its name starts
    with ``ctl_bench`` (so parallel worktrees can each pass their own, e.g. ``.../ctl_bench2``), else
    ``ctl_bench``. The run uses ``<base>``, ``<base>_hordak`` and ``<base>_demo`` on that server."""
    name = urlsplit(url).path.lstrip("/")
    return name if name.startswith("ctl_bench") and name.replace("_", "").isalnum() else "ctl_bench"


def scratch_database(url: str, *, pg_name: str, sqlite_file: str) -> str:
    """Drop and create the benchmark's own database; return its URL. Never touches any other database."""
    if vendor_of(url) == "sqlite":
        VAR.mkdir(exist_ok=True)
        path = VAR / sqlite_file
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    assert pg_name.startswith("ctl_bench"), pg_name
    import psycopg

    with psycopg.connect(pg_conninfo(with_database(url, "postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{pg_name}"')
    return with_database(url, pg_name)


def pg_conninfo(url: str) -> str:
    """psycopg accepts postgresql:// URLs; normalise the scheme dj-database-url also accepts."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


def pg_server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(pg_conninfo(url)) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def summary_ms(samples_s: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples_s)
    p95 = ms[min(len(ms) - 1, max(0, int(round(0.95 * len(ms))) - 1))]
    return {"calls": len(ms), "median_ms": statistics.median(ms), "p95_ms": p95, "max_ms": ms[-1], "min_ms": ms[0]}


def year_dates(today: dt.date, days: int = 365) -> list[dt.date]:
    """The days of the year of data: ``days`` days ending yesterday (never in the future)."""
    return [today - dt.timedelta(days=days - i) for i in range(days)]


def big_book_plan(m_legs: int, today: dt.date, seed: int = 8):
    """The shape both sides load for B3/B4: ``m_legs // 2`` two-leg entries spread evenly over a year; every
    entry has one leg on the bank account (index 0) and one on a rotating counterparty (indexes 1..9).
    Yields (date, counter_index, bank_is_debit, amount_fen) in date order."""
    rng = random.Random(seed)
    entries = m_legs // 2
    dates = year_dates(today)
    for i in range(entries):
        date = dates[i * len(dates) // entries]
        counter = 1 + i % 9
        yield date, counter, (i % 3 != 0), rng.randint(100, 500_000)


# Chart used by both sides for the big book: (code, name, type) with our type names.
BIG_CHART = [
    ("1002", "Bank", "asset"),
    ("1001", "Cash", "asset"),
    ("1012", "Clearing", "asset"),
    ("1122", "Receivable", "asset"),
    ("1401", "Inventory", "asset"),
    ("2202", "Payable", "liability"),
    ("2241", "Other payable", "liability"),
    ("2211", "Payroll payable", "liability"),
    ("3101", "Net assets without restriction", "net_assets"),
    ("3102", "Net assets with restriction", "net_assets"),
]
DEBIT_NORMAL = {"asset", "expense"}


def env_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{VAR / 'db.sqlite3'}"
