"""End to end: the sample year (/work/shared/samples/trust-2025) through import_csv, against expected.json.

Imports funds, donors, donations (~3,000), expenses and refunds. Disbursements belong to the aid side (another
branch), so each fund's ``spent`` and ``closing`` cannot match yet except where no aid is involved; what the
trust's side posts must match to the cent: per fund donations net of refunds, gross donations, refunds, gifts
in kind, management expenses and bank fees, and UNR's non-program spending. Takes about 40 s of CPU on SQLite.
"""

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from charity.models import Donation, Receipt
from charity.selectors import fund_donations, receipt_gaps, refunds_total
from charity.services import trust_create
from ledger import services as ledger
from ledger.models import Fund

SAMPLE = Path("/work/shared/samples/trust-2025")
YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.slow,
    pytest.mark.skipif(not SAMPLE.is_dir(), reason="the shared sample year is not on this machine"),
]


def test_sample_year_matches_expected():
    expected = json.loads((SAMPLE / "expected.json").read_text(encoding="utf-8"))
    trust = trust_create(code="CWCT", name="关爱妇女儿童慈善信托")
    ledger.period_close(book=trust.book, month="2024-12", user=ledger.system_user())
    for kind in ("funds", "donors", "donations", "expenses", "refunds"):
        out = io.StringIO()
        call_command("import_csv", kind, str(SAMPLE / f"{kind}.csv"), stdout=out)
        assert "imported" in out.getvalue()

    from .conftest import Books

    books = Books(trust)
    donations = fund_donations(trust=trust, date_from=YEAR[0], date_to=YEAR[1])
    for code, figures in expected["fund_balances"].items():
        assert donations[code] == Decimal(figures["donations"]), code
    totals = expected["totals"]
    assert sum(donations.values()) == Decimal(totals["donations_net"])
    gross = sum(Donation.objects.filter(trust=trust, date__year=2025).values_list("amount_cny", flat=True))
    assert gross == Decimal(totals["donations_gross"])
    assert refunds_total(trust=trust, date_from=YEAR[0], date_to=YEAR[1]) == Decimal(totals["refunds"])
    assert books.balance("4201") + books.balance("4202") == Decimal(totals["donations_in_kind"])
    assert books.balance("5201") == Decimal(totals["management_expenses"])
    assert books.balance("5203") == Decimal(totals["bank_fees"])
    assert books.balance("5202") == Decimal(totals["fundraising_expenses"])
    # UNR pays management and bank fees (its study grants come with the disbursements)
    assert books.balance("5201", "UNR") + books.balance("5203", "UNR") == Decimal("69774.77")
    endow = expected["fund_balances"]["ENDOW"]
    assert books.fund("ENDOW") == Decimal(endow["closing"])
    # Buying Smile Packs is not spending: SMILE keeps its donations until the packs are handed out.
    assert books.fund("SMILE") == Decimal(expected["fund_balances"]["SMILE"]["donations"])

    assert Receipt.objects.filter(trust=trust, year=2025).count() == Donation.objects.count()
    assert Receipt.objects.filter(voided_at__isnull=False).count() == 1  # the refunded gift
    assert receipt_gaps(trust=trust, year=2025) == []
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith("OK ")
    assert Fund.objects.filter(book=trust.book).count() == 6  # GEN + the sample's five
