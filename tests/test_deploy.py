"""deploy/: the files render, agree with the app's settings, and the pooler setting does what PgBouncer needs.

The stack itself (nginx, gunicorn, PgBouncer, a primary and a standby, the drills) is `make stack-test`
(deploy/stack_test.py), run by .ci/run; these are the quick checks of the files it uses.
"""

import json
import os
import re
import runpy
import shutil
import subprocess
import sys

import pytest
from django.conf import settings

sys.path.insert(0, str(settings.BASE_DIR / "deploy"))
import render  # noqa: E402  (deploy/render.py)

PG_URL = "postgres://ctl:secret@127.0.0.1:6432/ctl"


def settings_under(**env) -> dict:
    """charity.settings loaded in a fresh process with ``env``: the database settings, or the error."""
    code = (
        "import json, django\n"
        "from django.conf import settings\n"
        "try:\n"
        "    django.setup()\n"
        "except Exception as exc:\n"
        "    print(json.dumps({'error': f'{type(exc).__name__}: {exc}'})); raise SystemExit\n"
        "db = settings.DATABASES['default']\n"
        "print(json.dumps({'cursors': db.get('DISABLE_SERVER_SIDE_CURSORS', False),\n"
        "                  'options': db.get('OPTIONS', {}), 'ledger_prepared': settings.LEDGER_PREPARED_STATEMENTS,\n"
        "                  'static_root': str(settings.STATIC_ROOT)}))\n"
    )
    full = {k: v for k, v in os.environ.items() if k not in ("DATABASE_POOLER", "DB_PREPARED_STATEMENTS", "STATIC_ROOT")}
    full.update({"DJANGO_SETTINGS_MODULE": "charity.settings", **env})
    result = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=full, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_pgbouncer_pooler_turns_off_what_outlives_a_transaction():
    pooled = settings_under(DATABASE_URL=PG_URL, DATABASE_POOLER="pgbouncer")
    assert pooled["cursors"] is True
    assert "prepare_threshold" in pooled["options"] and pooled["options"]["prepare_threshold"] is None
    assert pooled["ledger_prepared"] is False
    direct = settings_under(DATABASE_URL=PG_URL)
    assert direct["cursors"] is False and "prepare_threshold" not in direct["options"]
    assert direct["ledger_prepared"] is True
    # An explicit DB_PREPARED_STATEMENTS still wins (PgBouncer 1.21+ carries prepared statements).
    assert settings_under(DATABASE_URL=PG_URL, DATABASE_POOLER="pgbouncer",
                          DB_PREPARED_STATEMENTS="true")["ledger_prepared"] is True


@pytest.mark.parametrize("env, message", [
    ({"DATABASE_URL": PG_URL, "DATABASE_POOLER": "pgpool"}, "DATABASE_POOLER='pgpool'"),
    ({"DATABASE_URL": "sqlite:///x.sqlite3", "DATABASE_POOLER": "pgbouncer"}, "needs a PostgreSQL DATABASE_URL"),
])
def test_a_bad_pooler_setting_stops_the_start(env, message):
    error = settings_under(**env).get("error", "")
    assert error.startswith("ImproperlyConfigured") and message in error


def test_static_root_from_the_environment(tmp_path):
    assert settings_under(STATIC_ROOT=str(tmp_path))["static_root"] == str(tmp_path)


def test_every_deploy_file_renders_with_no_placeholder_left(tmp_path):
    written = render.render_all(tmp_path, render.values())
    assert set(written) == set(render.TEMPLATES)
    for name, path in written.items():
        text = path.read_text()
        assert "${CTL_" not in text, name
        assert "$host" in text if name == "nginx/ctl.conf" else True  # nginx's own variables are left alone


def test_a_placeholder_without_a_value_is_an_error():
    with pytest.raises(KeyError, match="CTL_NOPE"):
        render.render_text("listen ${CTL_NOPE};", render.values(), "x.conf")


def test_render_command_line(tmp_path):
    result = subprocess.run([sys.executable, "deploy/render.py", "--set", "CTL_SERVER_NAME=trust.example.cn",
                             "--print", "nginx/ctl.conf"], cwd=settings.BASE_DIR, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "server_name trust.example.cn;" in result.stdout


def test_nginx_takes_the_largest_attachment_and_waits_longer_than_gunicorn(monkeypatch):
    monkeypatch.delenv("ATTACHMENT_MAX_MB", raising=False)
    monkeypatch.delenv("GUNICORN_TIMEOUT", raising=False)
    site = render.render("nginx/ctl.conf", render.values())
    body_mb = int(re.search(r"client_max_body_size (\d+)m;", site).group(1))
    assert body_mb * 1024 * 1024 > settings.ATTACHMENT_MAX_BYTES
    assert body_mb <= settings.ATTACHMENT_MAX_BYTES // (1024 * 1024) + 1
    gunicorn = runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", site).group(1))
    assert read_timeout > gunicorn["timeout"]
    assert gunicorn["worker_class"] == "sync"


def test_pgbouncer_pools_transactions_and_the_primary_waits_for_its_standby():
    mapping = render.values()
    ini = render.render("pgbouncer/pgbouncer.ini", mapping)
    assert re.search(r"^pool_mode = transaction$", ini, re.M)
    primary = render.render("postgresql/primary.conf", mapping)
    assert "wal_level = replica" in primary and "synchronous_commit = on" in primary
    assert f"synchronous_standby_names = 'FIRST 1 ({mapping['CTL_STANDBY_NAME']})'" in primary
    assert f"archive_command = 'test ! -f {mapping['CTL_ARCHIVE_DIR']}/%f" in primary
    standby = render.render("postgresql/standby.conf", mapping)
    assert f"cluster_name = '{mapping['CTL_STANDBY_NAME']}'" in standby  # the name the primary waits for


def test_the_units_run_the_project_s_commands():
    mapping = render.values()
    web = render.render("systemd/ctl-web.service", mapping)
    assert f"-c {mapping['CTL_APP_DIR']}/gunicorn.conf.py charity.wsgi:application" in web
    assert "manage.py migrate --noinput" in web and "collectstatic --noinput" in web
    mail = render.render("systemd/ctl-mail.service", mapping)
    assert "manage.py send_mail_queue --loop" in mail
    assert (settings.BASE_DIR / "charity" / "management" / "commands" / "send_mail_queue.py").exists()


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed (apt-get install nginx)")
def test_nginx_accepts_the_site(tmp_path):
    mapping = render.values(overrides={"CTL_LISTEN": "127.0.0.1:18080", "CTL_UPSTREAM": "127.0.0.1:18081",
                                       "CTL_NGINX_LOG_DIR": str(tmp_path), "CTL_STATIC_ROOT": str(tmp_path)})
    (tmp_path / "ctl.conf").write_text(render.render("nginx/ctl.conf", mapping))
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                    f"http {{\n include /etc/nginx/mime.types;\n client_body_temp_path {tmp_path}/body;\n"
                    f" proxy_temp_path {tmp_path}/proxy;\n fastcgi_temp_path {tmp_path}/fastcgi;\n"
                    f" uwsgi_temp_path {tmp_path}/uwsgi;\n scgi_temp_path {tmp_path}/scgi;\n"
                    f" include {tmp_path}/ctl.conf;\n}}\n")
    result = subprocess.run(["nginx", "-t", "-e", str(tmp_path / "error.log"), "-c", str(main)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_values_file_line_that_is_not_a_setting_names_its_line(tmp_path):
    values = tmp_path / "site.values"
    values.write_text("# the site\nCTL_SERVER_NAME=trust.example.cn\n\nserver_name trust\n")
    result = subprocess.run([sys.executable, "deploy/render.py", "--values", str(values), "--print", "nginx/ctl.conf"],
                            cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and f"{values}, line 4: expected CTL_NAME=VALUE" in result.stderr
    values.write_text("# the site\nCTL_SERVER_NAME=trust.example.cn\n")
    result = subprocess.run([sys.executable, "deploy/render.py", "--values", str(values), "--print", "nginx/ctl.conf"],
                            cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "server_name trust.example.cn;" in result.stdout


def test_nginx_lets_only_this_machine_ask_for_the_metrics():
    """Through nginx every request reaches the app from 127.0.0.1, which the app trusts for /metrics."""
    site = render.render("nginx/ctl.conf", render.values())
    block = re.search(r"location = /metrics \{(.*?)\}", site, re.S).group(1)
    assert "allow 127.0.0.1;" in block and "deny all;" in block and "proxy_pass http://ctl_app;" in block
