from ledger.csvio import KeyedRows, RowError, parse_amount, parse_text

from ..models import Donation, Refund
from ..services import donation_refund
from ._base import TrustImporter, chunked, parse_cells, parse_past_date

DEFAULT_REASON = "退款 refund"


def _same(old: Refund, content: tuple) -> bool:
    """A refund already imported is the row's when all agree; a blank amount (all that was left) agrees with any."""
    date, donation, amount, reason = content
    return (old.date, old.donation.external_id, old.reason) == (date, donation, reason) and (
        amount is None or old.amount.amount == amount)


class RefundImporter(TrustImporter):
    kind = "refunds"
    required = ("external_id", "date", "donation_external_id")
    optional = ("amount", "reason")
    field_columns = {"external_id": "external_id", "date": "date", "donation": "donation_external_id",
                     "amount": "amount", "quantity": "amount", "reason": "reason", "fund": "donation_external_id",
                     "currency": "amount"}

    def check(self, rows):
        errors, parsed = [], []
        for row in rows:
            data, bad = parse_cells(row, (
                ("external_id", lambda v: parse_text(v, max_length=64, required=True)),
                ("date", parse_past_date),
                ("donation_external_id", lambda v: parse_text(v, max_length=64, required=True)),
                ("amount", lambda v: parse_amount(v) if v.strip() else None),
                ("reason", lambda v: parse_text(v, max_length=2000) or DEFAULT_REASON),
            ))
            errors += bad
            if not bad:
                parsed.append((row, data))
        donations = {}
        for chunk in chunked(sorted({d["donation_external_id"] for _, d in parsed})):
            donations.update({d.external_id: d for d in Donation.objects.filter(trust=self.trust, external_id__in=chunk)})
        existing = {}
        for chunk in chunked([d["external_id"] for _, d in parsed]):
            for r in Refund.objects.filter(trust=self.trust, external_id__in=chunk).select_related("donation"):
                existing[r.external_id] = r
        keys = KeyedRows(existing, errors, same=_same)
        for row, data in parsed:
            donation = donations.get(data["donation_external_id"])
            if donation is None:
                errors.append(RowError(row.number, "donation_external_id",
                                       f"{data['donation_external_id']!r} is not a donation of this trust"))
                continue
            content = (data["date"], data["donation_external_id"], data["amount"], data["reason"])
            imported = keys.check(row, data["external_id"], content)
            if imported is None:
                continue
            data["donation"] = donation
            data["imported"] = imported
            self.plan.append((row, data))
        return errors

    def apply_row(self, row, data) -> bool:
        if data.get("imported"):
            return False
        donation_refund(
            donation=data["donation"], external_id=data["external_id"], date=data["date"], amount=data["amount"],
            reason=data["reason"], user=self.user, posting=self.posting,
        )
        return True
