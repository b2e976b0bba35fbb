"""Abuse from outside: password guessing, floods of the token endpoint, huge rejected imports, a foreign page
script, and values outside what a trust's books can hold (currencies, dates)."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"
PASSWORD = "pw-right-12345"


@pytest.fixture
def alice(db, django_user_model):
    return django_user_model.objects.create_user("alice", password=PASSWORD)


@pytest.fixture(autouse=True)
def _clear_throttles():
    """DRF keeps throttle history in the default cache, which outlives a test."""
    cache.clear()
    yield
    cache.clear()


def attempt(username: str, password: str, ip: str):
    client = Client()
    response = client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)
    return response, "_auth_user_id" in client.session


# -- 1. lockout by username and address ------------------------------------------------------------------------


def test_an_attacker_locks_the_user_out_of_his_own_address_only(alice):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt("alice", "wrong-password", "203.0.113.9")
    # From the attacking address even the right password is refused (our locked page) ...
    response, signed_in = attempt("alice", PASSWORD, "203.0.113.9")
    assert response.status_code == 429 and not signed_in
    assert 'id="locked"' in response.content.decode()
    # ... while alice from her own address signs in as usual.
    response, signed_in = attempt("alice", PASSWORD, "198.51.100.7")
    assert response.status_code == 302 and signed_in


def test_the_lock_lasts_fifteen_minutes_and_can_be_set_again(alice):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            attempt("alice", "wrong-password", "203.0.113.9")
        clock.shift(dt.timedelta(minutes=14))
        assert attempt("alice", PASSWORD, "203.0.113.9")[0].status_code == 429
        clock.shift(dt.timedelta(minutes=2))
        # Cooled off: the failures are forgotten, and five more lock again.
        for _ in range(settings.AXES_FAILURE_LIMIT):
            attempt("alice", "wrong-password", "203.0.113.9")
        assert attempt("alice", PASSWORD, "203.0.113.9")[0].status_code == 429
        assert attempt("alice", PASSWORD, "198.51.100.7")[0].status_code == 302


# -- 2. the token endpoint is throttled -----------------------------------------------------------------------


def test_token_endpoint_answers_429_with_a_json_body_past_its_rate(alice):
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"].split("/")[0])
    client = APIClient()
    for n in range(limit):
        # Different usernames, so that django-axes does not lock anything: only the throttle counts here.
        response = client.post(TOKEN, {"username": f"guess{n}", "password": "x"}, format="json", REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 400, response.content
    response = client.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    # A forged X-Forwarded-For does not make a new client ...
    forged = client.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json", REMOTE_ADDR="203.0.113.9",
                         HTTP_X_FORWARDED_FOR="192.0.2.77")
    assert forged.status_code == 429
    # ... while another address gets its token.
    other = client.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json", REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 200 and other.json()["token"]
