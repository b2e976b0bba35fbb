from ledger.services import system_user
import pytest
from django.contrib.auth.models import Group

from charity import roles
from charity.services import trust_create
from tests.conftest import grant


@pytest.fixture
def trust(db):
    return trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托")


def test_auditor_page_and_download(client, trust, django_user_model):
    auditor = django_user_model.objects.create_user("aud", password="pw-aud-12345")
    grant(auditor, roles.AUDITOR, trust)
    assert client.get("/auditor/").status_code == 302  # sign in first
    client.force_login(auditor)
    page = client.get("/auditor/")
    assert page.status_code == 200
    assert b"OK 0 - CT" in page.content
    download = client.get("/auditor/?report=trial-balance&as_of=2026-06-30&format=csv")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    bad = client.get("/auditor/?report=trial-balance&from=2026-01-01&format=csv")
    assert bad.status_code == 400


def test_donor_cannot_open_auditor_page(client, trust, django_user_model):
    donor = django_user_model.objects.create_user("don", password="pw-don-12345")
    client.force_login(donor)
    assert client.get("/auditor/").status_code == 403


def test_static_css_is_served(client):
    response = client.get("/static/charity/site.css")
    assert response.status_code == 200


def test_language_switch(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/disclosure/"})
    assert response.status_code == 302
