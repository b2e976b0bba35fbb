from beneficiaries.models import Program
from ledger import services as ledger
from ledger.csvio import CellError, Importer, KeyedRows, RowError, parse_choice, parse_text
from ledger.errors import LedgerError
from ledger.models import Fund, Restriction


class FundImporter(Importer):
    kind = "funds"
    required = ("code", "name", "restriction")
    optional = ("program", "description", "name_en")
    domain_errors = (LedgerError,)
    field_columns = {"code": "code", "name": "name", "restriction": "restriction"}

    def check(self, rows):
        errors = []
        programs = set(Program.objects.filter(book=self.book).values_list("code", flat=True))
        existing = {f.code: (f.name, f.restriction, f.purpose) for f in Fund.objects.filter(book=self.book)}
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
            ):
                try:
                    data[column] = parse(row.get(column))
                except CellError as exc:
                    errors.append(RowError(row.number, column, exc.message))
            if len(data) < 6:
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
            self.plan.append((row, data))
        return errors

    def apply_row(self, row, data) -> bool:
        if Fund.objects.filter(book=self.book, code=data["code"]).exists():
            return False
        ledger.fund_create(
            book=self.book, code=data["code"], name=data["name"], name_en=data["name_en"],
            restriction=data["restriction"], purpose=data["program"], description=data["description"], user=self.user,
        )
        return True
