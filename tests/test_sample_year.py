"""End to end: the sample year (tests/data/trust-2025) loaded through `import_csv` exactly as a finance office would,
compared to the cent with the figures computed independently in expected.json.

It exercises posting, purpose rules, weighted-average stock costing, FX rounding (half-even to 0.01 CNY),
refunds judged as of their own date, FIFO allocation, receipts and the reports that read all of it.
"""

from ledger.services import system_user
import csv
import datetime as dt
import io
import json
from decimal import Decimal
import pytest
from django.core.management import call_command

from charity.models import Donation, Receipt
from charity.selectors import receipt_gaps
from charity.services import trust_create
from ledger import selectors
from ledger import services as ledger
from ledger.models import Account

from .data import TRUST_2025 as SAMPLE

KINDS = ("funds", "donors", "donations", "beneficiaries", "expenses", "disbursements", "refunds")

pytestmark = pytest.mark.django_db


def _report(name: str, *args) -> str:
    out = io.StringIO()
    call_command("report", name, *args, stdout=out)
    return out.getvalue()


def _balance(trust, code: str) -> Decimal:
    return selectors.account_balance(Account.objects.get(book=trust.book, code=code), as_of=dt.date(2025, 12, 31))


def import_sample_year(code: str = "T2025"):
    """A trust with the sample year imported through ``import_csv`` (2024 closed first); returns the trust."""
    trust = trust_create(user=system_user(), code=code, name="关爱妇女儿童慈善信托（样例）")
    ledger.period_close(book=trust.book, month="2024-12", user=ledger.system_user())
    for kind in KINDS:
        out = io.StringIO()
        call_command("import_csv", kind, str(SAMPLE / f"{kind}.csv"), stdout=out)
        assert " imported " in out.getvalue(), out.getvalue()
    return trust


def test_sample_year_matches_expected_to_the_cent():
    expected = json.loads((SAMPLE / "expected.json").read_text(encoding="utf-8"))
    trust = import_sample_year()

    rows = {r["fund_code"]: r for r in csv.DictReader(io.StringIO(_report("fund-balances", "--year", "2025").lstrip("\ufeff")))}
    for code, figures in expected["fund_balances"].items():
        row = rows[code]
        for column in ("opening", "donations", "spent", "closing"):
            assert Decimal(row[column]) == Decimal(figures[column]), (code, column, row[column], figures[column])
        assert row["restriction"] == figures["restriction"] and row["fund_name"] == figures["fund_name"]

    totals = expected["totals"]
    gross = sum(Donation.objects.filter(trust=trust, date__year=2025).values_list("amount_cny", flat=True))
    assert gross == Decimal(totals["donations_gross"])
    assert _balance(trust, "410104") + _balance(trust, "410105") == Decimal(totals["donations_in_kind"])
    assert _balance(trust, "510101") == Decimal(totals["program_spending"]["smile_pack"])
    assert _balance(trust, "510102") == Decimal(totals["program_spending"]["study_grant"])
    assert _balance(trust, "520101") == Decimal(totals["management_expenses"])
    assert _balance(trust, "540101") == Decimal(totals["bank_fees"])
    assert _balance(trust, "530101") == Decimal(totals["fundraising_expenses"])

    position = json.loads(_report("financial-position", "--year", "2025", "--format", "json"))
    text = json.dumps(position, ensure_ascii=False)
    for key in ("total_assets", "net_assets_without_donor_restriction", "net_assets_with_donor_restriction"):
        assert totals[key] in text, key

    trial = list(csv.reader(io.StringIO(_report("trial-balance", "--year", "2025").lstrip("\ufeff"))))
    assert trial[-1][0] == "TOTAL" and trial[-1][3] == trial[-1][4]

    assert Receipt.objects.filter(trust=trust, year=2025, voided_at__isnull=True).count() == Donation.objects.count() - 1
    assert receipt_gaps(trust=trust, year=2025) == []
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith("OK ") and out.getvalue().strip().endswith("T2025")

    # Importing the same seven files again changes nothing (idempotent re-import).
    count = selectors.head(trust.book)[0]
    for kind in KINDS:
        out = io.StringIO()
        call_command("import_csv", kind, str(SAMPLE / f"{kind}.csv"), stdout=out)
        assert "imported 0 " in out.getvalue(), (kind, out.getvalue())
    assert selectors.head(trust.book)[0] == count
