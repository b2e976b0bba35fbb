"""The whole book in Beancount syntax, so that an auditor can check it with an independent engine.

Each (account, fund) pair becomes one Beancount account, ``<Root>:C<code>:F<fund>``; the account's balance is
the sum of its funds'. Postings are in CNY (the amounts the books balance in); a leg kept in another currency
carries its original amount and currency as metadata. Entries keep their sequence number and hash as metadata, and
a closing entry (年度结转) says so (``closing: TRUE``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .models import Account, AccountType, Book, Fund, JournalEntry, Leg, from_minor

ROOTS = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.NET_ASSETS: "Equity",
    AccountType.INCOME: "Income",
    AccountType.EXPENSE: "Expenses",
}


def _component(prefix: str, code: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9-]", "-", code)
    return f"{prefix}{cleaned}"


def beancount_name(account: Account, fund: Fund) -> str:
    return f"{ROOTS[account.type]}:{_component('C', account.code)}:{_component('F', fund.code)}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def export_lines(book: Book) -> Iterator[str]:
    yield f"; Charity Trust Ledger: book {book.code} ({book.name})"
    yield 'option "operating_currency" "CNY"'
    yield ""
    accounts = {a.pk: a for a in Account.objects.filter(book=book)}
    funds = {f.pk: f for f in Fund.objects.filter(book=book)}
    first = JournalEntry.objects.filter(book=book).order_by("date").values_list("date", flat=True).first()
    used = (
        Leg.objects.filter(entry__book=book).values_list("account_id", "fund_id").distinct().order_by()
    )
    opened = sorted({beancount_name(accounts[a], funds[f]) for a, f in used})
    for name in opened:
        yield f"{first.isoformat()} open {name} CNY"
    if opened:
        yield ""
    legs = (
        Leg.objects.filter(entry__book=book)
        .order_by("entry__sequence", "position")
        .values_list("entry_id", "account_id", "fund_id", "currency", "debit", "credit", "debit_cny", "credit_cny")
        .iterator(chunk_size=5000)
    )
    pending = next(legs, None)
    entries = (
        JournalEntry.objects.filter(book=book)
        .order_by("sequence")
        .values_list("pk", "sequence", "date", "memo", "hash", "closing")
        .iterator(chunk_size=2000)
    )
    for pk, sequence, date, memo, digest, closing in entries:
        yield f"{date.isoformat()} * {_quote(memo or f'entry {sequence}')}"
        yield f'  seq: "{sequence}"'
        yield f'  hash: "{digest}"'
        if closing:
            yield "  closing: TRUE"
        while pending is not None and pending[0] == pk:
            _, account_id, fund_id, currency, debit, credit, debit_cny, credit_cny = pending
            amount = from_minor(debit_cny - credit_cny)
            yield f"  {beancount_name(accounts[account_id], funds[fund_id])}  {amount} CNY"
            if currency != "CNY":
                original = from_minor(debit - credit)
                yield f'    original: "{original} {currency}"'
            pending = next(legs, None)
        yield ""
