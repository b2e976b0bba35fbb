"""The public disclosure page: the honour roll ties to the funds table on the same page."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from charity.services import donation_record, donation_refund, donor_create, trust_create
from ledger import services as ledger
from ledger.services import system_user

D = dt.date(2026, 3, 2)


@pytest.fixture
def gifts(db):
    op = system_user()
    trust = trust_create(user=op, code="CT", name="关爱妇女儿童慈善信托")
    study = ledger.fund_create(user=op, book=trust.book, code="STUDY", name="助学金", restriction="restricted",
                               purpose="study_grant")
    names = {}
    for n, amount in ((1, "1000.00"), (2, "300.00"), (3, "50.00")):
        donor = donor_create(trust=trust, kind="individual", name=f"捐赠人{n}", external_id=f"D-{n}", by=op)
        names[n] = donor.name
        gift, _ = donation_record(trust=trust, external_id=f"G-{n}", date=D, amount=Decimal(amount), fund=study,
                                  channel="bank", user=op, donor=donor)
        if n == 1:  # given back whole
            donation_refund(donation=gift, external_id="R-1", date=D, user=op, reason="donor asked")
        if n == 2:  # given back in part
            donation_refund(donation=gift, external_id="R-2", date=D, user=op, reason="donor asked",
                            amount=Decimal("100.00"))
    return names


def test_the_honour_roll_total_is_the_funds_tables_and_refunds_are_netted(client, gifts):
    page = client.get(f"/disclosure/?trust=CT&year={D.year}").content.decode()
    heading = re.search(r"\((\d+) · ([\d,.]+) CNY\)", page)
    assert heading is not None
    count, total = int(heading.group(1)), Decimal(heading.group(2).replace(",", ""))
    assert (count, total) == (2, Decimal("250.00"))  # 1,000 given back whole, 100 of 300 given back
    assert gifts[1] not in page  # the gift given back whole is not on the roll
    assert gifts[2] in page and "200.00" in page
    received = re.search(r"助学金</td><td>[^<]*</td><td class=\"num\">([\d,.]+)</td>", page)
    assert received is not None and Decimal(received.group(1).replace(",", "")) == total
