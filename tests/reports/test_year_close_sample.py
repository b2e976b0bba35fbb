"""``close_year 2025`` over the shared sample year (tests/data/trust-2025), imported as tests/test_sample_year.py
does. Slow (the whole year is imported): in ``make test-slow``.

Without ``--rate`` each foreign currency is revalued at the latest rate the books hold for it, so the year's
net assets move by the revaluation's exchange difference ``fx`` (credits minus debits of ``chart.FX`` in the
revaluation entries); everything else is expected.json's:

* the trial balance of 2026-01-01 lists asset, liability and net asset accounts only;
* its 3101 and 3102 are the balance sheet's net assets without and with donor restrictions at 2025-12-31, and
  its assets those of the balance sheet;
* its net assets are expected.json's 1,302,929.94 + fx, and 3102 is its 602,219.90 + the restricted funds'
  share of fx (carried to 3102, see docs/ledger.md);
* each fund's 2025 in fund-balances changes by its part of the revaluation only; verify_ledger is OK.
"""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from charity import chart
from ledger.models import Account, AccountType, JournalEntry, Leg
from ledger.verification import verify_book

from ..data import TRUST_2025 as SAMPLE
from ..test_sample_year import import_sample_year
from .aidconf import csv_rows

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

END = dt.date(2025, 12, 31)


def test_closing_the_sample_year():
    expected = json.loads((SAMPLE / "expected.json").read_text(encoding="utf-8"))["totals"]
    trust = import_sample_year("CWCT")
    book = trust.book
    call_command("close_period", "2025-12", stdout=io.StringIO())
    funds_before = csv_rows(book, "fund-balances", year=2025)
    out = io.StringIO()
    call_command("close_year", "2025", stdout=out)
    assert "rate USD" in out.getvalue() and "rate HKD" in out.getvalue()
    assert "closed year 2025" in out.getvalue()

    revaluation = Leg.objects.filter(entry__book=book, entry__source_type="revaluation", account__code=chart.FX)
    fx = sum(leg.credit_cny - leg.debit_cny for leg in revaluation)
    restricted_fx = sum(
        leg.credit_cny - leg.debit_cny
        for leg in Leg.objects.filter(entry__book=book, entry__source_type="revaluation",
                                      account__code=chart.NET_ASSETS_RESTRICTED)
    )
    assert JournalEntry.objects.filter(book=book, closing=True).count() == 3

    types = dict(Account.objects.filter(book=book).values_list("code", "type"))
    tb = [r for r in csv_rows(book, "trial-balance", as_of=dt.date(2026, 1, 1)) if r["account_code"] in types]
    assert {r["account_type"] for r in tb} <= {AccountType.ASSET, AccountType.LIABILITY, AccountType.NET_ASSETS}
    net = {r["account_code"]: Decimal(r["credit"]) - Decimal(r["debit"]) for r in tb}
    assets = -sum(v for code, v in net.items() if types[code] == AccountType.ASSET)
    liabilities = sum(v for code, v in net.items() if types[code] == AccountType.LIABILITY)

    position = {r["code"]: Decimal(r["amount"]) for r in csv_rows(book, "financial-position", as_of=END)}
    assert assets == position["TOTAL_ASSETS"]
    assert net[chart.NET_ASSETS_UNRESTRICTED] == position["NET_ASSETS_WITHOUT"]
    assert net[chart.NET_ASSETS_RESTRICTED] == position["NET_ASSETS_WITH"]
    assert liabilities == Decimal(expected["liabilities"])
    total = net[chart.NET_ASSETS_UNRESTRICTED] + net[chart.NET_ASSETS_RESTRICTED]
    assert total == Decimal(expected["net_assets"]) + Decimal(fx) / 100
    assert net[chart.NET_ASSETS_RESTRICTED] == (
        Decimal(expected["net_assets_with_donor_restriction"]) + Decimal(restricted_fx) / 100)

    # Each fund's 2025 reads as before closing but for its part of the revaluation (the closing entries change
    # nothing): its closing net assets move by exactly what the revaluation moved in it.
    by_fund: dict[str, int] = {}
    for leg in Leg.objects.filter(entry__book=book, entry__source_type="revaluation").select_related("account", "fund"):
        if leg.account.type != AccountType.ASSET and leg.account.type != AccountType.LIABILITY:
            by_fund[leg.fund.code] = by_fund.get(leg.fund.code, 0) + leg.credit_cny - leg.debit_cny
    after = csv_rows(book, "fund-balances", year=2025)
    for row_before, row_after in zip(funds_before, after, strict=True):
        assert (row_before["fund_code"], row_before["opening"]) == (row_after["fund_code"], row_after["opening"])
        change = Decimal(row_after["closing"]) - Decimal(row_before["closing"])
        assert change == Decimal(by_fund.get(row_before["fund_code"], 0)) / 100, row_before["fund_code"]
    assert verify_book(book).ok
