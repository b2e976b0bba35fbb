"""Privacy: one donor never reads another's gifts, and no identity number or phone leaves the registry.

* Donor B asking for donor A's gift page or receipt gets 404 (not 403: existence is not revealed), and B's own
  statement holds nothing of A's.
* A full demo run (seed, every report as the auditor over the API in every format, every donor-facing page and
  PDF as the demo donor, the public disclosure page and annual report) with all log output captured at DEBUG:
  no beneficiary identity number or phone appears anywhere (masked forms are allowed), including the auditor's
  beneficiary register, which shows masked numbers only.
"""

from __future__ import annotations
from ledger.services import system_user
from tests.conftest import grant

import datetime as dt
import io
import logging
import re
from decimal import Decimal

import pypdf
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from rest_framework.test import APIClient

from beneficiaries.models import Beneficiary
from charity import roles
from charity.models import Donation, Donor, Trust
from charity.reports import REPORTS
from charity.services import donation_record, donor_create, trust_create
from ledger import services as ledger

SEED = ["--beneficiaries", "60", "--donations", "300", "--year", "2025", "--no-progress", "--passwords", "username"]


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF"), data[:100]
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages)


# -- donor B never reads donor A's gifts ------------------------------------------------------------------------


@pytest.fixture
def two_donors(db, django_user_model):
    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托")
    study = ledger.fund_create(user=system_user(), book=trust.book, code="STUDY", name="助学金", restriction="restricted",
                               purpose="study_grant")
    officer = grant(django_user_model.objects.create_user("officer"), "finance_officer", trust)
    users = {}
    for key, name in (("a", "甲捐赠人"), ("b", "乙捐赠人")):
        user = django_user_model.objects.create_user(f"donor_{key}")
        donor = donor_create(by=system_user(), trust=trust, kind="individual", name=name, external_id=f"D-{key}", user=user)
        donation_record(trust=trust, external_id=f"GIFT-{key.upper()}", date=dt.date(2026, 3, 2),
                        amount=Decimal("1234.56" if key == "a" else "100.00"), fund=study, channel="bank",
                        user=officer, donor=donor)
        users[key] = user
    return users, officer


def test_donor_b_cannot_read_donor_a(client, two_donors):
    users, officer = two_donors
    client.force_login(users["b"])
    assert client.get("/my/gifts/GIFT-B/").status_code == 200
    for url in ("/my/gifts/GIFT-A/", "/my/gifts/GIFT-A/receipt.pdf", "/my/gifts/NO-SUCH/",
                "/my/gifts/NO-SUCH/receipt.pdf"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "GIFT-A" not in response.content.decode(errors="replace") and "甲捐赠人" not in response.content.decode(
            errors="replace")
    home = client.get("/my/").content.decode()
    assert "GIFT-A" not in home and "1,234.56" not in home and "甲捐赠人" not in home
    statement = _pdf_text(client.get("/my/statement.pdf?year=2026").content)
    assert "GIFT-B" in statement
    assert "GIFT-A" not in statement and "1,234.56" not in statement and "1234.56" not in statement
    # Someone signed in without a donor record (an officer) has no gifts and no statement.
    client.force_login(officer)
    assert client.get("/my/gifts/GIFT-A/").status_code == 404
    assert client.get("/my/gifts/GIFT-A/receipt.pdf").status_code == 404
    assert client.get("/my/statement.pdf").status_code == 404


# -- no identity number or phone in donor-facing output, public output or logs ------------------------------------


def _secrets() -> list[str]:
    values = set()
    for id_number, phone in Beneficiary.objects.values_list("id_number", "phone"):
        values.add(id_number)
        if phone:
            values.add(phone)
    return sorted(values)


@pytest.mark.django_db(transaction=True)
def test_demo_run_leaks_no_identity_number_or_phone(client, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("django.request", "django.db.backends", "charity", "ledger", "beneficiaries"):
        caplog.set_level(logging.DEBUG, logger=name)
    call_command("seed_demo", *SEED, stdout=io.StringIO())
    secrets = _secrets()
    assert len(secrets) > 60
    trust = Trust.objects.get()
    outputs: dict[str, str] = {}

    # Every report as the auditor, over the API, in every format.
    auditor = APIClient()
    auditor.force_authenticate(get_user_model().objects.get(username="auditor"))
    donor_id = Donor.objects.filter(donations__isnull=False).exclude(external_id="").first().external_id
    for name, report in sorted(REPORTS.items()):
        query = {"year": "2025"} if report.period else {}
        if "donor" in report.options:
            query["donor"] = donor_id
        for fmt in report.formats:
            response = auditor.get(f"/api/v1/trusts/{trust.code}/reports/{name}/", {**query, "format": fmt})
            assert response.status_code == 200, (name, fmt, response.content[:300])
            body = b"".join(response.streaming_content) if response.streaming else response.content
            outputs[f"report {name}.{fmt}"] = _pdf_text(body) if fmt == "pdf" else body.decode("utf-8")
    register = outputs["report beneficiary-register.csv"]
    assert "*" in register  # the auditor sees masked numbers

    # Every donor-facing page and PDF, as the demo donor.
    client.force_login(get_user_model().objects.get(username="donor"))
    donor = Donor.objects.get(user__username="donor")
    for url in ("/my/", "/my/statement.pdf?year=2025", "/my/statement.pdf"):
        response = client.get(url)
        assert response.status_code == 200, url
        outputs[url] = _pdf_text(response.content) if url.startswith("/my/statement") else response.content.decode()
    for gift in Donation.objects.filter(donor=donor):
        for url in (f"/my/gifts/{gift.external_id}/", f"/my/gifts/{gift.external_id}/receipt.pdf"):
            response = client.get(url)
            assert response.status_code in (200, 404), url  # 404: a gift refunded in full has no valid receipt
            if response.status_code == 200:
                outputs[url] = _pdf_text(response.content) if url.endswith(".pdf") else response.content.decode()
    client.logout()

    # The public disclosure page and the annual report.
    for url in ("/disclosure/?year=2025", "/disclosure/annual-report.pdf?year=2025"):
        response = client.get(url)
        assert response.status_code == 200, url
        outputs[url] = _pdf_text(response.content) if url.endswith(".pdf") or "pdf?" in url else response.content.decode()

    outputs["logs"] = "\n".join(
        f"{record.name} {record.levelname} {record.getMessage()} {getattr(record, 'sql', '')}" for record in caplog.records
    )
    hits = []
    for where, text in outputs.items():
        flat = re.sub(r"\s+", "", text)
        for secret in secrets:
            if secret in text or secret in flat:
                hits.append(f"{where}: {secret[:4]}…")
    assert len(outputs) > 40
    assert not hits, f"{len(hits)} identity number(s) or phone(s) found: {hits[:20]}"
