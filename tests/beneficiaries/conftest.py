"""A trust with money and Smile Packs in its funds, and a small cast of beneficiaries, for the aid side's tests."""

from ledger.services import system_user
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from beneficiaries.idnumber import make_id_number
from beneficiaries.models import Beneficiary, Program, StockItem
from beneficiaries.services import beneficiary_register, household_get_or_create, stock_purchase
from charity.services import trust_create
from ledger import services as ledger
from ledger.models import Account, Book, Fund
from ledger.services import Cr, Dr

D = dt.date(2026, 3, 2)
D2 = dt.date(2026, 8, 26)


@dataclass
class Aid:
    book: Book
    gen: Fund
    study: Fund
    smile: Fund
    endow: Fund
    study_grant: Program
    smile_pack: Program
    item: StockItem

    def account(self, code: str) -> Account:
        return Account.objects.get(book=self.book, code=code)


def give(aid: Aid, fund: Fund, amount, user, date=D):
    """A donation straight into ``fund``: Dr bank / Cr donation income (the ledger's source)."""
    income = "410101" if fund.restriction == "unrestricted" else ("410103" if fund.restriction == "endowment" else "410102")
    return ledger.entry_post(
        book=aid.book, date=date, memo="gift", user=user,
        legs=[Dr(aid.account("100201"), fund, Decimal(amount)), Cr(aid.account(income), fund, Decimal(amount))],
    )


def buy_packs(aid: Aid, fund: Fund, quantity: int, amount, user, date=D):
    return stock_purchase(
        item=aid.item, fund=fund, quantity=quantity, amount=Decimal(amount), pay_account=aid.account("100201"),
        date=date, user=user,
    )


def make_aid(code: str = "AID") -> Aid:
    trust = trust_create(user=system_user(), code=code, name="关爱妇女儿童慈善信托")
    book = trust.book
    return Aid(
        book=book,
        gen=Fund.objects.get(book=book, code="GEN"),
        study=ledger.fund_create(user=system_user(), book=book, code="STUDY", name="助学金专项资金", restriction="restricted",
                                 purpose="study_grant"),
        smile=ledger.fund_create(user=system_user(), book=book, code="SMILE", name="微笑礼包专项资金", restriction="restricted",
                                 purpose="smile_pack"),
        endow=ledger.fund_create(user=system_user(), book=book, code="ENDOW", name="母亲留本基金", restriction="endowment",
                                 purpose="general"),
        study_grant=Program.objects.get(book=book, code="study_grant"),
        smile_pack=Program.objects.get(book=book, code="smile_pack"),
        item=StockItem.objects.get(book=book, code="smile_pack"),
    )


@pytest.fixture
def aid(db):
    return make_aid()


@pytest.fixture
def pii_viewer(django_user_model, cast):
    """A caseworker: an officer in every trust, and granted view_pii by name (no role holds it)."""
    from charity.roles import OFFICER
    from tests.conftest import grant

    user = django_user_model.objects.create_user("caseworker", password="pw-caseworker-1")
    user.user_permissions.add(Permission.objects.get(codename="view_pii", content_type__app_label="beneficiaries"))
    grant(user, OFFICER)
    cast.append((user, OFFICER))
    return django_user_model.objects.get(pk=user.pk)  # fresh instance: permission cache empty


def register(aid: Aid, user, ext: str, *, birth=dt.date(1990, 5, 17), gender="F", seq=1, guardian=None,
             household="HH-1", **kw) -> Beneficiary:
    return beneficiary_register(
        book=aid.book, external_id=ext, name=f"姓名{ext}", id_number=make_id_number("320582", birth, seq, gender),
        birth_date=birth, gender=gender, guardian=guardian,
        household=household_get_or_create(user=system_user(), book=aid.book, external_id=household) if household else None,
        user=user, **kw,
    )


@pytest.fixture
def mother(aid, officer):
    return register(aid, officer, "BEN-1", phone="13812345678")


@pytest.fixture
def child(aid, officer, mother):
    return register(aid, officer, "BEN-2", birth=dt.date(2014, 9, 1), gender="M", seq=2, guardian=mother)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The project's password hasher is slow by design; these tests make users, not passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
