"""seed_demo: deterministic, refuses a non-empty database without --reset, and round-trips through its CSVs."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from charity.demo import DEMO_SPENDING_POLICY
from tests.reports.aidconf import pdf_text
from charity.models import Trust
from charity.services import spending_policy_set
from ledger.models import Book, JournalEntry, Leg
from ledger.services import period_close, system_user

SMALL = ["--beneficiaries", "40", "--donations", "240", "--seed", "7", "--year", "2025", "--no-progress"]
REPORTS = [
    ("trial-balance", ["--as-of", "2025-12-31"]),
    ("fund-balances", ["--year", "2025"]),
    ("activities", ["--year", "2025"]),
    ("financial-position", ["--as-of", "2025-12-31"]),
]


def _ledger_content():
    entries = list(JournalEntry.objects.order_by("sequence").values_list("sequence", "date", "memo", "source_type",
                                                                          "source_id"))
    legs = list(Leg.objects.order_by("entry__sequence", "position").values_list(
        "entry__sequence", "position", "account__code", "fund__code", "currency", "debit", "credit", "debit_cny",
        "credit_cny"))
    return entries, legs


def _reports():
    out = {}
    for name, args in REPORTS:
        buffer = io.StringIO()
        call_command("report", name, *args, stdout=buffer)
        out[name] = buffer.getvalue()
    return out


@pytest.mark.django_db(transaction=True)
def test_seed_is_deterministic_refuses_without_reset_and_round_trips(tmp_path):
    call_command("seed_demo", *SMALL, "--export", str(tmp_path), stdout=io.StringIO())
    first = _ledger_content()
    reports = _reports()
    # The demo trust is a charity trust: its deed's spending rule is stated and applied.
    annual = tmp_path / "annual.pdf"
    call_command("report", "annual-report", "--year", "2025", "--out", str(annual), stdout=io.StringIO())
    text = " ".join(pdf_text(annual.read_bytes()).split())
    assert "支出规则 Spending rule 慈善信托（按信托文件）" in text and "信托合同第十二条" in text
    # judged against the deed (this small year's management is 45% of its expenses: a real miss of the 10% cap)
    assert "未配置" not in text and "未达标 MISSED" in text
    assert len(first[0]) > 250
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_demo", *SMALL, stdout=io.StringIO())

    call_command("seed_demo", *SMALL, "--reset", stdout=io.StringIO())
    assert _ledger_content() == first

    # The exported files (the seven and the platforms' payouts), imported into an empty database, give the same books.
    call_command("flush", interactive=False, verbosity=0)
    call_command("create_trust", "CWCT", "--name", "关爱妇女儿童慈善信托", stdout=io.StringIO())
    spending_policy_set(trust=Trust.objects.get(), **DEMO_SPENDING_POLICY, user=system_user())
    period_close(book=Book.objects.get(), month="2024-12", user=system_user())
    for kind in ("funds", "donors", "donations", "beneficiaries", "expenses", "disbursements", "refunds",
                 "settlements"):
        call_command("import_csv", kind, str(tmp_path / f"{kind}.csv"), stdout=io.StringIO())
    assert _reports() == reports
    assert Trust.objects.count() == 1
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith(f"OK {len(first[0])} ")


@pytest.mark.django_db
def test_demo_year_exports_to_beancount_with_the_same_trial_balance(tmp_path):
    """The demo year in Beancount syntax loads with zero errors and gives every account's balance (issue 7)."""
    import csv

    from tests.ledger.test_export_verify import beancount_balances

    call_command("seed_demo", *SMALL, stdout=io.StringIO())
    path = tmp_path / "demo.beancount"
    call_command("export_beancount", out=str(path))
    totals, errors, _entries = beancount_balances(path)
    assert errors == []
    buffer = io.StringIO()
    call_command("report", "trial-balance", stdout=buffer)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue().lstrip("\ufeff"))))
    checked = 0
    for row in rows:
        if row["account_code"] == "TOTAL":
            continue
        net = Decimal(row["debit"]) - Decimal(row["credit"])
        assert totals.get(row["account_code"], Decimal(0)) == net, row["account_code"]
        checked += 1
    assert checked >= 8


@pytest.mark.django_db(transaction=True)
def test_the_seeded_year_closes_and_the_next_opens_with_net_assets_only():
    """The demo year, closed with close_year: its statements read as before, and 2026's trial balance holds only
    asset, liability and net asset accounts, debits equal to credits, the net assets equal to the balance sheet's."""
    call_command("seed_demo", *SMALL, stdout=io.StringIO())
    before = _reports()  # the seed closes its twelve months
    out = io.StringIO()
    call_command("close_year", "2025", stdout=out)
    assert "closed year 2025" in out.getvalue()
    assert JournalEntry.objects.filter(closing=True).count() >= 2
    after = _reports()
    for name in ("fund-balances", "activities", "financial-position"):
        assert after[name] == before[name], name

    buffer = io.StringIO()
    call_command("report", "trial-balance", "--as-of", "2026-01-01", "--format", "csv", stdout=buffer)
    rows = [r.split(",") for r in buffer.getvalue().lstrip("\ufeff").splitlines()[1:]]
    body, total = rows[:-1], rows[-1]
    assert body and {r[2] for r in body} <= {"asset", "liability", "net_assets"}
    assert total[0] == "TOTAL" and total[3] == total[4]
    net_assets = sum(Decimal(r[4]) - Decimal(r[3]) for r in body if r[2] == "net_assets")
    position = io.StringIO()
    call_command("report", "financial-position", "--as-of", "2025-12-31", "--format", "json", stdout=position)
    assert str(net_assets) in position.getvalue()
    verdict = io.StringIO()
    call_command("verify_ledger", stdout=verdict)
    assert verdict.getvalue().startswith("OK ")
