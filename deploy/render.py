"""Render deploy/'s files for one machine: every ``${CTL_...}`` placeholder is replaced by a value from, in order
of precedence, ``--set NAME=VALUE``, the environment, the file given with ``--values`` (``NAME=VALUE`` lines), or
the defaults below (a single machine under /srv/ctl). Any other ``$`` (nginx's ``$host``, systemd's ``%i``) is
left alone. A placeholder left without a value is an error, so a rendered file never carries ``${CTL_``.

    python deploy/render.py --out /tmp/ctl-conf                 # the defaults, into /tmp/ctl-conf/<same paths>
    python deploy/render.py --values /etc/ctl/deploy.values --out /tmp/ctl-conf
    python deploy/render.py --set CTL_SERVER_NAME=trust.example.org --print nginx/ctl.conf

The stack test (deploy/stack_test.py) renders the same files with its own ports and directories.
"""

from __future__ import annotations

import argparse
import os
import re
import string
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# The files rendered, relative to deploy/.
TEMPLATES = (
    "nginx/ctl.conf",
    "systemd/ctl-web.service",
    "systemd/ctl-mail.service",
    "systemd/ctl-mail.timer",
    "pgbouncer/pgbouncer.ini",
    "pgbouncer/userlist.txt",
    "postgresql/primary.conf",
    "postgresql/standby.conf",
    "postgresql/pg_hba.conf",
)

PLACEHOLDER = re.compile(r"\$\{(CTL_[A-Z0-9_]+)\}")


def attachment_max_mb() -> int:
    """The app's upload limit (settings.ATTACHMENT_MAX_BYTES, from ATTACHMENT_MAX_MB), read as settings read it."""
    raw = os.environ.get("ATTACHMENT_MAX_MB", "").strip()
    return int(raw) if raw else 10


def gunicorn_timeout() -> int:
    raw = os.environ.get("GUNICORN_TIMEOUT", "").strip()
    return int(raw) if raw else 60


def defaults() -> dict[str, str]:
    app = "/srv/ctl"
    return {
        # the app
        "CTL_APP_DIR": app,
        "CTL_VENV": f"{app}/.venv",
        "CTL_USER": "ctl",
        "CTL_ENV_FILE": "/etc/ctl/env",
        "CTL_STATIC_ROOT": f"{app}/var/static",
        "CTL_GUNICORN_BIND": "unix:/run/ctl/gunicorn.sock",
        # nginx
        "CTL_SERVER_NAME": "trust.example.org",
        "CTL_LISTEN": "80",
        "CTL_UPSTREAM": "unix:/run/ctl/gunicorn.sock",
        # an attachment of ATTACHMENT_MAX_MB plus the multipart form around it
        "CTL_MAX_BODY_MB": str(attachment_max_mb() + 1),
        # nginx waits a little longer than gunicorn lets a worker run, so gunicorn's timeout is the one that acts
        "CTL_PROXY_TIMEOUT": str(gunicorn_timeout() + 5),
        "CTL_NGINX_LOG_DIR": "/var/log/nginx",
        # PostgreSQL
        "CTL_DB_NAME": "ctl",
        "CTL_DB_USER": "ctl",
        "CTL_DB_PASSWORD": "change-me",
        "CTL_PG_SUPERUSER": "postgres",
        "CTL_PG_LISTEN": "localhost",
        "CTL_PG_PORT": "5432",
        "CTL_PG_SOCKET_DIR": "/var/run/postgresql",
        "CTL_PRIMARY_HOST": "127.0.0.1",
        "CTL_PRIMARY_PORT": "5432",
        "CTL_APP_CIDR": "127.0.0.1/32",  # where the app connects from (to the standby too, for reads)
        "CTL_REPLICATION_CIDR": "127.0.0.1/32",  # where the standby connects from
        "CTL_STANDBY_NAME": "standby1",
        "CTL_ARCHIVE_DIR": "/var/lib/postgresql/wal-archive",
        # PgBouncer
        "CTL_PGBOUNCER_PORT": "6432",
        "CTL_PGBOUNCER_DIR": "/etc/pgbouncer",
        "CTL_PGBOUNCER_RUN_DIR": "/var/run/postgresql",
        "CTL_PGBOUNCER_LOG": "/var/log/postgresql/pgbouncer.log",
    }


def values(values_file: str | None = None, overrides: dict[str, str] | None = None) -> dict[str, str]:
    out = defaults()
    if values_file:
        for number, line in enumerate(Path(values_file).read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip().startswith("CTL_"):
                raise ValueError(f"{values_file}, line {number}: expected CTL_NAME=VALUE")
            out[name.strip()] = value.strip()
    out.update({k: v for k, v in os.environ.items() if k.startswith("CTL_")})
    out.update(overrides or {})
    return out


def render_text(text: str, mapping: dict[str, str], name: str = "template") -> str:
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(mapping))
    if missing:
        raise KeyError(f"{name}: no value for {', '.join(missing)}")
    return string.Template(text).safe_substitute(mapping)


def render(name: str, mapping: dict[str, str]) -> str:
    return render_text((HERE / name).read_text(encoding="utf-8"), mapping, name)


def render_all(out_dir: Path, mapping: dict[str, str]) -> dict[str, Path]:
    written = {}
    for name in TEMPLATES:
        target = out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(name, mapping), encoding="utf-8")
        written[name] = target
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", help="a file of CTL_NAME=VALUE lines")
    parser.add_argument("--set", action="append", default=[], metavar="CTL_NAME=VALUE")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", help="directory to write every rendered file into")
    group.add_argument("--print", dest="show", metavar="FILE", help="print one rendered file (e.g. nginx/ctl.conf)")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("CTL_"):
            parser.error(f"--set {item!r}: expected CTL_NAME=VALUE")
        overrides[name] = value
    try:
        mapping = values(args.values, overrides)
    except (OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        if args.show:
            if args.show not in TEMPLATES:
                parser.error(f"{args.show} is not one of {', '.join(TEMPLATES)}")
            sys.stdout.write(render(args.show, mapping))
        else:
            for name, path in render_all(Path(args.out), mapping).items():
                print(path)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
