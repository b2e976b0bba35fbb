"""The demo year's statements (charity.demo_statements): imported and matched by seed_demo, they reconcile with
the books at every month end for the bank (100201) and both platforms (100901, 100902); the bank's one unbooked
fee stays an item to book; a tampered statement is reported, never silently matched; a re-import writes nothing;
another trust's account and users without the officer's permission are refused."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from charity import chart, demo_statements, roles
from charity.errors import ReconciliationError
from charity.models import Settlement, StatementLine, StatementMatch, Trust
from charity.reconciliation import month_end, reconcile
from charity.services import month_reconcile, statement_import, statement_match_auto, trust_create
from ledger.models import Account
from ledger.services import system_user
from tests.conftest import grant

SMALL = ["--beneficiaries", "30", "--donations", "300", "--seed", "3", "--year", "2025", "--no-progress"]
END = dt.date(2025, 12, 31)
ACCOUNTS = (chart.BANK, chart.WECHAT, chart.ALIPAY)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", *SMALL, stdout=io.StringIO())
    trust = Trust.objects.get()
    officer = get_user_model().objects.get(username="officer")
    return trust, officer


def account(trust, code):
    return Account.objects.get(book=trust.book, code=code)


def test_every_month_of_the_bank_and_both_platforms_reconciles(demo):
    trust, officer = demo
    assert Settlement.objects.filter(channel="wechat").count() > 20 and Settlement.objects.filter(
        channel="alipay").count() > 20
    in_transit = 0
    for code in ACCOUNTS:
        acc = account(trust, code)
        assert StatementLine.objects.filter(account=acc).exists()
        for month in range(1, 13):
            rec = reconcile(acc, month_end(dt.date(2025, month, 1)))
            assert rec.agrees, (code, month, rec.adjusted_book, rec.adjusted_statement)
            in_transit += len(rec.book_items)
            month_reconcile(account=acc, month=f"2025-{month:02d}", user=officer)
    assert in_transit > 0  # gifts of a month's last day reach the bank on the first of the next
    # the one bank fee the books lack is the only item the bank has at the year end: the officer books it
    rec = reconcile(account(trust, chart.BANK), END)
    assert [(i.amount, i.description) for i in rec.bank_items] == [(-600, "短信通知服务费")]
    # the platforms pay out weekly: what is left in clearing at the year end is a few days' gifts
    for code in (chart.WECHAT, chart.ALIPAY):
        rec = reconcile(account(trust, code), END)
        assert rec.bank_items == [] and rec.book_items == []
        paid_out = sum(s.gross for s in Settlement.objects.filter(channel="wechat" if code == chart.WECHAT
                                                                     else "alipay"))
        assert 0 <= rec.book_balance < paid_out * 100 / 20
    # re-importing the same statements writes nothing
    lines = StatementLine.objects.count()
    for code, fmt, data in demo_statements.statements(trust, END):
        result = statement_import(trust=trust, account=account(trust, code), data=data, fmt=fmt, user=officer)
        assert (result.errors, result.created) == ([], 0) and result.skipped > 0
    assert StatementLine.objects.count() == lines


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _bytes(rows) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _first_data(rows, date_header):
    header = next(i for i, r in enumerate(rows) if date_header in [c.strip("`") for c in r])
    return header, header + 1


def test_a_tampered_statement_is_reported_not_matched(demo):
    trust, officer = demo
    files = {code: (fmt, data) for code, fmt, data in demo_statements.statements(trust, END)}
    StatementMatch.objects.all().delete()
    StatementLine.objects.all().delete()

    def imported(code, rows):
        fmt = files[code][0]
        return statement_import(trust=trust, account=account(trust, code), data=_bytes(rows), fmt=fmt, user=officer)

    # statements with a balance column (the bank's, Alipay's): the running balance gives the tampering away
    for code, date_header, amount_col in ((chart.BANK, "交易日期", "贷方发生额"),
                                          (chart.ALIPAY, "发生时间", "收入金额（+元）")):
        rows = _rows(files[code][1])
        header, first = _first_data(rows, date_header)
        column = rows[header].index(amount_col)
        # a line inside the year (the first line has no balance before it to check against)
        target = [i for i in range(first + 1, len(rows)) if len(rows[i]) > column and rows[i][column]][10]
        changed = [list(r) for r in rows]
        changed[target][column] = str(Decimal(changed[target][column]) + 1)
        result = imported(code, changed)
        assert [e.column for e in result.errors] == ["balance"], (code, result.errors)
        missing = rows[:target] + rows[target + 1:]
        result = imported(code, missing)
        assert result.errors and "a line is missing or repeated" in result.errors[0].message
        doubled = rows[:target + 1] + [rows[target]] + rows[target + 1:]
        result = imported(code, doubled)
        assert any("the same line as row" in e.message for e in result.errors)
        assert not StatementLine.objects.filter(account=account(trust, code)).exists()

    # the WeChat bill prints no balance: a changed amount and a missing line are left unmatched, as items
    wechat = account(trust, chart.WECHAT)
    rows = _rows(files[chart.WECHAT][1])
    header, first = _first_data(rows, "交易时间")
    amount_col = rows[header].index("应结订单金额")
    gift_rows = [i for i in range(first, len(rows)) if len(rows[i]) > amount_col and "SUCCESS" in rows[i][6]]
    changed_at, dropped_at = gift_rows[3], gift_rows[10]
    doubled = rows[:first + 1] + [rows[first]] + rows[first + 1:]
    assert any("the same line as row" in e.message for e in imported(chart.WECHAT, doubled).errors)
    tampered = [list(r) for r in rows]
    amount = tampered[changed_at][amount_col].lstrip("`")
    tampered[changed_at][amount_col] = f"`{int(float(amount)) + 1}.00"
    order_changed = tampered[changed_at][4].lstrip("`")
    order_dropped = rows[dropped_at][4].lstrip("`")
    del tampered[dropped_at]
    assert imported(chart.WECHAT, tampered).errors == []
    statement_match_auto(account=wechat, user=officer)
    assert StatementLine.objects.get(account=wechat, order_id=order_changed).match is None
    rec = reconcile(wechat, END)
    assert [i.reference for i in rec.bank_items] == [StatementLine.objects.get(order_id=order_changed).reference]
    refs = {i.reference for i in rec.book_items}
    from charity.models import Donation

    assert {Donation.objects.get(order_id=order_changed).external_id,
            Donation.objects.get(order_id=order_dropped).external_id} <= refs


def test_another_trusts_account_and_other_roles_are_refused(demo):
    trust, officer = demo
    other = trust_create(code="B", name="乙信托", user=system_user())
    (code, fmt, data), *_ = demo_statements.statements(trust, END)
    with pytest.raises(ReconciliationError, match="not an account of trust"):  # even for the operator
        statement_import(trust=trust, account=account(other, code), data=data, fmt=fmt, user=system_user())
    with pytest.raises(PermissionDenied):  # the demo's officer holds no role in trust B
        statement_import(trust=trust, account=account(other, code), data=data, fmt=fmt, user=officer)
    users = get_user_model().objects
    outsider = grant(users.create_user("officer-b"), roles.OFFICER, other)
    for user in (outsider, users.get(username="auditor"), users.get(username="approver")):
        with pytest.raises(PermissionDenied):
            statement_import(trust=trust, account=account(trust, code), data=data, fmt=fmt, user=user)
        with pytest.raises(PermissionDenied):
            statement_match_auto(account=account(trust, code), user=user)
        with pytest.raises(PermissionDenied):
            month_reconcile(account=account(trust, code), month="2025-01", user=user)
    assert not StatementLine.objects.filter(account__book=other.book).exists()
