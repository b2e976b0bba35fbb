"""The reconciliation pages (对账): the officer imports, matches, books, undoes and reconciles through the services;
everyone else of the trust reads; other trusts, donors and the anonymous are refused.

The book and statement are those of tests/charity/test_reconciliation.py (trust code CWCT): gifts of 10,000.00 and
2,000.00 and an expense of 300.00 in the bank account; the statement has them plus a bank fee of 15.00.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from charity import chart, roles
from charity.models import Expense, ExpenseRequest, ReconciledMonth, ReconciliationSetting, StatementLine
from charity.models import StatementMatch
from charity.services import donor_create, trust_create, trust_set_expense_threshold
from ledger.models import Leg
from ledger.services import system_user
from tests.charity.test_reconciliation import GENERIC, bank_book
from tests.conftest import grant

LIST = "/office/reconciliation/?trust=CWCT"
PAGE = f"/office/reconciliation/{chart.BANK}/?trust=CWCT&month=2026-01"


@pytest.fixture
def trust(db):
    return trust_create(user=system_user(), code="CWCT", name="关爱妇女儿童慈善信托")


@pytest.fixture
def world(trust, officer, approver, django_user_model):
    bank = bank_book(trust)
    auditor = grant(django_user_model.objects.create_user("auditor"), roles.AUDITOR, trust)
    return {"trust": trust, "bank": bank, "officer": officer, "approver": approver, "auditor": auditor}


def _file(text=GENERIC, name="statement.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def _import(client, text=GENERIC, follow=False, **extra):
    return client.post(PAGE, {"action": "import", "format": "generic", "file": _file(text), **extra}, follow=follow)


def test_the_officer_imports_matches_and_reconciles(client, world):
    client.force_login(world["officer"])
    assert "/office/reconciliation/" in client.get("/office/?trust=CWCT").content.decode()  # the nav
    listing = client.get(LIST).content.decode()
    assert f'id="account-{chart.BANK}"' in listing and f'id="account-{chart.WECHAT}"' in listing
    assert f'id="account-{chart.CASH}"' in listing and 'id="account-1002"' not in listing  # 明细 only

    dry = _import(client, dry_run="1", follow=True)
    assert "将导入" in dry.content.decode() and not StatementLine.objects.exists()
    response = _import(client)
    assert response.status_code == 302 and response["Location"].startswith(f"/office/reconciliation/{chart.BANK}/")
    assert StatementLine.objects.count() == 4
    page = client.get(PAGE).content.decode()
    assert page.count('name="line" value=') == 4 and page.count('name="leg" value=') == 3

    assert client.post(PAGE, {"action": "auto"}).status_code == 302
    assert StatementMatch.objects.count() == 3
    page = client.get(PAGE).content.decode()
    assert 'id="agrees"' in page and 'id="disagrees"' not in page
    assert "report=reconciliation&amp;account=100201&amp;as_of=2026-01-31&amp;format=pdf" in page
    report = client.get("/auditor/?trust=CWCT&report=reconciliation&account=100201&as_of=2026-01-31&format=csv")
    assert report.status_code == 200 and "ADJUSTED_STATEMENT" in report.content.decode("utf-8-sig")
    listing = client.get(LIST).content.decode()
    assert "2026-02-02" in listing  # the last statement date

    assert client.post(PAGE, {"action": "reconcile", "month": "2026-01"}).status_code == 302
    assert ReconciledMonth.objects.filter(account=world["bank"], month=dt.date(2026, 1, 1)).exists()
    first = StatementLine.objects.get(reference="B001").match
    refused = client.post(PAGE, {"action": "unmatch", "match": first.pk})
    assert refused.status_code == 400 and "2026-01 is reconciled" in refused.content.decode()
    assert StatementMatch.objects.filter(pk=first.pk).exists()
    assert 'id="month-reconciled"' in client.get(PAGE).content.decode()


def test_a_bad_file_shows_its_rows_and_writes_nothing(client, world):
    client.force_login(world["officer"])
    tampered = GENERIC.replace("2026-01-11,-300.00", "2026-01-11,-310.00")
    response = _import(client, tampered)
    html = response.content.decode()
    assert response.status_code == 400 and 'id="row-errors"' in html and "balance" in html
    assert not StatementLine.objects.exists()
    response = client.post(PAGE, {"action": "import", "format": "nope", "file": _file()})
    assert response.status_code == 400 and "unknown statement format" in response.content.decode()
    response = client.post(PAGE, {"action": "import", "format": "generic"})
    assert response.status_code == 400 and 'id="error"' in response.content.decode()
    assert not StatementLine.objects.exists()


def test_matching_by_hand_undo_and_the_window(client, world):
    client.force_login(world["officer"])
    text = ("date,amount,balance,counterparty,reference\n2026-01-11,-300.00,-300.00,x,B1\n"
            "2026-01-31,12000.00,11700.00,x,B2\n")
    assert _import(client, text).status_code == 302
    line = StatementLine.objects.get(reference="B2")
    gifts = list(Leg.objects.filter(account=world["bank"], debit__gt=0).order_by("date"))
    unequal = client.post(PAGE, {"action": "match", "line": [line.pk], "leg": [gifts[0].pk]})
    assert unequal.status_code == 400 and "add up to 12000.00" in unequal.content.decode()
    assert client.post(PAGE, {"action": "match", "line": [line.pk], "leg": ["x"]}).status_code == 400
    assert client.post(PAGE, {"action": "match", "line": [line.pk], "leg": [g.pk for g in gifts]}).status_code == 302
    match = StatementLine.objects.get(pk=line.pk).match
    assert match is not None and match.legs.count() == 2 and not match.automatic
    assert f'id="match-{match.pk}"' in client.get(PAGE).content.decode()
    assert client.post(PAGE, {"action": "unmatch", "match": match.pk}).status_code == 302
    assert StatementLine.objects.get(pk=line.pk).match is None

    assert client.post(PAGE, {"action": "days", "match_days": "0"}).status_code == 302
    assert ReconciliationSetting.objects.get(account=world["bank"]).match_days == 0
    assert client.post(PAGE, {"action": "days", "match_days": "40"}).status_code == 400
    assert client.post(PAGE, {"action": "days", "match_days": "soon"}).status_code == 400
    assert client.post(PAGE, {}).status_code == 400  # no action
    # a month outside the books' range: the page shows the latest month, the service refuses to reconcile it
    assert client.get(PAGE.replace("2026-01", "9999-12")).status_code == 200
    assert client.post(PAGE, {"action": "reconcile", "month": "9999-12"}).status_code == 400


def test_booking_a_fee_line_on_the_page(client, world):
    client.force_login(world["officer"])
    _import(client)
    client.post(PAGE, {"action": "auto"})
    fee = StatementLine.objects.get(reference="B003")
    wrong = client.post(PAGE, {"action": "book", "line": fee.pk, "kind": "interest"})
    assert wrong.status_code == 400 and "interest is money into the account" in wrong.content.decode()
    trust_set_expense_threshold(trust=world["trust"], threshold=Decimal("10.00"), user=system_user())
    waiting = client.post(PAGE, {"action": "book", "line": fee.pk, "kind": "bank_fee"}, follow=True)
    assert "须由另一位用户审批" in waiting.content.decode() and "已入账，待审批" in \
        waiting.content.decode()
    assert ExpenseRequest.objects.filter(status="draft").count() == 1
    trust_set_expense_threshold(trust=world["trust"], threshold=None, user=system_user())
    ExpenseRequest.objects.all().delete()
    assert client.post(PAGE, {"action": "book", "line": fee.pk, "kind": "bank_fee"}).status_code == 302
    assert Expense.objects.get(kind="bank_fee").amount.amount == Decimal("15.00")
    assert StatementLine.objects.get(pk=fee.pk).match is not None


@pytest.mark.parametrize("who", ["approver", "auditor"])
def test_approver_and_auditor_read_but_may_not_act(client, world, who):
    client.force_login(world[who])
    assert client.get(LIST).status_code == 200
    page = client.get(PAGE)
    assert page.status_code == 200 and 'id="statement-import"' not in page.content.decode()
    for data in ({"action": "import", "format": "generic", "file": _file()}, {"action": "auto"},
                 {"action": "reconcile", "month": "2026-01"}, {"action": "days", "match_days": "5"}):
        assert client.post(PAGE, data).status_code == 403
    assert not StatementLine.objects.exists() and not ReconciliationSetting.objects.exists()


def test_other_trusts_donors_and_the_anonymous_are_refused(client, world):
    other = trust_create(code="B", name="乙信托", user=system_user())
    outsider = grant(get_user_model().objects.create_user("officer-b"), roles.OFFICER, other)
    client.force_login(outsider)
    assert client.get(LIST).status_code == 403
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"action": "import", "format": "generic", "file": _file()}).status_code == 403
    # on their own trust's page, their own accounts only: a code that is no money account is 404
    assert client.get("/office/reconciliation/410101/?trust=B").status_code == 404
    donor_user = get_user_model().objects.create_user("donor")
    donor_create(by=system_user(), trust=world["trust"], kind="individual", name="甲", external_id="D-1",
                 user=donor_user)
    client.force_login(donor_user)
    assert client.get(LIST).status_code == 403 and client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"action": "auto"}).status_code == 403
    client.logout()
    assert client.get(PAGE).status_code == 302 and client.post(PAGE, {"action": "auto"}).status_code == 302
    assert not StatementLine.objects.exists()


def test_the_pages_read_in_a_bounded_number_of_queries(client, world, django_assert_max_num_queries):
    """Twenty more gifts, lines and matches add no query (the lines, legs and matches are read in one go each)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from charity.services import donation_record
    from ledger.models import Fund

    client.force_login(world["officer"])
    _import(client)
    client.post(PAGE, {"action": "auto"})
    with CaptureQueriesContext(connection) as few:
        client.get(PAGE)
    queries = len(few.captured_queries)  # read now: the next request resets the connection's log
    assert queries < 40
    gen = Fund.objects.get(book=world["trust"].book, code="GEN")
    rows = ["date,amount,balance,counterparty,reference"]
    for n in range(20):
        donation_record(trust=world["trust"], external_id=f"DN-X{n}", date=dt.date(2026, 2, 10), fund=gen,
                        amount=Decimal(f"{n + 1}.00"), channel="bank", user=system_user())
        rows.append(f"2026-02-10,{n + 1}.00,,x,X{n}")
    _import(client, "\n".join(rows) + "\n")
    client.post(PAGE, {"action": "auto"})
    assert StatementMatch.objects.count() == 23
    with django_assert_max_num_queries(queries):
        client.get(PAGE)
    with django_assert_max_num_queries(60):
        client.get(LIST)
