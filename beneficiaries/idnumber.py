"""Resident identity numbers (GB 11643-1999), as pure functions.

An 18-character number is: 6 digits of region, 8 of birth date (YYYYMMDD), 3 of sequence whose last digit is
odd for a man and even for a woman, and a check character (0-9 or X) under ISO 7064 MOD 11-2. Every refusal
raises ``InvalidIdNumber`` with a message that names the problem, never the number itself (messages reach logs
and error reports; the number is personal data).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .errors import InvalidIdNumber

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
SHAPE = re.compile(r"^\d{17}[\dX]$")
EARLIEST_BIRTH = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class IdNumberInfo:
    number: str
    region: str
    birth_date: dt.date
    gender: str  # "F" or "M"


def check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS))
    return CHECK_CHARS[total % 11]


def normalise(text: str) -> str:
    """Strip spaces and upper-case a trailing x; nothing else is forgiven."""
    return (text or "").strip().replace(" ", "").upper()


def parse_id_number(text: str, *, today: dt.date | None = None) -> IdNumberInfo:
    """Check the shape, the check character and the birth date; return what the number says."""
    number = normalise(text)
    if not number:
        raise InvalidIdNumber("identity number is required")
    if len(number) != 18:
        raise InvalidIdNumber(f"identity number has {len(number)} characters; a resident identity number has 18")
    if not SHAPE.match(number):
        raise InvalidIdNumber("identity number must be 17 digits followed by a digit or X")
    expected = check_char(number[:17])
    if number[17] != expected:
        raise InvalidIdNumber(
            f"identity number check digit is {number[17]}, but ISO 7064 MOD 11-2 gives {expected}"
        )
    raw = number[6:14]
    try:
        birth = dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
    except ValueError:
        raise InvalidIdNumber(f"identity number holds birth date {raw}, which is not a real date") from None
    if birth < EARLIEST_BIRTH or birth > (today or dt.date.today()):
        raise InvalidIdNumber(f"identity number holds birth date {birth.isoformat()}, which is impossible")
    gender = "M" if int(number[16]) % 2 else "F"
    return IdNumberInfo(number=number, region=number[:6], birth_date=birth, gender=gender)


def validate_id_number(
    text: str, *, birth_date: dt.date | None = None, gender: str | None = None, today: dt.date | None = None
) -> IdNumberInfo:
    """``parse_id_number`` plus agreement with the recorded birth date and gender (when given)."""
    info = parse_id_number(text, today=today)
    if birth_date is not None and birth_date != info.birth_date:
        raise InvalidIdNumber(
            f"birth date {birth_date.isoformat()} does not match the birth date in the identity number "
            f"({info.birth_date.isoformat()})",
            field="birth_date",
        )
    if gender and gender != info.gender:
        said = "female" if info.gender == "F" else "male"
        raise InvalidIdNumber(
            f"gender {gender} does not agree with the identity number's sex digit (which says {said})",
            field="gender",
        )
    return info


def make_id_number(region: str, birth_date: dt.date, sequence: int, gender: str) -> str:
    """Build a valid number (for tests and demo data): ``sequence`` 0-99 plus a sex digit for ``gender``."""
    if len(region) != 6 or not region.isdigit():
        raise ValueError("region is 6 digits")
    sex_digit = (sequence % 5) * 2 + (1 if gender == "M" else 0)
    first17 = f"{region}{birth_date:%Y%m%d}{sequence % 100:02d}{sex_digit}"
    return first17 + check_char(first17)
