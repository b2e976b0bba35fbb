"""``import_csv`` for donors, donations, expenses and refunds (docs/formats.md, "CSV files read by import_csv"):
all or nothing per file, every bad row reported as ``row N, column C: message``, idempotent re-import,
``--dry-run``."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from charity.importers import importer_class
from charity.models import Donation, Donor, Expense, Receipt, ReceiptCounter, Refund
from ledger.csvio import run_import
from ledger.models import JournalEntry

pytestmark = pytest.mark.django_db

DONORS = """external_id,kind,name,anonymous,email,phone
D-1,individual,熊慧,false,xh@example.org,13800000000
D-2,organisation,广州某公司,false,,
D-3,individual,许宏子,true,,
"""
DONATIONS_HEADER = "external_id,date,donor_external_id,amount,currency,fx_rate,channel,fund_code,item,quantity,description\n"
DONATIONS = DONATIONS_HEADER + """DN-1,2026-01-05,D-1,1200.00,CNY,,bank,SMILE,,,爱心捐赠
DN-2,2026-01-06,,50,,,cash,GEN,,,walk-in
DN-3,2026-01-07,D-2,7700.12,HKD,0.91988,bank,GEN,,,境外捐赠
DN-4,2026-01-08,D-3,2500.00,CNY,1,in_kind,GEN,books,100,图书
DN-5,2026-01-09,D-1,10000.00,CNY,,alipay,ENDOW,,,留本
"""


def load(kind, text, user, trust, dry_run=False):
    importer = importer_class(kind)(book=trust.book, user=user)
    return run_import(importer, text.encode("utf-8"), dry_run=dry_run)


def messages(result):
    return [str(e) for e in result.errors]


def written():
    return (Donation.objects.count(), JournalEntry.objects.count(), Receipt.objects.count(),
            ReceiptCounter.objects.count(), Expense.objects.count(), Refund.objects.count())


@pytest.fixture
def donors(trust, officer):
    result = load("donors", DONORS, officer, trust)
    assert result.ok, messages(result)
    return result


def test_donors_import_and_reimport(trust, officer, donors):
    assert donors.created == 3
    assert Donor.objects.get(external_id="D-3").anonymous
    again = load("donors", DONORS, officer, trust)
    assert (again.created, again.skipped) == (0, 3)
    changed = load("donors", DONORS.replace("熊慧", "熊慧慧"), officer, trust)
    assert messages(changed) == ["row 2, column external_id: D-1 was already imported with different content"]


@pytest.mark.parametrize(
    "line, expected",
    [
        ("D-9,person,甲,false,,", "row 5, column kind: 'person' is not one of individual, organisation"),
        ("D-9,individual,,false,,", "row 5, column name: is required"),
        ("D-9,individual," + "长" * 10000 + ",false,,",
         "row 5, column name: is 10000 characters long; at most 200 are allowed"),
        ("D-9,individual,甲,yes,,", "row 5, column anonymous: 'yes' is not a boolean (true or false)"),
        ("D-9,individual,甲,false,not-an-email,", "row 5, column email: 'not-an-email' is not an email address"),
        ("D-1,individual,别人,false,,", "row 5, column external_id: D-1 appears twice with different content (also row 2)"),
    ],
)
def test_bad_donor_rows(trust, officer, line, expected):
    result = load("donors", DONORS + line + "\n", officer, trust)
    assert messages(result) == [expected]
    assert not Donor.objects.exists()


def test_donations_post_and_reimport_is_idempotent(trust, officer, donors, books):
    result = load("donations", DONATIONS, officer, trust)
    assert result.ok, messages(result)
    assert result.created == 5
    assert books.fund("SMILE") == Decimal("1200.00")
    assert books.balance("410101", "GEN") == Decimal("50.00") + Decimal("7083.19")
    assert books.balance("410104", "GEN") == Decimal("2500.00")
    assert books.balance("410103", "ENDOW") == Decimal("10000.00")
    assert Donation.objects.get(external_id="DN-2").donor is None
    before = written()
    again = load("donations", DONATIONS, officer, trust)
    assert (again.created, again.skipped, again.errors) == (0, 5, [])
    assert written() == before


def test_dry_run_writes_nothing(trust, officer, donors):
    before = written()
    result = load("donations", DONATIONS, officer, trust, dry_run=True)
    assert result.ok and result.created == 5 and result.dry_run
    assert written() == before


BAD_DONATION_ROWS = [
    ("DN-9,2026-01-05,D-1,1200.005,CNY,,bank,SMILE,,,", "amount", "'1200.005' has more than two decimal places"),
    ("DN-9,2026-01-05,D-1,1e3,CNY,,bank,SMILE,,,", "amount",
     "'1e3' is not a plain decimal amount (e.g. 1200, 1200.5, 1200.50)"),
    ('DN-9,2026-01-05,D-1,"1,200",CNY,,bank,SMILE,,,', "amount",
     "'1,200' has a thousands separator; write plain digits like 1200.50"),
    ("DN-9,2026-01-05,D-1,-5,CNY,,bank,SMILE,,,", "amount", "'-5' is negative; amounts are above zero"),
    ("DN-9,2026-01-05,D-1,0,CNY,,bank,SMILE,,,", "amount", "must be above zero"),
    ("DN-9,2026-01-05,D-1,0.00,CNY,,bank,SMILE,,,", "amount", "must be above zero"),
    ("DN-9,2026-01-05,D-1,100,XYZ,1.2,bank,SMILE,,,", "currency", "'XYZ' is not an ISO 4217 currency code"),
    ("DN-9,2026-01-05,D-1,100,USD,,bank,SMILE,,,", "fx_rate", "is required for a gift in USD (CNY per unit)"),
    ("DN-9,2026-01-05,D-1,100,CNY,7.1,bank,SMILE,,,", "fx_rate", "'7.1': a CNY gift has no rate other than 1"),
    ("DN-9,2026-01-05,D-1,100,,,bank,NOPE,,,", "fund_code", "'NOPE' is not a fund of this trust"),
    ("DN-9,2026-01-05,D-404,100,,,bank,SMILE,,,", "donor_external_id", "'D-404' is not a donor of this trust"),
    ("DN-9,2026-13-05,D-1,100,,,bank,SMILE,,,", "date", "'2026-13-05' is not a real date"),
    ("DN-9,05/01/2026,D-1,100,,,bank,SMILE,,,", "date", "'05/01/2026' is not an ISO date (YYYY-MM-DD)"),
    ("DN-9,2099-01-01,D-1,100,,,bank,SMILE,,,", "date", "2099-01-01 is after today"),
    ("DN-9,2026-01-05,D-1,100,,,paypal,SMILE,,,", "channel",
     "'paypal' is not one of bank, wechat, alipay, cash, in_kind"),
    ("DN-9,2026-01-05,D-1,100,,,in_kind,GEN,,4,", "item", "is required for a gift in kind"),
    ("DN-9,2026-01-05,D-1,100,,,bank,GEN,books,,", "item", "is for gifts in kind only"),
    ("DN-9,2026-01-05,D-1,100,,,in_kind,GEN,books,1.5,", "quantity", "'1.5' is not a whole number"),
    ("DN-1,2026-01-05,D-1,1300.00,CNY,,bank,SMILE,,,爱心捐赠", "external_id",
     "DN-1 appears twice with different content (also row 2)"),
    ("DN-9,2026-01-05,D-1,100,,,bank,SMILE,,," + "长" * 10000, "description",
     "is 10000 characters long; at most 2000 are allowed"),
]


@pytest.mark.parametrize("line, column, message", BAD_DONATION_ROWS, ids=[c + ":" + m[:30] for _, c, m in BAD_DONATION_ROWS])
def test_each_bad_donation_row_rejects_the_whole_file(trust, officer, donors, line, column, message):
    before = written()
    result = load("donations", DONATIONS + line + "\n", officer, trust)
    assert messages(result) == [f"row 7, column {column}: {message}"]
    assert written() == before == (0, 0, 0, 0, 0, 0)


def test_every_bad_row_is_listed(trust, officer, donors):
    text = DONATIONS + "".join(line + "\n" for line, _, _ in BAD_DONATION_ROWS[:5])
    result = load("donations", text, officer, trust)
    assert [(e.row, e.column) for e in result.errors] == [(7, "amount"), (8, "amount"), (9, "amount"),
                                                           (10, "amount"), (11, "amount")]
    assert written() == (0, 0, 0, 0, 0, 0)


def test_unknown_column_and_missing_column(trust, officer, donors):
    result = load("donations", DONATIONS.replace("description", "notes"), officer, trust)
    assert messages(result) == ["row 1, column notes: unknown column for donations"]
    result = load("donations", "external_id,date,amount,channel\nDN-1,2026-01-05,1,bank\n", officer, trust)
    assert messages(result) == ["row 1, column fund_code: required column is missing"]
    assert written() == (0, 0, 0, 0, 0, 0)


def test_duplicate_external_id_with_different_content_after_import(trust, officer, donors):
    assert load("donations", DONATIONS, officer, trust).ok
    before = written()
    result = load("donations", DONATIONS.replace("1200.00", "1300.00"), officer, trust)
    assert messages(result) == ["row 2, column external_id: DN-1 was already imported with different content"]
    assert written() == before


def test_a_row_refused_by_the_books_rolls_back_the_rows_before_it(trust, officer, approver, donors):
    from ledger.services import period_close

    period_close(book=trust.book, month="2026-01", user=approver)
    text = DONATIONS_HEADER + "DN-1,2026-02-01,D-1,100,,,bank,SMILE,,,\nDN-2,2026-01-31,D-1,100,,,bank,SMILE,,,\n"
    result = load("donations", text, officer, trust)
    assert [(e.row, e.column) for e in result.errors] == [(3, "date")]
    assert "closed period" in result.errors[0].message
    assert written() == (0, 0, 0, 0, 0, 0)


EXPENSES = """external_id,date,kind,fund_code,amount,item,quantity,unit_cost,payee,description
EX-1,2026-02-01,inventory_purchase,SMILE,1000.00,smile_pack,5,200.00,供应商,礼包
EX-2,2026-02-02,bank_fee,GEN,20.00,,,,托管银行,手续费
EX-3,2026-02-03,admin,GEN,1877.46,,,,办公用品商店,办公用品
"""


def test_expenses_import(trust, officer, donors, books):
    assert load("donations", DONATIONS, officer, trust).ok
    result = load("expenses", EXPENSES, officer, trust)
    assert result.ok, messages(result)
    assert books.balance("120101", "SMILE") == Decimal("1000.00")
    assert books.balance("540101", "GEN") == Decimal("20.00")
    assert books.balance("520101", "GEN") == Decimal("1877.46")
    assert load("expenses", EXPENSES, officer, trust).skipped == 3


@pytest.mark.parametrize(
    "line, expected",
    [
        ("EX-9,2026-02-04,admin,SMILE,10.00,,,,,", "row 5, column fund_code: fund SMILE is restricted to smile_pack"),
        ("EX-9,2026-02-04,admin,ENDOW,10.00,,,,,", "row 5, column fund_code: fund ENDOW is an endowment"),
        ("EX-9,2026-02-04,inventory_purchase,SMILE,1000.00,smile_pack,5,199.00,,",
         "row 5, column amount: 1000.00 does not equal quantity x unit_cost (995.00)"),
        ("EX-9,2026-02-04,inventory_purchase,SMILE,1000.00,smile_pack,5,,,",
         "row 5, column amount: fund SMILE holds 200.00 CNY not already in stock"),
        ("EX-9,2026-02-04,inventory_purchase,SMILE,1000.00,caviar,5,,,",
         "row 5, column item: 'caviar' is not a stock item of this trust"),
        ("EX-9,2026-02-04,travel,GEN,10.00,,,,,", "row 5, column kind: 'travel' is not one of"),
        ("EX-9,2026-02-04,admin,GEN,10.00,smile_pack,,,,", "row 5, column item: is for inventory purchases only"),
    ],
)
def test_bad_expense_rows(trust, officer, donors, line, expected):
    assert load("donations", DONATIONS, officer, trust).ok
    before = written()
    result = load("expenses", EXPENSES + line + "\n", officer, trust)
    assert len(result.errors) == 1 and str(result.errors[0]).startswith(expected), messages(result)
    assert written() == before


REFUNDS = "external_id,date,donation_external_id,amount,reason\n"


def test_refunds_import(trust, officer, donors, books):
    assert load("donations", DONATIONS, officer, trust).ok
    result = load("refunds", REFUNDS + "RF-1,2026-03-01,DN-1,200.00,部分退回\nRF-2,2026-03-01,DN-4,,图书退回\n",
                  officer, trust)
    assert result.ok, messages(result)
    assert books.fund("SMILE") == Decimal("1000.00") and books.balance("410104") == 0
    assert load("refunds", REFUNDS + "RF-1,2026-03-01,DN-1,200.00,部分退回\n", officer, trust).skipped == 1


@pytest.mark.parametrize(
    "line, expected",
    [
        ("RF-1,2026-03-01,DN-404,,x", "row 2, column donation_external_id: 'DN-404' is not a donation of this trust"),
        ("RF-1,2026-03-01,DN-1,1300.00,x", "row 2, column amount: donation DN-1: 1300.00 CNY asked but only"),
        ("RF-1,2026-01-01,DN-1,,x", "row 2, column date: a refund cannot be dated 2026-01-01, before the gift"),
        ("RF-1,2026-03-01,DN-1,1e2,x", "row 2, column amount: '1e2' is not a plain decimal amount"),
    ],
)
def test_bad_refund_rows(trust, officer, donors, line, expected):
    assert load("donations", DONATIONS, officer, trust).ok
    before = written()
    result = load("refunds", REFUNDS + line + "\n", officer, trust)
    assert len(result.errors) == 1 and str(result.errors[0]).startswith(expected), messages(result)
    assert written() == before


def test_refund_of_spent_money_refused_by_import(trust, officer, donors, books):
    from ledger import services as ledger
    from ledger.services import Cr, Dr

    text = DONATIONS_HEADER + "DN-1,2026-01-05,D-1,1000.00,CNY,,bank,STUDY,,,\n"
    assert load("donations", text, officer, trust).ok
    study = Donation.objects.get().fund
    ledger.entry_post(book=trust.book, date=dt.date(2026, 2, 1), memo="grant", user=officer,
                      legs=[Dr(books.account("510102"), study, Decimal("900")), Cr(books.account("100201"), study, Decimal("900"))])
    result = load("refunds", REFUNDS + "RF-1,2026-03-01,DN-1,,\n", officer, trust)
    assert messages(result) == [
        "row 2, column amount: donation DN-1 (1000.00 CNY to fund STUDY): 900.00 CNY has already been allocated to "
        "spending and 0.00 CNY refunded; only the unspent 100.00 CNY can go back, not 1000.00 CNY"
    ]
    assert not Refund.objects.exists()


def test_command_exit_status_and_messages(trust, officer, donors, tmp_path, capsys):
    good = tmp_path / "donations.csv"
    good.write_text(DONATIONS, encoding="utf-8-sig")
    call_command("import_csv", "donations", str(good), "--dry-run")
    assert "would import 5 donations" in capsys.readouterr().out
    assert not Donation.objects.exists()
    bad = tmp_path / "bad.csv"
    bad.write_text(DONATIONS + BAD_DONATION_ROWS[1][0] + "\n", encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("import_csv", "donations", str(bad))
    assert caught.value.returncode == 1
    assert "bad.csv: row 7, column amount: '1e3' is not a plain decimal amount" in capsys.readouterr().err
    call_command("import_csv", "donations", str(good), "--user", "officer")
    assert Donation.objects.filter(created_by=officer).count() == 5
