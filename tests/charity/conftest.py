"""A trust with the sample year's funds, and helpers that read the ledger's balances in the chart's codes."""

from ledger.services import system_user
import datetime as dt
from decimal import Decimal

import pytest

from charity.services import trust_create
from ledger import selectors
from ledger import services as ledger
from ledger.models import Account, Fund

D = dt.date(2026, 3, 2)


@pytest.fixture
def trust(db):
    trust = trust_create(user=system_user(), code="CWCT", name="关爱妇女儿童慈善信托", name_en="Caring for Women and Children Charity Trust")
    book = trust.book
    ledger.fund_create(user=system_user(), book=book, code="SMILE", name="微笑礼包专项资金", restriction="restricted", purpose="smile_pack")
    ledger.fund_create(user=system_user(), book=book, code="STUDY", name="助学金专项资金", restriction="restricted", purpose="study_grant")
    ledger.fund_create(user=system_user(), book=book, code="ENDOW", name="母亲留本基金", restriction="endowment", purpose="general")
    return trust


@pytest.fixture
def funds(trust):
    return {f.code: f for f in Fund.objects.filter(book=trust.book)}


class Books:
    """Balances of one trust, by account code and fund code, on the account's normal side."""

    def __init__(self, trust):
        self.trust = trust

    def account(self, code):
        return Account.objects.get(book=self.trust.book, code=code)

    def balance(self, code, fund=None) -> Decimal:
        f = Fund.objects.get(book=self.trust.book, code=fund) if fund else None
        return selectors.account_balance(self.account(code), fund=f)

    def fund(self, code) -> Decimal:
        return selectors.fund_balance(Fund.objects.get(book=self.trust.book, code=code))


@pytest.fixture
def books(trust):
    return Books(trust)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The shared user fixtures set passwords; PBKDF2 would cost most of each test's setup time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
