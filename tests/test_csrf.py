"""CSRF on the API: a browser session that writes must send the CSRF token; an API token needs none.

The client here enforces CSRF as a browser would meet it (Django's test client skips the check unless asked), and
signs in through the real login form, so the session and its CSRF cookie are the ones a browser would hold. Each
refusal is paired with the same request carrying the token, which succeeds: the 403 is the CSRF check's.
"""

from ledger.services import system_user
from tests.conftest import grant
import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.authtoken.models import Token

from charity import roles
from charity.models import AuditEvent, Donor
from charity.services import trust_create

pytestmark = pytest.mark.django_db

DONORS = "/api/v1/trusts/CT/donors/"


@pytest.fixture
def trust(db):
    return trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托")


@pytest.fixture
def clerk(trust, django_user_model):
    user = django_user_model.objects.create_user("clerk", password="pw-clerk-123")
    grant(user, roles.OFFICER)
    return user


@pytest.fixture
def browser(clerk):
    """A client that enforces CSRF, signed in through the login form (which itself needs the token)."""
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {
        "username": "clerk", "password": "pw-clerk-123", "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.get("/api/v1/trusts/CT/donors/").status_code == 200  # signed in: reads need no token
    return client


def written():
    """Donors, and audit events other than the record of a refused request (the audit log keeps those)."""
    return Donor.objects.count(), AuditEvent.objects.exclude(status=403).count()


def last_refusal():
    return AuditEvent.objects.filter(status=403).values_list("method", "path").get()


def create_donor(client, external_id="D-9", **headers):
    return client.post(DONORS, {"external_id": external_id, "name": "丙捐赠人"}, content_type="application/json",
                       **headers)


def test_a_session_post_without_the_csrf_token_is_refused_and_writes_nothing(browser):
    before = written()
    response = create_donor(browser)
    assert response.status_code == 403
    assert response.json()["error"]["message"].startswith("CSRF Failed: CSRF token missing")
    assert written() == before
    assert not Donor.objects.filter(external_id="D-9").exists()
    assert last_refusal() == ("POST", DONORS)  # the attempt is on record, nothing else


def test_a_session_post_with_a_wrong_csrf_token_is_refused(browser):
    before = written()
    response = create_donor(browser, HTTP_X_CSRFTOKEN="x" * 64)
    assert response.status_code == 403
    assert response.json()["error"]["message"].startswith("CSRF Failed: CSRF token")
    assert written() == before
    assert last_refusal() == ("POST", DONORS)


def test_the_same_session_post_with_the_csrf_token_succeeds(browser, clerk):
    """The control case: same session, same request, plus the token from the csrftoken cookie."""
    response = create_donor(browser, HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)
    assert response.status_code == 201, response.content
    assert Donor.objects.filter(external_id="D-9").exists()


def test_a_token_authenticated_post_needs_no_csrf_token(clerk):
    client = Client(enforce_csrf_checks=True)
    token = Token.objects.create(user=clerk)
    response = create_donor(client, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 201, response.content
    assert Donor.objects.filter(external_id="D-9").exists()
    assert "sessionid" not in client.cookies  # no session was involved


def test_without_a_session_or_token_the_post_is_401_not_a_csrf_refusal():
    response = create_donor(Client(enforce_csrf_checks=True))
    assert response.status_code == 401
