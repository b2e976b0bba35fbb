"""The production stack on one machine, and its drills (``make stack-test``; README "Running it for real").

On 127.0.0.1 high ports, in a temporary directory, from the files in deploy/ rendered by deploy/render.py:

    nginx (deploy/nginx/ctl.conf) -> gunicorn (gunicorn.conf.py, started as deploy/systemd/ctl-web.service says)
      -> PgBouncer, transaction pooling (deploy/pgbouncer) -> PostgreSQL primary (deploy/postgresql/primary.conf)
                                                              -> hot standby, synchronous (standby.conf)
    the app's DATABASE_REPLICA_URL -> the standby (used when the app has a database router; else unused)

It migrates and seeds a small demo trust through PgBouncer, then:

1. **load**: LOAD_SECONDS (default 30) of gifts posted through nginx (API, officer, an Idempotency-Key each)
   and donor-statement reads (auditor), closed loop; requests/s, p50/p99 and the standby's lag, sampled each second.
2. **restore drill**: a base backup (deploy/backup.sh) was taken before the load; after it, verify_ledger's
   lines are noted at time T, more gifts are posted, the WAL is archived, and deploy/restore.sh restores the base
   backup plus the archive to T in a new cluster: verify_ledger there must print the same lines.
3. **failover drill**: gifts posted under load, the primary killed with SIGKILL (the postmaster and every
   backend), the standby promoted, PgBouncer pointed at it and reloaded. Every gift the API acknowledged (2xx)
   in the whole run must be in the promoted database; each request left without an answer is sent again with its
   Idempotency-Key and must come back 2xx, its gift once; verify_ledger must pass.
4. the mail worker (deploy/systemd/ctl-mail.service's command) runs once and exits 0.

Everything started is stopped at the end, whatever happens (``STACK_KEEP=1`` keeps the directory). Exit status:
0 when every check holds (or, with a clear message, when nginx, PgBouncer or PostgreSQL's programs are missing:
skipped), 1 on any failure. Environment: LOAD_SECONDS, LOAD_WRITERS (4), LOAD_READERS (4), PG_BIN
(/usr/lib/postgresql/15/bin), STACK_KEEP. Runs as root too: PostgreSQL and PgBouncer then run as ``postgres``.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import render  # noqa: E402  (deploy/render.py)

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
LOAD_SECONDS = float(os.environ.get("LOAD_SECONDS", "30"))
LOAD_WRITERS = int(os.environ.get("LOAD_WRITERS", "4"))
LOAD_READERS = int(os.environ.get("LOAD_READERS", "4"))
TRUST = "CWCT"  # seed_demo's trust
STANDBY = "standby1"
IS_ROOT = os.geteuid() == 0
PG_USER = "postgres" if IS_ROOT else pwd.getpwuid(os.geteuid()).pw_name


class Failure(Exception):
    pass


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def check(ok: bool, what: str) -> None:
    if not ok:
        raise Failure(what)
    log(f"ok: {what}")


def which(name: str) -> str | None:
    """A program on PATH, or in /usr/sbin (nginx, pgbouncer) when PATH lacks it."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_pg(cmd: list[str]) -> list[str]:
    """A command run as the database's operating-system user (postgres when we are root: initdb refuses root)."""
    return ["runuser", "-u", PG_USER, "--", *cmd] if IS_ROOT else cmd


def run(cmd: list[str], *, env=None, timeout: float = 600, what: str = "", cwd=None) -> str:
    result = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise Failure(f"{what or cmd[0]} failed ({result.returncode}): {(result.stderr or result.stdout)[-2000:]}")
    return result.stdout


def percentile(ms: list[float], p: float) -> float:
    if not ms:
        return float("nan")
    ordered = sorted(ms)
    return ordered[min(len(ordered) - 1, max(0, int(-(-p * len(ordered) // 1)) - 1))]


class Stack:
    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="ctl-stack-"))
        os.chmod(self.tmp, 0o755)
        self.procs: dict[str, subprocess.Popen] = {}
        self.clusters: list[Path] = []
        self.ports = {name: free_port() for name in ("primary", "standby", "restored", "pgbouncer", "gunicorn", "nginx")}
        self.db_password = secrets.token_urlsafe(16)
        self.repl_password = secrets.token_urlsafe(16)
        self.dirs = {name: self.tmp / name for name in ("run", "log", "archive", "backups", "static", "media",
                                                        "report-cache", "nginx-temp", "conf", "conf-standby", "pgdata")}
        for path in self.dirs.values():
            path.mkdir()
        for name in ("run", "log", "archive", "backups", "pgdata"):
            self.chown_pg(self.dirs[name])
        self.primary_port = self.ports["primary"]  # where PgBouncer points; the standby's after failover

    # -- helpers ------------------------------------------------------------------------------------------------
    def chown_pg(self, path: Path) -> None:
        if IS_ROOT:
            shutil.chown(path, PG_USER, PG_USER)

    def mapping(self, **extra) -> dict[str, str]:
        venv = Path(sys.executable).parent.parent
        values = render.values(overrides={
            "CTL_APP_DIR": str(ROOT), "CTL_VENV": str(venv), "CTL_USER": pwd.getpwuid(os.geteuid()).pw_name,
            "CTL_ENV_FILE": str(self.tmp / "env"), "CTL_STATIC_ROOT": str(self.dirs["static"]),
            "CTL_GUNICORN_BIND": f"127.0.0.1:{self.ports['gunicorn']}",
            "CTL_SERVER_NAME": "127.0.0.1 localhost", "CTL_LISTEN": f"127.0.0.1:{self.ports['nginx']}",
            "CTL_UPSTREAM": f"127.0.0.1:{self.ports['gunicorn']}", "CTL_NGINX_LOG_DIR": str(self.dirs["log"]),
            "CTL_DB_NAME": "ctl", "CTL_DB_USER": "ctl", "CTL_DB_PASSWORD": self.db_password,
            "CTL_PG_SUPERUSER": PG_USER, "CTL_PG_LISTEN": "127.0.0.1", "CTL_PG_PORT": str(self.ports["primary"]),
            "CTL_PG_SOCKET_DIR": str(self.dirs["run"]), "CTL_PRIMARY_HOST": "127.0.0.1",
            "CTL_PRIMARY_PORT": str(self.primary_port), "CTL_STANDBY_NAME": STANDBY,
            "CTL_ARCHIVE_DIR": str(self.dirs["archive"]), "CTL_PGBOUNCER_PORT": str(self.ports["pgbouncer"]),
            "CTL_PGBOUNCER_DIR": str(self.dirs["conf"] / "pgbouncer"), "CTL_PGBOUNCER_RUN_DIR": str(self.dirs["run"]),
            "CTL_PGBOUNCER_LOG": str(self.dirs["log"] / "pgbouncer.log"),
        })
        values.update(extra)
        return values

    def render(self) -> None:
        render.render_all(self.dirs["conf"], self.mapping())
        render.render_all(self.dirs["conf-standby"], self.mapping(CTL_PG_PORT=str(self.ports["standby"])))
        for path in (self.dirs["conf"] / "pgbouncer").iterdir():
            self.chown_pg(path)
            os.chmod(path, 0o600)

    def psql(self, port: int, sql: str, db: str = "postgres") -> str:
        """SQL as the superuser over the unix socket (peer); commits do not wait for the standby."""
        env = {**os.environ, "PGOPTIONS": "-c synchronous_commit=local"}
        return run(as_pg([str(PG_BIN / "psql"), "-h", str(self.dirs["run"]), "-p", str(port), "-d", db, "-XAtq",
                          "-v", "ON_ERROR_STOP=1", "-c", sql]), env=env, timeout=60, what="psql").strip()

    def pg_ctl(self, *args: str, timeout: float = 120) -> str:
        return run(as_pg([str(PG_BIN / "pg_ctl"), *args]), timeout=timeout, what=f"pg_ctl {args[0]}")

    def start_cluster(self, data: Path, name: str) -> None:
        self.clusters.append(data)
        self.pg_ctl("-D", str(data), "-l", str(self.dirs["log"] / f"{name}.log"), "-w", "-t", "60", "start")

    def url(self, port: int) -> str:
        return f"postgres://ctl:{self.db_password}@127.0.0.1:{port}/ctl"

    def app_env(self, **extra) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DATABASE_", "DJANGO_", "GUNICORN_", "REPORT_CACHE", "PG"))}
        env.update({
            "DJANGO_SETTINGS_MODULE": "charity.settings",
            "DATABASE_URL": self.url(self.ports["pgbouncer"]), "DATABASE_POOLER": "pgbouncer",
            "DATABASE_REPLICA_URL": self.url(self.ports["standby"]),
            "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "NUM_PROXIES": "1", "SITE_URL": f"http://127.0.0.1:{self.ports['nginx']}",
            "STATIC_ROOT": str(self.dirs["static"]), "MEDIA_ROOT": str(self.dirs["media"]),
            "REPORT_CACHE": "file", "REPORT_CACHE_DIR": str(self.dirs["report-cache"]),
            "GUNICORN_BIND": f"127.0.0.1:{self.ports['gunicorn']}", "GUNICORN_WORKERS": "2",
            "GUNICORN_CONTROL_SOCKET": str(self.dirs["run"] / "gunicorn.ctl"),
            # The load is one officer and one auditor as fast as the server answers: no per-user throttle in the way.
            "API_THROTTLE_USER": "1000000/min", "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "MAIL_RATE_PER_MINUTE": "100000", "LOG_LEVEL": "WARNING",
        })
        env.update(extra)
        return env

    def manage(self, *args: str, env=None, timeout: float = 900) -> str:
        return run([sys.executable, "manage.py", *args], env=env or self.app_env(), cwd=ROOT, timeout=timeout,
                   what=f"manage.py {args[0]}")

    def unit_commands(self, unit: str) -> dict[str, list[list[str]]]:
        """ExecStartPre/ExecStart of a rendered systemd unit, as argument lists."""
        out: dict[str, list[list[str]]] = {}
        for line in (self.dirs["conf"] / "systemd" / unit).read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key in ("ExecStartPre", "ExecStart"):
                out.setdefault(key, []).append(shlex.split(value))
        return out

    def spawn(self, name: str, cmd: list[str], **kwargs) -> subprocess.Popen:
        logf = open(self.dirs["log"] / f"{name}.out", "ab")
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        self.procs[name] = proc
        return proc

    def wait_port(self, port: int, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if proc is not None and proc.poll() is not None:
                raise Failure(f"process on port {port} exited with {proc.returncode} (see {self.dirs['log']})")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise Failure(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")

    # -- set-up -------------------------------------------------------------------------------------------------
    def start_databases(self) -> None:
        primary, standby = self.dirs["pgdata"] / "primary", self.dirs["pgdata"] / "standby"
        pwfile = self.tmp / "run" / "pw"
        run(as_pg([str(PG_BIN / "initdb"), "-D", str(primary), "-U", PG_USER, "--auth-local=peer",
                   "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--data-checksums"]),
            what="initdb", timeout=120)
        shutil.copy(self.dirs["conf"] / "postgresql" / "pg_hba.conf", primary / "pg_hba.conf")
        self.chown_pg(primary / "pg_hba.conf")
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(f"\ninclude '{self.dirs['conf'] / 'postgresql' / 'primary.conf'}'\n")
        t0 = time.monotonic()
        self.start_cluster(primary, "primary")
        self.psql(self.ports["primary"], f"CREATE ROLE ctl LOGIN PASSWORD '{self.db_password}'")
        # PgBouncer passes no startup options: the app's lock and statement timeouts are the role's (README)
        self.psql(self.ports["primary"], "ALTER ROLE ctl SET lock_timeout = '5s'")
        self.psql(self.ports["primary"], "ALTER ROLE ctl SET statement_timeout = '30s'")
        self.psql(self.ports["primary"], f"CREATE ROLE replicator REPLICATION LOGIN PASSWORD '{self.repl_password}'")
        self.psql(self.ports["primary"], "CREATE DATABASE ctl OWNER ctl")
        pwfile.unlink(missing_ok=True)
        env = {**os.environ, "PGPASSWORD": self.repl_password}
        run(as_pg([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.ports["primary"]),
                   "-U", "replicator", "-D", str(standby), "-R", "-C", "-S", STANDBY, "-X", "stream",
                   "-c", "fast"]), env=env, what="pg_basebackup (standby)")
        conf = (standby / "postgresql.conf").read_text().replace(
            str(self.dirs["conf"] / "postgresql" / "primary.conf"),
            str(self.dirs["conf-standby"] / "postgresql" / "standby.conf"))
        (standby / "postgresql.conf").write_text(conf)
        self.start_cluster(standby, "standby")
        end = time.monotonic() + 30
        state = ""
        while time.monotonic() < end:
            state = self.psql(self.ports["primary"],
                              "SELECT application_name || ' ' || sync_state FROM pg_stat_replication")
            if state == f"{STANDBY} sync":
                break
            time.sleep(0.2)
        check(state == f"{STANDBY} sync", f"the standby streams synchronously ({state!r}), "
                                          f"{time.monotonic() - t0:.1f}s after the primary started")

    def start_pgbouncer(self) -> None:
        ini = self.dirs["conf"] / "pgbouncer" / "pgbouncer.ini"
        proc = self.spawn("pgbouncer", as_pg([which("pgbouncer"), str(ini)]))
        self.wait_port(self.ports["pgbouncer"], proc)

    def repoint_pgbouncer(self, port: int) -> None:
        self.primary_port = port
        ini = self.dirs["conf"] / "pgbouncer" / "pgbouncer.ini"
        ini.write_text(render.render("pgbouncer/pgbouncer.ini", self.mapping()))
        pid = int((self.dirs["run"] / "pgbouncer.pid").read_text().split()[0])
        os.kill(pid, signal.SIGHUP)

    def start_app(self) -> dict:
        figures = {}
        env = self.app_env()
        (self.tmp / "env").write_text("".join(f"{k}={v}\n" for k, v in env.items()
                                              if k in ("DATABASE_URL", "DATABASE_POOLER", "DATABASE_REPLICA_URL")))
        commands = self.unit_commands("ctl-web.service")
        for cmd in commands["ExecStartPre"]:  # migrate, collectstatic
            t0 = time.monotonic()
            run(cmd, env=env, cwd=ROOT, timeout=900, what=" ".join(cmd[1:3]))
            figures[cmd[2]] = time.monotonic() - t0
            log(f"{' '.join(cmd[1:3])}: {figures[cmd[2]]:.1f}s")
        t0 = time.monotonic()
        out = self.manage("seed_demo", "--passwords", "username", "--beneficiaries", "40", "--donations", "80",
                          "--no-progress")
        figures["seed"] = time.monotonic() - t0
        log(f"seed_demo: {figures['seed']:.1f}s; {out.strip().splitlines()[-1] if out.strip() else ''}")
        gunicorn = self.spawn("gunicorn", commands["ExecStart"][0], env=env, cwd=ROOT)
        self.wait_port(self.ports["gunicorn"], gunicorn)
        nginx_conf = self.tmp / "nginx.conf"
        temp = self.dirs["nginx-temp"]
        if IS_ROOT:
            shutil.chown(temp, "nobody")
        nginx_conf.write_text(
            ("user nobody nogroup;\n" if IS_ROOT else "")
            + f"worker_processes 1;\ndaemon off;\npid {self.dirs['run'] / 'nginx.pid'};\n"
            f"error_log {self.dirs['log'] / 'nginx-error.log'} warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
            f"  client_body_temp_path {temp}/body;\n  proxy_temp_path {temp}/proxy;\n"
            f"  fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n"
            f"  include {self.dirs['conf'] / 'nginx' / 'ctl.conf'};\n}}\n")
        # -e: nginx's own start-up log here, not in /var/log/nginx (which an unprivileged user cannot open)
        error_log = str(self.dirs["log"] / "nginx-error.log")
        run([which("nginx"), "-t", "-q", "-e", error_log, "-c", str(nginx_conf)], what="nginx -t")
        nginx = self.spawn("nginx", [which("nginx"), "-e", error_log, "-c", str(nginx_conf)])
        self.wait_port(self.ports["nginx"], nginx)
        return figures

    # -- tear-down ----------------------------------------------------------------------------------------------
    def stop(self) -> None:
        for name in ("nginx", "gunicorn", "pgbouncer"):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                # Each was started in a session of its own: its group is it and its children (runuser's too).
                try:
                    os.killpg(proc.pid, signal.SIGTERM if name != "nginx" else signal.SIGQUIT)
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
                except ProcessLookupError:
                    pass
        for data in self.clusters:
            if (data / "postmaster.pid").exists():
                subprocess.run(as_pg([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                               capture_output=True, timeout=60)
        if os.environ.get("STACK_KEEP"):
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Api:
    """One keep-alive connection to nginx per thread; every call returns (status, json or None, seconds)."""

    def __init__(self, port: int, token: str | None = None, source: str | None = None):
        self.port, self.token, self.source = port, token, source
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body=None, headers=None, timeout: float = 30):
        hdrs = {"Accept": "application/json", **(headers or {})}
        if self.token:
            hdrs["Authorization"] = f"Token {self.token}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        t0 = time.perf_counter()
        for attempt in (1, 2):
            reused = self.conn is not None
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                                           source_address=(self.source, 0) if self.source else None)
                self.conn.request(method, path, body=data, headers=hdrs)
                response = self.conn.getresponse()
                raw = response.read()
                status, rheaders = response.status, dict(response.getheaders())
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) if reused else ():
                self.close()  # a kept-alive connection nginx closed meanwhile: once more on a new one
            except (OSError, http.client.HTTPException):
                self.close()
                return 0, None, time.perf_counter() - t0, {}
        seconds = time.perf_counter() - t0
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        return status, payload, seconds, rheaders

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Gifts:
    """The gifts the run posted: what the API acknowledged, and what was left without an answer."""

    def __init__(self, port: int, token: str, day: str):
        self.port, self.token, self.day = port, token, day
        self.acknowledged: set[str] = set()
        self.unanswered: list[tuple[str, dict]] = []  # (Idempotency-Key, body) of non-2xx answers
        self.lock = threading.Lock()

    def body(self, tag: str) -> dict:
        return {"external_id": f"STK-{tag}-{uuid.uuid4().hex[:12]}", "date": self.day,
                "amount": f"{secrets.randbelow(50000) / 100 + 1:.2f}", "fund": "GEN", "channel": "bank"}

    def post(self, api: Api, tag: str, key: str | None = None, body: dict | None = None):
        key = key or str(uuid.uuid4())
        body = body or self.body(tag)
        status, payload, seconds, _ = api.call("POST", f"/api/v1/trusts/{TRUST}/donations/", body,
                                               {"Idempotency-Key": key})
        with self.lock:
            if 200 <= status < 300:
                self.acknowledged.add(body["external_id"])
            else:
                self.unanswered.append((key, body))
        return status, seconds


def run_load(stack: Stack, gifts: Gifts, auditor: str, donors: list[str], year: int, seconds: float, tag: str,
             readers: int, writers: int, stop: threading.Event | None = None) -> dict:
    """Closed loop: writers post gifts, readers read donor statements, until ``seconds`` pass or ``stop`` is set."""
    stop = stop or threading.Event()
    results = {"write": [], "read": []}  # (status, seconds)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def writer():
        api = Api(stack.ports["nginx"], gifts.token)
        while time.monotonic() < deadline and not stop.is_set():
            status, secs = gifts.post(api, tag)
            with lock:
                results["write"].append((status, secs, time.monotonic()))
        api.close()

    def reader(i: int):
        api = Api(stack.ports["nginx"], auditor)
        n = i
        while time.monotonic() < deadline and not stop.is_set():
            donor = donors[n % len(donors)]
            n += 7
            status, payload, secs, _ = api.call(
                "GET", f"/api/v1/trusts/{TRUST}/reports/donor-statement/?format=json&donor={donor}&year={year}")
            with lock:
                results["read"].append((status if status != 200 or payload else -1, secs, time.monotonic()))
        api.close()

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    out = {"seconds": wall}
    for kind, rows in results.items():
        ok = [s for status, s, _ in rows if 200 <= status < 300]
        out[kind] = {"requests": len(rows), "ok": len(ok), "errors": len(rows) - len(ok),
                     "per_second": len(ok) / wall if wall else 0.0,
                     "p50_ms": percentile([s * 1000 for s in ok], 0.50),
                     "p99_ms": percentile([s * 1000 for s in ok], 0.99),
                     "statuses": sorted({status for status, _, _ in rows if not 200 <= status < 300})}
    out["rows"] = results
    return out


class LagSampler(threading.Thread):
    """The standby's lag as the primary sees it (pg_stat_replication), once a second."""

    def __init__(self, stack: Stack):
        super().__init__(daemon=True)
        self.stack, self.samples, self.halt = stack, [], threading.Event()

    def run(self):
        sql = ("SELECT sync_state, COALESCE(EXTRACT(EPOCH FROM replay_lag) * 1000, 0), "
               "COALESCE(EXTRACT(EPOCH FROM flush_lag) * 1000, 0), "
               "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication")
        while not self.halt.wait(1.0):
            try:
                row = self.stack.psql(self.stack.ports["primary"], sql).split("|")
                self.samples.append((row[0], float(row[1]), float(row[2]), int(float(row[3]))))
            except Exception:  # the sampler never fails the run; a missing sample shows as fewer samples
                pass


def db_query(url_port: int, password: str, sql: str, params=None) -> list[tuple]:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=url_port, dbname="ctl", user="ctl", password=password,
                         connect_timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def verify_lines(stack: Stack, url: str) -> list[str]:
    env = stack.app_env(DATABASE_URL=url, DATABASE_POOLER="", DATABASE_REPLICA_URL="")
    if ":%d/" % stack.ports["pgbouncer"] in url:
        env["DATABASE_POOLER"] = "pgbouncer"
    lines = stack.manage("verify_ledger", env=env, timeout=300).strip().splitlines()
    return lines


def main() -> int:
    missing = [name for name, ok in (("nginx", which("nginx")), ("pgbouncer", which("pgbouncer")),
                                     (str(PG_BIN / "initdb"), (PG_BIN / "initdb").exists())) if not ok]
    if IS_ROOT and not shutil.which("runuser"):
        missing.append("runuser")
    if missing:
        print(f"stack-test SKIPPED: {', '.join(missing)} not installed (Debian: apt-get install nginx pgbouncer "
              f"postgresql-15)", flush=True)
        return 0
    started = time.monotonic()
    stack = Stack()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    figures: dict = {}
    try:
        log(f"stack in {stack.tmp}: ports {stack.ports}")
        stack.render()
        stack.start_databases()
        stack.start_pgbouncer()
        figures.update(stack.start_app())
        figures["setup_seconds"] = time.monotonic() - started
        drills(stack, figures)
    except Failure as exc:
        log(f"FAILED: {exc}")
        log(f"logs: {stack.dirs['log']} (STACK_KEEP=1 keeps them)")
        return 1
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc})")
        return 1
    finally:
        stack.stop()
        log(f"torn down; {time.monotonic() - started:.0f}s in all")
    return 0


def drills(stack: Stack, figures: dict) -> None:
    nginx = stack.ports["nginx"]
    anon = Api(nginx)
    # -- the front: static files from nginx, the upload limit, the app behind it
    static = next(p for p in sorted(stack.dirs["static"].rglob("*.css")))
    status, _, _, headers = anon.call("GET", "/static/" + str(static.relative_to(stack.dirs["static"])))
    check(status == 200 and headers.get("X-Content-Type-Options") == "nosniff"
          and headers.get("X-Frame-Options") == "DENY", f"nginx serves the collected static files ({status})")
    status, _, _, headers = anon.call("GET", "/api/v1/trusts/")
    check(status == 401 and "Content-Security-Policy" in headers, f"the API answers through nginx ({status})")
    max_mb = int(render.attachment_max_mb())
    status, _, _, _ = Api(nginx).call("POST", f"/api/v1/trusts/{TRUST}/donations/", b"x" * ((max_mb + 2) << 20),
                                      {"Content-Type": "application/octet-stream"})
    check(status == 413, f"a body over ATTACHMENT_MAX_MB + 1 MB is refused by nginx ({status})")
    status, _, _, _ = Api(nginx, source="127.0.0.2").call("GET", "/metrics")
    check(status == 403, f"nginx refuses /metrics to another address than this machine's ({status})")
    status, _, _, _ = anon.call("GET", "/healthz")
    log(f"/healthz answers {status}" + (" (not in this build)" if status == 404 else ""))

    tokens = {}
    for name in ("officer", "auditor"):
        status, payload, _, _ = anon.call("POST", "/api/v1/auth/token/", {"username": name, "password": f"{name}-demo"})
        check(status == 200 and payload and payload.get("token"), f"a token for the {name} ({status})")
        tokens[name] = payload["token"]
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    donors = [row[0] for row in db_query(stack.ports["primary"], stack.db_password,
              "SELECT DISTINCT d.external_id FROM charity_donor d JOIN charity_donation g ON g.donor_id = d.id "
              "WHERE d.external_id <> '' AND g.date >= %s AND g.date <= %s ORDER BY 1",
              (dt.date(today.year, 1, 1), today))]
    check(len(donors) > 0, f"{len(donors)} donors of {today.year} to read statements of")
    gifts = Gifts(nginx, tokens["officer"], today.isoformat())

    # -- base backup, for the restore drill (deploy/backup.sh, as `make backup` runs it)
    t0 = time.monotonic()
    backup_env = {"BACKUP_DIR": str(stack.dirs["backups"]), "PG_BIN": str(PG_BIN),
                  "PGHOST": "127.0.0.1", "PGPORT": str(stack.ports["primary"]), "PGUSER": "replicator",
                  "PGPASSWORD": stack.repl_password}
    backup = run(as_pg(["env", *[f"{k}={v}" for k, v in backup_env.items() if k.startswith(("BACKUP", "PG"))],
                        "bash", str(HERE / "backup.sh")]), what="backup.sh").strip()
    log(f"base backup {backup} in {time.monotonic() - t0:.1f}s")
    time.sleep(1.1)  # the backup's name is its start time to the second; T below is after it

    # -- 1. one client alone, then the load
    probe = run_load(stack, gifts, tokens["auditor"], donors, today.year, 5, "alone", readers=0, writers=1)
    probe_reads = run_load(stack, gifts, tokens["auditor"], donors, today.year, 5, "alone", readers=1, writers=0)
    figures["alone"] = {"write_p50_ms": probe["write"]["p50_ms"], "read_p50_ms": probe_reads["read"]["p50_ms"]}
    log(f"one client alone: a gift {probe['write']['p50_ms']:.0f} ms, a donor statement "
        f"{probe_reads['read']['p50_ms']:.0f} ms (p50 over 5 s)")
    log(f"load: {LOAD_WRITERS} writers (gifts) and {LOAD_READERS} readers (donor statements) for {LOAD_SECONDS:.0f}s")
    standby_xacts = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'ctl'"
    standby_before = int(stack.psql(stack.ports["standby"], standby_xacts))
    sampler = LagSampler(stack)
    sampler.start()
    load = run_load(stack, gifts, tokens["auditor"], donors, today.year, LOAD_SECONDS, "load",
                    LOAD_READERS, LOAD_WRITERS)
    sampler.halt.set()
    sampler.join()
    figures["loadavg"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    time.sleep(0.6)  # the standby's statistics are flushed about every half second
    # Reads the app sent to the standby (DATABASE_REPLICA_URL, through its database router; 0 without one).
    figures["standby_transactions"] = int(stack.psql(stack.ports["standby"], standby_xacts)) - standby_before
    figures["load"] = {k: v for k, v in load.items() if k != "rows"}
    lags = sampler.samples
    figures["lag"] = {"samples": len(lags), "sync": all(s[0] == "sync" for s in lags),
                      "replay_max_ms": max((s[1] for s in lags), default=float("nan")),
                      "flush_max_ms": max((s[2] for s in lags), default=float("nan")),
                      "bytes_max": max((s[3] for s in lags), default=0)}
    for kind in ("write", "read"):
        f = load[kind]
        log(f"load {kind}s: {f['ok']} ok of {f['requests']} ({f['per_second']:.1f}/s), p50 {f['p50_ms']:.0f} ms, "
            f"p99 {f['p99_ms']:.0f} ms, errors {f['errors']} {f['statuses']}")
    lag = figures["lag"]
    log(f"standby lag: replay <= {lag['replay_max_ms']:.1f} ms, flush <= {lag['flush_max_ms']:.1f} ms, "
        f"<= {lag['bytes_max']} bytes behind, over {lag['samples']} samples, sync throughout: {lag['sync']}")
    check(load["write"]["errors"] == 0 and load["read"]["errors"] == 0 and load["write"]["ok"] > 0
          and load["read"]["ok"] > 0, "the load ran without an error")
    check(lag["samples"] > 0 and lag["sync"], "the standby stayed synchronous under load")

    # -- 2. restore drill
    before = verify_lines(stack, stack.url(stack.ports["pgbouncer"]))
    time.sleep(1.1)
    target = stack.psql(stack.ports["primary"], "SELECT now()")
    time.sleep(1.1)
    log(f"restore drill: at T = {target}: {' | '.join(before)}")
    check(all(line.startswith("OK ") for line in before), "verify_ledger passes at T")
    api = Api(nginx, tokens["officer"])
    for _ in range(10):
        gifts.post(api, "after-t")
    after = verify_lines(stack, stack.url(stack.ports["pgbouncer"]))
    check(after != before, f"10 more gifts after T move the ledger: {' | '.join(after)}")
    wal = stack.psql(stack.ports["primary"], "SELECT pg_walfile_name(pg_current_wal_lsn())")
    stack.psql(stack.ports["primary"], "SELECT pg_switch_wal()")
    end = time.monotonic() + 60
    archived = ""
    while time.monotonic() < end:
        archived = stack.psql(stack.ports["primary"], "SELECT COALESCE(last_archived_wal, '') FROM pg_stat_archiver")
        if archived >= wal:
            break
        time.sleep(0.2)
    check(archived >= wal, f"the WAL up to {wal} is archived ({archived})")
    t0 = time.monotonic()
    restored = stack.dirs["pgdata"] / "restored"
    restore_env = {"TARGET_TIME": target, "RESTORE_DIR": str(restored), "RESTORE_PORT": str(stack.ports["restored"]),
                   "BACKUP_DIR": str(stack.dirs["backups"]), "ARCHIVE_DIR": str(stack.dirs["archive"]),
                   "PG_BIN": str(PG_BIN)}
    stack.clusters.append(restored)
    out = run(as_pg(["env", *[f"{k}={v}" for k, v in restore_env.items()], "bash", str(HERE / "restore.sh")]),
              what="restore.sh", timeout=900)
    figures["restore_seconds"] = time.monotonic() - t0
    log(f"restore.sh in {figures['restore_seconds']:.1f}s: {out.strip().splitlines()[-1]}")
    restored_lines = verify_lines(stack, stack.url(stack.ports["restored"]))
    figures["verify_at_t"], figures["verify_restored"] = before, restored_lines
    log(f"restored to T: {' | '.join(restored_lines)}")
    check(restored_lines == before, "the restored database prints verify_ledger's lines of time T")
    stack.pg_ctl("-D", str(restored), "-m", "fast", "-w", "stop")

    # -- 3. failover drill
    log("failover drill: gifts under load, then SIGKILL to the primary")
    stop = threading.Event()
    drill: dict = {}

    def load_thread():
        drill.update(run_load(stack, gifts, tokens["auditor"], donors, today.year, 120, "failover",
                              readers=2, writers=LOAD_WRITERS, stop=stop))

    loader = threading.Thread(target=load_thread)
    loader.start()
    time.sleep(5)
    primary = stack.dirs["pgdata"] / "primary"
    postmaster = int((primary / "postmaster.pid").read_text().split()[0])
    children = [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == postmaster]
    killed_at = time.monotonic()
    for pid in [postmaster, *children]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    stack.clusters.remove(primary)
    log(f"killed the primary (postmaster {postmaster} and {len(children)} children)")
    time.sleep(1)
    stack.pg_ctl("-D", str(stack.dirs["pgdata"] / "standby"), "-w", "-t", "60", "promote")
    promoted_at = time.monotonic()
    stack.repoint_pgbouncer(stack.ports["standby"])
    log(f"standby promoted {promoted_at - killed_at:.1f}s after the kill; PgBouncer now points at it")
    time.sleep(8)
    stop.set()
    loader.join()
    rows = drill["rows"]["write"]
    first_ok_after = min((at for status, _, at in rows if 200 <= status < 300 and at > promoted_at), default=None)
    figures["failover"] = {
        "writes_ok": drill["write"]["ok"], "writes_failed": drill["write"]["errors"],
        "failed_statuses": drill["write"]["statuses"],
        "promote_seconds": promoted_at - killed_at,
        "writes_resumed_seconds": (first_ok_after - killed_at) if first_ok_after else None,
    }
    check(first_ok_after is not None, f"gifts are taken again {figures['failover']['writes_resumed_seconds']:.1f}s "
                                      "after the kill")
    # What was left without an answer is sent again with its key: recorded once, whether or not it had been.
    retried = list(gifts.unanswered)
    gifts.unanswered.clear()
    api = Api(nginx, tokens["officer"])
    retry_statuses = [gifts.post(api, "retry", key, body)[0] for key, body in retried]
    check(all(200 <= s < 300 for s in retry_statuses),
          f"the {len(retried)} gifts left without an answer, sent again with their Idempotency-Key, are taken")
    acknowledged = sorted(gifts.acknowledged)
    found = db_query(stack.ports["standby"], stack.db_password,
                     "SELECT external_id, count(*) FROM charity_donation WHERE external_id = ANY(%s) "
                     "GROUP BY external_id", (acknowledged,))
    figures["gifts"] = {"acknowledged": len(acknowledged), "found": len(found),
                        "found_twice": sum(1 for _, n in found if n != 1), "retried": len(retried)}
    log(f"gifts acknowledged {len(acknowledged)}, found in the promoted database {len(found)}")
    check(len(found) == len(acknowledged) and figures["gifts"]["found_twice"] == 0,
          "every gift the API acknowledged is in the promoted database, once")
    final = verify_lines(stack, stack.url(stack.ports["pgbouncer"]))
    figures["verify_after_failover"] = final
    log(f"after failover: {' | '.join(final)}")
    check(all(line.startswith("OK ") for line in final), "verify_ledger passes on the promoted database")

    status, payload, _, _ = anon.call("GET", "/healthz")
    figures["healthz_after"] = f"{status} {json.dumps(payload, ensure_ascii=False)[:300] if payload else ''}".strip()
    log(f"/healthz after failover: {figures['healthz_after']}")

    # -- 4. the mail worker, as ctl-mail.service runs it
    cmd = stack.unit_commands("ctl-mail.service")["ExecStart"][0]
    out = run(cmd, env=stack.app_env(), cwd=ROOT, timeout=300, what="send_mail_queue")
    check("sent" in out.splitlines()[-1], f"the mail worker ran: {out.strip().splitlines()[-1]}")

    print_figures(figures)


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def print_figures(f: dict) -> None:
    load, lag, fo, gifts = f["load"], f["lag"], f["failover"], f["gifts"]
    print("\n== stack-test figures", flush=True)
    print(f"machine: {os.cpu_count()} cores, load average {f['loadavg']} during the load (other work included)")
    print(f"set-up (initdb, standby, migrate, seed, servers): {f['setup_seconds']:.0f}s")
    print(f"one client alone: a gift {f['alone']['write_p50_ms']:.0f} ms, a donor statement "
          f"{f['alone']['read_p50_ms']:.0f} ms (p50)")
    print(f"load {load['seconds']:.0f}s through nginx: gifts {load['write']['per_second']:.1f}/s "
          f"(p50 {load['write']['p50_ms']:.0f} ms, p99 {load['write']['p99_ms']:.0f} ms), donor statements "
          f"{load['read']['per_second']:.1f}/s (p50 {load['read']['p50_ms']:.0f} ms, p99 {load['read']['p99_ms']:.0f} ms), "
          f"errors {load['write']['errors'] + load['read']['errors']}")
    print(f"transactions the app ran on the standby during the load: {f['standby_transactions']}"
          + (" (no database router in this build: every read went to the primary)"
             if f["standby_transactions"] == 0 else ""))
    print(f"standby lag under load (synchronous): replay max {lag['replay_max_ms']:.1f} ms, flush max "
          f"{lag['flush_max_ms']:.1f} ms, max {lag['bytes_max']} bytes")
    print(f"restore to T: {f['restore_seconds']:.1f}s; at T {' | '.join(f['verify_at_t'])}; restored "
          f"{' | '.join(f['verify_restored'])}")
    print(f"failover: promoted {fo['promote_seconds']:.1f}s after SIGKILL, gifts taken again after "
          f"{fo['writes_resumed_seconds']:.1f}s; gifts refused meanwhile {fo['writes_failed']} "
          f"(HTTP {', '.join(str(s) for s in fo['failed_statuses']) or '-'}; 0 = no answer)")
    print(f"gifts acknowledged {gifts['acknowledged']}, found {gifts['found']} (twice: {gifts['found_twice']}); "
          f"unanswered and sent again {gifts['retried']}")
    print(f"verify after failover: {' | '.join(f['verify_after_failover'])}")
    print(f"/healthz after failover: {f['healthz_after']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
