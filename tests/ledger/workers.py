"""Code run in separate processes by the concurrency tests (started with 'spawn': a fresh interpreter each).

Each worker sets Django up, points the default database at the test database the parent uses (whose name the
parent passes in), and posts through the one write path, ``ledger.services.entry_post``.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal


def _setup(db_name: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charity.settings")
    import django
    from django.conf import settings

    django.setup()
    # Before the first query: connections are made lazily from this very dict.
    settings.DATABASES["default"]["NAME"] = db_name
    from django.db import connection

    with connection.cursor() as cursor:
        # Durability only (no fsync wait at each commit); locking and visibility are exactly as in production.
        cursor.execute("SET synchronous_commit TO off")


def post_many(db_name: str, book_id: int, user_id: int, worker: int, count: int, barrier) -> list[int]:
    """Post ``count`` small gifts into the book's GEN fund; returns the sequence numbers they got."""
    _setup(db_name)
    from django.contrib.auth import get_user_model
    from django.db import connections

    from ledger import services
    from ledger.models import Account, Book, Fund

    book = Book.objects.get(pk=book_id)
    user = get_user_model().objects.get(pk=user_id)
    bank = Account.objects.get(book=book, code="1002")
    income = Account.objects.get(book=book, code="4101")
    gen = Fund.objects.get(book=book, code="GEN")
    barrier.wait()
    sequences = []
    for n in range(count):
        entry = services.entry_post(
            book=book, date=dt.date(2026, 6, 1 + n % 28), memo=f"worker {worker} gift {n}", user=user,
            idempotency_key=f"w{worker}-{n}",
            legs=[services.Dr(bank, gen, Decimal("1.00")), services.Cr(income, gen, Decimal("1.00"))],
        )
        sequences.append(entry.sequence)
    connections.close_all()
    return sequences


def spend_many(db_name: str, book_id: int, user_id: int, fund_code: str, count: int, amount: str, barrier) -> dict:
    """Try ``count`` spends of ``amount`` from a restricted fund; count what was posted and what was refused."""
    _setup(db_name)
    from django.contrib.auth import get_user_model
    from django.db import connections

    from ledger import errors, services
    from ledger.models import Account, Book, Fund

    book = Book.objects.get(pk=book_id)
    user = get_user_model().objects.get(pk=user_id)
    expense = Account.objects.get(book=book, code="5101")
    bank = Account.objects.get(book=book, code="1002")
    fund = Fund.objects.get(book=book, code=fund_code)
    barrier.wait()
    result = {"posted": 0, "refused": 0}
    for _ in range(count):
        try:
            services.entry_post(
                book=book, date=dt.date(2026, 7, 1), memo="spend", user=user,
                legs=[services.Dr(expense, fund, Decimal(amount)), services.Cr(bank, fund, Decimal(amount))],
            )
            result["posted"] += 1
        except errors.InsufficientFunds:
            result["refused"] += 1
    connections.close_all()
    return result
