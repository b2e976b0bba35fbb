"""Privacy: one donor never reads another's gifts, and no identity number or phone leaves the registry.

* Donor B asking for donor A's gift page or receipt gets 404 (not 403: existence is not revealed), and B's own
  statement holds nothing of A's.
* A demo run read as every role: officer, approver, auditor, donor, anonymous, and a holder of
  ``beneficiaries.view_pii`` as the positive control. Every API endpoint and admin page that shows beneficiaries
  or households (lists and each record), every report in every format (auditor), every donor page and PDF
  (the demo donor), the public disclosure page and annual report. Each answer has the exact status the role
  should get; a role without the permission never sees a full identity number, phone or birth date, and the
  PII holder does see them (so a mask switched off for everyone, or on for everyone, fails). Logs are captured
  with Django's SQL logging forced on (every statement and its parameters at DEBUG): they show the reads
  happened, and hold no identity number or phone.
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
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from beneficiaries.models import Beneficiary, Household, PiiAccessLog
from charity import chart, roles
from charity.models import Donation, Donor, Receipt, Trust
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


# -- no identity number or phone where a role may not see it, nor in logs --------------------------------------

ROLES = ("officer", "approver", "auditor", "donor", "anonymous", "caseworker")  # caseworker: view_pii
READERS = {"officer", "approver", "auditor", "caseworker"}  # charity.read_books
ADMIN_READERS = {"caseworker"}  # the admin is for administrators only (the caseworker is one, with view_pii)
SAMPLE = 4  # records of each kind opened one by one
KINDS = ("id_number", "phone")
KINDS_ON_PEOPLE = ("id_number", "phone", "birth_date")


def _shows_people(where: str) -> bool:
    return "/beneficiar" in where or "/household" in where


def _secrets() -> dict[str, str]:
    """Every full identity number, phone and birth date, with what it is."""
    values = {}
    for id_number, phone, birth in Beneficiary.objects.values_list("id_number", "phone", "birth_date"):
        values[id_number] = "id_number"
        if phone:
            values[phone] = "phone"
        values[birth.isoformat()] = "birth_date"
    return values


def _found(text: str, secrets: dict[str, str], kinds=("id_number", "phone", "birth_date")) -> list[str]:
    flat = re.sub(r"\s+", "", text)
    return [f"{kind} {value[:2]}…" for value, kind in secrets.items() if kind in kinds and (value in text or value in flat)]


def _body(response) -> str:
    data = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    if data.startswith(b"%PDF"):
        return _pdf_text(data)
    return data.decode("utf-8", errors="replace")


def _clients(users) -> dict:
    """A browser (pages, admin) and an API client per role, signed in the ordinary way."""
    made = {}
    for role in ROLES:
        browser, api = Client(), APIClient()
        if role != "anonymous":
            browser.force_login(users[role])
            api.force_login(users[role])
        made[role] = (browser, api)
    return made


def _expected(role: str, kind: str) -> int:
    """The exact answer each role gets: 200 where it may read, the precise refusal otherwise."""
    if kind == "api":
        return 200 if role in READERS else 403 if role != "anonymous" else 401
    if kind == "admin":
        # The admin is for administrators only: everyone else is sent to its sign-in.
        return 200 if role in ADMIN_READERS else 302
    raise AssertionError(kind)


@pytest.mark.django_db(transaction=True)
def test_every_role_reads_exactly_what_it_may(caplog, django_user_model):
    call_command("seed_demo", *SEED, stdout=io.StringIO())
    secrets = _secrets()
    assert list(secrets.values()).count("id_number") == Beneficiary.objects.count() >= 60
    trust = Trust.objects.get()
    users = {u.username: u for u in get_user_model().objects.filter(username__in=ROLES)}
    caseworker = django_user_model.objects.create_user("caseworker", is_staff=True)
    caseworker.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))  # to read the admin too
    caseworker.user_permissions.add(  # view_pii: granted by name, no role holds it
        Permission.objects.get(content_type__app_label="beneficiaries", codename="view_pii"))
    caseworker = django_user_model.objects.get(pk=caseworker.pk)
    users["caseworker"] = caseworker
    assert caseworker.has_perm("beneficiaries.view_pii")
    assert not any(users[r].has_perm("beneficiaries.view_pii") for r in ROLES if r not in ("caseworker", "anonymous"))

    # Logs from here on (the seeding above wrote the numbers, in INSERTs, on purpose): Django's SQL log forced on
    # as DEBUG would, and every logger at DEBUG into caplog.
    # (The "django" logger sits at INFO: each logger is set to DEBUG by name, or the SQL never reaches caplog.)
    for name in ("", "django", "django.db.backends", "django.request", "charity", "ledger", "beneficiaries"):
        caplog.set_level(logging.DEBUG, logger=name)
    connection.force_debug_cursor = True  # what settings.DEBUG does for the SQL log, without DEBUG's error pages
    try:
        outputs = _read_everything(trust, users, secrets)
    finally:
        connection.force_debug_cursor = False

    sql = [r for r in caplog.records if r.name == "django.db.backends" and getattr(r, "sql", None)]
    assert any("beneficiaries_beneficiary" in r.sql for r in sql), "the SQL log captured nothing"
    logs = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {getattr(r, 'sql', '')} {getattr(r, 'params', '')}"
                     for r in caplog.records)
    assert not _found(logs, secrets, kinds=KINDS), _found(logs, secrets, kinds=KINDS)[:10]

    # Birth dates are looked for where people are shown (elsewhere a date is a gift's or a payment's).
    hits = [f"{role} {where}: {hit}" for (role, where), text in outputs.items() if role != "caseworker"
            for hit in _found(text, secrets, kinds=KINDS_ON_PEOPLE if _shows_people(where) else KINDS)]
    assert not hits, f"{len(hits)} full identity number(s), phone(s) or birth date(s) shown: {hits[:20]}"
    # The positive control: the same pages show the PII holder everything, and each unmasked view is logged.
    shown_to_holder = "\n".join(text for (role, _where), text in outputs.items() if role == "caseworker")
    for b in Beneficiary.objects.order_by("external_id")[:SAMPLE]:
        assert b.id_number in shown_to_holder and b.birth_date.isoformat() in shown_to_holder
        assert not b.phone or b.phone in shown_to_holder
    assert PiiAccessLog.objects.filter(user=caseworker).count() >= Beneficiary.objects.count()
    assert not PiiAccessLog.objects.exclude(user=caseworker).exists()


def _read_everything(trust, users, secrets) -> dict:
    outputs: dict[tuple[str, str], str] = {}
    clients = _clients(users)
    base = f"/api/v1/trusts/{trust.code}"
    people = list(Beneficiary.objects.order_by("external_id").values_list("pk", "external_id")[:SAMPLE])
    homes = list(Household.objects.order_by("external_id").values_list("pk", "external_id")[:SAMPLE])
    api_urls = [f"{base}/beneficiaries/?page_size=200", f"{base}/households/?page_size=200",
                f"{base}/disbursements/?page_size=200", f"{base}/batches/"]
    api_urls += [f"{base}/beneficiaries/{ext}/" for _pk, ext in people]
    api_urls += [f"{base}/households/{ext}/" for _pk, ext in homes]
    admin_urls = ["/admin/beneficiaries/beneficiary/", "/admin/beneficiaries/household/",
                  "/admin/beneficiaries/disbursement/", "/admin/beneficiaries/disbursementbatch/"]
    admin_urls += [f"/admin/beneficiaries/beneficiary/{pk}/change/" for pk, _ext in people]
    admin_urls += [f"/admin/beneficiaries/household/{pk}/change/" for pk, _ext in homes]
    for role in ROLES:
        browser, api = clients[role]
        for kind, urls, client in (("api", api_urls, api), ("admin", admin_urls, browser)):
            for url in urls:
                response = client.get(url)
                assert response.status_code == _expected(role, kind), (role, url, response.status_code)
                outputs[(role, url)] = _body(response)
        listed = outputs[(role, api_urls[0])]
        if role in READERS:  # the whole registry was read, not an empty page
            assert listed.count('"external_id"') >= Beneficiary.objects.count(), role

    # Every report in every format, as the auditor and as the PII holder (the register is masked for both).
    donor_id = Donor.objects.filter(donations__isnull=False).exclude(external_id="").first().external_id
    for role in ("auditor", "caseworker"):
        api = clients[role][1]
        for name, report in sorted(REPORTS.items()):
            query = {"year": "2025"} if report.period else {}
            if "donor" in report.options:
                query["donor"] = donor_id
            if "account" in report.options:
                query["account"] = chart.BANK
            for fmt in report.formats:
                response = api.get(f"{base}/reports/{name}/", {**query, "format": fmt})
                assert response.status_code == 200, (role, name, fmt, response.content[:300])
                outputs[(role if role == "auditor" else "caseworker-report", f"report {name}.{fmt}")] = _body(response)
    assert "**" in outputs[("auditor", "report beneficiary-register.csv")]
    assert not _found(outputs[("caseworker-report", "report beneficiary-register.pdf")], secrets, kinds=KINDS)

    # Every donor-facing page and PDF, as the demo donor: each gift's page, and its receipt unless refunded in full.
    browser = clients["donor"][0]
    donor = Donor.objects.get(user__username="donor")
    gifts = list(Donation.objects.filter(donor=donor))
    assert gifts
    for url in ("/my/", "/my/statement.pdf?year=2025", "/my/statement.pdf"):
        response = browser.get(url)
        assert response.status_code == 200, url
        outputs[("donor", url)] = _body(response)
    for gift in gifts:
        has_receipt = Receipt.objects.filter(donation=gift, voided_at__isnull=True).exists()
        for url, expected in ((f"/my/gifts/{gift.external_id}/", 200),
                              (f"/my/gifts/{gift.external_id}/receipt.pdf", 200 if has_receipt else 404)):
            response = browser.get(url)
            assert response.status_code == expected, (url, response.status_code)
            outputs[("donor", url)] = _body(response)

    # The public disclosure page and annual report, signed in or not.
    for role in ("anonymous", "donor"):
        for url in ("/disclosure/?year=2025", "/disclosure/annual-report.pdf?year=2025"):
            response = clients[role][0].get(url)
            assert response.status_code == 200, url
            outputs[(role, url)] = _body(response)
    return outputs
