"""B5-B7 of issue 8: the application around the ledger (documents, the API under load, the demo year, memory).

``bench/run.py`` calls :func:`run_apps` after B1-B4 (or alone with ``--apps-only``). The timed work runs in
child processes of the project's venv, each pointed at the right database by ``DATABASE_URL``:

B7 seed    ``manage.py seed_demo --no-progress`` (defaults; smaller in tiny mode) into a fresh, migrated scratch
           database of its own (PostgreSQL ``<base>_demo``, SQLite ``var/bench_demo.sqlite3``): wall clock, CPU
           and peak RSS of that one process (``os.wait4``).
B5         in-process in ``python bench/apps.py b5`` on the demo database: ``render_report`` of the
           ``annual-report`` PDF of the demo year; ``donor-statement`` PDFs of random donors of the year
           (median); ``charity.documents.receipt_pdf`` of random valid receipts (median).
B7 memory  ``manage.py report general-ledger --format csv --out FILE`` as a child process over the demo year
           and over the big book of B3/B4 (M legs): peak RSS and time; the CSV is read back (every leg line
           there, debits = credits on the TOTAL line).
B6         PostgreSQL only: gunicorn, 2 workers, on the demo database, with ``bench.server_settings`` (the
           project's settings with one more route, ``/bench/ping/``); ``bench/load.py`` drives it from this process
           over 127.0.0.1: reads of donor statements as JSON by the auditor at a fixed arrival rate (open loop);
           the closed-loop ceiling of that endpoint and of the trivial ``/bench/ping/``; writes (gifts through the
           donations endpoint by the officer, or manual journal entries with ``--b6-writes entries``, each with an
           Idempotency-Key, some sent twice) all to one trust and then spread over 20 (``WRITE_TRUSTS``, made by
           ``apps.py b6-prepare`` in the demo database). Afterwards ``verify_ledger`` and the trial balance of every
           book involved must be clean, and each book must hold exactly the entries the server accepted for it, to
           the cent (gifts: one entry and one valid receipt each).
           The server's report cache is ``REPORT_CACHE=file`` in a directory emptied first
           (``report_cache_env``). ``python bench/apps.py b6 [--warm-all]`` runs B6 alone on a demo database an
           earlier run left (``DATABASE_URL=.../<base>_demo``).

Nothing here changes ``ledger/`` or ``charity/``; the bench only sets the demo users' passwords in its own
scratch database so that it can ask ``/api/v1/auth/token/`` for their tokens, and makes B6's 20 trusts there.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _path in (str(ROOT), str(BENCH)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import common  # noqa: E402

# Per mode: demo size (None = seed_demo's defaults), samples, and the B6 load.
APP_MODES = {
    "tiny": {"seed_args": ["--beneficiaries", "40", "--donations", "80"], "annual_runs": 1, "donor_samples": 3,
             "receipt_samples": 5, "read_rate": 20, "read_seconds": 2, "write_clients": 4, "write_total": 40,
             "sat_clients": 4, "sat_seconds": 1.5},
    "quick": {"seed_args": [], "annual_runs": 3, "donor_samples": 10, "receipt_samples": 20,
              "read_rate": 50, "read_seconds": 30, "write_clients": 20, "write_total": 600,
              "sat_clients": 8, "sat_seconds": 10},
    "full": {"seed_args": [], "annual_runs": 3, "donor_samples": 10, "receipt_samples": 20,
             "read_rate": 50, "read_seconds": 60, "write_clients": 20, "write_total": 2000,
             "sat_clients": 8, "sat_seconds": 20},
}
TRUST = "CWCT"
# B6's write phases: trusts of their own, made in the demo database by ``apps.py b6-prepare``; the one-book phase
# writes to the first, the spread phase to all of them.
WRITE_BOOKS = 20
WRITE_TRUSTS = [f"B6W{i:02d}" for i in range(1, WRITE_BOOKS + 1)]
SERVER_SETTINGS = "bench.server_settings"  # charity.settings with the bench's URLconf (/bench/ping/)


def log(msg: str) -> None:
    print(f"[bench-apps] {msg}", file=sys.stderr, flush=True)


def child_env(url: str) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    env["DJANGO_SETTINGS_MODULE"] = "charity.settings"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.pop("DEBUG", None)  # DEBUG keeps every query in memory: never on for a benchmark
    # A national foundation's book is built in statements far longer than a request's 30 s (README Configuration).
    env.setdefault("DB_STATEMENT_TIMEOUT_MS", "0")
    return env


TIME = Path("/usr/bin/time")


def run_measured(cmd: list[str], env: dict, *, timeout: float = 3600, stdout=None) -> dict:
    """Run one child process; its own wall clock, CPU seconds and peak RSS.

    The peak RSS comes from GNU time (``/usr/bin/time -f %M``) wrapped around the command: Linux's ``ru_maxrss``
    of a child (``os.wait4`` or RUSAGE_CHILDREN) also counts the memory of the process that forked it, as it was
    at the fork (a Python parent holding 400 MB makes ``python -c pass`` report 410 MB). time(1) is a small
    process, so what it reports is the command's own peak. Without it, ``wait4`` is used and flagged."""
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    stem = f"bench-apps-{os.getpid()}-{time.monotonic_ns()}"
    err_path, time_path = tmp / f"{stem}.err", tmp / f"{stem}.time"
    if TIME.exists():
        cmd = [str(TIME), "-o", str(time_path), "-f", "%M %U %S", *cmd]
    with open(err_path, "w+b") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT), stdout=stdout or subprocess.PIPE, stderr=err)
        out_chunks = []
        if proc.stdout is not None:
            deadline = t0 + timeout
            for chunk in iter(lambda: proc.stdout.read(65536), b""):
                out_chunks.append(chunk)
                if time.perf_counter() > deadline:
                    proc.kill()
            proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    err_path.unlink(missing_ok=True)
    out = {"returncode": proc.returncode, "seconds": wall, "cpu_seconds": usage.ru_utime + usage.ru_stime,
           "peak_rss_mb": usage.ru_maxrss / 1024, "rss_source": "wait4 (includes the forking parent's RSS)",
           "stdout": b"".join(out_chunks).decode("utf-8", "replace"), "stderr": stderr}
    if time_path.exists():
        fields = time_path.read_text().strip().splitlines()[-1].split()
        time_path.unlink()
        try:
            out["peak_rss_mb"] = int(fields[0]) / 1024
            out["rss_source"] = "/usr/bin/time %M"
        except (IndexError, ValueError):
            pass
    return out


def _child_json(sub: str, url: str, *args: str, timeout: float = 1800) -> dict:
    run = run_measured([sys.executable, str(BENCH / "apps.py"), sub, *args], child_env(url), timeout=timeout)
    if run["returncode"] != 0:
        raise RuntimeError(f"apps.py {sub} exited {run['returncode']}: {run['stderr'][-2000:]}")
    return json.loads(run["stdout"].strip().splitlines()[-1])


def _manage(url: str, *args: str, timeout: float = 3600) -> dict:
    return run_measured([sys.executable, str(ROOT / "manage.py"), *args], child_env(url), timeout=timeout)


# --------------------------------------------------------------------------------------------- parent side


def seed_demo(url: str, acfg: dict) -> dict:
    """B7 (time): migrate the demo scratch database (not timed), then time ``seed_demo --no-progress``."""
    t0 = time.perf_counter()
    migrated = _manage(url, "migrate", "--noinput", "-v", "0")
    if migrated["returncode"] != 0:
        raise RuntimeError(f"migrate of the demo database failed: {migrated['stderr'][-2000:]}")
    log(f"demo database migrated in {time.perf_counter() - t0:.1f}s; seeding the demo year")
    args = ["seed_demo", "--no-progress", *acfg["seed_args"]]
    run = _manage(url, *args)
    lines = run["stdout"].strip().splitlines()
    verdict = next((line for line in reversed(lines) if line.startswith(("OK ", "FAIL", "BROKEN"))), lines[-1:] or "")
    out = {
        "command": "manage.py " + " ".join(args), "seconds": run["seconds"], "cpu_seconds": run["cpu_seconds"],
        "peak_rss_mb": run["peak_rss_mb"], "rss_source": run["rss_source"], "returncode": run["returncode"],
        "verify": verdict,
        "exact": run["returncode"] == 0 and str(verdict).startswith("OK "),
        "summary": [line for line in lines if "imported" in line or line.startswith(("closed", "done"))],
    }
    if run["returncode"] != 0:
        out["error"] = run["stderr"][-2000:]
    log(f"B7 seed_demo: {run['seconds']:.1f}s wall, {run['cpu_seconds']:.1f}s CPU, {run['peak_rss_mb']:.0f} MB, "
        f"{verdict}")
    if common.vendor_of(url) == "postgresql":
        # What autovacuum's autoanalyze would do on a live server; this shared one runs with autovacuum = off,
        # and without it the donor statement's plans (made for empty tables) are ten times slower
        # (BENCHMARKS.md, finding 6). Not timed in seed_demo's figure; its own time is in the JSON.
        import psycopg

        t0 = time.perf_counter()
        with psycopg.connect(common.pg_conninfo(url), autocommit=True) as conn:
            conn.execute("ANALYZE")
        out["analyze_seconds"] = time.perf_counter() - t0
    return out


def general_ledger(url: str, trust: str, date_from: dt.date, date_to: dt.date, expected_legs: int) -> dict:
    """B7 (memory): ``report general-ledger`` as its own process, CSV to a file; peak RSS and a check of the CSV."""
    out_path = common.VAR / f"bench-gl-{trust}.csv"
    common.VAR.mkdir(exist_ok=True)
    args = ["report", "general-ledger", "--trust", trust, "--from", date_from.isoformat(), "--to",
            date_to.isoformat(), "--format", "csv", "--out", str(out_path)]
    run = _manage(url, *args)
    result = {"command": "manage.py " + " ".join(args[:-1]) + " FILE", "trust": trust, "seconds": run["seconds"],
              "cpu_seconds": run["cpu_seconds"], "peak_rss_mb": run["peak_rss_mb"], "rss_source": run["rss_source"],
              "returncode": run["returncode"], "expected_legs": expected_legs}
    if run["returncode"] != 0:
        result.update(exact=False, error=run["stderr"][-2000:])
        return result
    legs, total, size = 0, None, out_path.stat().st_size
    with open(out_path, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            if row["line"] == "leg":
                legs += 1
            elif row["account_code"] == "TOTAL":
                total = row
    out_path.unlink(missing_ok=True)
    problems = []
    if legs != expected_legs:
        problems.append(f"{legs} leg lines, expected {expected_legs}")
    if total is None:
        problems.append("no TOTAL line")
    elif total["debit"] != total["credit"]:
        problems.append(f"TOTAL debits {total['debit']} != credits {total['credit']}")
    result.update(legs=legs, csv_bytes=size, total_debit=total and total["debit"], exact=not problems,
                  problems="; ".join(problems), legs_per_s=legs / run["seconds"] if run["seconds"] else None)
    log(f"B7 general-ledger {trust}: {legs:,} legs, {run['seconds']:.1f}s, peak RSS {run['peak_rss_mb']:.0f} MB "
        f"{'exact' if not problems else problems}")
    return result


def baseline_rss(url: str) -> dict:
    """What a management command costs before it does anything (Django, the apps, reportlab imported)."""
    run = _manage(url, "report", "--help")
    return {"command": "manage.py report --help", "peak_rss_mb": run["peak_rss_mb"], "seconds": run["seconds"],
            "rss_source": run["rss_source"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REPORT_CACHE_DIR = common.VAR / "bench-report-cache"


def report_cache_env() -> dict:
    """The report cache gunicorn runs with: the caller's ``REPORT_CACHE`` if set, else ``file`` (as the project's
    gunicorn.conf.py makes it: both workers share one cache, so each of the ~840 statements B6 asks for is
    rendered once, not once per worker) in a directory of the bench's own, emptied first: every run starts cold,
    as a freshly started server does."""
    import shutil

    kind = os.environ.get("REPORT_CACHE") or "file"
    env = {"REPORT_CACHE": kind}
    if kind == "file":
        shutil.rmtree(REPORT_CACHE_DIR, ignore_errors=True)
        env["REPORT_CACHE_DIR"] = str(REPORT_CACHE_DIR)
    return env


def start_gunicorn(url: str, port: int, workers: int = 2, log_path: Path | None = None) -> subprocess.Popen:
    # The project's gunicorn.conf.py applies (cwd): sync workers, and why not gthread.
    cmd = [sys.executable, "-m", "gunicorn", "charity.wsgi:application", "--workers", str(workers), "--bind",
           f"127.0.0.1:{port}", "--chdir", str(ROOT), "--timeout", "120", "--graceful-timeout", "5"]
    log_file = open(log_path or os.devnull, "wb")
    env = {**child_env(url), **report_cache_env(), "DJANGO_SETTINGS_MODULE": SERVER_SETTINGS}
    proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT), stdout=log_file,
                            stderr=log_file, start_new_session=True)
    log_file.close()
    return proc


def wait_until_up(port: int, proc: subprocess.Popen, timeout: float = 90) -> float:
    import httpx

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode} before answering")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/api/v1/trusts/", timeout=5)
            if r.status_code in (200, 401, 403):
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"gunicorn did not answer on 127.0.0.1:{port} within {timeout:.0f}s")


def stop_gunicorn(proc: subprocess.Popen) -> None:
    """SIGTERM to the arbiter (it stops its workers), SIGKILL to the whole session if it lingers."""
    import signal

    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
    try:  # a worker left behind by a killed arbiter
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_b6(url: str, acfg: dict, prep: dict, write_kind: str = "donations", *, warm_all: bool = False) -> dict:
    import asyncio

    import load

    wprep = _child_json("b6-prepare", url)  # the 20 trusts of the write phases, and their entries before
    port = free_port()
    log_path = common.VAR / "bench-gunicorn.log"
    common.VAR.mkdir(exist_ok=True)
    proc = start_gunicorn(url, port, log_path=log_path)
    out: dict = {"server": f"gunicorn {_gunicorn_version()} sync, 2 workers, 127.0.0.1:{port}, "
                           f"REPORT_CACHE={os.environ.get('REPORT_CACHE') or 'file'}, "
                           f"DJANGO_SETTINGS_MODULE={SERVER_SETTINGS}",
                 "gunicorn_log": str(log_path.relative_to(ROOT)), "warm_all": warm_all,
                 "write_trusts": WRITE_TRUSTS}
    try:
        out["startup_seconds"] = wait_until_up(port, proc)
        log(f"B6: gunicorn up in {out['startup_seconds']:.1f}s on port {port}")
        out.update(asyncio.run(load.run(
            base=f"http://127.0.0.1:{port}", trust=TRUST, year=prep["year"], date=prep["date"],
            donors=prep["donors"], users=prep["users"], write_trusts=WRITE_TRUSTS, cfg=acfg,
            write_kind=write_kind, warm_all=warm_all,
        )))
    finally:
        stop_gunicorn(proc)
    check = _child_json("b6-check", url, "--memo-prefix", load.memo_prefix(write_kind), "--entries-before",
                        json.dumps({TRUST: prep["entries"], **wprep["entries"]}),
                        *(["--donations", load.DONATION_PREFIX] if write_kind == "donations" else []))
    out["check"] = check
    writes = out.get("writes", {})
    problems = list(check["problems"])
    if check["entries_written"] != writes.get("created"):
        problems.append(f"{check['entries_written']} entries in the ledger, the server answered 201 to "
                        f"{writes.get('created')} distinct keys")
    for trust in WRITE_TRUSTS:
        mine = (writes.get("per_trust") or {}).get(trust, {"created": 0, "amount": "0.00"})
        theirs = check["per_trust"].get(trust, {})
        if (theirs.get("entries_written"), theirs.get("amount_written")) != (mine["created"], mine["amount"]):
            problems.append(f"{trust}: ledger holds {theirs.get('entries_written')} entries, "
                            f"{theirs.get('amount_written')}; the server accepted {mine['created']}, {mine['amount']}")
    out["exact"] = not problems
    out["problems"] = "; ".join(problems)
    one, spread, sat = out.get("writes_one_book", {}), out.get("writes_spread", {}), out.get("saturation", {})
    log(f"B6: reads open loop {_get(out, 'reads', 'rate_per_s')}/s p99 {_get(out, 'reads', 'p99_ms') or 0:.0f} ms; "
        f"saturation reads {_get(sat, 'reads', 'per_s') or 0:.1f}/s, ping {_get(sat, 'ping', 'per_s') or 0:.1f}/s; "
        f"writes one book {one.get('per_s', 0):.1f}/s, {len(WRITE_TRUSTS)} books {spread.get('per_s', 0):.1f}/s "
        f"(ratio {out.get('writes_ratio_one_to_spread') or 0:.2f}); exact={out['exact']} {out['problems']}")
    return out


def _get(d: dict, *keys):
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _gunicorn_version() -> str:
    try:
        import gunicorn

        return gunicorn.__version__
    except ImportError:
        return "?"


def run_apps(url: str, mode: str, *, big_book: dict | None, force_b6: bool = False, only: set | None = None,
             demo_url: str | None = None, b6_writes: str = "donations") -> dict:
    """B5, B6 and B7 against a demo database made from ``url`` (the server/engine of the run).

    ``big_book``: {"url", "code", "from", "to", "legs"} of the B3/B4 book, or None; ``demo_url``: an empty
    database to seed instead of the scratch one (the test suite passes a file in its tmp_path); ``b6_writes``: what
    B6 writes, ``donations`` or ``entries`` (``bench/load.py``). Returns one dict per benchmark; a failure of one is
    recorded as its error and the others still run."""
    acfg = APP_MODES[mode]
    vendor = common.vendor_of(url)
    only = only or {"B5", "B6", "B7"}
    out: dict = {"config": acfg}
    demo = demo_url or common.scratch_database(url, pg_name=common.scratch_base(url) + "_demo",
                                               sqlite_file="bench_demo.sqlite3")
    out["demo_database"] = common.with_database(demo, "") if vendor == "postgresql" else demo
    try:
        seed = seed_demo(demo, acfg)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        return {**out, "B5": {"error": f"seed failed: {exc}"}, "B6": {"error": "seed failed"},
                "B7": {"error": f"seed_demo: {exc}"}}
    b7: dict = {"seed": seed}
    out["B7"] = b7
    if seed.get("error"):
        out["B5"] = {"error": "seed_demo failed"}
        out["B6"] = {"error": "seed_demo failed"}
        return out
    prep = None
    try:
        prep = _child_json("prepare", demo)
    except Exception as exc:  # noqa: BLE001
        out["B5"] = out["B6"] = {"error": f"prepare: {exc}"}
    if prep and "B5" in only:
        try:
            out["B5"] = _child_json("b5", demo, "--annual-runs", str(acfg["annual_runs"]), "--donor-samples",
                                    str(acfg["donor_samples"]), "--receipt-samples", str(acfg["receipt_samples"]))
            b5 = out["B5"]
            log(f"B5: annual {b5['annual']['seconds']:.2f}s, donor statement {b5['donor_statement']['median_ms']:.0f} "
                f"ms, receipt {b5['receipt']['median_ms']:.1f} ms")
        except Exception as exc:  # noqa: BLE001
            out["B5"] = {"error": str(exc)}
    if prep and "B7" in only:
        b7["baseline"] = baseline_rss(demo)
        year = prep["year"]
        b7["gl_demo"] = general_ledger(demo, TRUST, dt.date(year, 1, 1), dt.date(year, 12, 31), prep["year_legs"])
        if big_book:
            b7["gl_big"] = general_ledger(big_book["url"], big_book["code"], big_book["from"], big_book["to"],
                                          big_book["legs"])
    if prep and "B6" in only:
        if vendor != "postgresql" and not force_b6:
            out["B6"] = {"skipped": "B6 runs on PostgreSQL only (2 gunicorn workers writing to one SQLite file "
                                    "would measure SQLite's single writer lock, not the API)"}
        else:
            try:
                out["B6"] = run_b6(demo, acfg, prep, b6_writes)
            except Exception as exc:  # noqa: BLE001
                out["B6"] = {"error": f"{type(exc).__name__}: {exc}", "exact": False}
    return out


# --------------------------------------------------------------------------------------------- children


def _setup():
    import django

    django.setup()


def child_prepare(args) -> dict:
    """What B5/B6/B7 need to know about the demo database; sets the officer's and auditor's passwords."""
    _setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from charity.models import Donation, Trust
    from ledger.models import JournalEntry, Leg

    trust = Trust.objects.select_related("book").get(code=TRUST)
    today = timezone.localdate()
    year = today.year
    donors = sorted(set(
        Donation.objects.filter(trust=trust, date__year=year, donor__isnull=False)
        .values_list("donor__external_id", flat=True)
    ))
    users = {}
    for name in ("officer", "auditor"):
        user = get_user_model().objects.get(username=name)
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.save(update_fields=["password"])
        users[name] = password
    year_legs = Leg.objects.filter(entry__book=trust.book, entry__status="posted", date__year=year).count()
    return {"year": year, "date": today.isoformat(), "donors": donors, "users": users, "year_legs": year_legs,
            "entries": JournalEntry.objects.filter(book=trust.book).count()}


def _median_ms(samples: list[float]) -> dict:
    out = common.summary_ms(samples)
    out["samples_ms"] = [round(s * 1000, 2) for s in samples]
    return out


def child_b5(args) -> dict:
    _setup()
    from django.utils import timezone

    from charity.documents import receipt_pdf
    from charity.models import Donation, Receipt, Trust
    from charity.reports import get_report, render_report, resolve_params

    trust = Trust.objects.select_related("book").get(code=TRUST)
    book = trust.book
    year = timezone.localdate().year
    rng = random.Random(5)
    out: dict = {"year": year}
    problems = []

    def pdf(name: str, **params) -> tuple[float, bytes]:
        cls = get_report(name)
        resolved = resolve_params(cls, book, **params)
        buffer = io.BytesIO()
        t = time.perf_counter()
        render_report(book=book, report=cls, params=resolved, fmt="pdf", out=buffer)
        return time.perf_counter() - t, buffer.getvalue()

    # The annual report: the first (cold: fonts, templates, imports) and then annual_runs timed renders.
    cold, first = pdf("annual-report", year=year)
    samples, last = [], first
    for _ in range(args.annual_runs):
        seconds, last = pdf("annual-report", year=year)
        samples.append(seconds)
    if not first.startswith(b"%PDF-") or last != first:
        problems.append("annual report: not a PDF, or not byte-identical on a second render")
    out["annual"] = {"seconds": statistics.median(samples), "cold_seconds": cold, "samples_s": samples,
                     "bytes": len(first), "pages": first.count(b"/Type /Page\n") or first.count(b"/Type /Page")}

    # Donor statements of random donors who gave in the year (one warm-up on another donor).
    donors = sorted(set(Donation.objects.filter(trust=trust, date__year=year, donor__isnull=False)
                        .values_list("donor__external_id", flat=True)))
    picked = rng.sample(donors, min(len(donors), args.donor_samples + 1))
    pdf("donor-statement", year=year, donor=picked[0])
    samples, sizes = [], []
    for donor in picked[1:]:
        seconds, data = pdf("donor-statement", year=year, donor=donor)
        samples.append(seconds)
        sizes.append(len(data))
        if not data.startswith(b"%PDF-"):
            problems.append(f"donor statement {donor}: not a PDF")
    out["donor_statement"] = {**_median_ms(samples), "donors": picked[1:], "bytes_median": statistics.median(sizes)}

    # Receipts: random valid receipts, fetched as the donor portal fetches them, rendered by receipt_pdf.
    ids = list(Receipt.objects.filter(donation__trust=trust, voided_at__isnull=True).values_list("pk", flat=True))
    picked_ids = rng.sample(ids, min(len(ids), args.receipt_samples + 1))
    receipt_pdf(Receipt.objects.get(pk=picked_ids[0]))
    samples = []
    for pk in picked_ids[1:]:
        receipt = Receipt.objects.get(pk=pk)
        t = time.perf_counter()
        data = receipt_pdf(receipt)
        samples.append(time.perf_counter() - t)
        if not data.startswith(b"%PDF-"):
            problems.append(f"receipt {pk}: not a PDF")
    out["receipt"] = {**_median_ms(samples), "receipts": len(samples),
                      "note": "receipt_pdf(receipt) only; the Receipt row is fetched before the clock starts"}
    out["exact"] = not problems
    out["problems"] = "; ".join(problems)
    return out


def child_b6_prepare(args) -> dict:
    """The trusts of B6's write phases (``WRITE_TRUSTS``, made by ``trust_create`` as ``create_trust`` makes them;
    kept when an earlier run made them), the demo officer an officer in each; their entry counts before."""
    _setup()
    from django.contrib.auth import get_user_model

    from charity.models import Membership, Trust
    from charity.roles import OFFICER
    from charity.services import trust_create
    from ledger.models import JournalEntry
    from ledger.services import system_user

    officer = get_user_model().objects.get(username="officer")
    entries = {}
    for code in WRITE_TRUSTS:
        trust = Trust.objects.filter(code=code).select_related("book").first()
        if trust is None:
            trust = trust_create(code=code, name=f"bench B6 {code}", user=system_user())
        Membership.objects.get_or_create(user=officer, trust=trust, role=OFFICER)
        entries[code] = JournalEntry.objects.filter(book=trust.book).count()
    return {"entries": entries}


def _book_check(trust, memo_prefix: str, entries_before: int, donations: str) -> tuple[dict, list[str]]:
    """verify_ledger, the trial balance's totals, and what the writes left in one trust's book."""
    from django.core.management import call_command
    from django.db.models import Sum

    from charity.models import Donation
    from charity.reports import get_report, render_report, resolve_params
    from ledger.models import JournalEntry, Leg, from_minor

    problems = []
    verify = io.StringIO()
    try:
        call_command("verify_ledger", "--trust", trust.code, stdout=verify)
    except Exception as exc:  # noqa: BLE001 - CommandError when the book fails verification
        problems.append(f"{trust.code} verify_ledger: {exc}")
    cls = get_report("trial-balance")
    buffer = io.BytesIO()
    render_report(book=trust.book, report=cls, params=resolve_params(cls, trust.book), fmt="json", out=buffer)
    report = json.loads(buffer.getvalue())
    totals = report.get("totals") or {}
    if isinstance(totals, list):
        totals = totals[0] if totals else {}
    written = JournalEntry.objects.filter(book=trust.book, memo__startswith=memo_prefix, sequence__gt=entries_before)
    if totals.get("debit") != totals.get("credit") or (totals.get("debit") is None and written.exists()):
        problems.append(f"{trust.code} trial balance totals {totals}")
    # Only this run's (``apps.py b6`` may run again on a database an earlier run wrote into).
    debit = Leg.objects.filter(entry__in=written).aggregate(s=Sum("debit_cny"))["s"] or 0
    entries_after = JournalEntry.objects.filter(book=trust.book).count()
    count = written.count()
    if entries_after - entries_before != count:
        problems.append(f"{trust.code}: {entries_after - entries_before} new entries, {count} from the bench")
    if donations:  # each gift recorded: its own entry, its amount, one valid receipt
        gifts = Donation.objects.filter(trust=trust, external_id__startswith=donations, entry__in=written)
        if gifts.count() != count:
            problems.append(f"{trust.code}: {gifts.count()} gifts for {count} entries")
        total = gifts.aggregate(s=Sum("amount_cny"))["s"]
        if total is not None and total != from_minor(debit):
            problems.append(f"{trust.code}: gifts total {total}, their entries {from_minor(debit)}")
        unreceipted = gifts.exclude(receipts__voided_at__isnull=True).count()
        if unreceipted:
            problems.append(f"{trust.code}: {unreceipted} gifts without a valid receipt")
    return {"verify_ledger": verify.getvalue().strip(), "trial_balance_totals": totals, "entries_written": count,
            "amount_written": str(from_minor(debit))}, problems


def child_b6_check(args) -> dict:
    """After the load: every book B6 read from or wrote to is verified and balanced, and holds exactly the writes."""
    _setup()
    from charity.models import Trust

    before = json.loads(args.entries_before)
    problems: list[str] = []
    per_trust = {}
    for trust in Trust.objects.filter(code__in=[TRUST, *before]).select_related("book").order_by("code"):
        per_trust[trust.code], found = _book_check(trust, args.memo_prefix, before[trust.code],
                                                   args.donations)
        problems += found
    demo = per_trust.get(TRUST, {})
    return {"verify_ledger": demo.get("verify_ledger", ""), "trial_balance_totals": demo.get("trial_balance_totals"),
            "books": len(per_trust), "entries_written": sum(t["entries_written"] for t in per_trust.values()),
            "per_trust": per_trust, "problems": problems}


def b6_alone(args) -> dict:
    """``apps.py b6``: the B6 of ``run_apps`` without seeding a demo year first (each run adds its writes)."""
    url = os.environ["DATABASE_URL"]
    if common.vendor_of(url) != "postgresql":
        raise SystemExit("B6 runs on PostgreSQL only")
    out = run_b6(url, APP_MODES[args.mode], _child_json("prepare", url), warm_all=args.warm_all)
    parts = {"reads_1_client": out.get("reads_1_client"), "reads (open loop)": out.get("reads"),
             "saturation reads": _get(out, "saturation", "reads"), "saturation ping": _get(out, "saturation", "ping"),
             "writes one book": out.get("writes_one_book"), "writes spread": out.get("writes_spread")}
    for part, r in parts.items():
        r = r or {}
        log(f"B6 {part}: p50 {r.get('p50_ms', 0):.0f} ms, p99 {r.get('p99_ms', 0):.0f} ms, "
            f"{r.get('per_s', 0):.1f}/s, {r.get('errors')} errors")
    return out


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("prepare")
    sub.add_parser("b6-prepare")
    b5 = sub.add_parser("b5")
    b5.add_argument("--annual-runs", type=int, default=3)
    b5.add_argument("--donor-samples", type=int, default=10)
    b5.add_argument("--receipt-samples", type=int, default=20)
    check = sub.add_parser("b6-check")
    check.add_argument("--memo-prefix", required=True)
    check.add_argument("--entries-before", required=True, help='JSON: {"<trust code>": entries before}')
    check.add_argument("--donations", default="", help="external-id prefix of the gifts B6 recorded, if it did")
    b6 = sub.add_parser("b6", help="B6 alone, on the demo database in DATABASE_URL (seeded and analysed by an "
                                   "earlier run: <base>_demo); prints the B6 JSON")
    b6.add_argument("--mode", choices=sorted(APP_MODES), default="quick")
    b6.add_argument("--warm-all", action="store_true",
                    help="ask for every donor's statement once before the timed reads (not the issue's protocol)")
    args = parser.parse_args(argv)
    handler = {"prepare": child_prepare, "b5": child_b5, "b6-prepare": child_b6_prepare, "b6-check": child_b6_check, "b6": b6_alone}[args.cmd]
    print(json.dumps(handler(args), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
