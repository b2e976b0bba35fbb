from ledger.csvio import KeyedRows, RowError, parse_bool, parse_choice, parse_text

from ..errors import DonorError
from ..idcodes import clean_id_code

from ..models import Donor, DonorKind
from ..services import donor_create
from ._base import TrustImporter, chunked, parse_cells

FIELDS = ("kind", "name", "anonymous", "email", "phone", "address", "id_code", "language")
LANGUAGES = ("zh-hans", "en")


def parse_language(text: str) -> str:
    """The language of the donor's e-mails: ``zh-hans`` (also when blank) or ``en``."""
    return parse_choice(text, LANGUAGES) if (text or "").strip() else LANGUAGES[0]


class DonorImporter(TrustImporter):
    kind = "donors"
    required = ("external_id", "kind", "name")
    optional = ("anonymous", "email", "phone", "address", "id_code", "language")
    field_columns = {f: f for f in ("external_id",) + FIELDS}

    def check(self, rows):
        errors, parsed = [], []
        for row in rows:
            data, bad = parse_cells(row, (
                ("external_id", lambda v: parse_text(v, max_length=64, required=True)),
                ("kind", lambda v: parse_choice(v, DonorKind.values)),
                ("name", lambda v: parse_text(v, max_length=200, required=True)),
                ("anonymous", parse_bool),
                ("email", lambda v: parse_text(v, max_length=254)),
                ("phone", lambda v: parse_text(v, max_length=32)),
                ("address", lambda v: parse_text(v, max_length=1000)),
                ("id_code", lambda v: parse_text(v, max_length=40)),
                ("language", parse_language),
            ))
            if not bad:
                try:  # the kind decides which code it is (an identity number or a credit code)
                    data["id_code"] = clean_id_code(data["id_code"], kind=data["kind"])
                except DonorError as exc:
                    bad.append(RowError(row.number, "id_code", exc.message))
            errors += bad
            if not bad:
                parsed.append((row, data))
        ids = [data["external_id"] for _, data in parsed]
        existing = {}
        for chunk in chunked(ids):
            for donor in Donor.objects.filter(trust=self.trust, external_id__in=chunk):
                existing[donor.external_id] = {f: getattr(donor, f) for f in FIELDS}
        keys = KeyedRows(existing, errors)
        for row, data in parsed:
            imported = keys.check(row, data["external_id"], {f: data[f] for f in FIELDS})
            if imported is None:
                continue
            data["imported"] = imported
            self.plan.append((row, data))
        return errors

    def apply_row(self, row, data) -> bool:
        if data.get("imported"):
            return False
        donor_create(trust=self.trust, external_id=data["external_id"], by=self.user, **{f: data[f] for f in FIELDS})
        return True
