"""Amounts in Chinese capital numerals (大写金额), as written on receipts and cheques.

Rules followed (中国人民银行《支付结算办法》 practice): digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟 within a
section of four digits and 万/亿/万亿 between sections; a run of zeros between non-zero digits (also across
sections) is written as a single 零; trailing zeros are not written; ``壹拾`` keeps its 壹. Whole yuan end with
整; an amount ending in 角 is written without 整 (壹仟贰佰元伍角), as the trust's receipts have it; when the
角 digit is zero but 分 is not, a 零 stands between 元 and 分 (壹元零柒分). Below one yuan the 元 is left out
(伍角, 柒分); zero is 零元整.
"""

from __future__ import annotations

from decimal import Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SECTIONS = ("", "万", "亿", "万亿")
LIMIT = Decimal(10) ** 16


def _section(value: int) -> str:
    out, zero = "", False
    for place, unit in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        digit = value // place % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += DIGITS[digit] + unit
    return out


def _integer(value: int) -> str:
    sections = []
    while value:
        sections.append(value % 10000)
        value //= 10000
    out, gap = "", False
    for index in reversed(range(len(sections))):
        section = sections[index]
        if section == 0:
            gap = bool(out)
            continue
        if out and (gap or section < 1000):
            out += "零"
        out += _section(section) + SECTIONS[index]
        gap = False
    return out


def cny_capital(amount: Decimal) -> str:
    """``Decimal('1200.00')`` -> ``'壹仟贰佰元整'``. Refuses negatives, more than two places, and >= 10^16."""
    if not isinstance(amount, Decimal):
        amount = Decimal(str(amount)) if isinstance(amount, int) else amount
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError(f"{amount!r} is not a finite Decimal")
    if amount < 0:
        raise ValueError(f"{amount} is negative")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{amount} has more than two decimal places")
    if amount >= LIMIT:
        raise ValueError(f"{amount} is too large")
    fen_total = int(amount * 100)
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    whole = _integer(yuan)
    if not jiao and not fen:
        return (whole or "零") + "元整"
    out = whole + "元" if whole else ""
    if jiao:
        out += DIGITS[jiao] + "角"
    if fen:
        if not jiao and whole:
            out += "零"
        out += DIGITS[fen] + "分"
    return out
