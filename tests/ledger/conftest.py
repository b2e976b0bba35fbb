"""A small book for the engine's tests, in the ledger's own words (no charity vocabulary)."""

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
        gen=services.fund_create(book=book, code="GEN", name="General", restriction="unrestricted"),
        fa=services.fund_create(book=book, code="FA", name="Fund A", restriction="restricted", purpose="a"),
        fb=services.fund_create(book=book, code="FB", name="Fund B", restriction="restricted", purpose="b"),
        endow=services.fund_create(book=book, code="END", name="Endowment", restriction="endowment"),
    )


@pytest.fixture
def sb(db):
    return make_book()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("clerk")


D = dt.date(2026, 3, 2)
