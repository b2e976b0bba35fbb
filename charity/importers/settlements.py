"""``import_csv settlements``: platform payouts, one row per gift settled; the rows of one ``reference`` are one
payout (their date, channel and fee agree)."""

from ledger.csvio import RowError, parse_amount, parse_choice, parse_text
from ledger.models import CENT

from ..models import Donation, SettledDonation, Settlement, SettlementChannel
from ..services import settlement_record
from ._base import TrustImporter, chunked, parse_cells, parse_past_date


def _fee(text: str):
    return parse_amount(text, allow_zero=True).quantize(CENT)


class SettlementImporter(TrustImporter):
    kind = "settlements"
    required = ("reference", "date", "channel", "fee")
    optional = ("donation_external_id", "order_id")
    field_columns = {"reference": "reference", "date": "date", "channel": "channel", "fee": "fee",
                     "donations": "donation_external_id", "order_ids": "order_id", "amount": "fee"}

    def check(self, rows):
        errors, groups, order = [], {}, []
        for row in rows:
            data, bad = parse_cells(row, (
                ("reference", lambda v: parse_text(v, max_length=64, required=True)),
                ("date", parse_past_date),
                ("channel", lambda v: parse_choice(v, SettlementChannel.values)),
                ("fee", _fee),
                ("donation_external_id", lambda v: parse_text(v, max_length=64)),
                ("order_id", lambda v: parse_text(v, max_length=100)),
            ))
            if not bad and bool(data["donation_external_id"]) == bool(data["order_id"]):
                bad.append(RowError(row.number, "donation_external_id",
                                    "name the gift settled by donation_external_id or by order_id (one of them)"))
            errors += bad
            if bad:
                continue
            head = (data["date"], data["channel"], data["fee"])
            group = groups.get(data["reference"])
            if group is None:
                group = groups[data["reference"]] = {"row": row, "head": head, "gifts": []}
                order.append(data["reference"])
            elif group["head"] != head:
                first = group["row"].number
                errors.append(RowError(row.number, "reference",
                                       f"{data['reference']}: date, channel and fee differ from row {first}"))
                continue
            group["gifts"].append((row, data))
        wanted_ids = sorted({d["donation_external_id"] for g in groups.values() for _r, d in g["gifts"]
                             if d["donation_external_id"]})
        wanted_orders = sorted({d["order_id"] for g in groups.values() for _r, d in g["gifts"] if d["order_id"]})
        by_id, by_order = {}, {}
        for chunk in chunked(wanted_ids):
            by_id.update({d.external_id: d for d in Donation.objects.filter(trust=self.trust, external_id__in=chunk)})
        for chunk in chunked(wanted_orders):
            for d in Donation.objects.filter(trust=self.trust, order_id__in=chunk):
                by_order[(d.channel, d.order_id)] = d
        for reference in order:
            group = groups[reference]
            date, channel, fee = group["head"]
            gifts = []
            for row, data in group["gifts"]:
                if data["donation_external_id"]:
                    gift = by_id.get(data["donation_external_id"])
                    column, value = "donation_external_id", data["donation_external_id"]
                else:
                    gift = by_order.get((channel, data["order_id"]))
                    column, value = "order_id", data["order_id"]
                if gift is None:
                    errors.append(RowError(row.number, column, f"{value!r} is not a {channel} gift of this trust"))
                    continue
                gifts.append(gift)
            if len(gifts) != len(group["gifts"]):
                continue
            existing = Settlement.objects.filter(trust=self.trust, channel=channel, reference=reference).first()
            imported = False
            if existing is not None:
                same = (existing.date == date and existing.fee == fee and set(
                    SettledDonation.objects.filter(settlement=existing).values_list("donation_id", flat=True))
                    == {g.pk for g in gifts})
                if not same:
                    errors.append(RowError(group["row"].number, "reference",
                                           f"{reference} was already imported with different content"))
                    continue
                imported = True
            self.plan.append((group["row"], {"reference": reference, "date": date, "channel": channel, "fee": fee,
                                             "gifts": gifts, "imported": imported}))
        return errors

    def apply_row(self, row, data) -> bool:
        if data["imported"]:
            return False
        _settlement, created = settlement_record(
            trust=self.trust, channel=data["channel"], date=data["date"], fee=data["fee"],
            reference=data["reference"], donations=data["gifts"], user=self.user, posting=self.posting)
        return created
