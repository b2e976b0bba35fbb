"""Names and memos with HTML, script tags, SQL, RTL marks, zero-width and emoji characters, formulas, control
characters and 10,000 characters.

It proves: each is stored exactly or refused with a clear domain error (never a database error); pages escape
them; PDFs (a receipt, a report) render with them; CSV reports neutralise formula injection (a text cell that
begins with ``=``, ``+``, ``-`` or ``@`` gets a leading ``'``).
"""

from __future__ import annotations
from ledger.services import system_user

import csv
import datetime as dt
import io
from decimal import Decimal

import pypdf
import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from beneficiaries.errors import AidError
from beneficiaries.idnumber import make_id_number
from beneficiaries.models import Beneficiary
from beneficiaries.services import beneficiary_register
from charity import roles
from tests.conftest import grant
from charity.documents import receipt_pdf
from charity.errors import CharityError
from charity.models import Donation, Donor
from charity.services import donation_record, donor_create, trust_create
from ledger import services as ledger
from ledger.errors import LedgerError
from ledger.models import Account, JournalEntry

HOSTILE = {
    "html": "<b>bold</b> & <i>it</i>",
    "script": "<script>alert('x')</script>",
    "sql": "Robert'); DROP TABLE charity_donor;--",
    "rtl": "\u202eevil\u202c mark \u200f",
    "zero_width": "zero\u200bwidth\u200d\ufeff",
    "emoji": "👩‍👧 微笑 😀",
    "formula_eq": "=HYPERLINK(\"http://evil.example\",\"x\")",
    "formula_plus": "+1+1",
    "formula_minus": "-2+3",
    "formula_at": "@SUM(A1:A9)",
    "quotes": "\"double\" 'single' `back`",
    "newline": "line one\nline two",
    "nul": "nul\x00byte",
    "long": "长" * 10_000,
}
REFUSALS = (CharityError, AidError, LedgerError)


@pytest.fixture
def world(db, django_user_model):
    trust = trust_create(user=system_user(), code="HT", name="敌意文本信托")
    officer = grant(django_user_model.objects.create_user("ht-officer"), roles.OFFICER, trust)
    study = ledger.fund_create(user=system_user(), book=trust.book, code="STUDY", name="助学金", restriction="restricted",
                               purpose="study_grant")
    return trust, officer, study


@pytest.mark.parametrize("label", list(HOSTILE))
def test_donor_name_and_gift_description_stored_exactly_or_refused(world, label):
    trust, officer, study = world
    text = HOSTILE[label]
    try:
        donor = donor_create(by=system_user(), trust=trust, kind="individual", name=text, external_id=f"D-{label}")
    except REFUSALS as exc:
        assert exc.message and exc.field == "name", exc
        assert label in ("long", "nul", "newline"), f"{label!r} refused: {exc.message}"
    else:
        assert Donor.objects.get(pk=donor.pk).name == text
    try:
        gift, _created = donation_record(trust=trust, external_id=f"G-{label}", date=dt.date(2026, 3, 2),
                                         amount=Decimal("10"), fund=study, channel="bank", user=officer,
                                         description=text)
    except REFUSALS as exc:
        assert exc.message and exc.field == "description", exc
        assert label in ("long", "nul"), f"{label!r} refused: {exc.message}"
    else:
        assert Donation.objects.get(pk=gift.pk).description == text
        assert text in JournalEntry.objects.get(pk=gift.entry_id).memo


@pytest.mark.parametrize("label", list(HOSTILE))
def test_beneficiary_name_and_entry_memo_stored_exactly_or_refused(world, label):
    trust, officer, _ = world
    text = HOSTILE[label]
    try:
        person = beneficiary_register(book=trust.book, external_id=f"B-{label}", name=text,
                                      birth_date=dt.date(1990, 5, 17), gender="F", user=officer,
                                      id_number=make_id_number("320582", dt.date(1990, 5, 17), 7, "F"))
    except REFUSALS as exc:
        assert exc.message and exc.field == "name", exc
        assert label in ("long", "nul", "newline"), f"{label!r} refused: {exc.message}"
    else:
        assert Beneficiary.objects.get(pk=person.pk).name == text
    bank = Account.objects.get(book=trust.book, code="100201")
    income = Account.objects.get(book=trust.book, code="410101")
    gen = trust.book.funds.get(code="GEN")
    try:
        entry = ledger.entry_post(book=trust.book, date=dt.date(2026, 3, 3), memo=text, user=officer,
                                  legs=[ledger.Dr(bank, gen, Decimal("1")), ledger.Cr(income, gen, Decimal("1"))])
    except REFUSALS as exc:
        assert exc.message and exc.field == "memo", exc
        assert label in ("nul",), f"{label!r} refused: {exc.message}"
    else:
        assert JournalEntry.objects.get(pk=entry.pk).memo == text


@pytest.fixture
def shown(world, django_user_model):
    """Gifts from donors whose names are every hostile text that is accepted, with a manual entry for each."""
    trust, officer, study = world
    names = {}
    for label, text in HOSTILE.items():
        if label in ("long", "nul", "newline"):
            continue
        user = django_user_model.objects.create_user(f"donor-{label}")
        donor = donor_create(by=system_user(), trust=trust, kind="individual", name=text, external_id=f"D-{label}", user=user)
        donation_record(trust=trust, external_id=f"G-{label}", date=dt.date(2026, 3, 2), amount=Decimal("10"),
                        fund=study, channel="bank", user=officer, donor=donor, description=text)
        names[label] = (text, user)
    return trust, names


def test_pages_escape_names_and_descriptions(client, shown):
    trust, names = shown
    page = client.get("/disclosure/?year=2026").content.decode()
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    for label in ("script", "html"):
        text, user = names[label]
        client.force_login(user)
        for url in ("/my/", f"/my/gifts/G-{label}/"):
            response = client.get(url)
            assert response.status_code == 200, url
            body = response.content.decode()
            assert text not in body, f"{url} shows {label} unescaped"
        client.logout()


def test_pdfs_render_hostile_names(shown):
    trust, names = shown
    for label, (text, _) in names.items():
        receipt = Donation.objects.get(external_id=f"G-{label}").receipts.get()
        pdf = receipt_pdf(receipt)
        assert pdf.startswith(b"%PDF")
        extracted = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
        if label in ("script", "sql", "formula_eq", "formula_at"):
            assert text.replace(" ", "") in extracted.replace(" ", "").replace("\n", ""), label


def test_reports_render_and_csv_neutralises_formulas(shown, tmp_path):
    trust, names = shown
    call_command("report", "journal", "--year", "2026", "--format", "pdf", "--out", str(tmp_path / "j.pdf"))
    assert (tmp_path / "j.pdf").read_bytes().startswith(b"%PDF")
    out = io.StringIO()
    call_command("report", "receipt-register", "--year", "2026", "--format", "csv", stdout=out)
    cells = [c for row in csv.reader(io.StringIO(out.getvalue().lstrip("\ufeff"))) for c in row]
    for label in ("formula_eq", "formula_plus", "formula_minus", "formula_at"):
        text = names[label][0]
        assert "'" + text in cells, f"{label}: {text!r} not neutralised in the receipt register"
        assert text not in cells
    for cell in cells:
        assert not cell.startswith(("=", "+", "@")), cell
    # A manual entry whose memo is a formula: the journal's memo cell is neutralised too.
    bank = Account.objects.get(book=trust.book, code="100201")
    income = Account.objects.get(book=trust.book, code="410101")
    gen = trust.book.funds.get(code="GEN")
    ledger.entry_post(book=trust.book, date=dt.date(2026, 3, 3), memo="=1+2", user=trust.book.entries.first().created_by,
                      legs=[ledger.Dr(bank, gen, Decimal("1")), ledger.Cr(income, gen, Decimal("1"))])
    out = io.StringIO()
    call_command("report", "journal", "--year", "2026", "--format", "csv", stdout=out)
    cells = [c for row in csv.reader(io.StringIO(out.getvalue().lstrip("\ufeff"))) for c in row]
    assert "'=1+2" in cells and "=1+2" not in cells
