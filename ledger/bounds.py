"""What a trust's books can hold: the currencies and the dates. One rule for each, used by the services, the API's
query parameters, the report parameters and the importers, so that each door refuses the same values with the
same message (and nothing reaches date arithmetic that overflows at the ends of Python's calendar).

- **Currencies**: the active currencies of ISO 4217 (list one), not the codes that are no money (``XXX`` no
  currency, ``XTS`` testing), precious metals (``XAU``, ``XAG``, ``XPT``, ``XPD``), units of account and
  bond-market units (``XDR``, ``XSU``, ``XUA``, ``XBA``-``XBD``), funds codes (``BOV``, ``CHE``, ``CHW``,
  ``CLF``, ``COU``, ``MXV``, ``USN``, ``UYI``, ``UYW``) or historic codes (``HRK``, ``VEF``, ``ZWL``, ...).
  Only codes py-moneyed also knows are kept, since amounts are ``Money``.
- **Dates**: a trust's books cannot start before 1949-01-01 or run past 2100-12-31.
- **Amounts**: at most ``MAX_AMOUNT`` in one leg, in its currency and in CNY; an exchange rate at most
  ``MAX_RATE``, with at most 8 decimal places.
- **Text**: no NUL character. PostgreSQL refuses one in a text value or parameter (a ``DataError``, a 500 if
  nothing refuses it first) and SQLite would store it, so every text that reaches the database is checked here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import moneyed

from . import errors

FIRST_DAY = dt.date(1949, 1, 1)
LAST_DAY = dt.date(2100, 12, 31)
# Amounts are kept as integer fen in 64-bit columns, and running totals add them up: one leg may carry at most
# this (in its currency and in CNY), which leaves room for tens of thousands of such legs in any sum.
MAX_AMOUNT = Decimal("999999999999.99")
# JournalEntry.fx_rate is DECIMAL(18, 8): a rate is used (and hashed) only as it will be stored.
RATE_PLACES = Decimal("0.00000001")
MAX_RATE = Decimal("9999999999.99999999")

# ISO 4217 list one, active currencies (amendments to 2025: SLE, VED, ZWG, XCG in; SLL, HRK, CUC, ANG out).
_ISO_4217_ACTIVE = """
AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY
COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR
ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU
UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
""".split()
ACTIVE_CURRENCIES = frozenset(code for code in _ISO_4217_ACTIVE if code in moneyed.CURRENCIES)


def check_currency(value, *, field: str = "currency") -> str:
    """The code, upper case (blank means CNY), when it is an active ISO 4217 currency; else ``UnknownCurrency``."""
    code = (value or "CNY").strip().upper() if isinstance(value, str) or value is None else value
    if code in ACTIVE_CURRENCIES:
        return code
    if isinstance(code, str) and code in moneyed.CURRENCIES:
        raise errors.UnknownCurrency(
            f"{value!r} is not an active ISO 4217 currency (not a metal, fund, test or withdrawn code)", field=field
        )
    raise errors.UnknownCurrency(f"{value!r} is not an ISO 4217 currency code", field=field)


def check_date(value, *, field: str = "date") -> dt.date:
    """``value`` when it is a date the books can hold; else ``DateOutOfRange`` naming ``field``."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise errors.LedgerError(f"{field} {value!r} is not a date", field=field)
    if not FIRST_DAY <= value <= LAST_DAY:
        raise errors.DateOutOfRange(
            f"{field} {value.isoformat()} is outside the books' range, "
            f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}",
            field=field,
        )
    return value


def check_amount(value: Decimal, *, field: str = "amount", error=errors.InvalidAmount, what: str = "amount"):
    """``value`` (a finite Decimal) when it is at most ``MAX_AMOUNT``; else ``error(message, field=field)``."""
    if value > MAX_AMOUNT:
        raise error(f"{what} {value} is above the largest, {MAX_AMOUNT}", field=field)
    return value


def check_rate(value: Decimal, *, field: str = "fx_rate", error=errors.InvalidAmount):
    """``value`` (a finite Decimal above zero) when ``JournalEntry.fx_rate`` holds it exactly: at most
    ``MAX_RATE``, at most 8 decimal places. Else ``error(message, field=field)``: a longer rate would be rounded
    when stored, and the CNY amounts and the entry's hash would then disagree with the stored rate."""
    if value > MAX_RATE or value != value.quantize(RATE_PLACES):
        raise error(f"{field} {value} has more than 8 decimal places or 10 digits before the point", field=field)
    return value


def check_text(value, *, field: str, error=errors.LedgerError, what: str | None = None):
    """``value`` when the database can hold it as text: no NUL character (``None`` passes, as empty text).
    Otherwise ``error(message, field=field)`` is raised: the caller's own error type, or a factory making the
    exception the caller answers with (a 404, a 400 response). ``what`` names the text in the message (default:
    the field)."""
    if value is not None and "\x00" in str(value):
        raise error(f"{what or field.replace('_', ' ')} contains a NUL character", field=field)
    return value


def check_year(value, *, field: str = "year") -> int:
    """A year whose every day the books can hold."""
    if not FIRST_DAY.year <= value <= LAST_DAY.year:
        raise errors.DateOutOfRange(
            f"{field} {value} is outside the books' range, {FIRST_DAY.year} to {LAST_DAY.year}", field=field
        )
    return value
