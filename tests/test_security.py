"""Security of the web side: login throttling (django-axes), `check --deploy`, headers, CSRF."""

import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

LOGIN = "/accounts/login/"
PASSWORD = "pw-right-12345"


@pytest.fixture
def users(db, django_user_model):
    return {name: django_user_model.objects.create_user(name, password=PASSWORD) for name in ("alice", "bob")}


def sign_in(client: Client, username: str, password: str, ip: str):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_axes_locks_after_the_failure_limit(users):
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, "alice", "wrong-password", "10.0.0.1")
        assert response.status_code == 200 and not signed_in(client)  # the form again, with its error
    locking = sign_in(client, "alice", "wrong-password", "10.0.0.1")  # the 5th failure locks at once
    assert locking.status_code == 429
    refused = sign_in(client, "alice", PASSWORD, "10.0.0.1")  # the 6th attempt, with the right password
    assert refused.status_code == 429
    assert not signed_in(client)
    text = refused.content.decode()
    assert 'id="locked"' in text and "登录已锁定" in text and "15 分钟" in text  # our page, in Chinese


def test_four_failures_do_not_lock_and_success_resets(users):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "alice", "wrong-password", "10.0.0.1")
    assert sign_in(client, "alice", PASSWORD, "10.0.0.1").status_code == 302 and signed_in(client)


def test_lockout_is_per_username(users):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), "alice", "wrong-password", "10.0.0.1")
    # Another user from another address signs in as usual ...
    bob = Client()
    assert sign_in(bob, "bob", PASSWORD, "10.0.0.2").status_code == 302 and signed_in(bob)
    # ... and so does the locked username from another address (AXES_LOCKOUT_PARAMETERS: username and address
    # together), while it stays locked from the address that failed.
    alice = Client()
    assert sign_in(alice, "alice", PASSWORD, "10.0.0.1").status_code == 429
    assert not signed_in(alice)
    assert sign_in(alice, "alice", PASSWORD, "10.0.0.3").status_code == 302 and signed_in(alice)


def test_check_deploy_is_clean_in_production(tmp_path):
    env = {
        **os.environ,
        "PRODUCTION": "1",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "trust.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    env.pop("SECRET_KEY_FILE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_security_headers(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    session_cookie = client.cookies.get(settings.CSRF_COOKIE_NAME)
    assert session_cookie is not None and session_cookie["samesite"] == "Lax"


def test_csrf_is_enforced_on_session_posts(users):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 403
    assert client.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 403
    assert not signed_in(client)
    # With the token the form carries, the same POST goes through.
    form = client.get(LOGIN).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and signed_in(client)
    # Signed in, a POST without the token is still refused (sign-out, here).
    assert client.post("/accounts/logout/").status_code == 403
    assert signed_in(client)
