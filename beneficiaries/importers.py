"""``import_csv beneficiaries`` and ``import_csv disbursements`` (docs/formats.md).

Both check every row before anything is written and report every bad row; the runner (``ledger.csvio``) then
writes inside one transaction. A row whose ``external_id`` is already in the books with the same content is
skipped; with different content it is an error.

Beneficiaries: a guardian may come later in the file than her ward; rows are written guardians first.

Disbursements record aid already given and post it: rows are grouped by ``batch`` (a blank batch makes the row
its own posting) and each group is posted in one go, all or nothing, after every row has been written. Because
the aid was approved outside the system, the importing user is recorded as drafter *and* approver of what it
posts, and the records say ``approved_outside`` (the four-eyes rule is kept for what is approved in the system).
With ``--draft`` nothing is posted: the rows become draft batches (and draft single disbursements) that another
user approves and posts. Before writing, ``check`` walks the rows in posting order against the funds' balances,
the stock on hand (weighted-average cost, so a given amount can be compared) and the programs' yearly limits, so
that these refusals too are reported for every bad row rather than for the first one the ledger meets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from ledger.csvio import (
    CellError,
    Importer,
    KeyedRows,
    RowError,
    parse_amount,
    parse_book_date,
    parse_choice,
    parse_date,
    parse_quantity,
    parse_text,
)
from ledger.models import CENT, Fund, Restriction, from_minor, to_minor

from .errors import AidError, InvalidIdNumber
from .idnumber import validate_id_number
from .privacy import duplicate_message, log_identity_matches
from .models import (
    LIVE_STATUSES,
    Beneficiary,
    BeneficiaryStatus,
    Disbursement,
    DisbursementBatch,
    Program,
    ProgramKind,
    StockBalance,
)
from .services import (
    batch_create,
    batch_record_given,
    beneficiary_register,
    disbursement_draft,
    disbursement_record_given,
    household_get_or_create,
)
from .services.disbursements import check_fund
from .services.registry import ADULT_AGE, PHONE_RE, age_on
from .services.stock import issue_value


# -- beneficiaries --------------------------------------------------------------------------------------------

BENEFICIARY_FIELDS = (
    "name", "id_number", "birth_date", "gender", "household_id", "guardian_external_id", "district", "community",
    "phone",
)


def _existing_content(b: Beneficiary) -> dict:
    return {
        "name": b.name, "id_number": b.id_number, "birth_date": b.birth_date, "gender": b.gender,
        "household_id": b.household.external_id if b.household else "",
        "guardian_external_id": b.guardian.external_id if b.guardian else "",
        "district": b.district, "community": b.community, "phone": b.phone,
    }


def _same_beneficiary(b: Beneficiary, data: dict) -> bool:
    return _existing_content(b) == {k: data[k] for k in BENEFICIARY_FIELDS}


class BeneficiaryImporter(Importer):
    kind = "beneficiaries"
    required = ("external_id", "name", "id_number", "birth_date")
    optional = ("gender", "household_id", "guardian_external_id", "district", "community", "phone")
    domain_errors = (AidError,)
    field_columns = {
        "external_id": "external_id", "name": "name", "id_number": "id_number", "birth_date": "birth_date",
        "gender": "gender", "household": "household_id", "household_id": "household_id",
        "guardian": "guardian_external_id", "district": "district", "community": "community", "phone": "phone",
        "consent_date": "-", "consent_given_by": "-",
    }

    def _parse(self, row) -> tuple[dict | None, list[RowError]]:
        errors, data = [], {}
        parsers = (
            ("external_id", lambda v: parse_text(v, max_length=64, required=True)),
            ("name", lambda v: parse_text(v, max_length=100, required=True)),
            ("id_number", lambda v: parse_text(v, max_length=40, required=True)),
            ("birth_date", parse_date),
            ("gender", lambda v: parse_choice(v, ("F", "M")) if v.strip() else ""),
            ("household_id", lambda v: parse_text(v, max_length=64)),
            ("guardian_external_id", lambda v: parse_text(v, max_length=64)),
            ("district", lambda v: parse_text(v, max_length=100)),
            ("community", lambda v: parse_text(v, max_length=200)),
            ("phone", lambda v: parse_text(v, max_length=20)),
        )
        for column, parse in parsers:
            try:
                data[column] = parse(row.get(column))
            except CellError as exc:
                errors.append(RowError(row.number, column, exc.message))
        if errors:
            return None, errors
        if data["phone"] and not PHONE_RE.match(data["phone"]):
            errors.append(RowError(row.number, "phone", f"{data['phone']!r} is not a phone number (digits)"))
        try:
            info = validate_id_number(
                data["id_number"], birth_date=data["birth_date"], gender=data["gender"] or None,
                today=timezone.localdate(),
            )
            data["id_number"], data["gender"] = info.number, info.gender
        except InvalidIdNumber as exc:
            errors.append(RowError(row.number, exc.field or "id_number", exc.message))
        return (None if errors else data), errors

    def check(self, rows):
        errors: list[RowError] = []
        today = timezone.localdate()
        parsed = []
        for row in rows:
            data, row_errors = self._parse(row)
            errors += row_errors
            if data is not None:
                parsed.append((row, data))
        wanted_ext = {d["external_id"] for _, d in parsed} | {d["guardian_external_id"] for _, d in parsed}
        existing = {
            b.external_id: b
            for b in Beneficiary.objects.filter(book=self.book, external_id__in=wanted_ext - {""})
            .select_related("household", "guardian")
        }
        id_owner = {
            number: (pk, ext)
            for number, pk, ext in Beneficiary.objects.filter(
                book=self.book, id_number__in={d["id_number"] for _, d in parsed}
            ).values_list("id_number", "pk", "external_id")
        }
        matched: list[int] = []  # lookups that found someone already registered: logged, dry run or not
        keys = KeyedRows(existing, errors, repeats=False, same=_same_beneficiary,
                         conflict="beneficiary {key} was already imported with different content")
        in_file = keys.seen  # external id -> (row number, data)
        seen_ids: dict[str, tuple] = {}
        good = []
        for row, data in parsed:
            ext = data["external_id"]
            if not keys.first(row, ext, data):
                continue
            if data["id_number"] in seen_ids:
                other_row, other = seen_ids[data["id_number"]]
                errors.append(RowError(row.number, "id_number", f"the same identity number is also given for "
                                       f"{other['external_id']} (row {other_row.number})"))
                continue
            seen_ids[data["id_number"]] = (row, data)
            known = keys.known(row, ext, data)
            if known is None:
                continue
            if known:
                data["skip"] = True
                matched.append(existing[ext].pk)  # the file gave her identity number and it matched
                good.append((row, data))
                continue
            owner = id_owner.get(data["id_number"])
            if owner is not None:
                matched.append(owner[0])
                errors.append(RowError(row.number, "id_number",
                                       duplicate_message(existing_external_id=owner[1], user=self.user)))
                continue
            data["skip"] = False
            good.append((row, data))
        # Before any transaction of the import's own: a refused or dry-run file rolls back, the log does not.
        log_identity_matches(beneficiary_ids=matched, user=self.user, purpose="import beneficiaries")
        ok_ext = {d["external_id"] for _, d in good}
        placed: list = []
        for row, data in good:
            if data["skip"]:
                continue
            guardian_ext = data["guardian_external_id"]
            minor = age_on(data["birth_date"], today) < ADULT_AGE
            if not guardian_ext:
                if minor:
                    errors.append(RowError(row.number, "guardian_external_id",
                                           f"a minor (aged {age_on(data['birth_date'], today)}) needs a guardian"))
                continue
            if guardian_ext == data["external_id"]:
                errors.append(RowError(row.number, "guardian_external_id", "a beneficiary cannot be her own guardian"))
                continue
            guardian_birth = None
            if guardian_ext in existing:
                guardian_birth = existing[guardian_ext].birth_date
            elif guardian_ext in in_file:
                guardian_birth = in_file[guardian_ext][1]["birth_date"]
                if guardian_ext not in ok_ext:
                    errors.append(RowError(row.number, "guardian_external_id",
                                           f"guardian {guardian_ext} (row {in_file[guardian_ext][0]}) is itself "
                                           f"refused"))
                    continue
            if guardian_birth is None:
                errors.append(RowError(row.number, "guardian_external_id",
                                       f"guardian {guardian_ext} is neither registered nor in this file"))
                continue
            if age_on(guardian_birth, today) < ADULT_AGE:
                errors.append(RowError(row.number, "guardian_external_id", f"guardian {guardian_ext} is a minor"))
        if errors:
            return errors
        # Guardians before their wards, otherwise file order.
        pending = list(good)
        done = {ext for ext in existing}
        while pending:
            rest = []
            for row, data in pending:
                g = data["guardian_external_id"]
                if data["skip"] or not g or g in done:
                    placed.append((row, data))
                    done.add(data["external_id"])
                else:
                    rest.append((row, data))
            if len(rest) == len(pending):
                for row, _data in rest:
                    errors.append(RowError(row.number, "guardian_external_id", "guardians form a cycle"))
                return errors
            pending = rest
        self.plan = placed
        return errors

    def apply_row(self, row, data) -> bool:
        if data["skip"]:
            return False
        guardian = None
        if data["guardian_external_id"]:
            guardian = Beneficiary.objects.get(book=self.book, external_id=data["guardian_external_id"])
        household = None
        if data["household_id"]:
            household = household_get_or_create(book=self.book, external_id=data["household_id"], user=self.user)
        beneficiary_register(
            book=self.book, external_id=data["external_id"], name=data["name"], id_number=data["id_number"],
            birth_date=data["birth_date"], gender=data["gender"], household=household, guardian=guardian,
            district=data["district"], community=data["community"], phone=data["phone"], user=self.user,
        )
        return True


# -- disbursements --------------------------------------------------------------------------------------------


@dataclass
class _Group:
    key: str  # the batch code, or "" + external id for a row of its own
    batch: str
    rows: list = field(default_factory=list)  # (Row, data)
    batch_obj: DisbursementBatch | None = None
    singles: list = field(default_factory=list)  # (Row, Disbursement) of rows without a batch


class DisbursementImporter(Importer):
    kind = "disbursements"
    required = ("external_id", "date", "beneficiary_external_id", "program", "fund_code", "amount")
    optional = ("quantity", "batch", "description")
    domain_errors = (AidError,)
    field_columns = {
        "external_id": "external_id", "date": "date", "beneficiary": "beneficiary_external_id",
        "program": "program", "fund": "fund_code", "amount": "amount", "quantity": "quantity", "batch": "batch",
        "description": "description", "status": "external_id", "approved_by": "-",
    }

    def __init__(self, *, book, user, draft: bool = False):
        super().__init__(book=book, user=user, draft=draft)
        self.groups: dict[str, _Group] = {}
        self._row_of: dict[int, int] = {}  # disbursement pk -> row number

    def _parse(self, row, programs, funds) -> tuple[dict | None, list[RowError]]:
        errors, data = [], {}
        for column, parse in (
            ("external_id", lambda v: parse_text(v, max_length=64, required=True)),
            ("date", parse_book_date),
            ("beneficiary_external_id", lambda v: parse_text(v, max_length=64, required=True)),
            ("program", lambda v: parse_text(v, max_length=32, required=True)),
            ("fund_code", lambda v: parse_text(v, max_length=32, required=True)),
            ("batch", lambda v: parse_text(v, max_length=64)),
            ("description", lambda v: parse_text(v, max_length=500)),
        ):
            try:
                data[column] = parse(row.get(column))
            except CellError as exc:
                errors.append(RowError(row.number, column, exc.message))
        if errors:
            return None, errors
        if data["date"] > timezone.localdate():
            errors.append(RowError(row.number, "date", f"{data['date'].isoformat()} is after today"))
        program = programs.get(data["program"])
        if program is None:
            errors.append(RowError(row.number, "program", f"{data['program']!r} is not a program of this trust"))
        elif not program.active:
            errors.append(RowError(row.number, "program", f"program {program.code} is not active"))
        fund = funds.get(data["fund_code"])
        if fund is None:
            errors.append(RowError(row.number, "fund_code", f"{data['fund_code']!r} is not a fund of this trust"))
        if program is not None and fund is not None:
            try:
                check_fund(program=program, fund=fund)
            except AidError as exc:
                errors.append(RowError(row.number, "fund_code", exc.message))
        amount_text = row.get("amount")
        try:
            if amount_text:
                data["amount"] = parse_amount(amount_text).quantize(CENT)
            elif program is not None and program.kind == ProgramKind.CASH:
                raise CellError(f"is required for program {program.code} (cash)")
            else:
                data["amount"] = None
        except CellError as exc:
            errors.append(RowError(row.number, "amount", exc.message))
        try:
            data["quantity"] = parse_quantity(row.get("quantity"), default=1)
            if program is not None and program.kind == ProgramKind.CASH and data["quantity"] != 1:
                raise CellError(f"does not apply to program {program.code} (cash); leave it blank or 1")
        except CellError as exc:
            errors.append(RowError(row.number, "quantity", exc.message))
        data["program_obj"], data["fund_obj"] = program, fund
        return (None if errors else data), errors

    def check(self, rows):
        errors: list[RowError] = []
        programs = {p.code: p for p in Program.objects.filter(book=self.book).select_related("stock_item")}
        funds = {f.code: f for f in Fund.objects.filter(book=self.book)}
        parsed = []
        for row in rows:
            data, row_errors = self._parse(row, programs, funds)
            errors += row_errors
            if data is not None:
                parsed.append((row, data))
        people = {
            b.external_id: b
            for b in Beneficiary.objects.filter(
                book=self.book, external_id__in={d["beneficiary_external_id"] for _, d in parsed}
            )
        }
        existing = {
            d.external_id: d
            for d in Disbursement.objects.filter(
                book=self.book, external_id__in={d["external_id"] for _, d in parsed}
            ).select_related("beneficiary", "program", "fund", "batch")
        }
        batches = {
            b.code: b
            for b in DisbursementBatch.objects.filter(book=self.book, code__in={d["batch"] for _, d in parsed} - {""})
        }
        keys = KeyedRows(existing, errors, repeats=False, same=self._same,
                         conflict="disbursement {key} was already imported with different content")
        new_rows = []
        for row, data in parsed:
            ext = data["external_id"]
            if not keys.first(row, ext, data):
                continue
            person = people.get(data["beneficiary_external_id"])
            if person is None:
                errors.append(RowError(row.number, "beneficiary_external_id",
                                       f"beneficiary {data['beneficiary_external_id']} is not registered"))
                continue
            data["beneficiary_obj"] = person
            known = keys.known(row, ext, data)
            if known is not False:  # in the books already: skipped when writing, or refused
                if known:
                    data["skip"] = True
                    self.plan.append((row, data))
                continue
            if person.status != BeneficiaryStatus.ACTIVE:
                errors.append(RowError(row.number, "beneficiary_external_id",
                                       f"beneficiary {person.external_id} has exited the programs"))
                continue
            batch = batches.get(data["batch"])
            if batch is not None:
                if batch.status != "draft":
                    errors.append(RowError(row.number, "batch", f"batch {batch.code} is already {batch.status}; "
                                           f"new rows cannot join it"))
                    continue
                if not self.draft:
                    errors.append(RowError(row.number, "batch", f"batch {batch.code} is a draft waiting for approval; "
                                           f"add to it with --draft, or approve and post it"))
                    continue
            data["skip"] = False
            new_rows.append((row, data))
            self.plan.append((row, data))
        for row, data in new_rows:
            key = data["batch"] or f"\x00{data['external_id']}"
            self.groups.setdefault(key, _Group(key=key, batch=data["batch"])).rows.append((row, data))
        errors += self._simulate()
        return errors

    @staticmethod
    def _same(d: Disbursement, data: dict) -> bool:
        amount_same = data["amount"] is None or d.amount == data["amount"]
        return (
            d.date == data["date"] and d.beneficiary.external_id == data["beneficiary_external_id"]
            and d.program.code == data["program"] and d.fund.code == data["fund_code"] and amount_same
            and d.quantity == data["quantity"] and (d.batch.code if d.batch else "") == data["batch"]
            and d.description == data["description"]
        )

    def _simulate(self) -> list[RowError]:
        """Walk the new rows in posting order against funds, stock and yearly limits; report each row refused."""
        errors = []
        groups = list(self.groups.values())
        rows = [(row, data) for group in groups for row, data in group.rows]
        if not rows:
            return errors
        fund_left = {}
        stock = {}
        limits: dict[tuple, list] = {}
        for row, data in rows:
            program, fund, person = data["program_obj"], data["fund_obj"], data["beneficiary_obj"]
            if fund.pk not in fund_left:
                fund_left[fund.pk] = Fund.objects.values_list("net_assets", flat=True).get(pk=fund.pk)
            value = data["amount"]
            if program.kind == ProgramKind.IN_KIND and not self.draft:
                key = (program.stock_item_id, fund.pk)
                if key not in stock:
                    balance = StockBalance.objects.filter(item_id=program.stock_item_id, fund=fund).first()
                    stock[key] = StockBalance(quantity=balance.quantity, value=balance.value) if balance else \
                        StockBalance(quantity=0, value=0)
                sim = stock[key]
                if sim.quantity < data["quantity"]:
                    errors.append(RowError(row.number, "quantity",
                                           f"fund {fund.code} holds {sim.quantity} of {program.stock_item.code} at "
                                           f"this point; {data['quantity']} cannot be handed out"))
                    continue
                value = issue_value(sim, data["quantity"])
                if data["amount"] is not None and data["amount"] != value:
                    errors.append(RowError(row.number, "amount",
                                           f"amount {data['amount']} does not equal {data['quantity']} x the "
                                           f"weighted-average cost ({value})"))
                    continue
                sim.quantity -= data["quantity"]
                sim.value -= to_minor(value)
            limit_errors = self._limits(row, data, value, limits)
            if limit_errors:
                errors += limit_errors
                continue
            if value is not None and not self.draft and fund.restriction != Restriction.UNRESTRICTED:
                fen = to_minor(value)
                if fund_left[fund.pk] - fen < 0:
                    errors.append(RowError(row.number, "amount",
                                           f"fund {fund.code} has {from_minor(fund_left[fund.pk])} CNY left at this "
                                           f"point; this row needs {value} CNY"))
                    continue
                fund_left[fund.pk] -= fen
        return errors

    def _limits(self, row, data, value, limits) -> list[RowError]:
        program, person = data["program_obj"], data["beneficiary_obj"]
        if program.limit_amount_per_year is None and program.limit_count_per_year is None:
            return []
        year = data["date"].year
        key = (person.pk, program.pk, year)
        if key not in limits:
            qs = Disbursement.objects.filter(
                beneficiary=person, program=program, status__in=LIVE_STATUSES,
                date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31),
            )
            limits[key] = [qs.count(), qs.aggregate(s=Sum("amount"))["s"] or Decimal(0)]
        count, total = limits[key]
        if program.limit_count_per_year is not None and count + 1 > program.limit_count_per_year:
            return [RowError(row.number, "program",
                             f"program {program.code} allows {program.limit_count_per_year} disbursement(s) per "
                             f"beneficiary per year; beneficiary {person.external_id} already has {count} in {year}")]
        value = value or Decimal(0)
        if program.limit_amount_per_year is not None and total + value > program.limit_amount_per_year:
            limit = Decimal(program.limit_amount_per_year).quantize(CENT)
            return [RowError(row.number, "amount",
                             f"program {program.code} allows {limit} CNY per beneficiary per year; beneficiary "
                             f"{person.external_id} already has {Decimal(total).quantize(CENT)} CNY in {year}")]
        limits[key] = [count + 1, total + value]
        return []

    def apply_row(self, row, data) -> bool:
        if data["skip"]:
            return False
        key = data["batch"] or f"\x00{data['external_id']}"
        group = self.groups[key]
        batch = None
        if data["batch"]:
            if group.batch_obj is None:
                group.batch_obj = DisbursementBatch.objects.filter(book=self.book, code=data["batch"]).first() or \
                    batch_create(book=self.book, code=data["batch"], user=self.user,
                                 description=data["description"][:200])
            batch = group.batch_obj
        d = disbursement_draft(
            book=self.book, external_id=data["external_id"], beneficiary=data["beneficiary_obj"],
            program=data["program_obj"], fund=data["fund_obj"], date=data["date"], user=self.user,
            amount=data["amount"], quantity=data["quantity"], description=data["description"], batch=batch,
        )
        self._row_of[d.pk] = row.number
        if batch is None:
            group.singles.append((row, d))
        return True

    def finish(self) -> None:
        if self.draft:
            return
        for group in self.groups.values():
            try:
                if group.batch_obj is not None:
                    batch_record_given(batch=group.batch_obj, user=self.user, posting=self.posting)
                for _row, d in group.singles:
                    disbursement_record_given(disbursement=d, user=self.user, posting=self.posting)
            except AidError as exc:
                failed = getattr(exc, "disbursement", None)
                if failed is not None:
                    exc.row = self._row_of.get(failed.pk, 0)
                elif group.singles:
                    exc.row = group.singles[0][0].number
                raise
