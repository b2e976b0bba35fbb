"""The donor portal and the public disclosure page, against real gifts, spending and beneficiaries."""

from ledger.services import system_user
import datetime as dt
import io
from decimal import Decimal

import pypdf
import pytest
from django.contrib.auth.models import Group

from beneficiaries.idnumber import make_id_number
from beneficiaries.models import Program
from beneficiaries.services import (
    beneficiary_register, disbursement_approve, disbursement_draft, disbursement_pay, household_get_or_create,
)
from charity import roles
from tests.conftest import grant
from charity.services import donation_record, donor_create, trust_create
from ledger import services as ledger

D = dt.date(2026, 3, 2)


@pytest.fixture
def world(db, django_user_model):
    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托", name_en="Caring Trust", filing_number="F-1")
    study = ledger.fund_create(user=system_user(), book=trust.book, code="STUDY", name="助学金专项资金", restriction="restricted",
                               purpose="study_grant")
    officer = django_user_model.objects.create_user("officer")
    approver = django_user_model.objects.create_user("approver")
    grant(officer, roles.OFFICER, trust)
    grant(approver, roles.APPROVER, trust)
    users = {}
    donors = {}
    for key, name, anonymous in (("a", "甲捐赠人", False), ("b", "乙捐赠人", True)):
        user = django_user_model.objects.create_user(f"donor_{key}", password="pw-donor-123")
        donor = donor_create(by=system_user(), trust=trust, kind="individual", name=name, external_id=f"D-{key}", anonymous=anonymous,
                             user=user)
        users[key], donors[key] = user, donor
    gift_a, _created = donation_record(trust=trust, external_id="DN-A", date=D, amount=Decimal("1200.00"), fund=study,
                                       channel="bank", user=officer, donor=donors["a"])
    gift_b, _created = donation_record(trust=trust, external_id="DN-B", date=D, amount=Decimal("800.00"), fund=study,
                                       channel="wechat", user=officer, donor=donors["b"])
    program = Program.objects.get(book=trust.book, code="study_grant")
    kids = []
    for i in range(3):
        household = household_get_or_create(user=system_user(), book=trust.book, external_id=f"HH-{i}")
        mother = beneficiary_register(
            book=trust.book, external_id=f"M-{i}", name=f"母亲{i}号", user=officer, gender="F",
            id_number=make_id_number("440105", dt.date(1988, 1, 1 + i), 100 + i, "F"), birth_date=dt.date(1988, 1, 1 + i),
            household=household, phone=f"1381234567{i}",
        )
        kid = beneficiary_register(
            book=trust.book, external_id=f"K-{i}", name=f"孩子{i}号", user=officer, gender="M",
            id_number=make_id_number("440105", dt.date(2014, 2, 1 + i), 201 + 2 * i, "M"),
            birth_date=dt.date(2014, 2, 1 + i), household=household, guardian=mother,
        )
        kids.append(kid)
    for i, kid in enumerate(kids):
        draft = disbursement_draft(book=trust.book, external_id=f"DS-{i}", beneficiary=kid, program=program,
                                   fund=study, date=dt.date(2026, 3, 5), user=officer, amount=Decimal("300.00"))
        disbursement_approve(disbursement=draft, user=approver)
        disbursement_pay(disbursement=draft, user=approver)
    return {"trust": trust, "users": users, "gift_a": gift_a, "gift_b": gift_b, "kids": kids}


def test_donor_sees_own_gifts_and_receipt(client, world):
    client.force_login(world["users"]["a"])
    page = client.get("/my/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "DN-A" in text and "DN-B" not in text
    assert "1,200.00" in text
    receipt = client.get("/my/gifts/DN-A/receipt.pdf")
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    extracted = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(receipt.content)).pages)
    assert "甲捐赠人" in extracted


def test_where_my_money_went_counts_never_names(client, world):
    client.force_login(world["users"]["a"])
    page = client.get("/my/gifts/DN-A/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "900.00" in text  # FIFO: the oldest gift (DN-A, recorded first) pays the three grants of 300
    assert "fewer than 5" in text or "少于5人" in text
    assert "300.00" in text  # unspent
    for kid in world["kids"]:
        assert kid.name not in text and kid.external_id not in text and kid.id_number not in text


def test_another_donors_gift_is_404(client, world):
    client.force_login(world["users"]["a"])
    assert client.get("/my/gifts/DN-B/").status_code == 404
    assert client.get("/my/gifts/DN-B/receipt.pdf").status_code == 404
    assert client.get("/my/gifts/NOPE/").status_code == 404


def test_portal_needs_sign_in(client, world):
    response = client.get("/my/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_disclosure_is_public_and_hides_identities(client, world):
    page = client.get("/disclosure/?year=2026")
    assert page.status_code == 200
    text = page.content.decode()
    assert "甲捐赠人" in text
    assert "乙捐赠人" not in text  # anonymous
    assert "F-1" in text
    for kid in world["kids"]:
        assert kid.name not in text and kid.id_number not in text
    assert "13812345670" not in text
    assert client.get("/disclosure/?year=abc").status_code == 404
