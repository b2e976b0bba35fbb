"""Closing a year, ``close_year YYYY`` (charity.services.closing, ledger.services.closing).

The small book (all of 2025, the trust of tests/charity/conftest.py: GEN unrestricted, STUDY restricted to
study_grant, ENDOW an endowment; ``USD_BANK`` is ``chart.BANK_USD`` where the chart has it, else ``chart.BANK``):

    03-01  GEN    Dr USD_BANK 1,000.00 USD @ 7.2 = 7,200.00   Cr DONATION_UNRESTRICTED 1,000.00 USD = 7,200.00
    03-02  STUDY  Dr USD_BANK   500.00 USD @ 7.2 = 3,600.00   Cr DONATION_RESTRICTED     500.00 USD = 3,600.00
    03-03  ENDOW  Dr BANK 10,000.00                           Cr DONATION_ENDOWMENT 10,000.00
    04-01  GEN    Dr BANK  5,000.00                           Cr DONATION_UNRESTRICTED 5,000.00
    05-01  STUDY  Dr BANK  2,000.00                           Cr DONATION_RESTRICTED 2,000.00
    06-01  STUDY  Dr PROGRAM_STUDY 1,200.00                   Cr BANK 1,200.00
    06-02  GEN    Dr MANAGEMENT 300.00                        Cr BANK 300.00

Closed with ``--rate USD=7.1`` (a loss), entries dated 2025-12-31, worked by hand:

1. Revaluation of USD (an ordinary entry, source ``revaluation`` / ``2025:USD``):
   GEN   1,000.00 x 7.1 = 7,100.00, carried at 7,200.00: -100.00   Cr USD_BANK 100.00 (GEN), Dr FX 100.00 (GEN)
   STUDY   500.00 x 7.1 = 3,550.00, carried at 3,600.00:  -50.00   Cr USD_BANK 50.00 (STUDY), Dr 3102 50.00 (STUDY),
         and the loss in the general fund: Dr FX 50.00 (GEN), Cr 3101 50.00 (GEN)
   (a restricted fund is never charged on FX, an expense account without its purpose: the guards refuse it).
2. Release (closing entry): STUDY spent 1,200.00: Dr 3102 1,200.00 / Cr 3101 1,200.00 (STUDY).
3. Income closed (closing entry), funds in code order:
   ENDOW Dr DONATION_ENDOWMENT 10,000.00 / Cr 3102 10,000.00
   GEN   Dr DONATION_UNRESTRICTED 12,200.00 / Cr 3101 12,200.00
   STUDY Dr DONATION_RESTRICTED 5,600.00 / Cr 3102 5,600.00
4. Expenses closed (closing entry):
   GEN   Cr MANAGEMENT 300.00, Cr FX 150.00 / Dr 3101 450.00
   STUDY Cr PROGRAM_STUDY 1,200.00 / Dr 3101 1,200.00

Net assets afterwards: GEN 3101 = 12,200 - 450 + 50 = 11,800.00; STUDY 3102 = 5,600 - 1,200 - 50 = 4,350.00 and
3101 = 1,200 - 1,200 = 0; ENDOW 3102 = 10,000.00. Assets: CNY bank 10,000 + 4,700 + 800 = 15,500.00, USD
7,100 + 3,550 = 10,650.00; total 26,150.00 = 11,800.00 + 14,350.00 (3101 + 3102).
"""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError

from charity import chart, roles
from charity.services import trust_create
from charity.services.closing import year_close
from ledger import errors as ledger_errors
from ledger import selectors
from ledger import services as ledger
from ledger.models import Account, AccountType, Fund, JournalEntry, YearClose
from ledger.services import Cr, Dr, system_user
from ledger.verification import verify_book
from tests.conftest import grant
from tests.reports.aidconf import csv_rows

USD_BANK = getattr(chart, "BANK_USD", chart.BANK)
END = dt.date(2025, 12, 31)
REPORTS = ("activities", "fund-balances", "programs", "cash-flow")


@pytest.fixture
def people(trust):
    User = get_user_model()
    made = {}
    for name, role in (("approver", roles.APPROVER), ("officer", roles.OFFICER), ("auditor", roles.AUDITOR)):
        made[name] = User.objects.create_user(name)
        grant(made[name], role, trust)
    other = trust_create(user=system_user(), code="OTHER", name="另一信托")
    made["stranger"] = User.objects.create_user("stranger")
    grant(made["stranger"], roles.APPROVER, other)
    return made


def acct(trust, code):
    return Account.objects.get(book=trust.book, code=code)


def small_book(trust, funds):
    a = lambda code: acct(trust, code)  # noqa: E731
    gen, study, endow = funds["GEN"], funds["STUDY"], funds["ENDOW"]
    op = system_user()

    def post(day, legs, rate=None):
        ledger.entry_post(book=trust.book, date=dt.date(2025, *day), memo="test", legs=legs, user=op, fx_rate=rate)

    post((3, 1), [Dr(a(USD_BANK), gen, Decimal("1000.00"), "USD"),
                  Cr(a(chart.DONATION_UNRESTRICTED), gen, Decimal("1000.00"), "USD")], Decimal("7.2"))
    post((3, 2), [Dr(a(USD_BANK), study, Decimal("500.00"), "USD"),
                  Cr(a(chart.DONATION_RESTRICTED), study, Decimal("500.00"), "USD")], Decimal("7.2"))
    post((3, 3), [Dr(a(chart.BANK), endow, Decimal("10000.00")), Cr(a(chart.DONATION_ENDOWMENT), endow, Decimal("10000.00"))])
    post((4, 1), [Dr(a(chart.BANK), gen, Decimal("5000.00")), Cr(a(chart.DONATION_UNRESTRICTED), gen, Decimal("5000.00"))])
    post((5, 1), [Dr(a(chart.BANK), study, Decimal("2000.00")), Cr(a(chart.DONATION_RESTRICTED), study, Decimal("2000.00"))])
    post((6, 1), [Dr(a(chart.PROGRAM_STUDY), study, Decimal("1200.00")), Cr(a(chart.BANK), study, Decimal("1200.00"))])
    post((6, 2), [Dr(a(chart.MANAGEMENT), gen, Decimal("300.00")), Cr(a(chart.BANK), gen, Decimal("300.00"))])


@pytest.fixture
def book(trust, funds):
    small_book(trust, funds)
    ledger.period_close(book=trust.book, month="2025-12", user=system_user())
    trust.book.refresh_from_db()
    return trust


def legs_of(entry):
    return [(leg.account.code, leg.fund.code, "Dr" if leg.debit else "Cr", leg.currency, leg.debit_cny_amount
             or leg.credit_cny_amount) for leg in entry.legs.select_related("account", "fund").order_by("position")]


def close(trust, *args, user="approver"):
    out = io.StringIO()
    call_command("close_year", "2025", "--trust", trust.book.code, "--user", user, *args, stdout=out)
    return out.getvalue()


def statements(trust):
    return {name: csv_rows(trust.book, name, year=2025) for name in REPORTS} | {
        "financial-position": csv_rows(trust.book, "financial-position", as_of=END),
    }


def test_the_closing_entries_are_those_worked_by_hand(book, people):
    out = close(book, "--rate", "USD=7.1")
    assert "rate USD 7.1 (given)" in out
    entries = list(JournalEntry.objects.filter(book=book.book, date=END).order_by("sequence"))
    assert [e.closing for e in entries] == [False, True, True, True]
    assert all(e.date == END for e in entries)
    d = Decimal
    assert legs_of(entries[0]) == [
        (USD_BANK, "GEN", "Cr", "CNY", d("100.00")), (chart.FX, "GEN", "Dr", "CNY", d("100.00")),
        (USD_BANK, "STUDY", "Cr", "CNY", d("50.00")), (chart.NET_ASSETS_RESTRICTED, "STUDY", "Dr", "CNY", d("50.00")),
        (chart.FX, "GEN", "Dr", "CNY", d("50.00")), (chart.NET_ASSETS_UNRESTRICTED, "GEN", "Cr", "CNY", d("50.00")),
    ]
    assert (entries[0].source_type, entries[0].source_id) == ("revaluation", "2025:USD")
    assert legs_of(entries[1]) == [
        (chart.NET_ASSETS_RESTRICTED, "STUDY", "Dr", "CNY", d("1200.00")),
        (chart.NET_ASSETS_UNRESTRICTED, "STUDY", "Cr", "CNY", d("1200.00")),
    ]
    assert legs_of(entries[2]) == [
        (chart.DONATION_ENDOWMENT, "ENDOW", "Dr", "CNY", d("10000.00")),
        (chart.NET_ASSETS_RESTRICTED, "ENDOW", "Cr", "CNY", d("10000.00")),
        (chart.DONATION_UNRESTRICTED, "GEN", "Dr", "CNY", d("12200.00")),
        (chart.NET_ASSETS_UNRESTRICTED, "GEN", "Cr", "CNY", d("12200.00")),
        (chart.DONATION_RESTRICTED, "STUDY", "Dr", "CNY", d("5600.00")),
        (chart.NET_ASSETS_RESTRICTED, "STUDY", "Cr", "CNY", d("5600.00")),
    ]
    assert legs_of(entries[3]) == [
        (chart.MANAGEMENT, "GEN", "Cr", "CNY", d("300.00")), (chart.FX, "GEN", "Cr", "CNY", d("150.00")),
        (chart.NET_ASSETS_UNRESTRICTED, "GEN", "Dr", "CNY", d("450.00")),
        (chart.PROGRAM_STUDY, "STUDY", "Cr", "CNY", d("1200.00")),
        (chart.NET_ASSETS_UNRESTRICTED, "STUDY", "Dr", "CNY", d("1200.00")),
    ]
    # Every income and expense account is nil in every fund; the funds' net assets are as worked above.
    totals = selectors.movements(book.book_id, as_of=END, group=("account_id", "fund_id"))
    nominal = {a.pk for a in Account.objects.filter(book=book.book, type__in=[AccountType.INCOME, AccountType.EXPENSE])}
    assert all(dr == cr for (a, _f), (dr, cr) in totals.items() if a in nominal)
    net = {f.code: f.net_assets_amount for f in Fund.objects.filter(book=book.book)}
    assert net == {"GEN": d("11800.00"), "STUDY": d("4350.00"), "ENDOW": d("10000.00"), "SMILE": d("0.00")}
    assert selectors.account_balance(acct(book, chart.NET_ASSETS_UNRESTRICTED), fund=Fund.objects.get(
        book=book.book, code="STUDY")) == 0
    assert verify_book(book.book).ok


def test_the_next_year_opens_with_assets_liabilities_and_net_assets_equal_to_the_balance_sheet(book, people):
    close(book, "--rate", "USD=7.1")
    tb = csv_rows(book.book, "trial-balance", as_of=dt.date(2026, 1, 1))
    rows = [r for r in tb if r["account_code"] in {a.code for a in Account.objects.filter(book=book.book)}]
    assert {r["account_type"] for r in rows} <= {"asset", "liability", "net_assets"}
    by_code = {r["account_code"]: Decimal(r["credit"]) - Decimal(r["debit"]) for r in rows}
    assert by_code[chart.NET_ASSETS_UNRESTRICTED] == Decimal("11800.00")
    assert by_code[chart.NET_ASSETS_RESTRICTED] == Decimal("14350.00")
    assets = -sum(v for code, v in by_code.items() if acct(book, code).type == AccountType.ASSET)
    assert assets == Decimal("26150.00")
    position = {r["code"]: Decimal(r["amount"]) for r in csv_rows(book.book, "financial-position", as_of=END)}
    assert position["TOTAL_ASSETS"] == assets
    assert position["NET_ASSETS_WITHOUT"] == by_code[chart.NET_ASSETS_UNRESTRICTED]
    assert position["NET_ASSETS_WITH"] == by_code[chart.NET_ASSETS_RESTRICTED]
    # The general ledger of 2026 brings forward no income or expense account.
    nominal = set(Account.objects.filter(book=book.book, type__in=[AccountType.INCOME, AccountType.EXPENSE])
                  .values_list("code", flat=True))
    gl = csv_rows(book.book, "general-ledger", year=2026)
    assert gl and not [r for r in gl if r["account_code"] in nominal]
    assert {r["account_code"] for r in gl} >= {chart.NET_ASSETS_UNRESTRICTED, chart.NET_ASSETS_RESTRICTED}


def test_the_closed_years_statements_are_unchanged_by_the_closing_entries(book, people):
    """At the books' own rate (7.2) nothing is revalued: every statement of 2025 reads the same after closing.
    The release line stays 1,200.00 (computed from STUDY's spending; the journalised release is left out)."""
    before = statements(book)
    out = close(book, "--rate", "USD=7.2")
    assert "revaluation" not in " ".join(JournalEntry.objects.filter(book=book.book).values_list("source_type", flat=True))
    assert "posted #" in out
    after = statements(book)
    assert after == before
    release = [r for r in after["activities"] if r["code"] == "RELEASED_FROM_RESTRICTION"]
    assert Decimal(release[0]["without_donor_restriction"]) == Decimal("1200.00")
    assert JournalEntry.objects.filter(book=book.book, closing=True).count() == 3


def test_the_loss_shows_in_the_activities_of_the_year(book, people):
    close(book, "--rate", "USD=7.1")
    rows = {r["code"]: r for r in csv_rows(book.book, "activities", year=2025)}
    accounts = {r["code"]: r for r in csv_rows(book.book, "activities-accounts", year=2025)}
    assert Decimal(accounts[chart.FX]["without_donor_restriction"]) == Decimal("150.00")
    assert Decimal(rows["FUNDRAISING_EXPENSES"]["without_donor_restriction"]) >= Decimal("150.00")
    assert Decimal(rows["RELEASED_FROM_RESTRICTION"]["without_donor_restriction"]) == Decimal("1200.00")
    assert Decimal(rows["OTHER_CHANGES"]["without_donor_restriction"]) == Decimal("50.00")
    assert Decimal(rows["OTHER_CHANGES"]["with_donor_restriction"]) == Decimal("-50.00")
    assert Decimal(rows["CHANGE_IN_NET_ASSETS"]["total"]) == Decimal("26150.00")
    # The cash flow statement puts the whole revaluation (-100.00 GEN, -50.00 STUDY) on the effect of rates,
    # though STUDY's part is set against 3102 as well as against FX in the same entry.
    flows = {r["code"]: r for r in csv_rows(book.book, "cash-flow", year=2025)}
    assert Decimal(flows["FX_EFFECT"]["amount"]) == Decimal("-150.00")


def test_without_a_rate_the_books_latest_is_taken_and_printed(book, people):
    out = close(book)
    assert "rate USD 7.2 (the books' latest: entry #2 of 2025-03-02)" in out
    assert not JournalEntry.objects.filter(book=book.book, source_type="revaluation").exists()


def test_an_open_month_is_refused_naming_it(trust, funds, people):
    small_book(trust, funds)
    ledger.period_close(book=trust.book, month="2025-06", user=system_user())
    with pytest.raises(CommandError, match="month 2025-07 is open"):
        close(trust, "--rate", "USD=7.1")
    assert not JournalEntry.objects.filter(book=trust.book, date=END).exists()
    assert not YearClose.objects.exists()


@pytest.mark.parametrize("who", ["officer", "auditor", "stranger"])
def test_only_who_closes_periods_in_the_trust_closes_its_year(book, people, who):
    with pytest.raises(PermissionDenied):
        year_close(trust=book, year=2025, rates={"USD": "7.1"}, user=people[who])
    with pytest.raises(CommandError):
        close(book, "--rate", "USD=7.1", user=who)
    assert not JournalEntry.objects.filter(book=book.book, date=END).exists()


def test_a_rerun_is_a_no_op_and_the_year_takes_no_more_entries(book, people, funds):
    close(book, "--rate", "USD=7.1")
    count, head = selectors.head(book.book)
    assert "already closed" in close(book, "--rate", "USD=7.3")
    assert selectors.head(book.book) == (count, head)
    op = system_user()
    with pytest.raises(ledger_errors.LedgerError):
        ledger.entry_post(book=book.book, date=END, memo="late", user=op, legs=[
            Dr(acct(book, chart.BANK), funds["GEN"], Decimal("1.00")),
            Cr(acct(book, chart.DONATION_UNRESTRICTED), funds["GEN"], Decimal("1.00"))])
    spending = JournalEntry.objects.get(book=book.book, date=dt.date(2025, 6, 2))
    with pytest.raises(ledger_errors.LedgerError):
        ledger.entry_reverse(entry=spending, date=END, reason="late", user=op)
    closing = JournalEntry.objects.filter(book=book.book, closing=True).first()
    with pytest.raises(ledger_errors.LedgerError, match="closing entry"):
        ledger.entry_reverse(entry=closing, date=dt.date(2026, 1, 5), reason="undo", user=op)
    assert verify_book(book.book).ok


def test_a_bad_rate_is_refused_naming_the_option(book, people):
    for bad in ("USD", "USD=-1", "USD=abc", "CNY=1"):
        with pytest.raises(CommandError, match="--rate"):
            close(book, "--rate", bad)
    assert not JournalEntry.objects.filter(book=book.book, date=END).exists()


def test_the_database_refuses_a_closing_entry_on_an_asset(book, people, funds):
    """The engine refuses it (the service) and so does the database (guard 0009), tried by writing the rows."""
    with pytest.raises(ledger_errors.LedgerError, match="closing entry"):
        ledger.entry_post(book=book.book, date=dt.date(2026, 1, 2), memo="x", user=system_user(), closing=True, legs=[
            Dr(acct(book, chart.BANK), funds["GEN"], Decimal("1.00")),
            Cr(acct(book, chart.NET_ASSETS_UNRESTRICTED), funds["GEN"], Decimal("1.00"))])
    from django.db import DatabaseError, connection, transaction

    entry = JournalEntry.objects.filter(book=book.book).first()
    with pytest.raises(DatabaseError, match="closing entry"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_journalentry (book_id, sequence, date, memo, status, source_type, source_id, "
                "created_by_id, created_at, payload_hash, previous_hash, hash, closing) VALUES "
                "(%s, 999, '2026-01-02', 'x', 'draft', '', '', %s, '2026-01-02 10:00:00', '', '', '', %s)",
                [book.book_id, entry.created_by_id, True])
            for position, (code, debit) in enumerate(((chart.BANK, True), (chart.NET_ASSETS_UNRESTRICTED, False)), 1):
                cursor.execute(
                    "INSERT INTO ledger_leg (entry_id, position, account_id, fund_id, currency, debit, credit, "
                    "debit_cny, credit_cny, date) SELECT id, %s, %s, %s, 'CNY', %s, %s, %s, %s, '2026-01-02' "
                    "FROM ledger_journalentry WHERE book_id = %s AND sequence = 999",
                    [position, acct(book, code).pk, funds["GEN"].pk, 100 if debit else 0, 0 if debit else 100,
                     100 if debit else 0, 0 if debit else 100, book.book_id])
            cursor.execute("UPDATE ledger_journalentry SET status = 'posted' WHERE book_id = %s AND sequence = 999",
                           [book.book_id])


def test_the_beancount_export_loads_with_the_same_balances(book, people, tmp_path):
    """Beancount 3 loads the export with no error and holds, per account and fund, the ledger's CNY balance:
    nil on every income and expense account after closing."""
    from collections import defaultdict

    from beancount import loader
    from beancount.core import data

    close(book, "--rate", "USD=7.1")
    path = tmp_path / "books.beancount"
    call_command("export_beancount", "--trust", book.book.code, "--out", str(path))
    entries, errs, _options = loader.load_file(str(path))
    assert errs == []
    marked = [e.meta["seq"] for e in entries if isinstance(e, data.Transaction) and e.meta.get("closing") is True]
    assert marked == [str(e.sequence) for e in JournalEntry.objects.filter(book=book.book, closing=True)]
    totals = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                _root, code, fund = posting.account.split(":")
                totals[(code[1:], fund[1:])] += posting.units.number
    assert totals
    for (code, fund_code), number in totals.items():
        account = acct(book, code)
        fund = Fund.objects.get(book=book.book, code=fund_code)
        normal = selectors.account_balance(account, fund=fund)
        assert number == (normal if account.type == AccountType.ASSET else -normal), (code, fund_code)
        if account.type in (AccountType.INCOME, AccountType.EXPENSE):
            assert number == 0, (code, fund_code)


def test_all_or_nothing_a_failure_after_the_revaluation_leaves_the_books_as_they_were(book, people, monkeypatch):
    """The revaluation is posted, then the closing fails: nothing stays, and the year's last day is closed again
    (the day opened for the closing batch only)."""
    import charity.services.closing as closing

    before = (selectors.head(book.book), list(book.book.periods.values_list("checkpoints__debit", flat=True)))

    def fail(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(closing, "_close", fail)
    with pytest.raises(RuntimeError):
        year_close(trust=book, year=2025, rates={"USD": "7.1"}, user=people["approver"])
    assert book.book.closed_through == END  # the instance the caller holds
    book.book.refresh_from_db()
    assert book.book.closed_through == END
    assert not JournalEntry.objects.filter(book=book.book, date=END).exists()
    assert not YearClose.objects.exists()
    assert (selectors.head(book.book), list(book.book.periods.values_list("checkpoints__debit", flat=True))) == before
    with pytest.raises(ledger_errors.LedgerError):
        ledger.entry_post(book=book.book, date=END, memo="late", user=system_user(), legs=[
            Dr(acct(book, chart.BANK), Fund.objects.get(book=book.book, code="GEN"), Decimal("1.00")),
            Cr(acct(book, chart.DONATION_UNRESTRICTED), Fund.objects.get(book=book.book, code="GEN"), Decimal("1.00"))])
    assert verify_book(book.book).ok
