from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied

from beneficiaries.models import Program
from ledger import services as ledger
from ledger.csvio import CellError, Importer, KeyedRows, RowError, parse_choice, parse_text
from ledger.errors import LedgerError
from ledger.authority import require
from ledger.models import Fund, Restriction

from ..errors import CharityError
from ..models import FundTerms
from ..roles import APPROVE_EXPENSES


def _decimal(text: str, *, most: Decimal | None, what: str) -> Decimal | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CellError(f"{text!r} is not {what}") from None
    if not value.is_finite() or value < 0 or (most is not None and value > most) or value != value.quantize(
            Decimal("0.01")):
        raise CellError(f"{text} is not {what}")
    return value.quantize(Decimal("0.01"))


def parse_rate(text: str) -> Decimal | None:
    return _decimal(text, most=Decimal(100), what="a percentage from 0 to 100 with at most two decimal places")


def parse_cap(text: str) -> Decimal | None:
    return _decimal(text, most=Decimal("999999999999.99"), what="an amount in CNY, zero or more, two decimal places")


class FundImporter(Importer):
    kind = "funds"
    required = ("code", "name", "restriction")
    optional = ("program", "description", "name_en", "management_fee_rate", "management_fee_cap")
    domain_errors = (LedgerError, CharityError)
    field_columns = {"code": "code", "name": "name", "restriction": "restriction",
                     "management_fee_rate": "management_fee_rate", "management_fee_cap": "management_fee_cap",
                     "fund": "code"}

    def check(self, rows):
        errors = []
        programs = set(Program.objects.filter(book=self.book).values_list("code", flat=True))
        existing = {f.code: (f.name, f.restriction, f.purpose) for f in Fund.objects.filter(book=self.book)}
        terms = {t.fund.code: (t.management_fee_rate, t.management_fee_cap)
                 for t in FundTerms.objects.filter(fund__book=self.book).select_related("fund")}
        may_set_terms = None
        keys = KeyedRows(existing, errors, column="code", repeats=False,
                         twice="fund {key} appears twice (also row {row})",
                         conflict="fund {key} already exists with different content")
        for row in rows:
            data = {}
            for column, parse in (
                ("code", lambda v: parse_text(v, max_length=32, required=True)),
                ("name", lambda v: parse_text(v, max_length=200, required=True)),
                ("name_en", lambda v: parse_text(v, max_length=200)),
                ("restriction", lambda v: parse_choice(v, Restriction.values)),
                ("program", lambda v: parse_text(v, max_length=32)),
                ("description", lambda v: parse_text(v, max_length=2000)),
                ("management_fee_rate", parse_rate),
                ("management_fee_cap", parse_cap),
            ):
                try:
                    data[column] = parse(row.get(column))
                except CellError as exc:
                    errors.append(RowError(row.number, column, exc.message))
            if len(data) < 8:
                continue
            rate, cap = data["management_fee_rate"], data["management_fee_cap"]
            if cap is not None and rate is None:
                errors.append(RowError(row.number, "management_fee_rate", "is required when management_fee_cap "
                                       "is given"))
                continue
            if rate is not None:
                if data["restriction"] != Restriction.RESTRICTED:
                    errors.append(RowError(row.number, "management_fee_rate", "terms allowing a management fee "
                                           "are for restricted funds only"))
                    continue
                if may_set_terms is None:
                    try:
                        require(self.user, APPROVE_EXPENSES, self.book)
                        may_set_terms = True
                    except PermissionDenied:
                        may_set_terms = False
                if not may_set_terms:
                    errors.append(RowError(row.number, "management_fee_rate", "a fund's terms are set by an "
                                           "approver (charity.approve_expenses); leave the column blank"))
                    continue
            program = data["program"] or "general"
            if program not in programs:
                errors.append(RowError(row.number, "program", f"{program!r} is not a program of this trust"))
                continue
            if data["restriction"] == Restriction.RESTRICTED and program == "general" and not data["program"]:
                errors.append(RowError(row.number, "program", "a restricted fund must name the program it serves"))
                continue
            data["program"] = program
            if keys.check(row, data["code"], (data["name"], data["restriction"], program)) is None:
                continue
            data["set_terms"] = rate is not None and terms.get(data["code"]) != (rate, cap)
            self.plan.append((row, data))
        return errors

    def apply_row(self, row, data) -> bool:
        from ..services import fund_terms_set

        fund = Fund.objects.filter(book=self.book, code=data["code"]).first()
        created = fund is None
        if created:
            fund = ledger.fund_create(
                book=self.book, code=data["code"], name=data["name"], name_en=data["name_en"],
                restriction=data["restriction"], purpose=data["program"], description=data["description"],
                user=self.user,
            )
        if data["set_terms"]:
            fund_terms_set(fund=fund, management_fee_rate=data["management_fee_rate"],
                           management_fee_cap=data["management_fee_cap"], user=self.user)
            return True
        return created
