"""``official-receipts``: the official donation receipts (公益事业捐赠票据) the co-trustee issued, one row per gift,
keyed by the gift (``donation_external_id``). A gift already holding the same receipt is skipped (idempotent
re-import); one holding a different receipt is an error, as is a (code, number) pair used twice."""

from ledger.csvio import KeyedRows, RowError, parse_text

from ..errors import ReceiptError
from ..models import Donation, OfficialReceipt
from ..services import official_receipt_record
from ..services.receipts import official_receipt_check
from ._base import TrustImporter, chunked, parse_cells, parse_past_date


def _content(o: OfficialReceipt) -> tuple:
    return (o.receipt_code, o.receipt_number, o.check_code, o.issued_on, o.issuer)


class OfficialReceiptImporter(TrustImporter):
    kind = "official-receipts"
    required = ("donation_external_id", "receipt_code", "receipt_number", "check_code", "issued_on")
    optional = ("issuer",)
    field_columns = {"donation": "donation_external_id", "receipt_code": "receipt_code",
                     "receipt_number": "receipt_number", "check_code": "check_code", "issued_on": "issued_on",
                     "issuer": "issuer"}

    def check(self, rows):
        errors, parsed = [], []
        for row in rows:
            data, bad = parse_cells(row, (
                ("donation_external_id", lambda v: parse_text(v, max_length=64, required=True)),
                ("receipt_code", lambda v: parse_text(v, max_length=8, required=True)),
                ("receipt_number", lambda v: parse_text(v, max_length=10, required=True)),
                ("check_code", lambda v: parse_text(v, max_length=6, required=True)),
                ("issued_on", parse_past_date),
                ("issuer", lambda v: parse_text(v, max_length=200) or self.trust.co_trustee),
            ))
            if not bad:
                try:
                    data["receipt_code"], data["receipt_number"], data["check_code"] = official_receipt_check(
                        receipt_code=data["receipt_code"], receipt_number=data["receipt_number"],
                        check_code=data["check_code"])
                except ReceiptError as exc:
                    bad.append(RowError(row.number, exc.field, exc.message))
            if not bad and not data["issuer"]:
                bad.append(RowError(row.number, "issuer", "is required (the trust has no co-trustee on record)"))
            errors += bad
            if not bad:
                parsed.append((row, data))
        keys = sorted({d["donation_external_id"] for _, d in parsed})
        donations, existing = {}, {}
        for chunk in chunked(keys):
            donations.update({d.external_id: d for d in Donation.objects.filter(trust=self.trust,
                                                                                  external_id__in=chunk)})
            for o in OfficialReceipt.objects.filter(trust=self.trust, donation__external_id__in=chunk).select_related(
                    "donation"):
                existing[o.donation.external_id] = _content(o)
        numbers = {}  # (code, number) -> the gift that holds it, in the books
        for chunk in chunked(sorted({(d["receipt_code"], d["receipt_number"]) for _, d in parsed})):
            codes = {c for c, _n in chunk}
            for o in OfficialReceipt.objects.filter(trust=self.trust, receipt_code__in=codes,
                                                    receipt_number__in={n for _c, n in chunk}).select_related(
                    "donation"):
                numbers[(o.receipt_code, o.receipt_number)] = o.donation.external_id
        gifts = KeyedRows(existing, errors, column="donation_external_id",
                          conflict="{key} already has an official receipt with different content")
        in_file = {}
        for row, data in parsed:
            key = data["donation_external_id"]
            donation = donations.get(key)
            if donation is None:
                errors.append(RowError(row.number, "donation_external_id", f"{key!r} is not a donation of this trust"))
                continue
            content = (data["receipt_code"], data["receipt_number"], data["check_code"], data["issued_on"],
                       data["issuer"])
            imported = gifts.check(row, key, content)
            if imported is None:
                continue
            pair = (data["receipt_code"], data["receipt_number"])
            holder = numbers.get(pair)
            if holder is not None and holder != key:
                errors.append(RowError(row.number, "receipt_number",
                                       f"official receipt {pair[0]}-{pair[1]} is already recorded for gift {holder}"))
                continue
            if pair in in_file and in_file[pair][1] != key:
                errors.append(RowError(row.number, "receipt_number",
                                       f"official receipt {pair[0]}-{pair[1]} appears twice (also row {in_file[pair][0]})"))
                continue
            in_file.setdefault(pair, (row.number, key))
            data["donation"] = donation
            data["imported"] = imported
            self.plan.append((row, data))
        return errors

    def apply_row(self, row, data) -> bool:
        if data.get("imported"):
            return False
        official_receipt_record(
            donation=data["donation"], receipt_code=data["receipt_code"], receipt_number=data["receipt_number"],
            check_code=data["check_code"], issued_on=data["issued_on"], issuer=data["issuer"], user=self.user,
            channel="import")
        return True
