"""Abuse from outside: password guessing, floods of the token endpoint, huge rejected imports, a foreign page
script, and values outside what a trust's books can hold (currencies, dates)."""

from ledger.services import system_user
from tests.conftest import grant
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


# -- 3. a rejected import lists its first errors and counts the rest ---------------------------------------------


@pytest.fixture
def office(db, django_user_model):
    from django.contrib.auth.models import Group

    from charity import roles
    from charity.services import trust_create

    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托")
    officer = django_user_model.objects.create_user("officer", password="pw-officer-1")
    grant(officer, roles.OFFICER)
    return trust, officer


def _huge_header() -> bytes:
    return (",".join(f"c{n}" for n in range(200_000)) + "\n").encode()


def _large_bad_file() -> bytes:
    # 1.2 MB: 300 donors whose kind is 4,000 characters of nonsense, each echoed by its error message.
    rows = "".join(f"D-{n},{'x' * 4000},name {n}\n" for n in range(300))
    return ("external_id,kind,name\n" + rows).encode()


def test_a_huge_header_lists_the_first_errors_and_counts_the_rest(office):
    from charity.importers import importer_class
    from ledger.csvio import MAX_LISTED_ERRORS, run_import

    trust, officer = office
    result = run_import(importer_class("donors")(book=trust.book, user=officer), _huge_header())
    assert not result.ok
    assert result.error_count == 200_003  # every unknown column, and the three required ones missing
    assert len(result.errors) == MAX_LISTED_ERRORS == 100
    assert result.errors == sorted(result.errors)
    assert str(result.errors[0]).startswith("row 1, column ")
    assert result.more_errors_line == "... and 199,903 more errors"


def test_the_office_page_lists_a_bounded_page_for_a_large_bad_file(client, office):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from charity.models import Donor

    trust, officer = office
    client.force_login(officer)
    for data, more in ((_huge_header(), "199,903"), (_large_bad_file(), "200")):
        upload = SimpleUploadedFile("donors.csv", data, "text/csv")
        response = client.post("/office/import/", {"kind": "donors", "file": upload, "language": "en"},
                               HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400
        text = response.content.decode()
        assert len(response.content) < 100_000, len(response.content)
        assert text.count('<tr><td class="num">') == 100
        assert 'id="more-errors"' in text and more in text
    assert not Donor.objects.exists()


def test_the_command_lists_the_first_errors_and_counts_the_rest(office, tmp_path, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from charity.models import Donor

    trust, officer = office
    path = tmp_path / "donors.csv"
    path.write_bytes(_large_bad_file())
    with pytest.raises(CommandError, match=r"300 problem\(s\) in 300 row\(s\); nothing was imported"):
        call_command("import_csv", "donors", str(path), "--user", "officer")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 101
    assert err[0].startswith("donors.csv: row 2, column kind: 'xxxx")
    assert err[-1] == "donors.csv: ... and 200 more errors"
    assert sum(len(line) for line in err) < 50_000
    assert not Donor.objects.exists()


# -- 5. currencies and dates the books can hold ---------------------------------------------------------------


@pytest.fixture
def books(db, django_user_model):
    """A trust with GEN, an officer (API client), and a gift to read back."""
    from django.contrib.auth.models import Group

    from charity import roles
    from charity.services import trust_create
    from ledger.models import Fund

    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托")
    officer = django_user_model.objects.create_user("officer", password="pw-officer-1")
    grant(officer, roles.OFFICER)
    api = APIClient()
    api.force_authenticate(officer)
    return trust, officer, Fund.objects.get(book=trust.book, code="GEN"), api


def _gift(books, **changes):
    from decimal import Decimal

    from charity.services import donation_record

    trust, officer, gen, _ = books
    gift = dict(trust=trust, external_id="DN-1", date=dt.date(2026, 3, 2), amount=Decimal("100.00"), fund=gen,
                channel="bank", user=officer)
    gift.update(changes)
    donation, _created = donation_record(**gift)
    return donation


def _api_gift(books, **changes):
    trust, _, _, api = books
    body = {"external_id": "DN-1", "date": "2026-03-02", "amount": "100.00", "fund": "GEN", "channel": "bank"}
    body.update(changes)
    return api.post(f"/api/v1/trusts/{trust.code}/donations/", body, format="json")


def _refused(response, field):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    error = response.json()["error"]
    assert error["field"] == field, error
    return error["message"]


@pytest.mark.parametrize("code", ["XXX", "XAU", "XAG", "XTS", "XDR", "CHE", "USN", "HRK", "VEF", "CNH"])
def test_only_active_iso_currencies_are_accepted(books, code):
    from decimal import Decimal

    from charity.errors import CharityError
    from charity.models import Donation
    from ledger import errors
    from ledger import services as ledger
    from ledger.models import Account

    with pytest.raises(CharityError) as refused:
        _gift(books, currency=code, fx_rate=Decimal("2"))
    assert refused.value.field == "currency" and "ISO 4217" in refused.value.message
    assert "ISO 4217" in _refused(_api_gift(books, currency=code, fx_rate="2"), "currency")
    # The ledger's own door refuses it too.
    trust, officer, gen, _ = books
    bank = Account.objects.get(book=trust.book, code="100201")
    income = Account.objects.get(book=trust.book, code="410101")
    with pytest.raises(errors.UnknownCurrency):
        ledger.entry_post(book=trust.book, date=dt.date(2026, 3, 2), memo="x", user=officer, fx_rate=Decimal("2"),
                          legs=[ledger.Dr(bank, gen, Decimal("1"), code), ledger.Cr(income, gen, Decimal("1"), code)])
    assert not Donation.objects.exists()


def test_active_currencies_still_pass(books):
    from decimal import Decimal

    assert _gift(books, external_id="DN-U", currency="USD", fx_rate=Decimal("7.1")).amount_cny == Decimal("710.00")
    assert _gift(books, external_id="DN-X", currency="XOF", fx_rate=Decimal("0.012")).amount_cny == Decimal("1.20")


def test_the_importer_refuses_a_metal_and_an_out_of_range_date(books):
    from charity.importers import importer_class
    from charity.models import Donation
    from ledger.csvio import run_import

    trust, officer, _, _ = books
    csv_text = ("external_id,date,amount,currency,fx_rate,channel,fund_code\n"
                "DN-1,2026-03-02,10,XAU,4000,bank,GEN\n"
                "DN-2,1948-12-31,10,,,bank,GEN\n")
    result = run_import(importer_class("donations")(book=trust.book, user=officer), csv_text.encode())
    assert [str(e) for e in result.errors] == [
        "row 2, column currency: 'XAU' is not an active ISO 4217 currency (not a metal, fund, test or withdrawn code)",
        "row 3, column date: date 1948-12-31 is outside the books' range, 1949-01-01 to 2100-12-31",
    ]
    assert not Donation.objects.exists()


def test_a_gift_dated_before_the_books_is_refused(books):
    from charity.errors import CharityError
    from charity.models import Donation

    with pytest.raises(CharityError) as refused:
        _gift(books, date=dt.date(1, 1, 1))
    assert refused.value.field == "date" and "0001-01-01 is outside the books' range" in refused.value.message
    assert "outside the books' range" in _refused(_api_gift(books, date="0001-01-01"), "date")
    assert not Donation.objects.exists()


def test_query_and_report_dates_out_of_range_are_a_400_naming_the_parameter(books):
    trust, _, _, api = books
    base = f"/api/v1/trusts/{trust.code}"
    assert "9999-12-31" in _refused(api.get(f"{base}/accounts/?as_of=9999-12-31"), "as_of")
    assert api.get(f"{base}/accounts/?as_of=2026-03-02").status_code == 200
    _refused(api.get(f"{base}/entries/?date_from=0001-01-01"), "date_from")
    _refused(api.get(f"{base}/reports/trial-balance/?as_of=0001-01-01&format=json"), "as_of")
    _refused(api.get(f"{base}/reports/journal/?from=0001-01-01&to=2026-01-01&format=json"), "from")
    _refused(api.get(f"{base}/reports/activities/?year=9999&format=json"), "year")


def test_the_public_annual_report_refuses_a_year_out_of_range(books, client):
    response = client.get("/disclosure/annual-report.pdf?year=9999")
    assert response.status_code == 400
    assert "9999" in response.content.decode()


def test_the_report_command_refuses_a_date_out_of_range(books, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="outside the books' range"):
        call_command("report", "trial-balance", "--as-of", "0001-01-01", "--format", "json")


def test_a_foreign_gift_that_rounds_to_nothing_is_refused_for_that_reason(books):
    from decimal import Decimal

    from charity.errors import CharityError
    from charity.models import Donation

    with pytest.raises(CharityError) as refused:
        _gift(books, amount=Decimal("0.01"), currency="JPY", fx_rate=Decimal("0.048"))
    assert refused.value.field == "amount"
    assert "0.01 JPY rounds to 0.00 CNY at rate 0.048" in refused.value.message
    assert "duplicate" not in refused.value.code
    message = _refused(_api_gift(books, amount="0.01", currency="JPY", fx_rate="0.048"), "amount")
    assert "rounds to 0.00 CNY at rate 0.048" in message
    assert not Donation.objects.exists()


# -- 4. Content-Security-Policy on every page; Swagger UI from our own static files -----------------------------


def _policy(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"{response.status_code} without a Content-Security-Policy"
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def test_every_route_sends_the_content_security_policy(books, django_user_model):
    from django.urls import reverse

    from tests.api.test_authorization_matrix import MATRIX

    admin = django_user_model.objects.create_superuser("root", password="pw-root-12345")
    anonymous, signed_in = Client(), Client()
    signed_in.force_login(admin)
    # Rows that name a record by a placeholder pk (MANUAL, ATTACHMENT, ...) get the id of no record: a 404 is a
    # route too.
    def pk(key, value):
        return 999999 if key == "pk" and isinstance(value, str) and not value.isdigit() else value

    urls = [reverse(name, kwargs={k: pk(k, v) for k, v in kwargs.items()}) for name, (kwargs, _) in
            sorted(MATRIX.items())]
    urls += ["/admin/", "/admin/charity/donation/", "/admin/login/", "/no/such/page/", "/api/v1/no/such/",
             "/static/charity/site.css", "/api/docs/?script="]
    assert len(urls) > 50
    for url in urls:
        for client in (anonymous, signed_in):
            response = client.get(url)
            policy = _policy(response)
            assert policy["default-src"] == ["'self'"], url
            assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"], url
            assert policy["frame-ancestors"] == ["'none'"], url


def test_pages_hold_no_inline_script_or_style(books, django_user_model, client):
    """What the policy would block: an inline <script>, <style>, style= or on...= attribute in our pages."""
    import re

    from django.contrib.auth.models import Group

    from charity import roles

    trust, officer, _, _ = books
    grant(officer, roles.AUDITOR)
    client.force_login(officer)
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.I)
    for url in ("/", "/disclosure/", "/auditor/", "/office/import/", "/office/approvals/", "/accounts/login/", "/api/docs/", "/admin/"):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        text = response.content.decode()
        found = [m.group(0) for m in inline.finditer(text) if "application/json" not in m.group(0)]
        assert not found, (url, found)


def test_api_docs_load_swagger_ui_from_this_origin_only(client, db):
    import re

    response = client.get("/api/docs/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "swagger-ui-bundle.js" in text and "cdn" not in text.lower()
    references = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert references and all(ref.startswith("/") and not ref.startswith("//") for ref in references), references
    assert not re.search(r"https?://", text)
    for ref in references:  # every asset is there, from the sidecar package or our own static files
        assert client.get(ref).status_code == 200, ref
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert '"validatorUrl": null' in script.content.decode()
