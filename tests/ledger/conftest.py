"""A small book for the engine's tests, in the ledger's own words (no charity vocabulary)."""

from ledger.services import system_user
import datetime as dt
from dataclasses import dataclass

import pytest

from ledger import services
from ledger.models import Account, Book, Fund


@dataclass
class SmallBook:
    book: Book
    bank: Account
    stock: Account
    payable: Account
    equity: Account
    income: Account
    income_r: Account
    exp_a: Account
    exp_b: Account
    exp_admin: Account
    gen: Fund
    fa: Fund
    fb: Fund
    endow: Fund


def make_book(code: str = "BK") -> SmallBook:
    book = services.book_create(code=code, name=f"Book {code}")

    def acct(c, t, **kw):
        return services.account_create(book=book, code=c, name=c, name_en=c, type=t, **kw)

    return SmallBook(
        book=book,
        bank=acct("1002", "asset"),
        stock=acct("1401", "asset"),
        payable=acct("2202", "liability"),
        equity=acct("3101", "net_assets"),
        income=acct("4101", "income"),
        income_r=acct("4102", "income"),
        exp_a=acct("5101", "expense", purpose="a"),
        exp_b=acct("5102", "expense", purpose="b"),
        exp_admin=acct("5201", "expense"),
        gen=services.fund_create(user=system_user(), book=book, code="GEN", name="General", restriction="unrestricted"),
        fa=services.fund_create(user=system_user(), book=book, code="FA", name="Fund A", restriction="restricted", purpose="a"),
        fb=services.fund_create(user=system_user(), book=book, code="FB", name="Fund B", restriction="restricted", purpose="b"),
        endow=services.fund_create(user=system_user(), book=book, code="END", name="Endowment", restriction="endowment"),
    )


@pytest.fixture
def sb(db):
    return make_book()


@pytest.fixture
def user(django_user_model):
    """The ledger's tests have books without trusts: the clerk holds the ledger's permissions globally, in every
    book, as an administrator would grant them (charity.backends)."""
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user("clerk")
    clerk.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="ledger", codename__in=["post_entries", "close_periods", "manage_funds"]))
    return django_user_model.objects.get(pk=clerk.pk)


D = dt.date(2026, 3, 2)


def today() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()


# --- "nothing was written" -------------------------------------------------------------------------------------


def ledger_state(book: Book) -> dict:
    """Everything a refused post could have touched, as plain values."""
    from ledger.models import Allocation, DailyBalance, FundSource, JournalEntry, Leg

    stored = Book.objects.get(pk=book.pk)
    return {
        "entries": JournalEntry.objects.count(),
        "legs": Leg.objects.count(),
        "sources": list(FundSource.objects.order_by("pk").values_list("pk", "remaining")),
        "allocations": Allocation.objects.count(),
        "daily": list(DailyBalance.objects.order_by("pk").values_list("pk", "debit", "credit")),
        "funds": list(Fund.objects.order_by("pk").values_list("pk", "net_assets")),
        "last_sequence": stored.last_sequence,
        "head_hash": stored.head_hash,
    }


class nothing_written:
    """``with nothing_written(book): ...`` asserts that the block left the ledger (and ``book``) as it was."""

    def __init__(self, book: Book):
        self.book = book

    def __enter__(self):
        self.before = ledger_state(self.book)
        self.in_memory = (self.book.last_sequence, self.book.head_hash)
        return self

    def __exit__(self, *exc):
        assert ledger_state(self.book) == self.before
        assert (self.book.last_sequence, self.book.head_hash) == self.in_memory
        return False


# --- tests that commit ------------------------------------------------------------------------------------------

LEDGER_TABLES_IN_DELETE_ORDER = [
    "ledger_allocation",
    "ledger_fundsource",
    "ledger_balancecheckpoint",
    "ledger_period",
    "ledger_dailybalance",
    "ledger_leg",
    "ledger_journalentry",
    "ledger_fund",
    "ledger_account",
    "ledger_book",
]


def sqlite_trigger_names() -> list[str]:
    import re

    from ledger.dbguards import statements

    return [re.search(r"CREATE TRIGGER (\w+)", s).group(1) for s in statements("sqlite")]


def sqlite_restore_triggers(cursor) -> None:
    """Recreate every SQLite guard that is missing (a test may have dropped some)."""
    import re

    from ledger.dbguards import statements

    cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    present = {row[0] for row in cursor.fetchall()}
    for statement in statements("sqlite"):
        if re.search(r"CREATE TRIGGER (\w+)", statement).group(1) not in present:
            cursor.execute(statement)


@pytest.fixture
def committed(transactional_db):
    """For ``transaction=True`` tests: data really commits. Django's flush after the test deletes row by row on
    SQLite, which the guards refuse for posted entries; so, before that flush, empty the ledger's tables with the
    guards lifted for a moment and put them back. (PostgreSQL flushes with TRUNCATE, which row triggers ignore.)"""
    from django.db import connection, transaction

    yield
    if connection.vendor != "sqlite":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        for name in sqlite_trigger_names():
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for table in LEDGER_TABLES_IN_DELETE_ORDER:
            cursor.execute(f"DELETE FROM {table}")
        sqlite_restore_triggers(cursor)


@pytest.fixture
def csb(committed):
    """A small book in a test that commits."""
    return make_book()


# --- raw SQL, for tests of what the database itself refuses -----------------------------------------------------


def raw_entry(cursor, book: Book, user, *, status: str = "draft", date: dt.date = D, sequence: int | None = None) -> int:
    """Insert a journal entry by hand, bypassing the service; returns its id."""
    from django.utils import timezone

    if sequence is None:
        cursor.execute("SELECT COALESCE(MAX(sequence), 0) + 1 FROM ledger_journalentry WHERE book_id = %s", [book.pk])
        sequence = cursor.fetchone()[0]
    cursor.execute(
        "INSERT INTO ledger_journalentry (book_id, sequence, date, memo, status, source_type, source_id, "
        "created_by_id, created_at, payload_hash, previous_hash, hash) "
        "VALUES (%s, %s, %s, 'raw', %s, '', '', %s, %s, '', '', '') RETURNING id",
        [book.pk, sequence, date, status, user.pk, timezone.now()],
    )
    return cursor.fetchone()[0]


def raw_leg(
    cursor, entry_id: int, position: int, account: Account, fund: Fund, *, debit: int = 0, credit: int = 0,
    currency: str = "CNY", debit_cny: int | None = None, credit_cny: int | None = None, date: dt.date = D,
) -> int:
    """Insert a leg by hand (amounts in fen); the CNY figures default to the amounts."""
    cursor.execute(
        "INSERT INTO ledger_leg (entry_id, position, account_id, fund_id, currency, debit, credit, debit_cny, "
        "credit_cny, date) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        [
            entry_id, position, account.pk, fund.pk, currency, debit, credit,
            debit if debit_cny is None else debit_cny, credit if credit_cny is None else credit_cny, date,
        ],
    )
    return cursor.fetchone()[0]
