"""``payments``: payments of expenses recorded as payable (2202/2209), each naming its expense by external id."""

from ledger.csvio import KeyedRows, RowError, parse_amount, parse_choice, parse_text

from ..models import Expense, ExpensePayment, PaymentAccount
from ..services import expense_payment_record
from ._base import TrustImporter, chunked, parse_cells, parse_past_date

ACCOUNTS = {"bank": PaymentAccount.BANK, "cash": PaymentAccount.CASH}


class PaymentImporter(TrustImporter):
    kind = "payments"
    required = ("external_id", "date", "expense_external_id", "amount")
    optional = ("paid_from", "description")
    field_columns = {"external_id": "external_id", "date": "date", "expense": "expense_external_id",
                     "amount": "amount", "currency": "amount", "account": "paid_from", "description": "description"}

    def check(self, rows):
        errors, parsed = [], []
        for row in rows:
            data, bad = parse_cells(row, (
                ("external_id", lambda v: parse_text(v, max_length=64, required=True)),
                ("date", parse_past_date),
                ("expense_external_id", lambda v: parse_text(v, max_length=64, required=True)),
                ("amount", parse_amount),
                ("paid_from", lambda v: ACCOUNTS[parse_choice(v or "bank", list(ACCOUNTS))]),
                ("description", lambda v: parse_text(v, max_length=500)),
            ))
            errors += bad
            if not bad:
                parsed.append((row, data))
        expenses = {}
        for chunk in chunked(sorted({d["expense_external_id"] for _, d in parsed})):
            expenses.update({e.external_id: e for e in Expense.objects.filter(trust=self.trust,
                                                                              external_id__in=chunk)})
        existing = {}
        for chunk in chunked([d["external_id"] for _, d in parsed]):
            for p in ExpensePayment.objects.filter(trust=self.trust, external_id__in=chunk).select_related("expense"):
                existing[p.external_id] = (p.date, p.expense.external_id, p.amount, p.account, p.description)
        keys = KeyedRows(existing, errors)
        for row, data in parsed:
            expense = expenses.get(data["expense_external_id"])
            if expense is None:
                errors.append(RowError(row.number, "expense_external_id",
                                       f"{data['expense_external_id']!r} is not an expense of this trust"))
                continue
            content = (data["date"], data["expense_external_id"], data["amount"], data["paid_from"],
                       data["description"])
            imported = keys.check(row, data["external_id"], content)
            if imported is None:
                continue
            data["expense"], data["imported"] = expense, imported
            self.plan.append((row, data))
        return errors

    def apply_row(self, row, data) -> bool:
        if data.get("imported"):
            return False
        _payment, created = expense_payment_record(
            trust=self.trust, external_id=data["external_id"], expense=data["expense"], date=data["date"],
            amount=data["amount"], account_code=data["paid_from"], description=data["description"], user=self.user,
            posting=self.posting)
        return created
