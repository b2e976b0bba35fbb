"""Row locks: one order, taken in one place.

Every service that locks rows does it through ``lock`` (the posting path's two raw statements, the book and
the funds in ``services.writer``, use the same ``SQL_LOCK`` clause). ``lock`` takes every row a service will
lock, in any order, and locks them in **the order**, lowest level first and by id within a level:

====== ==================================== ===========================================================
level  rows                                 taken by
====== ==================================== ===========================================================
10     the book (``ledger.Book``)           every money movement, before anything else: it serialises the
                                            postings of a trust (sequence, head hash, closed-through)
20     accounts (``ledger.Account``)        a statement import or match (one at a time per account)
30     funds (``ledger.Fund``), by id       the posting path (the spendable balance is checked under it)
40     stock balances (beneficiaries)       stock moves: quantity and weighted-average value
50     receipt counters (charity)           the next receipt number of (trust, year)
100    the service's own rows, by model     a donation, a disbursement, a batch, a receipt, a draft ...
       name then id
====== ==================================== ===========================================================

A transaction never asks for a row of a lower level than one it already holds, unless it holds it already
(the posting path locks the book and the funds again: the same rows, no wait); a service that will post passes
the book and the funds it posts to along with its own rows, so that the posting path's locks come first. Under
the book, and only there, a later statement may go back to a lower level or a lower id: a posting batch of many
movements (an import) locks each movement's rows as it reaches it, and the posting path each entry's funds.
That is safe because every lock on a fund or a stock balance is taken with the book held first. The levels above 30 belong to the apps
above the ledger, which ``register`` their models (in their ``AppConfig.ready``); a model not registered is a
service's own row (100).

**What the database locks at commit.** Django declares foreign keys ``DEFERRABLE INITIALLY DEFERRED`` on
PostgreSQL, so at COMMIT every new row (and every changed foreign key) takes ``FOR KEY SHARE`` on its parent
rows: a leg on its account, fund and entry, a donation on its fund and trust, a stock balance on its item and
fund. ``FOR KEY SHARE`` waits for a ``FOR UPDATE`` lock but not for ``FOR NO KEY UPDATE``, so every lock here is
``FOR NO KEY UPDATE`` (no service changes a key or deletes a locked row): a commit never waits for a row another
transaction locked. (A plain ``FOR UPDATE`` on a fund held by a transaction that then waited for the book was
the deadlock of issue 21.) The ledger's deferred constraint trigger (``ledger_entry_commit_check``) only reads:
it takes no row lock. An ``UPDATE`` of a row takes the same ``FOR NO KEY UPDATE`` lock, at its row's level.

**Rows that must exist before they are locked** (a stock balance, a receipt counter) are passed as ``Key``:
``lock`` creates a missing one with ``INSERT ... ON CONFLICT DO NOTHING`` (``bulk_create(ignore_conflicts=True)``,
both engines) at its level's turn, then locks it; two creators never race to a unique violation (the second
waits for the first's insert and then finds its row). SQLite has no row locks: a write transaction holds the
whole database (``BEGIN IMMEDIATE``), so there ``lock`` only reads the rows fresh.

A new service: ``book, fund, balance, mine = lock(book, fund, Key(StockBalance, item=item, fund=fund), mine)``
inside its ``transaction.atomic`` (or ``posting_batch``), before it reads what it checks; then post.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.db.models import Model

BOOK, ACCOUNT, FUND = 10, 20, 30
STOCK_BALANCE, RECEIPT_COUNTER = 40, 50  # registered by beneficiaries and charity
OWN = 100
#: the row lock of the raw posting statements (``services.writer``): PostgreSQL's, as ``lock`` takes it
SQL_LOCK = " FOR NO KEY UPDATE"

_LEVELS: dict[str, int] = {}  # table name -> level


def register(model: type[Model], level: int) -> None:
    """Place ``model``'s rows at ``level`` of the order (apps above the ledger, for their shared rows)."""
    _LEVELS[model._meta.db_table] = level


def level_of(table: str) -> int:
    """The level of a table's rows in the order (``OWN`` for a table not registered)."""
    return _LEVELS.get(table, OWN)


class Key:
    """A row named by its unique fields, created (with its defaults) when missing, before it is locked."""

    def __init__(self, model: type[Model], **fields):
        self.model, self.fields = model, fields

    def __repr__(self) -> str:
        return f"Key({self.model.__name__}, {self.fields})"


def _pk(row) -> tuple[type[Model], object]:
    if isinstance(row, Key):
        found = row.model.objects.filter(**row.fields).values_list("pk", flat=True).first()
        if found is None:
            row.model.objects.bulk_create([row.model(**row.fields)], ignore_conflicts=True)
            found = row.model.objects.filter(**row.fields).values_list("pk", flat=True).get()
        return row.model, found
    return type(row), row.pk


def _order(model: type[Model]) -> tuple[int, str]:
    return level_of(model._meta.db_table), model._meta.db_table


def lock(*rows):
    """Lock ``rows`` (model instances, or ``Key``; ``None`` is skipped) in the order of the module docstring,
    ``FOR NO KEY UPDATE``, inside the caller's transaction; return them fresh from the database, in the order
    given (``None`` where ``None`` was given). One statement per model; a ``Key`` is found or created at its
    level's turn. A row that no longer exists raises the model's ``DoesNotExist``."""
    wanted: dict[type[Model], list] = defaultdict(list)  # model -> [(position, instance or Key)]
    for position, row in enumerate(rows):
        if row is not None:
            wanted[row.model if isinstance(row, Key) else type(row)].append((position, row))
    answer: list = [None] * len(rows)
    for model in sorted(wanted, key=_order):
        pks = {position: _pk(row)[1] for position, row in wanted[model]}
        query = model.objects.filter(pk__in=sorted(set(pks.values()))).order_by("pk")
        if connection.features.has_select_for_update:
            query = query.select_for_update(no_key=True)
        found = {obj.pk: obj for obj in query}
        for position, pk in pks.items():
            if pk not in found:
                raise model.DoesNotExist(f"{model.__name__} {pk} does not exist")
            answer[position] = found[pk]
    return answer


def lock_one(row):
    """``lock`` of one row: the row, fresh and locked."""
    return lock(row)[0]
