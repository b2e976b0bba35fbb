"""The statements' queries do not grow with the books: the same count for a small book and one with many
more accounts, funds and entries, and under a fixed ceiling (django_assert_max_num_queries)."""

import io
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from charity.reports import REPORTS, render_report, resolve_params
from ledger import services
from ledger.services import system_user

from .conftest import D, make_books, worked_example

PINNED = {
    "trial-balance": {"as_of": D(2026, 11, 29)},
    "financial-position": {"as_of": D(2026, 11, 29)},
    "activities": {"year": 2026},
    "fund-balances": {"year": 2026},
}
CEILING = 10
# activities reads two periods (本年 and 上年), each with its movements, its releases of restricted funds by a
# management fee (one grouped query) and its opening net assets.
CEILINGS = {"activities": 14}


def queries(b, name, fmt="csv"):
    cls = REPORTS[name]
    params = resolve_params(cls, b.book, **PINNED[name])
    with CaptureQueriesContext(connection) as ctx:
        render_report(book=b.book, report=cls, params=params, fmt=fmt, out=io.BytesIO())
    return len(ctx.captured_queries)


def grow(b, *, funds: int, accounts: int, entries: int):
    """Many more restricted funds, expense and income accounts, and entries spread over them and two years."""
    for i in range(accounts):
        services.account_create(book=b.book, code=f"4109{i:03d}", name=f"收入{i}", type="income")
        services.account_create(book=b.book, code=f"5109{i:03d}", name=f"项目{i}", type="expense",
                                purpose=f"p{i % funds}")
    for i in range(funds):
        b.fund(f"F{i:03d}", f"专项{i}", "restricted", f"p{i}")
    b.a = {a.code: a for a in b.book.accounts.all()}
    for n in range(entries):
        i = n % funds
        day = D(2025 + n % 2, 1 + n % 11, 1 + n % 28)
        b.move(day, "gift", "100201", f"4109{n % accounts:03d}", f"F{i:03d}", Decimal("100.00"))
        b.move(day, "use", f"5109{i:03d}", "100201", f"F{i:03d}", Decimal("10.00"))  # purpose p{i} = F{i}'s


def test_queries_do_not_grow(db, officer, django_assert_max_num_queries):
    small = make_books(officer, code="S")
    worked_example(small)
    large = make_books(officer, code="L")
    worked_example(large)
    grow(large, funds=30, accounts=30, entries=120)
    services.period_close(book=large.book, month="2025-06", user=system_user())
    services.period_close(book=small.book, month="2025-06", user=system_user())
    for name in PINNED:
        baseline = queries(small, name)
        assert queries(large, name) == baseline, name
        assert queries(large, name, "json") == baseline, name
        with django_assert_max_num_queries(CEILINGS.get(name, CEILING)):
            large.report(name, "csv", **PINNED[name])
