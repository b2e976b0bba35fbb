from decimal import Decimal

from ledger.csvio import (CellError, KeyedRows, RowError, parse_amount, parse_choice, parse_currency, parse_quantity,
                          parse_rate, parse_text)
from ledger.models import Fund

from ..models import Channel, Donation, Donor
from ..services import donation_record
from ..services.donations import donation_key
from ._base import TrustImporter, chunked, parse_cells, parse_past_date


def _content(d: dict) -> tuple:
    return (d["date"], d["donor_external_id"], d["amount"], d["currency"], d["fx_rate"], d["channel"],
            d["fund_code"], d["item"], d["quantity"], d["description"], d["order_id"])


class DonationImporter(TrustImporter):
    kind = "donations"
    required = ("external_id", "date", "amount", "channel", "fund_code")
    optional = ("donor_external_id", "currency", "fx_rate", "item", "quantity", "description", "order_id")
    field_columns = {
        "external_id": "external_id", "date": "date", "amount": "amount", "currency": "currency",
        "fx_rate": "fx_rate", "channel": "channel", "fund": "fund_code", "donor": "donor_external_id",
        "item": "item", "quantity": "quantity", "description": "description", "donation": "external_id",
        "order_id": "order_id",
    }

    def check(self, rows):
        errors, parsed = [], []
        funds = {f.code: f for f in Fund.objects.filter(book=self.book)}
        for row in rows:
            data, bad = parse_cells(row, (
                ("external_id", lambda v: parse_text(v, max_length=64, required=True)),
                ("date", parse_past_date),
                ("donor_external_id", lambda v: parse_text(v, max_length=64)),
                ("amount", parse_amount),
                ("currency", parse_currency),
                ("channel", lambda v: parse_choice(v, Channel.values)),
                ("fund_code", lambda v: parse_text(v, max_length=32, required=True)),
                ("item", lambda v: parse_text(v, max_length=64)),
                ("quantity", lambda v: parse_quantity(v, default=0) or None),
                ("description", lambda v: parse_text(v, max_length=2000)),
                ("order_id", lambda v: parse_text(v, max_length=100)),
            ))
            currency = data.get("currency")
            if currency:
                try:
                    data["fx_rate"] = self._rate(currency, row.get("fx_rate"))
                except CellError as exc:
                    bad.append(RowError(row.number, "fx_rate", exc.message))
            if "fund_code" in data and data["fund_code"] not in funds:
                bad.append(RowError(row.number, "fund_code", f"{data['fund_code']!r} is not a fund of this trust"))
            if data.get("channel") == Channel.IN_KIND:
                if "item" in data and not data["item"]:
                    bad.append(RowError(row.number, "item", "is required for a gift in kind"))
                if "quantity" in data and not data["quantity"]:
                    bad.append(RowError(row.number, "quantity", "is required for a gift in kind"))
            elif data.get("channel"):
                if data.get("item"):
                    bad.append(RowError(row.number, "item", "is for gifts in kind only"))
                if data.get("quantity"):
                    bad.append(RowError(row.number, "quantity", "is for gifts in kind only"))
            errors += bad
            if not bad:
                parsed.append((row, data))
        donor_ids = sorted({d["donor_external_id"] for _, d in parsed if d["donor_external_id"]})
        donors = {}
        for chunk in chunked(donor_ids):
            donors.update({d.external_id: d for d in Donor.objects.filter(trust=self.trust, external_id__in=chunk)})
        existing = {}
        for chunk in chunked([d["external_id"] for _, d in parsed]):
            for d in Donation.objects.filter(trust=self.trust, external_id__in=chunk).select_related("donor", "fund"):
                existing[d.external_id] = (
                    d.date, d.donor.external_id if d.donor else "", d.amount.amount, d.amount.currency.code,
                    d.fx_rate, d.channel, d.fund.code, d.item, d.quantity, d.description, d.order_id,
                )
        keys = KeyedRows(existing, errors)
        for row, data in parsed:
            if data["donor_external_id"] and data["donor_external_id"] not in donors:
                errors.append(RowError(row.number, "donor_external_id",
                                       f"{data['donor_external_id']!r} is not a donor of this trust"))
                continue
            imported = keys.check(row, data["external_id"], _content(data))
            if imported is None:
                continue
            data["donor"] = donors.get(data["donor_external_id"])
            data["fund"] = funds[data["fund_code"]]
            data["imported"] = imported
            self.plan.append((row, data))
        return errors

    @staticmethod
    def _rate(currency: str, text: str) -> Decimal | None:
        text = (text or "").strip()
        if currency == "CNY":
            if not text:
                return None
            if parse_rate(text) != 1:
                raise CellError(f"{text!r}: a CNY gift has no rate other than 1")
            return None
        if not text:
            raise CellError(f"is required for a gift in {currency} (CNY per unit)")
        return parse_rate(text)

    def begin(self, posting) -> None:
        super().begin(posting)
        # check() found which gifts are new; their entries' keys are then known to be unused too.
        posting.expect_keys(self.book, [donation_key(data["external_id"]) for _row, data in self.plan
                                      if not data["imported"]])

    def apply_row(self, row, data) -> bool:
        if data.get("imported"):
            return False
        _donation, created = donation_record(
            trust=self.trust, external_id=data["external_id"], date=data["date"], amount=data["amount"],
            currency=data["currency"], fx_rate=data["fx_rate"], fund=data["fund"], channel=data["channel"],
            donor=data["donor"], item=data["item"], quantity=data["quantity"], description=data["description"],
            order_id=data["order_id"], user=self.user, unrecorded=True, posting=self.posting, notify=self.notify,
        )
        return created
