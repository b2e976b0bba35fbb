from ledger.services import system_user
import datetime as dt
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from charity import errors
from charity.documents import receipt_pdf
from charity.models import Receipt
from charity.selectors import receipt_gaps, receipt_register
from charity.services import donation_record, donor_create, donor_update, receipt_void

from .conftest import D

pytestmark = pytest.mark.django_db


def gift(trust, funds, user, n, date=D, **kw):
    kw.setdefault("amount", Decimal("1200.00"))
    kw.setdefault("channel", "bank")
    donation, _created = donation_record(trust=trust, external_id=f"DN-{n}", date=date,
                                         fund=kw.pop("fund", funds["SMILE"]), user=user, **kw)
    return donation


def text_of(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_numbers_run_without_gaps_per_year(trust, funds, officer, both):
    for n in range(1, 4):
        gift(trust, funds, officer if n % 2 else both, n)
    gift(trust, funds, officer, 9, date=dt.date(2025, 12, 31))
    labels = [r.label for r in Receipt.objects.order_by("year", "number")]
    assert labels == ["2025-000001", "2026-000001", "2026-000002", "2026-000003"]
    assert receipt_gaps(trust=trust, year=2026) == []


def test_a_replayed_donation_takes_no_number(trust, funds, officer):
    gift(trust, funds, officer, 1)
    gift(trust, funds, officer, 1)
    with pytest.raises(errors.DuplicateExternalId):
        gift(trust, funds, officer, 1, amount=Decimal("1.00"))
    with pytest.raises(errors.DonationError):
        gift(trust, funds, officer, 2, amount=Decimal("1.00"), currency="USD")  # no rate: refused, rolled back
    gift(trust, funds, officer, 3)
    assert [r.number for r in Receipt.objects.order_by("number")] == [1, 2]


def test_void_keeps_the_number_and_register_lists_it(trust, funds, officer, both):
    donation = gift(trust, funds, officer, 1)
    receipt = donation.receipts.get()
    with pytest.raises(errors.ReceiptError):
        receipt_void(receipt=receipt, user=both, reason="")
    receipt_void(receipt=receipt, user=both, reason="printed on the wrong paper")
    receipt.refresh_from_db()
    assert receipt.voided and receipt.voided_by == both and receipt.number == 1
    with pytest.raises(errors.ReceiptError, match="already voided"):
        receipt_void(receipt=receipt, user=both, reason="again")
    with pytest.raises(errors.ImmutableRecord):
        receipt.delete()
    gift(trust, funds, officer, 2)
    rows = receipt_register(trust=trust, year=2026)
    assert [(r.number, r.status) for r in rows] == [("2026-000001", "void"), ("2026-000002", "issued")]
    assert rows[0].void_reason == "printed on the wrong paper" and rows[0].voided_by == "both"


def test_receipt_keeps_the_donor_as_named_at_issue(trust, funds, officer):
    donor = donor_create(by=system_user(), trust=trust, kind="individual", name="王琳娟", external_id="D-1", address="广州市海珠区")
    donation = gift(trust, funds, officer, 1, donor=donor)
    donor_update(by=system_user(), donor=donor, name="王琳", address="深圳市")
    old = donation.receipts.get()
    assert (old.donor_name, old.donor_address) == ("王琳娟", "广州市海珠区")
    new = receipt_void(receipt=old, user=officer, reason="name corrected", reissue=True)
    assert (new.donor_name, new.number, new.note) == ("王琳", 2, "replaces 2026-000001")


def test_anonymous_donor_hidden_in_the_register(trust, funds, officer):
    donor = donor_create(by=system_user(), trust=trust, kind="individual", name="许宏子", anonymous=True, external_id="D-9")
    gift(trust, funds, officer, 1, donor=donor)
    gift(trust, funds, officer, 2, fund=funds["GEN"], channel="cash")
    rows = receipt_register(trust=trust)
    assert all("许宏子" not in r.donor for r in rows)
    assert rows[0].donor == rows[1].donor == "匿名捐赠人 Anonymous donor"
    assert receipt_register(trust=trust, reveal_anonymous=True)[0].donor == "许宏子"


def test_pdf_in_chinese_extracts_back(trust, funds, officer):
    officer.first_name, officer.last_name = "敏", "李"
    officer.save()
    donor = donor_create(by=system_user(), trust=trust, kind="individual", name="熊慧", external_id="D-1")
    donation = gift(trust, funds, officer, 1, donor=donor)
    pdf = receipt_pdf(donation.receipts.get())
    text = text_of(pdf).replace("\n", "")
    for expected in ("捐赠确认书", "Donation Acknowledgement", "2026-000001", "熊慧", "CNY 1,200.00", "人民币壹仟贰佰元整",
                     "微笑礼包专项资金", "2026-03-02", "关爱妇女儿童慈善信托", "敏 李", "page 1 of 1"):
        assert expected in text, expected
    assert receipt_pdf(donation.receipts.get()) == pdf  # reproducible bytes


def test_pdf_for_goods_and_foreign_currency(trust, funds, officer):
    goods = gift(trust, funds, officer, 1, fund=funds["GEN"], channel="in_kind", amount=Decimal("30000.00"),
                 item="books", quantity=1200)
    text = text_of(receipt_pdf(goods.receipts.get()))
    assert "books × 1200" in text and "叁万元整" in text
    usd = gift(trust, funds, officer, 2, amount=Decimal("6000.40"), currency="USD", fx_rate=Decimal("7.1563"))
    text = text_of(receipt_pdf(usd.receipts.get())).replace("\n", "")
    assert "USD 6,000.40" in text and "肆万贰仟玖佰肆拾元陆角陆分" in text
    # The figures are in CNY, as the words are; the gift's own USD amount stands beside them.
    assert text.index("CNY 42,940.66") < text.index("原币 original USD 6,000.40")


def test_void_shows_on_the_pdf(trust, funds, officer):
    donation = gift(trust, funds, officer, 1)
    receipt = donation.receipts.get()
    receipt_void(receipt=receipt, user=officer, reason="作废测试")
    receipt.refresh_from_db()
    assert "VOID" in text_of(receipt_pdf(receipt))
