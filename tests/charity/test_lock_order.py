"""Every money service takes its row locks in the order of ``ledger.locking`` (PostgreSQL).

Each service runs with every statement it sends recorded (psycopg's ``Cursor.execute``: the ORM's statements and
the posting path's pipelined ones alike; Django's ``CaptureQueriesContext`` sees only the former), and the
row locks are read back from them: the table of each ``SELECT ... FOR [NO KEY] UPDATE`` and its ids, and the
receipt counter's ``UPDATE``. A lock on a row not held yet at a lower level than one already held is out of
order; so is a lower id at the same level, unless the book is held (the posting path locks each entry's funds as
it reaches them, under the book). Every lock must be ``FOR NO KEY UPDATE``: a plain ``FOR UPDATE`` makes the
foreign-key checks of other transactions wait at their COMMIT (issue 21's deadlock). A control case shows that
the check notices a service that locks out of order.
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from pathlib import Path
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, transaction

from beneficiaries.idnumber import make_id_number
from beneficiaries.models import Program, StockBalance
from beneficiaries.services import (
    batch_approve, batch_create, batch_post, beneficiary_register, disbursement_approve, disbursement_draft,
    disbursement_pay, disbursement_reverse,
)
from charity.models import Receipt
from charity.services import (
    donation_record, donation_refund, expense_record, expense_request_approve, expense_request_draft,
    fund_terms_set, manual_entry_approve, manual_entry_draft, official_receipt_record, receipt_void,
    trust_set_expense_threshold,
)
from ledger import locking
from ledger.models import Book
from ledger.services import period_close, system_user

ROOT = Path(__file__).resolve().parents[2]

D = dt.date(2026, 3, 2)
LOCK = re.compile(r"\bFOR\s+(NO\s+KEY\s+)?UPDATE\b", re.I)
FROM = re.compile(r'\bFROM\s+"?(\w+)"?', re.I)
COUNTER = re.compile(r'^\s*UPDATE\s+"?charity_receiptcounter"?', re.I)


@pytest.fixture
def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite locks the whole database)")


def test_no_code_locks_rows_but_through_ledger_locking():
    """One place: no ``select_for_update`` and no ``FOR UPDATE`` outside ``ledger/locking.py`` (and the ledger's
    frozen migrations), in the three apps."""
    found = []
    for app in ("ledger", "beneficiaries", "charity"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or path == ROOT / "ledger" / "locking.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if "select_for_update" in code or re.search(r"FOR\s+(NO\s+KEY\s+)?UPDATE", code):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


class Recorder:
    """The statements sent while ``recording()`` is on, in order, with their parameters."""

    def __init__(self):
        self.statements: list[tuple[str, object]] = []

    @contextmanager
    def recording(self):
        import psycopg

        original = psycopg.Cursor.execute
        statements = self.statements = []

        def execute(cursor, query, params=None, *args, **kwargs):
            text = query.decode() if isinstance(query, bytes) else query if isinstance(query, str) else \
                query.as_string(cursor)
            statements.append((text, params))
            return original(cursor, query, params, *args, **kwargs)

        with mock.patch.object(psycopg.Cursor, "execute", execute):
            yield self

    def locks(self) -> list[tuple[str, tuple, bool]]:
        """(table, ids or () when the statement names none, whether FOR NO KEY UPDATE) of each locking statement."""
        found = []
        for sql, params in self.statements:
            if COUNTER.match(sql):
                found.append(("charity_receiptcounter", (), True))
            elif (match := LOCK.search(sql)) and sql.lstrip().upper().startswith("SELECT"):
                table = FROM.search(sql).group(1)
                ids = tuple(p for p in (params or ()) if isinstance(p, int) and not isinstance(p, bool))
                found.append((table, ids, bool(match.group(1))))
        return found


def out_of_order(locks) -> list[str]:
    """What in ``locks`` breaks the order of ``ledger.locking`` (empty when nothing does)."""
    problems: list[str] = []
    held: set = set()  # (table, id) of the rows held; (table, None) for a statement that names no id
    top_level, top_table, top_id, book_held = 0, None, 0, False
    for table, ids, no_key in locks:
        level = locking.level_of(table)
        if not no_key:
            problems.append(f"{table}: FOR UPDATE instead of FOR NO KEY UPDATE")
        if ids:
            new = [i for i in ids if (table, i) not in held]
        else:  # new unless a row of the table is held (the receipt counter's UPDATE after its lock)
            new = [] if any(t == table for t, _i in held) else [0]
        if new:
            if level < top_level:
                problems.append(f"{table} (level {level}) locked after level {top_level}")
            elif level == top_level and table == top_table and min(new) < top_id and not book_held:
                problems.append(f"{table}: id {min(new)} locked after id {top_id} without the book")
            if level >= top_level:
                top_level, top_table, top_id = level, table, max(new)
        held.update((table, i) for i in (ids or (None,)))
        book_held = book_held or level == locking.BOOK
    return problems


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def world(trust, funds, officer, approver):
    """Money in every fund, Smile Packs in stock, two mothers, terms for a management fee, a threshold."""
    book = trust.book
    for n, code, amount in (("DN-1", "SMILE", "5000.00"), ("DN-2", "STUDY", "5000.00"), ("DN-3", "GEN", "3000.00")):
        donation_record(trust=trust, external_id=n, date=D, amount=Decimal(amount), fund=funds[code],
                        channel="bank", user=officer)
    expense_record(trust=trust, external_id="X-1", date=D, kind="inventory_purchase", fund=funds["SMILE"],
                   amount=Decimal("250.00"), item="smile_pack", quantity=10, unit_cost=Decimal("25.00"), user=officer)
    fund_terms_set(fund=funds["SMILE"], management_fee_rate=Decimal("5.00"), management_fee_cap=None, user=approver)
    trust_set_expense_threshold(trust=trust, threshold=Decimal("1000.00"), user=system_user())
    people = []
    for i in range(2):
        birth = dt.date(1985 + i, 2, 3)
        people.append(beneficiary_register(
            book=book, external_id=f"B-{i}", name=f"母亲{i}", birth_date=birth, gender="F",
            id_number=make_id_number("320582", birth, 10 + i, "F"), user=officer))
    programs = {p.code: p for p in Program.objects.filter(book=book)}
    return {"trust": trust, "book": book, "funds": funds, "people": people, "programs": programs,
            "officer": officer, "approver": approver}


def _draft(w, ext, *, goods=False, batch=None, person=0):
    if goods:
        program, fund, amount, quantity = w["programs"]["smile_pack"], w["funds"]["SMILE"], None, 2
    else:
        program, fund, amount, quantity = w["programs"]["study_grant"], w["funds"]["STUDY"], Decimal("300.00"), 1
    return disbursement_draft(book=w["book"], external_id=ext, beneficiary=w["people"][person], program=program,
                              fund=fund, date=D, amount=amount, quantity=quantity, user=w["officer"], batch=batch)


def _approved(w, ext, **kwargs):
    return disbursement_approve(disbursement=_draft(w, ext, **kwargs), user=w["approver"])


def _services(w):
    """(name, a call that runs one service) for every service that moves money or takes a shared row's lock."""
    trust, funds, officer, approver = w["trust"], w["funds"], w["officer"], w["approver"]

    def gift(ext, fund="STUDY", **extra):
        return lambda: donation_record(trust=trust, external_id=ext, date=D, amount=Decimal("80.00"),
                                       fund=funds[fund], channel="bank", user=officer, **extra)

    def goods():
        return donation_record(trust=trust, external_id="DN-G", date=D, amount=Decimal("60.00"), fund=funds["SMILE"],
                               channel="in_kind", item="smile_pack", quantity=2, user=officer)

    def refund(ext, donation_ext, amount=None):
        from charity.models import Donation

        return lambda: donation_refund(donation=Donation.objects.get(trust=trust, external_id=donation_ext),
                                       external_id=ext, date=D, user=officer, reason="asked", amount=amount)

    def expense(ext, kind, fund, amount, **extra):
        return lambda: expense_record(trust=trust, external_id=ext, date=D, kind=kind, fund=funds[fund],
                                      amount=Decimal(amount), user=officer, **extra)

    def request_approved():
        request = expense_request_draft(trust=trust, external_id="XR-1", date=D, kind="inventory_purchase",
                                        fund=funds["SMILE"], amount=Decimal("1250.00"), item="smile_pack",
                                        quantity=50, unit_cost=Decimal("25.00"), user=officer)
        return lambda: expense_request_approve(request=request, user=approver)

    def manual_approved():
        legs = [{"account": "3102", "fund": "SMILE", "debit": "5.00"},
                {"account": "100201", "fund": "SMILE", "credit": "5.00"},
                {"account": "100201", "fund": "GEN", "debit": "5.00"}, {"account": "3101", "fund": "GEN", "credit": "5.00"}]
        draft = manual_entry_draft(trust=trust, date=D, memo="调拨 transfer", legs=legs, user=officer)
        return lambda: manual_entry_approve(manual=draft, user=approver)

    def pay(ext, **kwargs):
        d = _approved(w, ext, **kwargs)
        return lambda: disbursement_pay(disbursement=d, user=approver)

    def reverse(ext, **kwargs):
        d = disbursement_pay(disbursement=_approved(w, ext, **kwargs), user=approver)
        return lambda: disbursement_reverse(disbursement=d, user=approver, date=D, reason="returned")

    def batch():
        b = batch_create(book=w["book"], code="DAY-1", user=officer)
        _draft(w, "DB-1", batch=b, person=0)
        _draft(w, "DB-2", batch=b, person=1, goods=True)
        batch_approve(batch=b, user=approver)
        return lambda: batch_post(batch=b, user=approver)

    def void(ext):
        receipt = Receipt.objects.get(donation__external_id=ext, voided_at__isnull=True)
        return lambda: receipt_void(receipt=receipt, user=officer, reason="misspelt name", reissue=True)

    def official(ext):
        from charity.models import Donation

        donation = Donation.objects.get(trust=trust, external_id=ext)
        return lambda: official_receipt_record(donation=donation, receipt_code="12345678",
                                               receipt_number="0000000001", check_code="AB12CD", issued_on=D, issuer="受托银行",
                                               user=officer)

    def settlement():
        from charity.services import settlement_record

        donation, _ = donation_record(trust=trust, external_id="DN-W", date=D, amount=Decimal("80.00"),
                                      fund=funds["STUDY"], channel="wechat", user=officer, order_id="WX-1")
        return lambda: settlement_record(trust=trust, channel="wechat", date=D, fee=Decimal("0.48"),
                                         reference="P-1", donations=[donation], user=officer)

    def payment():
        from charity.services import expense_payment_record

        owed, _ = expense_record(trust=trust, external_id="X-P", date=D, kind="admin", fund=funds["GEN"],
                                 amount=Decimal("30.00"), payee="文具店", payable="2202", user=officer)
        return lambda: expense_payment_record(trust=trust, external_id="PAY-1", expense=owed, date=D,
                                              amount=Decimal("10.00"), user=officer)

    def cash_count():
        from charity.services import cash_count_approve, cash_count_record

        count = cash_count_record(trust=trust, date=D, counted=Decimal("1.00"), counted_by="出纳", witness="会计",
                                  user=officer)
        return lambda: cash_count_approve(count=count, user=approver)

    def line_booked():
        from charity.models import StatementLine
        from charity.services import statement_line_book
        from ledger.models import Account

        line = StatementLine.objects.create(
            trust=trust, account=Account.objects.get(book=w["book"], code="100201"), date=D, amount=123,
            reference="INT-1", file_sha256="0" * 64, line_number=1, format="generic", imported_by=officer)
        return lambda: statement_line_book(line=line, kind="interest", user=officer)

    # Each entry: name, a setup run first (not recorded) returning the call that is recorded.
    return [
        ("donation_record", lambda: gift("DN-10")),
        ("donation_record in kind", lambda: goods),
        ("donation_refund part", lambda: refund("R-1", "DN-1", Decimal("10.00"))),
        ("donation_refund whole", lambda: (gift("DN-11")(), refund("R-2", "DN-11"))[1]),
        ("donation_refund in kind", lambda: refund("R-3", "DN-G")),
        ("expense_record", lambda: expense("X-10", "bank_fee", "GEN", "5.00")),
        ("expense_record inventory_purchase",
         lambda: expense("X-11", "inventory_purchase", "SMILE", "50.00", item="smile_pack", quantity=2,
                         unit_cost=Decimal("25.00"))),
        ("expense_record management_fee", lambda: expense("X-12", "management_fee", "SMILE", "20.00")),
        ("expense_request_approve", request_approved),
        ("manual_entry_approve", manual_approved),
        ("disbursement_pay", lambda: pay("D-1")),
        ("disbursement_pay in kind", lambda: pay("D-2", goods=True, person=1)),
        ("disbursement_reverse", lambda: reverse("D-3")),
        ("disbursement_reverse in kind", lambda: reverse("D-4", goods=True)),
        ("batch_post", batch),
        ("receipt_void reissue", lambda: void("DN-2")),
        ("official_receipt_record", lambda: official("DN-3")),
        ("settlement_record", settlement),
        ("expense_payment_record", payment),
        ("cash_count_approve", cash_count),
        ("statement_line_book interest", line_booked),
        ("period_close", lambda: (lambda: period_close(book=w["book"], month="2026-03", user=approver))),
    ]


@pytest.mark.postgres
def test_every_money_service_locks_in_the_documented_order(_postgres, world, recorder):
    seen = {}
    for name, setup in _services(world):
        call = setup()
        with transaction.atomic(), recorder.recording():
            call()
        locks = recorder.locks()
        seen[name] = locks
        assert not out_of_order(locks), f"{name}: {out_of_order(locks)} in {locks}"
    # The check saw real locks: every posting service locked the book first.
    for name, locks in seen.items():
        if name not in ("official_receipt_record", "receipt_void reissue"):  # these two post nothing
            assert locks and locks[0][0] == "ledger_book", (name, locks)
    assert any(t == "beneficiaries_stockbalance" for t, _ids, _nk in seen["disbursement_pay in kind"])
    assert any(t == "charity_receiptcounter" for t, _ids, _nk in seen["receipt_void reissue"])


@pytest.mark.postgres
def test_the_check_notices_a_service_that_locks_out_of_order(_postgres, world, recorder):
    """Control: the order of issue 21's deadlock (a stock balance, then the book) and a plain FOR UPDATE are both
    caught."""
    balance = StockBalance.objects.filter(fund=world["funds"]["SMILE"]).first()
    with transaction.atomic(), recorder.recording():
        StockBalance.objects.select_for_update(no_key=True).get(pk=balance.pk)
        Book.objects.select_for_update(no_key=True).get(pk=world["book"].pk)
    assert out_of_order(recorder.locks()) == [
        f"ledger_book (level {locking.BOOK}) locked after level {locking.STOCK_BALANCE}"]
    with transaction.atomic(), recorder.recording():
        locking.lock(world["book"])
        Book.objects.select_for_update().get(pk=world["book"].pk)  # held already, but a plain FOR UPDATE
    assert out_of_order(recorder.locks()) == ["ledger_book: FOR UPDATE instead of FOR NO KEY UPDATE"]
    with transaction.atomic(), recorder.recording():
        locking.lock(world["funds"]["STUDY"], world["funds"]["SMILE"], world["book"])  # one call sorts them
    assert not out_of_order(recorder.locks())
    assert [t for t, _ids, _nk in recorder.locks()] == ["ledger_book", "ledger_fund"]
