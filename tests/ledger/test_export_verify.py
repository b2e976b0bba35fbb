"""``export_beancount`` checked by Beancount 3 itself, and ``verify_ledger``'s output (docs/formats.md)."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core import data
from django.core.management import CommandError, call_command

from ledger import selectors, services
from ledger.models import Account, JournalEntry
from ledger.services import Cr, Dr, LegSpec

from .conftest import make_book


def several_funds_with_hkd(sb, user):
    def post(date, legs, **kw):
        return services.entry_post(book=sb.book, date=date, memo=kw.pop("memo", "entry"), user=user, legs=legs, **kw)

    post(dt.date(2026, 1, 5), [Dr(sb.bank, sb.gen, Decimal("10000")), Cr(sb.income, sb.gen, Decimal("10000"))],
         memo='gift from "Zhang San" 张三')
    gift = post(dt.date(2026, 1, 6), [Dr(sb.bank, sb.fa, Decimal("5000")), Cr(sb.income_r, sb.fa, Decimal("5000"))],
                memo="restricted\ngift")
    post(dt.date(2026, 1, 7), [Dr(sb.bank, sb.fb, Decimal("1000.01")), Cr(sb.income_r, sb.fb, Decimal("1000.01"))])
    post(dt.date(2026, 2, 1),
         [Dr(sb.bank, sb.gen, Decimal("0.15"), "HKD"), Dr(sb.stock, sb.gen, Decimal("0.15"), "HKD"),
          Cr(sb.income, sb.gen, Decimal("0.30"), "HKD"),
          Dr(sb.bank, sb.endow, Decimal("8888.88"), "HKD"), Cr(sb.equity, sb.endow, Decimal("8888.88"), "HKD"),
          Dr(sb.bank, sb.fa, Decimal("0.01"), "HKD"), Cr(sb.income_r, sb.fa, Decimal("0.01"), "HKD")],
         fx_rate=Decimal("0.9123"), memo="HKD gifts")
    post(dt.date(2026, 2, 10), [Dr(sb.exp_a, sb.fa, Decimal("1234.56")), Cr(sb.bank, sb.fa, Decimal("1234.56"))])
    post(dt.date(2026, 2, 11), [Dr(sb.exp_b, sb.fb, Decimal("999")), Cr(sb.payable, sb.fb, Decimal("999"))])
    post(dt.date(2026, 2, 12), [Dr(sb.exp_admin, sb.gen, Decimal("77.70")), Cr(sb.bank, sb.gen, Decimal("77.70"))])
    source = gift.legs.get(position=2)
    refund = post(dt.date(2026, 3, 1), [LegSpec(account=sb.income_r, fund=sb.fa, debit=Decimal("100"), reduces=source),
                                         Cr(sb.bank, sb.fa, Decimal("100"))], memo="refund")
    services.entry_reverse(entry=refund, date=dt.date(2026, 3, 2), reason="refund bounced", user=user)
    # Worth nothing in CNY (0.004 rounds to 0.00): the export still has to balance and load.
    post(dt.date(2026, 3, 3), [Dr(sb.bank, sb.gen, Decimal("0.01"), "USD"), Cr(sb.income, sb.gen, Decimal("0.01"), "USD")],
         fx_rate=Decimal("0.4"), memo="a cent")
    return sb


def beancount_balances(path) -> tuple[dict[str, Decimal], list]:
    entries, errors, options = loader.load_file(str(path))
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                assert posting.units.currency == "CNY"
                code = posting.account.split(":")[1][1:]  # <Root>:C<code>:F<fund>
                totals[code] += posting.units.number
    return totals, errors, entries


def test_export_loads_in_beancount_and_gives_the_same_balances(sb, user, tmp_path):
    several_funds_with_hkd(sb, user)
    path = tmp_path / "ledger.beancount"
    call_command("export_beancount", out=str(path))
    totals, errors, entries = beancount_balances(path)
    assert errors == []
    transactions = [e for e in entries if isinstance(e, data.Transaction)]
    assert len(transactions) == JournalEntry.objects.count() == 10
    assert transactions[0].narration == 'gift from "Zhang San" 张三'
    assert [t.meta["seq"] for t in transactions] == [str(n) for n in range(1, 11)]
    for account in Account.objects.filter(book=sb.book):
        normal = selectors.account_balance(account)
        debit_minus_credit = normal if account.debit_normal else -normal
        assert totals.get(account.code, Decimal(0)) == debit_minus_credit, account.code
    # 10,000 + 5,000 + 1,000.01 in CNY; HKD 0.15 -> 0.14, 8,888.88 x 0.9123 = 8,109.325224 -> 8,109.33, 0.01 -> 0.01;
    # less 1,234.56 and 77.70 paid out (the refund of 100 was reversed; the USD cent is worth 0.00).
    expected_bank = Decimal("10000") + Decimal("5000") + Decimal("1000.01") + Decimal("0.14") + Decimal("8109.33")
    expected_bank += Decimal("0.01") - Decimal("1234.56") - Decimal("77.70")
    assert totals["1002"] == selectors.account_balance(sb.bank) == expected_bank == Decimal("22797.23")
    hkd = [p for p in transactions[3].postings if "original" in (p.meta or {})]
    assert len(hkd) == 7 and hkd[0].meta["original"] == "0.15 HKD"


def test_export_per_fund_accounts_match_the_ledger(sb, user, tmp_path):
    several_funds_with_hkd(sb, user)
    path = tmp_path / "ledger.beancount"
    call_command("export_beancount", out=str(path))
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    per_pair: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                _, account, fund = posting.account.split(":")
                per_pair[(account[1:], fund[1:])] += posting.units.number
    expected = {
        (a.code, f.code): value
        for (account_id, fund_id), value in selectors.balances_by_account_and_fund(sb.book).items()
        for a in [Account.objects.get(pk=account_id)]
        for f in [a.book.funds.get(pk=fund_id)]
    }
    assert dict(per_pair) == expected


def test_export_to_stdout_and_with_several_books(sb, user, capsys):
    several_funds_with_hkd(sb, user)
    make_book("ZZ")
    with pytest.raises(CommandError, match="several trusts"):
        call_command("export_beancount")
    call_command("export_beancount", trust="BK")
    out = capsys.readouterr().out
    assert out.startswith("; Charity Trust Ledger: book BK")
    assert 'option "operating_currency" "CNY"' in out


def test_export_of_an_empty_book(sb, tmp_path):
    path = tmp_path / "empty.beancount"
    call_command("export_beancount", out=str(path))
    entries, errors, _ = loader.load_file(str(path))
    assert errors == [] and entries == []


# --- verify_ledger -----------------------------------------------------------------------------------------------


def test_verify_ledger_on_an_empty_database(db, capsys):
    call_command("verify_ledger")
    assert capsys.readouterr().out == "OK 0 -\n"


def test_verify_ledger_on_a_book_without_entries(sb, capsys):
    call_command("verify_ledger")
    assert capsys.readouterr().out == "OK 0 - BK\n"


def test_verify_ledger_prints_count_head_and_code(sb, user, capsys):
    several_funds_with_hkd(sb, user)
    sb.book.refresh_from_db()
    call_command("verify_ledger")
    assert capsys.readouterr().out == f"OK 10 {sb.book.head_hash} BK\n"
    assert selectors.head(sb.book) == (10, sb.book.head_hash)


def test_verify_ledger_one_line_per_book(sb, user, capsys):
    several_funds_with_hkd(sb, user)
    other = make_book("AA")
    entry = services.entry_post(
        book=other.book, date=dt.date(2026, 5, 1), memo="x", user=user,
        legs=[Dr(other.bank, other.gen, Decimal("1")), Cr(other.income, other.gen, Decimal("1"))],
    )
    sb.book.refresh_from_db()
    call_command("verify_ledger")
    assert capsys.readouterr().out.splitlines() == [f"OK 1 {entry.hash} AA", f"OK 10 {sb.book.head_hash} BK"]
    call_command("verify_ledger", trust="AA")
    assert capsys.readouterr().out == f"OK 1 {entry.hash} AA\n"
