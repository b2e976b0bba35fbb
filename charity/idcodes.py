"""Donors' identity codes, as pure functions: an individual's resident identity number (GB 11643-1999, checked by
``beneficiaries.idnumber``) or an organisation's unified social credit code (统一社会信用代码, GB 32100-2015).

A credit code is 18 characters from the 31-character set ``0-9 A-H J-N P-R T U W-Y`` (no I, O, S, V, Z): the
registration authority (1), the kind of organisation (1), the region (6 digits), the organisation code (9) and a
check character. The check character makes ``sum(value(c_i) * 3^(i-1) mod 31) + value(check) ≡ 0 (mod 31)``
over the first 17 characters, i.e. ``check = 31 - (Σ value(c_i) * W_i mod 31)``, with 31 written as ``0``.

Every refusal raises ``DonorError(field="id_code")`` with a message that names the problem, never the code
itself (messages reach logs and error reports; a person's identity number is personal data).

Who sees a donor's code unmasked: anyone holding ``charity.view_donor_identity`` in the donor's trust (the
finance officer and the auditor), and the donor on her own receipts. Everyone else sees ``mask_id_code``'s
output; public pages never show it at all.
"""

from __future__ import annotations

import re

from beneficiaries.errors import InvalidIdNumber
from beneficiaries.idnumber import normalise, parse_id_number

from .errors import DonorError

CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CREDIT_SHAPE = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}$")
VIEW_PERMISSION = "charity.view_donor_identity"
SHOWN = 2  # characters kept at each end when masked


def credit_check_char(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a credit code."""
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def parse_credit_code(text: str) -> str:
    code = normalise(text)
    if len(code) != 18:
        raise DonorError(f"a unified social credit code has 18 characters (got {len(code)})", field="id_code")
    if not CREDIT_SHAPE.match(code):
        raise DonorError("a unified social credit code is 2 code characters, 6 digits of region and 10 characters "
                         "from 0-9 and A-Y without I, O, S, V, Z", field="id_code")
    expected = credit_check_char(code[:17])
    if code[17] != expected:
        raise DonorError(f"unified social credit code check character is {code[17]}, but GB 32100-2015 gives "
                         f"{expected}", field="id_code")
    return code


def clean_id_code(text: str | None, *, kind: str) -> str:
    """The donor's code, normalised (spaces dropped, upper case), or ``""`` when none is given. An individual's
    is a resident identity number, an organisation's a unified social credit code."""
    if not (text or "").strip():
        return ""
    if kind == "organisation":
        return parse_credit_code(text)
    try:
        return parse_id_number(text).number
    except InvalidIdNumber as exc:
        raise DonorError(getattr(exc, "message", "not a resident identity number"), field="id_code") from None


def mask_id_code(code: str) -> str:
    """``110101199003074518`` -> ``11**************18``: the first and last two characters only."""
    code = (code or "").strip()
    if not code:
        return ""
    if len(code) <= SHOWN * 3:
        return "*" * len(code)
    return code[:SHOWN] + "*" * (len(code) - 2 * SHOWN) + code[-SHOWN:]


def may_see(user, trust) -> bool:
    """Whether ``user`` sees donors' codes of ``trust`` unmasked."""
    return bool(user is not None and user.is_authenticated and user.has_perm(VIEW_PERMISSION, trust))


def shown_id_code(code: str, *, user, trust) -> str:
    return code if may_see(user, trust) else mask_id_code(code)
