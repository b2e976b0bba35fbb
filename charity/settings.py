"""Settings for Charity Trust Ledger.

Everything that differs between the demo, a test run and production comes from the environment, read through
the small helpers below. A bad value fails loudly at start-up with ImproperlyConfigured instead of being
silently replaced by a default. SQLite under ``var/`` is the default database so that ``make demo`` needs
nothing installed; production sets ``DATABASE_URL`` to PostgreSQL.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env(name: str, default: str = "") -> str:
    """A string setting; ``NAME_FILE`` (a path to a file holding the value) wins over ``NAME``."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from exc


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate such as ``10/min`` (requests per ``s``, ``min``, ``hour`` or ``day``)."""
    value = env(name, default).strip()
    number, _, period = value.partition("/")
    if not number.isdigit() or not period or period[0] not in "smhd":
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate (e.g. 10/min)")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
_DEMO_SECRET = "insecure-demo-key-do-not-use-in-production-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = env("SECRET_KEY", _DEMO_SECRET)
if not DEBUG and SECRET_KEY == _DEMO_SECRET and env_bool("PRODUCTION", False):
    raise ImproperlyConfigured("SECRET_KEY must be set in production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "charity.admin_site.AdminConfig",  # django.contrib.admin on a site for administrators only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "djmoney",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from our own static files
    "csp",
    "axes",
    "django_prometheus",
    "ledger",
    "beneficiaries",
    "charity",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: counts every request and its latency
    "charity.logs.RequestIdMiddleware",  # a request id for the log lines and the X-Request-ID header
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",  # request.htmx: the office pages answer htmx requests with a fragment
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "charity.audit.AuditMiddleware",
    "charity.dbrouter.ReadYourWrites",  # after a write, the writer reads from the primary for a while
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # after the others but the retry
    "charity.retry.RetryMiddleware",  # innermost: a view that lost a race in the database runs again, or says busy
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",  # global grants (the administrator's)
    "charity.backends.MembershipBackend",  # a role in one trust, asked as user.has_perm(perm, trust_or_book)
]

ROOT_URLCONF = "charity.urls"
WSGI_APPLICATION = "charity.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "charity" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "charity.pages.common.nav",
            ],
        },
    },
]

_DEFAULT_DB = f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL", _DEFAULT_DB), conn_max_age=60)}
except Exception as exc:  # dj-database-url raises several types for a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of failing half-way with
    # "database is locked" when one upgrades a read lock; the timeout is how long they queue.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_TIMEOUT", 30),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["TEST"] = {"NAME": env("SQLITE_TEST_NAME", "") or None}

# A hot standby that serves what only reads (reports, the disclosure page, the donor portal, the auditor's
# downloads): charity/dbrouter.py and README "Health, metrics and logs". DATABASE_REPLICA_URL unset: no standby,
# everything on the primary. The alias "replica" exists either way (unset: a second name for the primary that
# nothing is routed to), and in a test run it is a mirror of the test database (TEST MIRROR), not a database of its own.
_replica_url = env("DATABASE_REPLICA_URL", "")
DATABASE_REPLICA = bool(_replica_url)
if _replica_url:
    try:
        DATABASES["replica"] = dj_database_url.parse(_replica_url, conn_max_age=60)
    except Exception as exc:  # noqa: BLE001 - as for DATABASE_URL
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URL is not a usable database URL: {exc}") from exc
    if DATABASES["replica"]["ENGINE"] != DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must name a database of the same engine as DATABASE_URL")
else:
    DATABASES["replica"] = {k: v for k, v in DATABASES["default"].items() if k != "TEST"}
DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["charity.dbrouter.ReadRouter"]
# After a write, the writer's next requests read from the primary for this long (a signed cookie).
DATABASE_REPLICA_STICKY_SECONDS = env_int("DATABASE_REPLICA_STICKY_SECONDS", 10)
# /healthz answers 503 when the standby is further behind than this.
HEALTH_MAX_STANDBY_LAG_SECONDS = env_int("HEALTH_MAX_STANDBY_LAG_SECONDS", 30)

# django-prometheus counts queries, their latency and errors per database alias by wrapping the PostgreSQL engine
# (production's; SQLite, the demo's, keeps Django's own, which tools such as pytest-django recognise by name);
# METRICS_DATABASE=false keeps Django's own engine on PostgreSQL too.
if env_bool("METRICS_DATABASE", True):
    for _db in DATABASES.values():
        if _db["ENGINE"] == "django.db.backends.postgresql":
            _db["ENGINE"] = "django_prometheus.db.backends.postgresql"

# No request waits for ever (charity.retry; README "Configuration"): on PostgreSQL a lock not granted within
# DB_LOCK_TIMEOUT_MS and a statement running beyond DB_STATEMENT_TIMEOUT_MS are cancelled (0 turns either off).
# A deadlock, serialization failure or lock timeout is retried at the boundary (request, office form, import,
# command) DB_RETRY_ATTEMPTS more times after a random pause of up to DB_RETRY_PAUSE_MS x 2^attempt ms.
DB_LOCK_TIMEOUT_MS = env_int("DB_LOCK_TIMEOUT_MS", 5000)
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 30000)
DB_RETRY_ATTEMPTS = env_int("DB_RETRY_ATTEMPTS", 3)
DB_RETRY_PAUSE_MS = env_int("DB_RETRY_PAUSE_MS", 50)
for _name in ("DB_LOCK_TIMEOUT_MS", "DB_STATEMENT_TIMEOUT_MS", "DB_RETRY_ATTEMPTS", "DB_RETRY_PAUSE_MS"):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must not be negative")
for _db in DATABASES.values():  # the primary's and the standby's connections (a standby cancels long reads)
    if _db["ENGINE"] in ("django.db.backends.postgresql", "django_prometheus.db.backends.postgresql"):
        _db.setdefault("OPTIONS", {})["options"] = (
            f"-c lock_timeout={DB_LOCK_TIMEOUT_MS} -c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
        )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DATABASE_POOLER=pgbouncer: the app reaches PostgreSQL through a transaction-pooling PgBouncer (deploy/pgbouncer):
# a server connection is the app's for one transaction only, so nothing may outlive one: no server-side cursors
# (Django's iterator() then fetches the whole result), no prepared statements (psycopg's nor the ledger's).
DATABASE_POOLER = env("DATABASE_POOLER", "").strip().lower()
if DATABASE_POOLER not in ("", "pgbouncer"):
    raise ImproperlyConfigured(f"DATABASE_POOLER={DATABASE_POOLER!r} is not empty or pgbouncer")
if DATABASE_POOLER and not DATABASES["default"]["ENGINE"].endswith(".postgresql"):
    raise ImproperlyConfigured("DATABASE_POOLER=pgbouncer needs a PostgreSQL DATABASE_URL")
if DATABASE_POOLER:  # every alias that goes where DATABASE_URL goes (through the pooler)
    _pooler = (DATABASES["default"].get("HOST"), DATABASES["default"].get("PORT"))
    for _db in DATABASES.values():
        if (_db.get("HOST"), _db.get("PORT")) == _pooler:
            _db["DISABLE_SERVER_SIDE_CURSORS"] = True
            # PgBouncer refuses the startup parameter "options": behind it the lock and statement timeouts are set
            # on the role (ALTER ROLE ... SET lock_timeout; README "Running it for real")
            _db["OPTIONS"] = {**{k: v for k, v in _db.get("OPTIONS", {}).items() if k != "options"},
                              "prepare_threshold": None}

# PostgreSQL: the statements of a single post are prepared on a connection's first use (ledger.services). Off for
# a transaction-pooling PgBouncer older than 1.21, which cannot carry prepared statements across connections
# (the default under DATABASE_POOLER=pgbouncer).
LEDGER_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", not DATABASE_POOLER)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["charity.formats"]

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", str(BASE_DIR / "var" / "static"))  # where collectstatic writes (nginx serves it)
# WhiteNoise serves the static files from the app directories, so neither `collectstatic` nor a web server
# is needed for the demo; production may still run collectstatic for compressed, cached copies.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# -- Attachments (vouchers, invoices, scans) ----------------------------------------------------------------------
# Files attached to journal entries, gifts, expenses and disbursements are stored through the storage named
# "attachments" and only ever served by a view that checks the reader's role in the trust (there is no media URL).
# Local disk under MEDIA_ROOT by default; S3-compatible storage when ATTACHMENTS_S3_BUCKET is set (django-storages;
# boto3 must then be installed: it is imported only when that storage is first used).
MEDIA_ROOT = env("MEDIA_ROOT", str(BASE_DIR / "var" / "media"))
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_MB", 10) * 1024 * 1024
if env("ATTACHMENTS_S3_BUCKET"):
    _attachments_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("ATTACHMENTS_S3_BUCKET"),
            "endpoint_url": env("ATTACHMENTS_S3_ENDPOINT_URL") or None,
            "region_name": env("ATTACHMENTS_S3_REGION") or None,
            "access_key": env("ATTACHMENTS_S3_ACCESS_KEY_ID") or None,
            "secret_key": env("ATTACHMENTS_S3_SECRET_ACCESS_KEY") or None,
            "location": env("ATTACHMENTS_S3_PREFIX", "attachments"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _attachments_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}  # under MEDIA_ROOT
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": _attachments_storage,
}

CURRENCIES = ("CNY", "HKD", "USD", "EUR", "GBP", "JPY", "MOP", "TWD", "SGD", "AUD", "CAD")
DEFAULT_CURRENCY = "CNY"
BASE_CURRENCY = "CNY"

# Fonts for PDFs: a TrueType file with CJK glyphs is embedded when set; otherwise reportlab's CID font
# STSong-Light (not embedded, but always available and extractable).
PDF_CJK_FONT = env("PDF_CJK_FONT", "")

# -- Logs, health and metrics (README "Health, metrics and logs") -----------------------------------------------
# LOG_FORMAT=json (the default): one JSON object per line on standard error (charity/logs.py), with the request's
# id, method, path and status where there is a request; LOG_FORMAT=plain: one line of text, for a terminal.
LOG_FORMAT = env("LOG_FORMAT", "json").strip().lower()
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not one of json, plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "charity.logs.RequestFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "charity.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
    "loggers": {
        # One line per request (charity.logs.RequestIdMiddleware) at INFO: LOG_REQUESTS=false leaves them out.
        "charity.requests": {"level": "INFO" if env_bool("LOG_REQUESTS", True) else "WARNING"},
    },
}
# /metrics (Prometheus text format) answers a request from one of METRICS_ALLOWED_IPS (REMOTE_ADDR as the app sees
# it; behind nginx on the same machine that is 127.0.0.1), or one with "Authorization: Bearer <METRICS_TOKEN>" when
# that is set (METRICS_TOKEN_FILE works too); anyone else gets 404.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "127.0.0.1,::1")
METRICS_TOKEN = env("METRICS_TOKEN", "")

# -- API ------------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that an anonymous request gets 401 with "WWW-Authenticate: Token".
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "charity.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "charity.api.errors.exception_handler",
    # ?format= picks a report's format (csv, json, pdf), not a DRF renderer.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("API_THROTTLE_ANON", "120/min"),
        "user": env_rate("API_THROTTLE_USER", "6000/min"),
        # POST /api/v1/auth/token/ (charity/api/token.py), per client address: guessing passwords there is slow.
        "token": env_rate("API_THROTTLE_TOKEN", "10/min"),
    },
    # The client address for throttling is REMOTE_ADDR, as for django-axes: an X-Forwarded-For header is the
    # client's to invent unless NUM_PROXIES trusted proxies in front of the app set it.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Charity Trust Ledger API",
    "DESCRIPTION": "Books of a charity trust: donations, disbursements, reports. Amounts are decimal strings in CNY "
    "unless a currency is given. Every POST that moves money accepts an Idempotency-Key header.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ loads Swagger UI from drf-spectacular-sidecar's static files, never from a CDN; no validator
    # badge (an image from validator.swagger.io).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" with its own choices; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "BeneficiaryStatusEnum": "beneficiaries.models.BeneficiaryStatus",
        "DisbursementStatusEnum": "beneficiaries.models.DisbursementStatus",
        "BatchStatusEnum": "beneficiaries.models.BatchStatus",
        "DonorKindEnum": "charity.models.DonorKind",
        "ExpenseKindEnum": "charity.models.ExpenseKind",
    },
}
IDEMPOTENCY_IN_PROGRESS_SECONDS = env_int("IDEMPOTENCY_IN_PROGRESS_SECONDS", 300)

# -- Security ---------------------------------------------------------------------------------------------------
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
# The pair locks: five failures for one username from one address lock that username from that address only,
# so an attacker who knows a username cannot lock its owner out from everywhere else.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"  # a page in the site's language instead of axes' plain text
AXES_ENABLED = env_bool("AXES_ENABLED", True)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (django-csp): everything from this origin, no inline script or style
# (the pages' script and styles are static files; the share bars are SVG), images also as data: URIs (the
# admin's and Swagger UI's icons), no plugins, no framing, forms post only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
if env_bool("PRODUCTION", False):
    # What `check --deploy` asks for; the demo runs over plain http on localhost and leaves these off.
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# -- E-mail to donors (charity/mail.py; README "Donors' e-mail, links and invitations") ---------------------------
# SITE_URL is the address donors reach the site at: the links in e-mails and the QR code on receipts start with it.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")
# EMAIL_BACKEND: the console in the demo (messages are printed), SMTP when EMAIL_HOST is set, or any backend named
# (e.g. anymail.backends.amazon_ses.EmailBackend once django-anymail is installed).
EMAIL_HOST = env("EMAIL_HOST", "")
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                    else "django.core.mail.backends.console.EmailBackend")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Charity Trust Ledger <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The queue's worker (manage.py send_mail_queue) sends at most this many messages a minute.
MAIL_RATE_PER_MINUTE = env_int("MAIL_RATE_PER_MINUTE", 60)
# A failed delivery is tried again after these minutes (the last repeats) until MAIL_MAX_ATTEMPTS, then "failed".
MAIL_MAX_ATTEMPTS = env_int("MAIL_MAX_ATTEMPTS", 5)
try:
    MAIL_RETRY_MINUTES = [int(m) for m in env_list("MAIL_RETRY_MINUTES", "1,5,30,120")]
except ValueError as exc:
    raise ImproperlyConfigured(f"MAIL_RETRY_MINUTES is not a list of whole minutes: {exc}") from exc
if not MAIL_RETRY_MINUTES or MAIL_RATE_PER_MINUTE < 1 or MAIL_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("MAIL_RETRY_MINUTES, MAIL_RATE_PER_MINUTE and MAIL_MAX_ATTEMPTS must be set above 0")
MAIL_STALE_MINUTES = env_int("MAIL_STALE_MINUTES", 15)

# -- Caches -----------------------------------------------------------------------------------------------------
# "reports": rendered reports under the ledger head they were made from (charity/reports/cache.py). A posted entry
# gives new keys, so nothing is ever invalidated and any backend is safe. REPORT_CACHE picks it:
#   locmem  (default) each process's memory; with N workers a report may be rendered N times
#   file    one directory, REPORT_CACHE_DIR, shared by every worker on the machine (each report rendered once)
#   off     no report cache
# Bounded: at most REPORT_CACHE_MAX_ENTRIES renderings (the backend evicts some when full) of at most
# REPORT_CACHE_MAX_ITEM_KB each (larger ones are not kept); a donor statement is 4-6 KB, an annual report ~30 KB.
REPORT_CACHE = env("REPORT_CACHE", "locmem").strip().lower()
REPORT_CACHE_MAX_ITEM_BYTES = env_int("REPORT_CACHE_MAX_ITEM_KB", 256) * 1024
_report_cache = {
    "TIMEOUT": env_int("REPORT_CACHE_TIMEOUT", 24 * 3600),
    "OPTIONS": {"MAX_ENTRIES": env_int("REPORT_CACHE_MAX_ENTRIES", 2000)},
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REPORT_CACHE == "locmem":
    CACHES["reports"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "reports",
                         **_report_cache}
elif REPORT_CACHE == "file":
    CACHES["reports"] = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                         "LOCATION": env("REPORT_CACHE_DIR", str(BASE_DIR / "var" / "report-cache")), **_report_cache}
elif REPORT_CACHE != "off":
    raise ImproperlyConfigured(f"REPORT_CACHE={REPORT_CACHE!r} is not one of locmem, file, off")
