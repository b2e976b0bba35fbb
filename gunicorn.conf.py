"""gunicorn's settings for this project; gunicorn reads ``./gunicorn.conf.py`` when started from the project
directory (``python -m gunicorn charity.wsgi:application --workers 2``), or with ``-c`` (deploy/systemd/ctl-web.service).
Command-line options win over these, and these read the environment: ``GUNICORN_BIND`` (default 127.0.0.1:8000;
the service binds a unix socket nginx proxies to), ``GUNICORN_WORKERS`` (default 2: B6 measured 2 per 2 cores),
``GUNICORN_TIMEOUT`` (seconds a request may run before its worker is restarted, default 60; nginx's proxy timeouts
are 5 s longer, deploy/nginx/ctl.conf), ``GUNICORN_CONTROL_SOCKET`` (gunicornc's socket).

Report cache: shared by the workers of the machine, ``REPORT_CACHE=file`` (in ``REPORT_CACHE_DIR``, default
``var/report-cache``), unless the environment sets ``REPORT_CACHE``. With the settings' default, ``locmem``, each
worker keeps its own and renders every report once more; on B6 (issue 8: 50 clients reading ~840 different donor
statements from 2 workers) the shared cache served 21 statements/s against 16 from a cold start, and 62-67 against
30 after every statement had been asked for once (both workers hold them all, not half each).

Workers: sync, gunicorn's default. gthread with 2 workers of 2 or 8 threads served no more on B6 and its p99 was
3-4x worse: a keep-alive connection stays with the worker that accepted it, so 50 clients split unevenly between
the two workers, where sync workers take each request from the one listen queue.
"""

import os

os.environ.setdefault("REPORT_CACHE", "file")

worker_class = "sync"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 60
# nginx on this machine sets X-Forwarded-For and X-Forwarded-Proto.
forwarded_allow_ips = "127.0.0.1"
# gunicornc's control socket: by default ~/.gunicorn/gunicorn.ctl, one for every gunicorn of that user; the service
# puts it in its runtime directory.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]


def child_exit(server, worker):
    """/metrics with several workers (``PROMETHEUS_MULTIPROC_DIR``, README "Health, metrics and logs"): a worker
    that exits leaves the live gauges (prometheus_client's multiprocess mode); its counters stay in the sums."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
