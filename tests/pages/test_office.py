"""The office screens: a CSV import shows every bad row and writes nothing; a good file imports; closing a month."""

from ledger.services import system_user
import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from charity import roles
from charity.models import Donor
from charity.services import trust_create
from ledger.models import Book
from tests.conftest import grant


@pytest.fixture
def staff(db, django_user_model):
    trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托")
    made = {}
    for name, role in (("officer", roles.OFFICER), ("approver", roles.APPROVER)):
        user = django_user_model.objects.create_user(name, password="pw-12345-x")
        grant(user, role)
        made[name] = user
    return made


def _upload(client, text: str, **extra):
    data = {"kind": "donors", "file": SimpleUploadedFile("donors.csv", text.encode("utf-8"), "text/csv"), **extra}
    return client.post("/office/import/", data)


def test_import_shows_every_bad_row_and_writes_nothing(client, staff):
    client.force_login(staff["officer"])
    response = _upload(client, "external_id,kind,name\nD-1,individual,王芳\nD-2,robot,李娜\nD-3,individual,\n")
    assert response.status_code == 400
    text = response.content.decode()
    assert "robot" in text and 'id="row-errors"' in text
    assert text.count("<tr><td class=\"num\">") == 2  # rows 3 and 4
    assert not Donor.objects.exists()


def test_import_good_file_and_dry_run(client, staff):
    client.force_login(staff["officer"])
    dry = _upload(client, "external_id,kind,name\nD-1,individual,王芳\n", dry_run="1")
    assert dry.status_code == 200 and not Donor.objects.exists()
    done = _upload(client, "external_id,kind,name\nD-1,individual,王芳\n")
    assert done.status_code == 200 and 'id="import-ok"' in done.content.decode()
    assert Donor.objects.get().name == "王芳"


def test_close_a_month(client, staff):
    client.force_login(staff["approver"])
    response = client.post("/office/close/", {"month": "2026-01"})
    assert response.status_code == 302
    assert str(Book.objects.get().closed_through) == "2026-01-31"
    again = client.post("/office/close/", {"month": "2026-01"}, follow=True)
    assert "already closed" in again.content.decode()
    client.force_login(staff["officer"])
    assert client.post("/office/close/", {"month": "2026-02"}).status_code == 403


def test_close_a_year_from_the_page(client, staff, django_user_model):
    """The approver closes 2025 on the close page, as `close_year 2025` does: refused, with the first open month
    named, while a month is open; then closed (a gift of 100.00 to GEN closes to 3101, the year is listed); a second
    time, nothing to do. The officer (no close_periods) and another trust's approver are refused."""
    import datetime as dt
    from decimal import Decimal

    from charity.models import Trust
    from charity.services import donation_record
    from ledger.models import Fund, JournalEntry, YearClose

    trust = Trust.objects.get(code="CT")
    gen = Fund.objects.get(book=trust.book, code="GEN")
    donation_record(trust=trust, external_id="G1", date=dt.date(2025, 6, 1), amount=Decimal("100.00"), fund=gen,
                    channel="bank", user=system_user())
    client.force_login(staff["approver"])
    assert client.post("/office/close/", {"month": "2025-05"}).status_code == 302
    early = client.post("/office/close/", {"action": "year", "year": "2025"}, follow=True).content.decode()
    assert "2025-06" in early and not YearClose.objects.exists()
    bad = client.post("/office/close/", {"action": "year", "year": "25"}, follow=True).content.decode()
    assert "year:" in bad and not YearClose.objects.exists()
    assert client.post("/office/close/", {"month": "2025-12"}).status_code == 302
    done = client.post("/office/close/", {"action": "year", "year": "2025"}, follow=True)
    assert done.status_code == 200 and YearClose.objects.get(book=trust.book).year == 2025
    closing = JournalEntry.objects.filter(book=trust.book, closing=True)
    assert closing.count() == 1
    assert {(leg.account.code, leg.debit_cny, leg.credit_cny) for leg in closing.get().legs.all()} == {
        ("410101", 10000, 0), ("3101", 0, 10000)}
    assert 'id="closed-years"' in done.content.decode() and "<td>2025</td>" in done.content.decode()
    again = client.post("/office/close/", {"action": "year", "year": "2025"}, follow=True).content.decode()
    assert closing.count() == 1 and "2025" in again

    client.force_login(staff["officer"])
    assert client.post("/office/close/", {"action": "year", "year": "2026"}).status_code == 403
    other = trust_create(user=system_user(), code="OT", name="另一信托")
    outsider = django_user_model.objects.create_user("other-approver", password="pw-12345-x")
    grant(outsider, roles.APPROVER, trust=other)
    client.force_login(outsider)
    client.post("/office/close/", {"action": "year", "year": "2025"})
    assert YearClose.objects.filter(book=other.book).count() == 0 and YearClose.objects.count() == 1
