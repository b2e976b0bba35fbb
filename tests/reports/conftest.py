"""A trust with the default chart and four funds, entries posted straight through ``ledger.services``.

Reports read only the ledger and the chart, so these fixtures never touch the charity's donation or expense
models: a donation is Dr bank / Cr donation income in a fund, spending is Dr expense / Cr bank in a fund.
"""

from __future__ import annotations
from ledger.services import system_user

import csv
import datetime as dt
import io
import json
import random
from decimal import Decimal

import pytest

from charity.reports import REPORTS, render_report, resolve_params
from charity.services import trust_create
from ledger import errors as ledger_errors
from ledger import services
from ledger.models import Account, Fund
from ledger.services import Cr, Dr


class Books:
    """A trust's book with its accounts by code and its funds by code, and small posting helpers."""

    def __init__(self, trust, user):
        self.trust = trust
        self.book = trust.book
        self.user = user
        self.a = {a.code: a for a in Account.objects.filter(book=self.book)}
        self.f = {f.code: f for f in Fund.objects.filter(book=self.book)}

    def fund(self, code, name, restriction, purpose=""):
        self.f[code] = services.fund_create(user=system_user(), 
            book=self.book, code=code, name=name, restriction=restriction, purpose=purpose
        )
        return self.f[code]

    def post(self, date, memo, *legs):
        return services.entry_post(book=self.book, date=date, memo=memo, legs=list(legs), user=self.user)

    def move(self, date, memo, debit, credit, fund, amount):
        """Dr ``debit`` / Cr ``credit`` (account codes) in one fund."""
        amount = Decimal(amount)
        return self.post(date, memo, Dr(self.a[debit], self.f[fund], amount), Cr(self.a[credit], self.f[fund], amount))

    def report(self, name, fmt="csv", **options) -> bytes:
        cls = REPORTS[name]
        params = resolve_params(cls, self.book, **options)
        out = io.BytesIO()
        render_report(book=self.book, report=cls, params=params, fmt=fmt, out=out)
        return out.getvalue()

    def csv(self, name, **options) -> list[dict]:
        data = self.report(name, "csv", **options)
        assert data.startswith(b"\xef\xbb\xbf")
        return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))

    def json(self, name, **options) -> dict:
        return json.loads(self.report(name, "json", **options))


def make_books(user, code="T1", name="春蕾慈善信托") -> Books:
    trust = trust_create(user=system_user(), code=code, name=name)
    books = Books(trust, user)
    books.fund("SMILE", "微笑礼包专项资金", "restricted", "smile_pack")
    books.fund("STUDY", "助学金专项资金", "restricted", "study_grant")
    books.fund("ENDOW", "母亲留本基金", "endowment")
    return books


@pytest.fixture
def books(db, officer):
    return make_books(officer)


def D(*args) -> dt.date:
    return dt.date(*args)


def worked_example(b: Books) -> None:
    """The textbook year of tests/reports/test_worked_example.py (figures worked out by hand there)."""
    b.move(D(2025, 12, 15), "期初余额 opening balance", "100201", "3101", "GEN", "10000")
    b.move(D(2026, 1, 10), "donation", "100201", "410101", "GEN", "5000")
    b.move(D(2026, 1, 12), "donation via WeChat", "100901", "410102", "SMILE", "3000")
    b.move(D(2026, 1, 15), "donation", "100201", "410102", "STUDY", "2000")
    b.move(D(2026, 1, 20), "endowment gift", "100201", "410103", "ENDOW", "20000")
    b.move(D(2026, 2, 1), "donated goods", "120102", "410105", "SMILE", "500")
    b.move(D(2026, 3, 1), "Smile Packs handed out", "510101", "100901", "SMILE", "1200")
    b.move(D(2026, 3, 5), "study grants", "510102", "100201", "STUDY", "800")
    b.move(D(2026, 3, 10), "office rent", "520101", "100201", "GEN", "450")
    b.move(D(2026, 3, 11), "bank fees", "540101", "100201", "GEN", "50")
    b.move(D(2026, 4, 1), "refund", "410102", "100901", "SMILE", "200")
    b.move(D(2026, 4, 2), "interest", "100201", "4601", "GEN", "100")
    b.move(D(2026, 5, 1), "fundraising dinner (accrued)", "530101", "2202", "GEN", "300")


def random_year(b: Books, *, seed: int, year: int, entries: int, close_month: int | None = None) -> None:
    """A seeded random year: gifts of every kind, spending within what restricted funds hold, refunds,
    reversals, accruals, stock bought and handed out, an opening balance; optionally a period close."""
    rng = random.Random(seed)
    last = min(D(year, 12, 31), D(2026, 11, 29))
    days = sorted(D(year, 1, 1) + dt.timedelta(days=rng.randrange((last - D(year, 1, 1)).days + 1))
                  for _ in range(entries))
    b.move(D(year - 1, 12, 31), "opening balance", "100201", "3101", "GEN", "2500.00")
    b.move(D(year - 1, 12, 31), "opening balance (restricted)", "100201", "3102", "SMILE", "800.00")
    spends = []
    closed = False

    def money(lo, hi):
        return Decimal(rng.randrange(lo * 100, hi * 100)) / 100

    for day in days:
        if close_month and not closed and day.month > close_month:
            services.period_close(book=b.book, month=f"{year}-{close_month:02d}", user=system_user())
            closed = True
        roll = rng.random()
        try:
            if roll < 0.35:
                fund, income = rng.choice(
                    [("GEN", "410101"), ("SMILE", "410102"), ("STUDY", "410102"), ("ENDOW", "410103"), ("GEN", "4601")]
                )
                asset = rng.choice(["100201", "100901", "100902", "1001"])
                b.move(day, f"gift {rng.randrange(10**6)}", asset, income, fund, money(10, 5000))
            elif roll < 0.42:
                fund = rng.choice(["GEN", "SMILE"])
                b.move(day, "goods given", "120102", "410104" if fund == "GEN" else "410105", fund, money(50, 800))
            elif roll < 0.50:
                b.move(day, "packs bought", "120101", "100201", "SMILE", money(10, 300))
            elif roll < 0.70:
                fund = rng.choice(["SMILE", "STUDY"])
                account = "510101" if fund == "SMILE" else "510102"
                have = Fund.objects.get(pk=b.f[fund].pk).net_assets
                if have > 100:
                    spends.append(
                        b.move(day, "aid", account, "100201", fund, Decimal(rng.randrange(1, have // 2 + 2)) / 100)
                    )
            elif roll < 0.85:
                account = rng.choice(["520101", "520101", "530101", "540101", "530102", "510103"])
                b.move(day, "costs", account, "100201", "GEN", money(1, 900))
            elif roll < 0.90:
                b.move(day, "accrued", "520101", "2202", "GEN", money(1, 400))
            elif roll < 0.94 and spends:
                entry = spends.pop(rng.randrange(len(spends)))
                services.entry_reverse(entry=entry, date=max(day, entry.date), reason="error", user=b.user)
            else:
                fund = rng.choice(["GEN", "SMILE", "STUDY"])
                income = "410101" if fund == "GEN" else "410102"
                b.move(day, "refund", income, "100201", fund, money(1, 30))
        except (ledger_errors.InsufficientFunds, ledger_errors.AllocatedSource, ledger_errors.ClosedPeriod):
            pass
