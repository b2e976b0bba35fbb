from beneficiaries.models import Program, StockItem
from ledger.csvio import KeyedRows, RowError, parse_amount, parse_book_date, parse_choice, parse_quantity, parse_text
from ledger.models import Fund

from ..models import Expense, ExpenseKind, PayableAccount
from ..services import expense_record
from ._base import TrustImporter, chunked, parse_cells, parse_past_date


class ExpenseImporter(TrustImporter):
    kind = "expenses"
    required = ("external_id", "date", "kind", "fund_code", "amount")
    # payable (2202/2209, blank: paid at once) and due_date: recorded when invoiced, paid by a ``payments`` import
    optional = ("item", "quantity", "unit_cost", "payee", "description", "program", "payable", "due_date")
    field_columns = {
        "external_id": "external_id", "date": "date", "kind": "kind", "fund": "fund_code", "amount": "amount",
        "item": "item", "quantity": "quantity", "unit_cost": "unit_cost", "payee": "payee",
        "description": "description", "currency": "amount", "program": "program", "payable": "payable",
        "due_date": "due_date",
    }

    def check(self, rows):
        errors, parsed = [], []
        funds = {f.code: f for f in Fund.objects.filter(book=self.book)}
        items = {i.code: i for i in StockItem.objects.filter(book=self.book)}
        programs = {p.code: p for p in Program.objects.filter(book=self.book)}
        for row in rows:
            data, bad = parse_cells(row, (
                ("external_id", lambda v: parse_text(v, max_length=64, required=True)),
                ("date", parse_past_date),
                ("kind", lambda v: parse_choice(v, ExpenseKind.values)),
                ("fund_code", lambda v: parse_text(v, max_length=32, required=True)),
                ("amount", parse_amount),
                ("item", lambda v: parse_text(v, max_length=64)),
                ("quantity", lambda v: parse_quantity(v, default=0) or None),
                ("unit_cost", lambda v: parse_amount(v) if v.strip() else None),
                ("payee", lambda v: parse_text(v, max_length=200)),
                ("description", lambda v: parse_text(v, max_length=2000)),
                ("program", lambda v: parse_text(v, max_length=32)),
                ("payable", lambda v: parse_choice(v, PayableAccount.values) if v.strip() else ""),
                ("due_date", lambda v: parse_book_date(v) if v.strip() else None),
            ))
            if "fund_code" in data and data["fund_code"] not in funds:
                bad.append(RowError(row.number, "fund_code", f"{data['fund_code']!r} is not a fund of this trust"))
            if data.get("kind") == ExpenseKind.INVENTORY_PURCHASE:
                if "item" in data and data["item"] not in items:
                    message = "is required for an inventory purchase" if not data["item"] else (
                        f"{data['item']!r} is not a stock item of this trust")
                    bad.append(RowError(row.number, "item", message))
                if "quantity" in data and not data["quantity"]:
                    bad.append(RowError(row.number, "quantity", "is required for an inventory purchase"))
                if data.get("unit_cost") and data.get("quantity") and data.get("amount") is not None:
                    if data["unit_cost"] * data["quantity"] != data["amount"]:
                        bad.append(RowError(row.number, "amount", f"{data['amount']} does not equal quantity x "
                                            f"unit_cost ({data['unit_cost'] * data['quantity']})"))
            elif data.get("kind"):
                for column in ("item", "quantity", "unit_cost"):
                    if data.get(column):
                        bad.append(RowError(row.number, column, "is for inventory purchases only"))
            if data.get("kind") == ExpenseKind.PROGRAM_COST:
                if "program" in data and data["program"] not in programs:
                    message = "is required for program_cost" if not data["program"] else (
                        f"{data['program']!r} is not a program of this trust")
                    bad.append(RowError(row.number, "program", message))
            elif data.get("kind") and data.get("program"):
                bad.append(RowError(row.number, "program", "is for program_cost only"))
            errors += bad
            if not bad:
                parsed.append((row, data))
        existing = {}
        for chunk in chunked([d["external_id"] for _, d in parsed]):
            for e in Expense.objects.filter(trust=self.trust, external_id__in=chunk).select_related(
                    "fund", "item", "program"):
                existing[e.external_id] = (e.date, e.kind, e.fund.code, e.amount.amount, e.item.code if e.item else "",
                                           e.quantity, e.unit_cost, e.payee, e.description,
                                           e.program.code if e.program else "", e.payable, e.due_date)
        keys = KeyedRows(existing, errors)
        for row, data in parsed:
            content = (data["date"], data["kind"], data["fund_code"], data["amount"], data["item"], data["quantity"],
                       data["unit_cost"], data["payee"], data["description"], data["program"], data["payable"],
                       data["due_date"])
            imported = keys.check(row, data["external_id"], content)
            if imported is None:
                continue
            data["fund"] = funds[data["fund_code"]]
            data["item"] = items.get(data["item"]) if data["item"] else None
            data["program"] = programs.get(data["program"]) if data["program"] else None
            data["imported"] = imported
            self.plan.append((row, data))
        return errors

    def apply_row(self, row, data) -> bool:
        if data.get("imported"):
            return False
        _expense, created = expense_record(
            trust=self.trust, external_id=data["external_id"], date=data["date"], kind=data["kind"],
            fund=data["fund"], amount=data["amount"], item=data["item"], quantity=data["quantity"],
            unit_cost=data["unit_cost"], payee=data["payee"], description=data["description"],
            program=data["program"], user=self.user, payable=data["payable"], due_date=data["due_date"],
            posting=self.posting,
        )
        return created
