"""The platform payouts page: the officer records a payout of the unsettled gifts up to a date, or by a platform
statement's payout line; everyone of the trust reads the list; nobody else records or reads."""

import datetime as dt
from decimal import Decimal

import pytest

from charity import chart, roles
from charity.models import Settlement
from charity.services import donation_record, statement_import, trust_create
from ledger.models import Account, Fund, Leg
from ledger.services import system_user
from tests.conftest import grant

PAGE = "/office/settlements/?trust=CT"


@pytest.fixture
def world(db, officer, approver, django_user_model):
    trust = trust_create(code="CT", name="关爱信托", user=system_user())
    gen = Fund.objects.get(book=trust.book, code="GEN")
    for ext, day, amount, channel in (("W1", 2, "100.00", "wechat"), ("W2", 3, "50.00", "wechat"),
                                      ("W3", 9, "30.00", "wechat"), ("A1", 2, "80.00", "alipay")):
        donation_record(trust=trust, external_id=ext, date=dt.date(2026, 3, day), amount=Decimal(amount), fund=gen,
                        channel=channel, order_id=f"O-{ext}", user=system_user())
    auditor = grant(django_user_model.objects.create_user("auditor"), roles.AUDITOR, trust)
    return {"trust": trust, "officer": officer, "approver": approver, "auditor": auditor}


def test_the_officer_records_a_payout_up_to_a_date(client, world):
    client.force_login(world["officer"])
    page = client.get(PAGE).content.decode()
    assert 'id="settlement-form"' in page and "180.00" in page  # WeChat's three gifts, unsettled
    response = client.post(PAGE, {"trust": "CT", "channel": "wechat", "up_to": "2026-03-08", "date": "2026-03-09",
                                  "reference": "WXS-1", "fee": "0.90"})
    assert response.status_code == 302
    settlement = Settlement.objects.get()
    assert (settlement.gross, settlement.fee, settlement.net) == (Decimal("150.00"), Decimal("0.90"),
                                                                  Decimal("149.10"))
    assert sorted(settlement.donations.values_list("donation__external_id", flat=True)) == ["W1", "W2"]
    assert "WXS-1" in client.get(PAGE).content.decode()
    # a fee not below the gross is refused on its field, nothing written
    response = client.post(PAGE, {"trust": "CT", "channel": "wechat", "up_to": "2026-03-10", "date": "2026-03-10",
                                  "reference": "WXS-2", "fee": "30.00"})
    assert response.status_code == 400 and 'id="error-fee"' in response.content.decode()
    assert Settlement.objects.count() == 1


def test_a_payout_by_a_platform_statement_line(client, world):
    trust, officer = world["trust"], world["officer"]
    wechat = Account.objects.get(book=trust.book, code=chart.WECHAT)
    bill = ("交易时间,微信订单号,商户订单号,交易状态,应结订单金额\n`2026-03-02 10:00:00,`T1,`O-W1,`SUCCESS,`100.00\n"
            "`2026-03-03 10:00:00,`T2,`O-W2,`SUCCESS,`50.00\n`2026-03-09 08:00:00,`WXS-9,`,`SETTLED,`-150.00\n")
    assert statement_import(trust=trust, account=wechat, data=bill.encode(), fmt="wechat", user=officer).errors == []
    client.force_login(officer)
    page = client.get(PAGE).content.decode()
    assert "WXS-9" in page
    line = wechat.statement_lines.get(reference="WXS-9")
    response = client.post(PAGE, {"trust": "CT", "line": str(line.pk), "fee": "0.90"})
    assert response.status_code == 302, response.content.decode()
    settlement = Settlement.objects.get()
    assert (settlement.reference, settlement.date, settlement.gross) == ("WXS-9", dt.date(2026, 3, 9),
                                                                         Decimal("150.00"))
    assert sum(lg.credit for lg in Leg.objects.filter(entry=settlement.entry, account=wechat)) == 15000


def test_a_payout_line_that_does_not_add_up_is_refused(client, world):
    trust, officer = world["trust"], world["officer"]
    wechat = Account.objects.get(book=trust.book, code=chart.WECHAT)
    bill = "交易时间,微信订单号,商户订单号,交易状态,应结订单金额\n`2026-03-10 08:00:00,`WXS-X,`,`SETTLED,`-999.00\n"
    statement_import(trust=trust, account=wechat, data=bill.encode(), fmt="wechat", user=officer)
    client.force_login(officer)
    line = wechat.statement_lines.get(reference="WXS-X")
    response = client.post(PAGE, {"trust": "CT", "line": str(line.pk), "fee": "1.00"})
    page = response.content.decode()
    assert response.status_code == 400 and "180.00" in page and "999.00" in page and "error-line" in page
    assert not Settlement.objects.exists()


def test_who_reads_and_who_records(client, world, django_user_model):
    post = {"trust": "CT", "channel": "wechat", "up_to": "2026-03-08", "date": "2026-03-09", "reference": "WXS-1",
            "fee": "0.90"}
    for user in (world["auditor"], world["approver"]):
        client.force_login(user)
        page = client.get(PAGE)
        assert page.status_code == 200 and 'id="settlement-form"' not in page.content.decode()
        assert client.post(PAGE, post).status_code == 403
    other = trust_create(code="OT", name="另一信托", user=system_user())
    outsider = grant(django_user_model.objects.create_user("officer-ot"), roles.OFFICER, other)
    client.force_login(outsider)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, post).status_code == 403
    client.logout()
    assert client.post(PAGE, post).status_code == 302  # to sign in
    assert not Settlement.objects.exists()
