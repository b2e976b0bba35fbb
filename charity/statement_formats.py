"""Statement layouts for ``import_statement``, kept as data: one ``Layout`` per export format.

Each field of a statement line names the header(s) it may come under (the first present wins), so a layout
follows a bank's or a platform's export without code. Amounts are signed from the trust's side (money into the
account positive): either one signed column (``amount``) or a money-in and a money-out column. A file is UTF-8
(a BOM is accepted) or, for the Chinese exports, GB18030 (what GBK exports decode as). Rows before the header
(a title, the account number, the period) are skipped; the data stop at the first blank row, a row starting with
``#``, or a summary row (``summary_markers``). Cells may carry a leading backtick or apostrophe (WeChat and
Alipay export numbers as text that way), a currency sign and thousands separators. docs/formats.md lists them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from ledger.csvio import RowError


@dataclass(frozen=True)
class Layout:
    name: str
    description: str
    date: tuple[str, ...]
    date_formats: tuple[str, ...]
    amount: tuple[str, ...] = ()  # one signed column, money in positive
    money_in: tuple[str, ...] = ()
    money_out: tuple[str, ...] = ()
    balance: tuple[str, ...] = ()
    counterparty: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    order_id: tuple[str, ...] = ()
    memo: tuple[str, ...] = ()
    # platforms: the status column; rows with a status in ``refund_status`` are money out, by ``refund``
    status: tuple[str, ...] = ()
    refund_status: tuple[str, ...] = ()
    refund: tuple[str, ...] = ()
    encodings: tuple[str, ...] = ("utf-8-sig",)
    strict: bool = False  # unknown columns are an error (the generic layout); exports carry many, ignored
    summary_markers: tuple[str, ...] = field(default=())


LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (
        Layout(
            "generic", "date,amount,balance,counterparty,reference[,order_id,memo]: ISO dates, signed amounts",
            date=("date",), date_formats=("%Y-%m-%d",), amount=("amount",), balance=("balance",),
            counterparty=("counterparty",), reference=("reference",), order_id=("order_id",), memo=("memo",),
            strict=True,
        ),
        Layout(
            "cn-bank", "Chinese bank export: 交易日期,借方发生额,贷方发生额,余额,对方户名,摘要,流水号",
            date=("交易日期", "记账日期"), date_formats=("%Y%m%d", "%Y-%m-%d", "%Y/%m/%d"),
            # the bank's own side: 借方 (debit) is money out of the customer's account, 贷方 money in
            money_out=("借方发生额", "借方金额", "支出金额"), money_in=("贷方发生额", "贷方金额", "收入金额"),
            balance=("余额", "账户余额"), counterparty=("对方户名", "对方账户名称"),
            reference=("流水号", "交易流水号", "凭证号"), order_id=("用途", "附言"), memo=("摘要",),
            encodings=("utf-8-sig", "gb18030"),
        ),
        Layout(
            "wechat", "WeChat Pay merchant bill (交易账单): 交易时间,商户订单号,交易状态,应结订单金额,退款金额,...",
            date=("交易时间",), date_formats=("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"),
            amount=("应结订单金额", "订单金额"), status=("交易状态",), refund_status=("REFUND", "退款"),
            refund=("退款金额", "申请退款金额"), reference=("微信订单号",), order_id=("商户订单号",),
            counterparty=("商品名称",), memo=("交易类型",),
            encodings=("utf-8-sig", "gb18030"), summary_markers=("总交易单数", "总订单数"),
        ),
        Layout(
            "alipay", "Alipay account statement (支付宝账务明细): 入账时间,支付宝交易号,收入金额,支出金额,账户余额,...",
            date=("入账时间", "发生时间"), date_formats=("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"),
            money_in=("收入金额（+元）", "收入金额(+元)", "收入金额"),
            money_out=("支出金额（-元）", "支出金额(-元)", "支出金额"),
            balance=("账户余额（元）", "账户余额(元)", "账户余额"),
            reference=("支付宝交易号", "账务流水号"), order_id=("商户订单号",), counterparty=("对方账户", "对方名称"),
            memo=("业务类型", "备注"), encodings=("utf-8-sig", "gb18030"), summary_markers=("#", "合计"),
        ),
    )
}

AMOUNT_RE = re.compile(r"^[+-]?\d+(\.\d{1,2})?$")
GROUPED_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d{1,2})?$")


@dataclass
class ParsedLine:
    number: int
    date: dt.date
    amount: int  # minor units, signed
    balance: int | None
    counterparty: str
    reference: str
    order_id: str
    memo: str


class _Bad(Exception):
    def __init__(self, column: str, message: str):
        self.column, self.message = column, message


def clean(text: str | None) -> str:
    text = (text or "").strip().lstrip("`'\t").strip()
    return text.replace("¥", "").replace("￥", "").strip()


def to_minor(text: str, column: str, *, required: bool) -> int | None:
    text = clean(text)
    if not text:
        if required:
            raise _Bad(column, "is required")
        return None
    if GROUPED_RE.match(text):
        text = text.replace(",", "")
    if not AMOUNT_RE.match(text):
        raise _Bad(column, f"{text!r} is not an amount (e.g. 1200.50 or -35.00, at most two places)")
    return int(Decimal(text) * 100)


def _decode(data: bytes, layout: Layout) -> str | None:
    for encoding in layout.encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _pick(header: list[str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if name in header:
            return name
    return None


def parse(data: bytes, layout: Layout) -> tuple[list[ParsedLine], list[RowError]]:
    """The file's lines in file order, or the errors (``row N, column C: message``; row 1 is the header's)."""
    text = _decode(data, layout)
    if text is None:
        return [], [RowError(0, "-", f"the file is not {' or '.join(e.replace('-sig', '') for e in layout.encodings)}")]
    if "\x00" in text:
        return [], [RowError(0, "-", "the file contains NUL bytes; it is not a CSV text file")]
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        return [], [RowError(0, "-", f"unreadable CSV: {exc}")]
    header_at = None
    for index, cells in enumerate(records):
        names = [clean(c) for c in cells]
        if _pick(names, layout.date):
            header_at = index
            break
        if layout.strict and any(names):
            break
    if header_at is None:
        return [], [RowError(1, layout.date[0], f"no header row with {' or '.join(layout.date)} "
                                                f"(format {layout.name})")]
    header = [clean(c) for c in records[header_at]]
    header_row = header_at + 1
    errors: list[RowError] = []
    seen = set()
    for name in header:
        if name in seen:
            errors.append(RowError(header_row, name or "-", "appears twice in the header"))
        seen.add(name)
    cols = {key: _pick(header, getattr(layout, key)) for key in (
        "date", "amount", "money_in", "money_out", "balance", "counterparty", "reference", "order_id", "memo",
        "status", "refund")}
    if layout.amount and cols["amount"] is None:
        errors.append(RowError(header_row, layout.amount[0], "required column is missing"))
    if layout.money_in and (cols["money_in"] is None or cols["money_out"] is None):
        missing = layout.money_in[0] if cols["money_in"] is None else layout.money_out[0]
        errors.append(RowError(header_row, missing, "required column is missing"))
    if layout.strict:
        known = {n for key in ("date", "amount", "balance", "counterparty", "reference", "order_id", "memo")
                 for n in getattr(layout, key)}
        for name in header:
            if name not in known:
                errors.append(RowError(header_row, name or "(blank)", f"unknown column for {layout.name}"))
    if errors:
        return [], errors
    lines: list[ParsedLine] = []
    for offset, cells in enumerate(records[header_at + 1:], start=1):
        number = header_row + offset
        first = clean(cells[0]) if cells else ""
        if not any(c.strip() for c in cells):
            if lines:
                break
            continue
        if first.startswith("#") or any(first.startswith(m) for m in layout.summary_markers):
            break
        if len(cells) != len(header):
            errors.append(RowError(number, "-", f"has {len(cells)} cells; the header has {len(header)}"))
            continue
        row = dict(zip(header, cells))
        try:
            lines.append(_line(number, row, cols, layout))
        except _Bad as bad:
            errors.append(RowError(number, bad.column, bad.message))
    if not lines and not errors:
        errors.append(RowError(header_row + 1, "-", "the statement has no lines"))
    return lines, errors


def _line(number: int, row: dict, cols: dict, layout: Layout) -> ParsedLine:
    date_col = cols["date"]
    date_text = clean(row[date_col])
    date = None
    for fmt in layout.date_formats:
        try:
            date = dt.datetime.strptime(date_text, fmt).date()
            break
        except ValueError:
            continue
    if date is None:
        raise _Bad(date_col, f"{date_text!r} is not a date" + (" (YYYY-MM-DD)" if layout.strict else ""))
    if cols["amount"]:
        amount = to_minor(row[cols["amount"]], cols["amount"], required=True)
        status = clean(row.get(cols["status"])) if cols["status"] else ""
        if status and status in layout.refund_status:
            refund_col = cols["refund"] or cols["amount"]
            amount = -abs(to_minor(row[refund_col], refund_col, required=True))
    else:
        money_in = to_minor(row[cols["money_in"]], cols["money_in"], required=False) or 0
        money_out = to_minor(row[cols["money_out"]], cols["money_out"], required=False) or 0
        if money_in < 0 or money_out < 0:
            raise _Bad(cols["money_in"] if money_in < 0 else cols["money_out"], "is negative")
        if money_in and money_out:
            raise _Bad(cols["money_out"], f"a line has money in ({cols['money_in']}) or out, not both")
        amount = money_in - money_out
    if amount == 0:
        raise _Bad(cols["amount"] or cols["money_in"], "the line moves no money")
    balance = to_minor(row[cols["balance"]], cols["balance"], required=False) if cols["balance"] else None

    def text(key, limit):
        value = clean(row.get(cols[key])) if cols[key] else ""
        if len(value) > limit:
            raise _Bad(cols[key], f"is longer than {limit} characters")
        return value

    return ParsedLine(number, date, amount, balance, text("counterparty", 200), text("reference", 100),
                      text("order_id", 100), text("memo", 200))
