"""Logs: one JSON object per line, each request's lines carrying its id, path and status; no query string, no
capability token, no beneficiary's identity or phone."""

import io
import json
import logging

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from charity.logs import JsonFormatter, RequestFilter

from .conftest import DATABASES

pytestmark = pytest.mark.django_db(transaction=True, databases=DATABASES)

ID_NUMBER = "44010519880101100X"
PHONE = "13812345670"


@pytest.fixture
def lines():
    """What the console handler of settings.LOGGING would write, captured: its formatter and filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    requests_logger = logging.getLogger("charity.requests")
    level = requests_logger.level
    requests_logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]  # each line must be JSON
    root.removeHandler(handler)
    requests_logger.setLevel(level)


def test_settings_log_json_by_default():
    assert django_settings.LOG_FORMAT == "json"
    console = django_settings.LOGGING["handlers"]["console"]
    assert console["formatter"] == "json" and "request" in console["filters"]


def test_a_request_is_one_json_line_with_its_id_path_and_status(world, lines):
    response = APIClient().get("/disclosure/?trust=CT")
    assert response.status_code == 200
    (line,) = [entry for entry in lines() if entry["logger"] == "charity.requests"]
    assert line["request_id"] == response["X-Request-ID"] and len(line["request_id"]) == 32
    assert (line["method"], line["path"], line["status"]) == ("GET", "/disclosure/", 200)
    assert line["level"] == "INFO" and line["time"].endswith("+00:00") and line["user_id"] is None
    assert "trust=CT" not in json.dumps(line)  # no query string


def test_a_request_id_from_the_proxy_is_kept_and_a_bad_one_replaced(world, lines):
    kept = APIClient().get("/healthz", HTTP_X_REQUEST_ID="nginx-0123456789abcdef")
    assert kept["X-Request-ID"] == "nginx-0123456789abcdef"
    replaced = APIClient().get("/healthz", HTTP_X_REQUEST_ID='x" injected\n{"level": "ERROR"}')
    assert replaced["X-Request-ID"] != 'x" injected\n{"level": "ERROR"}' and len(replaced["X-Request-ID"]) == 32
    ids = [entry["request_id"] for entry in lines() if entry["logger"] == "charity.requests"]
    assert ids == ["nginx-0123456789abcdef", replaced["X-Request-ID"]]


def test_a_refusal_logged_by_django_carries_the_request_id(world, client_for, lines):
    response = client_for("outsider").get("/api/v1/trusts/CT/reports/trial-balance/?format=json")
    assert response.status_code == 403
    logged = [entry for entry in lines() if entry["logger"] == "django.request"]
    assert logged and logged[0]["request_id"] == response["X-Request-ID"] and logged[0]["status"] == 403


def test_no_identity_number_phone_or_capability_token_reaches_a_log_line(world, client_for, lines):
    officer = client_for("officer")
    officer.get(f"/office/beneficiaries/?q={ID_NUMBER}")
    officer.get(f"/office/beneficiaries/?q={PHONE}")
    APIClient().get("/g/some-secret-gift-token-value/")
    text = "\n".join(json.dumps(entry, ensure_ascii=False) for entry in lines())
    assert ID_NUMBER not in text and PHONE not in text
    assert "some-secret-gift-token-value" not in text and "/g/<str:token>/" in text


def test_a_line_outside_a_request_has_no_id_and_an_exception_stays_one_line(lines):
    log = logging.getLogger("charity.test")
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        log.error("failed: %s", "x", exc_info=True, extra={"book": "CT"})
    (line,) = [entry for entry in lines() if entry["logger"] == "charity.test"]
    assert line["request_id"] is None and line["book"] == "CT" and "ValueError" in line["exception"]
