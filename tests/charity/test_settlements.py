"""Platform payouts (settlement_record), gifts' platform order ids, and matching a payout to both statements.

Worked example (WeChat Pay, payout WXS-0309 on 9 March 2026, fee 3.60 = 0.6% of 600.00):

    gift WX-A   GEN     100.00   order id 4200-A
    gift WX-B   SMILE   300.00   order id 4200-B
    gift WX-C   STUDY   200.00   order id 4200-C

    Cr 100901 WeChat clearing   GEN 100.00, SMILE 300.00, STUDY 200.00   (the gross, 600.00, as received)
    Dr 100201 bank              GEN  96.40, SMILE 300.00, STUDY 200.00   (the net, 596.40)
    Dr 540101 bank charges      GEN   3.60                                (the fee, borne by the general fund)
"""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from charity import chart, roles
from charity.errors import DuplicateExternalId, SettlementError
from charity.models import AuditEvent, Donation, SettledDonation, Settlement, StatementLine
from charity.reconciliation import reconcile
from charity.services import (
    donation_record, donation_refund, month_reconcile, settlement_record, statement_import, statement_match_auto,
    trust_create,
)
from ledger.models import Account, Fund, JournalEntry, Leg
from ledger.services import system_user
from tests.conftest import grant

PAYOUT = dt.date(2026, 3, 9)


def fen(text: str) -> int:
    return int(Decimal(text) * 100)


def gift(trust, ext, amount, fund="GEN", channel="wechat", day=dt.date(2026, 3, 5), order_id=""):
    return donation_record(trust=trust, external_id=ext, date=day, amount=Decimal(amount), channel=channel,
                           fund=Fund.objects.get(book=trust.book, code=fund), order_id=order_id,
                           user=system_user())[0]


@pytest.fixture
def gifts(trust):
    return [gift(trust, "WX-A", "100", "GEN", order_id="4200-A"), gift(trust, "WX-B", "300", "SMILE",
                                                                        order_id="4200-B"),
            gift(trust, "WX-C", "200", "STUDY", order_id="4200-C")]


def legs_of(entry):
    return sorted((leg.account.code, leg.fund.code, leg.debit - leg.credit)
                  for leg in Leg.objects.filter(entry=entry).select_related("account", "fund"))


def test_a_payout_is_one_entry_balanced_per_fund_the_fee_borne_by_gen(trust, gifts, officer, books):
    settlement, created = settlement_record(trust=trust, channel="wechat", date=PAYOUT, fee=Decimal("3.60"),
                                            reference="WXS-0309", order_ids=["4200-A", "4200-B", "4200-C"],
                                            user=officer)
    assert created and (settlement.gross, settlement.fee, settlement.net) == (Decimal("600"), Decimal("3.60"),
                                                                              Decimal("596.40"))
    assert legs_of(settlement.entry) == sorted([
        (chart.WECHAT, "GEN", -fen("100")), (chart.WECHAT, "SMILE", -fen("300")),
        (chart.WECHAT, "STUDY", -fen("200")),
        (chart.BANK, "GEN", fen("96.40")), (chart.BANK, "SMILE", fen("300")), (chart.BANK, "STUDY", fen("200")),
        (chart.BANK_FEES, "GEN", fen("3.60")),
    ])
    assert books.balance(chart.WECHAT) == 0 and books.balance(chart.BANK) == Decimal("596.40")
    assert books.balance(chart.BANK_FEES) == Decimal("3.60") and books.balance(chart.BANK, "SMILE") == 300
    assert set(SettledDonation.objects.filter(settlement=settlement).values_list("donation__external_id",
                                                                                  flat=True)) == {"WX-A", "WX-B", "WX-C"}
    assert AuditEvent.objects.filter(action="settlement recorded wechat WXS-0309", user=officer).count() == 1
    # the same payout again writes nothing
    entries = JournalEntry.objects.count()
    again, created = settlement_record(trust=trust, channel="wechat", date=PAYOUT, fee="3.60", reference="WXS-0309",
                                       donations=list(reversed(gifts)), user=officer)
    assert (again, created, JournalEntry.objects.count()) == (settlement, False, entries)


def test_a_payout_without_a_general_gift_takes_the_fee_from_gens_bank_money(trust, officer):
    gift(trust, "BK-1", "1000", "GEN", channel="bank")
    smile = gift(trust, "WX-S", "500", "SMILE", order_id="S1")
    settlement, _ = settlement_record(trust=trust, channel="wechat", date=PAYOUT, fee="3.00", reference="P1",
                                      donations=[smile], user=officer)
    assert legs_of(settlement.entry) == sorted([
        (chart.WECHAT, "SMILE", -fen("500")), (chart.BANK, "SMILE", fen("500")), (chart.BANK, "GEN", -fen("3")),
        (chart.BANK_FEES, "GEN", fen("3"))])
    assert settlement.net == Decimal("497.00")


def test_refusals(trust, gifts, officer):
    alipay = gift(trust, "AL-1", "80", channel="alipay", order_id="4200-A")  # the same order id, another channel
    late = gift(trust, "WX-L", "50", day=dt.date(2026, 3, 10), order_id="L")
    refunded = gift(trust, "WX-R", "60", order_id="R")
    donation_refund(donation=refunded, external_id="RF-1", date=dt.date(2026, 3, 6), reason="误付", user=officer)
    other = trust_create(code="B", name="乙信托", user=system_user())
    theirs = gift(other, "WX-X", "70", order_id="X")

    def refused(match, field, **kw):
        args = dict(trust=trust, channel="wechat", date=PAYOUT, fee="1.00", reference="P", user=officer)
        args.update(kw)
        with pytest.raises(SettlementError, match=match) as info:
            settlement_record(**args)
        assert info.value.field == field

    refused("came by alipay, not wechat", "donations", donations=[gifts[0], alipay])
    refused("not a gift of trust CWCT", "donations", donations=[theirs])
    refused("no wechat gift of trust CWCT has order id 'X'", "order_ids", order_ids=["X"])
    refused("was refunded", "donations", donations=[refunded])
    refused("dated 2026-03-10, after the payout", "donations", donations=[late])
    refused("below zero", "fee", donations=gifts, fee="-0.01")
    refused("not below the gross 600.00", "fee", donations=gifts, fee="600.00")
    refused("not below the gross", "fee", donations=gifts, fee="700")
    refused("more than two decimal places", "fee", donations=gifts, fee="1.005")
    refused("not float", "fee", donations=gifts, fee=1.5)
    refused("at least one gift", "donations", donations=[])
    refused("named twice", "donations", donations=[gifts[0], gifts[0]])
    refused("channel 'bank' is not one of", "channel", donations=gifts, channel="bank")
    refused("1 to 64 characters", "reference", donations=gifts, reference=" ")
    assert not Settlement.objects.exists() and not SettledDonation.objects.exists()

    settlement_record(trust=trust, channel="wechat", date=PAYOUT, fee="1.00", reference="P", donations=gifts[:2],
                      user=officer)
    refused("was already settled by P", "donations", donations=[gifts[1], gifts[2]], reference="P2")
    refused("already recorded with different content", "reference", donations=[gifts[2]])
    # the database holds a gift to one settlement, whatever a caller does
    with pytest.raises(IntegrityError), transaction.atomic():
        SettledDonation.objects.create(settlement=Settlement.objects.get(), donation=gifts[0])


def test_who_may_record_a_payout(trust, gifts, officer, approver):
    other = trust_create(code="B", name="乙信托", user=system_user())
    users = get_user_model().objects
    outsider = grant(users.create_user("officer-b"), roles.OFFICER, other)
    auditor = grant(users.create_user("auditor-a"), roles.AUDITOR, trust)
    donor = grant(users.create_user("donor-a"), roles.DONOR, trust)
    from django.contrib.auth.models import AnonymousUser

    for user in (outsider, auditor, approver, donor, AnonymousUser()):
        with pytest.raises(PermissionDenied):
            settlement_record(trust=trust, channel="wechat", date=PAYOUT, fee="1.00", reference="P", donations=gifts,
                              user=user)
    assert not Settlement.objects.exists()


def test_an_order_id_is_unique_per_trust_and_channel(trust, gifts):
    with pytest.raises(DuplicateExternalId, match="order id 4200-A of wechat is already gift WX-A's") as info:
        gift(trust, "WX-D", "10", order_id="4200-A")
    assert info.value.field == "order_id"
    gift(trust, "AL-D", "10", channel="alipay", order_id="4200-A")
    other = trust_create(code="B", name="乙信托", user=system_user())
    gift(other, "WX-D", "10", order_id="4200-A")
    with pytest.raises(IntegrityError), transaction.atomic():  # the database's own guard
        Donation.objects.filter(external_id="WX-C", trust=trust).update(order_id="4200-A")
    from charity.errors import DonationError

    with pytest.raises(DonationError, match="no payment order id"):
        donation_record(trust=trust, external_id="IK-1", date=PAYOUT, amount=Decimal("10"), channel="in_kind",
                        item="books", quantity=1, fund=Fund.objects.get(book=trust.book, code="GEN"), order_id="O",
                        user=system_user())
    # the same gift again with the same order id is the same gift
    again, created = gift(trust, "WX-A", "100", order_id="4200-A"), False
    assert again.pk == gifts[0].pk and not created
    with pytest.raises(DuplicateExternalId):
        gift(trust, "WX-A", "100", order_id="OTHER")


WECHAT_BILL = """交易时间,微信订单号,商户订单号,交易状态,应结订单金额,退款金额,交易类型
`2026-03-05 10:00:00,`T3,`4200-C,`SUCCESS,`200.00,`0.00,`JSAPI
`2026-03-05 10:00:01,`T2,`4200-B,`SUCCESS,`300.00,`0.00,`JSAPI
`2026-03-05 10:00:02,`T1,`4200-A,`SUCCESS,`100.00,`0.00,`JSAPI
`2026-03-09 12:00:00,`WXS-0309,`,`SETTLED,`-600.00,`0.00,`结算提现
总交易单数,应结订单总金额
"""
BANK = """date,amount,balance,counterparty,reference,order_id
2026-03-10,596.40,596.40,财付通支付科技有限公司,B-77,WXS-0309
"""


def test_a_payout_matches_both_statements_and_gifts_match_by_order_id(trust, gifts, officer):
    settlement_record(trust=trust, channel="wechat", date=PAYOUT, fee="3.60", reference="WXS-0309", donations=gifts,
                      user=officer)
    wechat = Account.objects.get(book=trust.book, code=chart.WECHAT)
    bank = Account.objects.get(book=trust.book, code=chart.BANK)
    assert statement_import(trust=trust, account=wechat, data=WECHAT_BILL.encode(), fmt="wechat",
                            user=officer).errors == []
    assert statement_match_auto(account=wechat, user=officer) == 4
    for line in StatementLine.objects.filter(account=wechat, amount__gt=0):
        (leg,) = [ml.leg for ml in line.match.legs.all()]
        assert leg.entry.donation.order_id == line.order_id
    payout = StatementLine.objects.get(account=wechat, reference="WXS-0309")
    assert payout.match.legs.count() == 3  # one clearing leg per fund
    assert statement_import(trust=trust, account=bank, data=BANK.encode(), user=officer).errors == []
    assert statement_match_auto(account=bank, user=officer) == 1
    assert StatementLine.objects.get(account=bank).match.legs.count() == 3  # the net, in three funds' legs
    for account in (wechat, bank):
        rec = reconcile(account, dt.date(2026, 3, 31))
        assert rec.agrees and rec.bank_items == [] and rec.book_items == []
        month_reconcile(account=account, month="2026-03", user=officer)


def test_a_gift_whose_order_id_differs_is_not_matched(trust, gifts, officer):
    wechat = Account.objects.get(book=trust.book, code=chart.WECHAT)
    text = "交易时间,微信订单号,商户订单号,交易状态,应结订单金额\n`2026-03-05 10:00:00,`T9,`4200-Z,`SUCCESS,`100.00\n"
    assert statement_import(trust=trust, account=wechat, data=text.encode(), fmt="wechat", user=officer).errors == []
    assert statement_match_auto(account=wechat, user=officer) == 0


def test_import_csv_settlements(trust, gifts, officer, tmp_path):
    path = tmp_path / "settlements.csv"
    path.write_text("reference,date,channel,fee,donation_external_id,order_id\n"
                    "WXS-0309,2026-03-09,wechat,3.60,WX-A,\n"
                    "WXS-0309,2026-03-09,wechat,3.60,,4200-B\n"
                    "WXS-0309,2026-03-09,wechat,3.60,,4200-C\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_csv", "settlements", str(path), "--user", "officer", stdout=out)
    settlement = Settlement.objects.get()
    assert (settlement.gross, settlement.net, settlement.donations.count()) == (Decimal("600"), Decimal("596.40"), 3)
    entries = JournalEntry.objects.count()
    call_command("import_csv", "settlements", str(path), "--user", "officer", stdout=io.StringIO())
    assert JournalEntry.objects.count() == entries  # re-import: skipped

    bad = tmp_path / "bad.csv"
    bad.write_text("reference,date,channel,fee,donation_external_id,order_id\n"
                   "P2,2026-03-09,wechat,1.00,WX-A,\n"          # already settled by WXS-0309
                   "P3,2026-03-09,bank,1.00,WX-A,\n"            # not a platform
                   "P4,2026-03-09,wechat,-1,WX-A,\n"            # negative fee
                   "P5,2026-03-09,wechat,1.00,,NOPE\n"          # unknown order id
                   "P6,2026-03-09,wechat,1.00,,\n"              # no gift named
                   "P7,2026-03-09,wechat,1.00,WX-A,\n"
                   "P7,2026-03-10,wechat,1.00,WX-B,\n"          # the same payout, another date
                   "WXS-0309,2026-03-09,wechat,9.99,WX-A,\n",   # already imported, different fee
                   encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "settlements", str(bad), "--user", "officer", stdout=io.StringIO(), stderr=err)
    text = err.getvalue()
    for expected in ("row 3, column channel", "row 4, column fee", "row 5, column order_id",
                     "row 6, column donation_external_id", "row 8, column reference", "row 9, column reference"):
        assert expected in text, (expected, text)
    assert Settlement.objects.count() == 1
    # a gift already settled is refused when the payout is written (the whole file with it)
    again = tmp_path / "again.csv"
    again.write_text("reference,date,channel,fee,donation_external_id,order_id\nP2,2026-03-09,wechat,1.00,WX-A,\n",
                     encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "settlements", str(again), "--user", "officer", stdout=io.StringIO(), stderr=err)
    assert "row 2, column donation_external_id: gift WX-A was already settled by WXS-0309" in err.getvalue()
    assert Settlement.objects.count() == 1


def test_the_api_and_the_gift_form_take_an_order_id(trust, officer, client):
    api = APIClient()
    api.force_authenticate(officer)
    response = api.post(f"/api/v1/trusts/{trust.code}/donations/", {
        "external_id": "API-1", "date": "2026-03-05", "amount": "88.00", "fund": "GEN", "channel": "wechat",
        "order_id": "4200-API"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["order_id"] == "4200-API"
    response = api.post(f"/api/v1/trusts/{trust.code}/donations/", {
        "external_id": "API-2", "date": "2026-03-05", "amount": "88.00", "fund": "GEN", "channel": "wechat",
        "order_id": "4200-API"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "order_id"
    client.force_login(officer)
    response = client.post(f"/office/donations/new/?trust={trust.code}", {
        "external_id": "FORM-1", "date": "2026-03-05", "amount": "66.00", "currency": "CNY", "fund": "GEN",
        "channel": "alipay", "order_id": "AP-FORM-1", "donor_kind": "individual"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Donation.objects.get(external_id="FORM-1").order_id == "AP-FORM-1"
