"""The demo year's statements: the bank's (100201, the ``cn-bank`` layout), the WeChat Pay bill (100901) and the
Alipay account statement (100902), written from the seeded books as the bank and the platforms would print them,
then imported and matched automatically, so that the ``reconciliation`` report shows a real 银行存款余额调节表.

They mostly agree with the books, as real statements do:
- money the books took in on a month's last day reaches the bank on the next day (in transit at the month end);
- one office-expense payment is a cheque the payee presents eight days later, in the next month (the bank
  account's matching window is set to ten days so that it still matches automatically);
- the bank charges one 短信通知费 (SMS notice fee) the books have not booked: an item for the officer to book;
- every weekly platform payout is one line on the platform's statement (the gross it pays out) and one on the
  bank's (the net it receives), each matched by the payout's reference to the settlement's legs.
Deterministic: everything is read from the books in their own order.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import OrderedDict
from pathlib import Path

from ledger.models import Account, Leg, from_minor

from . import chart
from .models import Donation, Settlement

BANK_WINDOW_DAYS = 10
CHEQUE_DAYS = 8
UNBOOKED_FEE = -600  # fen: 6.00 CNY
PLATFORMS = {chart.WECHAT: "财付通支付科技有限公司", chart.ALIPAY: "支付宝（中国）网络技术有限公司"}
WHAT = {"donation": "捐款", "settlement": "平台结算", "expense": "费用支付", "refund": "退款"}


def _lines(account: Account) -> list[dict]:
    """One line per entry on the account: its date, signed amount (fen), source, memo; in the books' order."""
    entries: OrderedDict[int, dict] = OrderedDict()
    legs = (Leg.objects.filter(account=account, entry__status="posted", currency="CNY").select_related("entry")
            .order_by("date", "entry__sequence", "position"))
    for leg in legs:
        line = entries.setdefault(leg.entry_id, {"date": leg.date, "amount": 0, "entry": leg.entry})
        line["amount"] += leg.debit - leg.credit
    return [line for line in entries.values() if line["amount"]]


def _money(fen: int) -> str:
    return f"{from_minor(abs(fen)):.2f}"


def _csv(rows: list[list]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).month != day.month


def bank_statement(trust, end: dt.date) -> bytes:
    account = Account.objects.get(book=trust.book, code=chart.BANK)
    payouts = {s.entry_id: s for s in Settlement.objects.filter(trust=trust)}
    lines, cheque_done = [], False
    for line in _lines(account):
        entry, date, amount = line["entry"], line["date"], line["amount"]
        source = entry.source_type
        if amount > 0 and _month_end(date):
            date += dt.timedelta(days=1)  # credited by the bank on the first of the next month
        elif (not cheque_done and source == "expense" and date.day == 25 and 50000 < -amount < 200000
              and (date + dt.timedelta(days=CHEQUE_DAYS)).month != date.month):
            date += dt.timedelta(days=CHEQUE_DAYS)  # a cheque, presented in the next month
            cheque_done = True
        if date > end:
            continue  # still in transit when the statement was printed
        settlement = payouts.get(entry.pk)
        counterparty = PLATFORMS[chart.WECHAT if settlement.channel == "wechat" else chart.ALIPAY] \
            if settlement else ""
        lines.append({"date": date, "amount": amount, "counterparty": counterparty,
                      "memo": WHAT.get(source, "转账"), "purpose": settlement.reference if settlement else ""})
    fee_day = end.replace(day=1) - dt.timedelta(days=1)
    fee_day = fee_day.replace(day=28) if fee_day.year == end.year else end
    lines.append({"date": fee_day, "amount": UNBOOKED_FEE, "counterparty": "", "memo": "短信通知服务费",
                  "purpose": ""})
    lines.sort(key=lambda ln: ln["date"])  # stable: the books' order within a day
    rows = [["账号", "6222 0210 0100 8888 001"], ["户名", trust.name], [],
            ["交易日期", "借方发生额", "贷方发生额", "余额", "对方户名", "摘要", "流水号", "用途"]]
    balance = 0
    for number, ln in enumerate(lines, start=1):
        balance += ln["amount"]
        rows.append([f"{ln['date']:%Y%m%d}", _money(ln["amount"]) if ln["amount"] < 0 else "",
                     _money(ln["amount"]) if ln["amount"] > 0 else "", f"{from_minor(balance):.2f}",
                     ln["counterparty"], ln["memo"], f"{ln['date']:%Y%m%d}{number:06d}", ln["purpose"]])
    return _csv(rows)


def _platform_lines(trust, code: str, end: dt.date) -> list[dict]:
    account = Account.objects.get(book=trust.book, code=code)
    orders = dict(Donation.objects.filter(trust=trust).values_list("entry_id", "order_id"))
    payouts = {s.entry_id: s for s in Settlement.objects.filter(trust=trust)}
    out = []
    for line in _lines(account):
        if line["date"] > end:
            continue
        entry = line["entry"]
        settlement = payouts.get(entry.pk)
        out.append({"date": line["date"], "amount": line["amount"], "order_id": orders.get(entry.pk, ""),
                    "settlement": settlement, "refund": entry.source_type == "refund"})
    return out


def wechat_bill(trust, end: dt.date) -> bytes:
    rows = [["微信支付交易账单"], [f"起始时间：[{end.year}-01-01 00:00:00] 终止时间：[{end} 23:59:59]"],
            ["交易时间", "公众账号ID", "商户号", "微信订单号", "商户订单号", "交易类型", "交易状态", "应结订单金额",
             "退款金额", "商品名称", "手续费"]]
    total = 0
    for number, ln in enumerate(_platform_lines(trust, chart.WECHAT, end), start=1):
        time = f"{ln['date']} {8 + number % 12:02d}:{number % 60:02d}:{(number * 7) % 60:02d}"
        fee = "0.00"
        if ln["settlement"] is not None:
            kind, status, reference = "结算提现", "SETTLED", ln["settlement"].reference
            amount, refund, fee = f"-{_money(ln['amount'])}", "0.00", f"{ln['settlement'].fee:.2f}"
        elif ln["amount"] < 0:
            kind, status, reference = "JSAPI", "REFUND", f"5030{ln['date']:%Y%m%d}{number:08d}"
            amount = refund = _money(ln["amount"])
        else:
            kind, status, reference = "JSAPI", "SUCCESS", f"4200{ln['date']:%Y%m%d}{number:08d}"
            amount, refund = _money(ln["amount"]), "0.00"
        total += ln["amount"]
        rows.append([f"`{time}", "`wx8888888888888888", "`1900000109", f"`{reference}", f"`{ln['order_id']}",
                     f"`{kind}", f"`{status}", f"`{amount}", f"`{refund}", "`慈善捐赠", f"`{fee}"])
    rows += [["总交易单数", "应结订单总金额"], [f"`{len(rows) - 3}", f"`{from_minor(total):.2f}"]]
    return _csv(rows)


def alipay_statement(trust, end: dt.date) -> bytes:
    rows = [["支付宝账务明细查询"], ["账号：[20889999999999990156]"],
            [f"起始日期：[{end.year}-01-01 00:00:00]    终止日期：[{end} 23:59:59]"],
            ["账务流水号", "业务流水号", "商户订单号", "商品名称", "发生时间", "对方账号", "收入金额（+元）",
             "支出金额（-元）", "账户余额（元）", "交易渠道", "业务类型", "备注"]]
    balance = 0
    for number, ln in enumerate(_platform_lines(trust, chart.ALIPAY, end), start=1):
        balance += ln["amount"]
        time = f"{ln['date']} {8 + number % 12:02d}:{number % 60:02d}:{(number * 11) % 60:02d}"
        if ln["settlement"] is not None:
            reference, kind, other = ln["settlement"].reference, "提现", "银行卡"
            note = f"含服务费 {ln['settlement'].fee:.2f}"
        else:
            reference, kind, other = f"{ln['date']:%Y%m%d}1100{number:08d}", \
                "交易退款" if ln["amount"] < 0 else "在线支付", "捐赠人"
            note = ""
        rows.append([reference, f"{ln['date']:%Y%m%d}2000{number:08d}", ln["order_id"], "慈善捐赠", time, other,
                     _money(ln["amount"]) if ln["amount"] > 0 else "", _money(ln["amount"]) if ln["amount"] < 0 else "",
                     f"{from_minor(balance):.2f}", "支付宝", kind, note])
    rows += [["#-----------------------------------------账务明细列表结束-----------------------------------"]]
    return _csv(rows)


def statements(trust, end: dt.date) -> list[tuple[str, str, bytes]]:
    """(account code, statement format, file) of the three statements to ``end``."""
    return [(chart.BANK, "cn-bank", bank_statement(trust, end)), (chart.WECHAT, "wechat", wechat_bill(trust, end)),
            (chart.ALIPAY, "alipay", alipay_statement(trust, end))]


def load(*, trust, user, end: dt.date, stdout, export: Path | None = None) -> None:
    """Write, import and match the three statements (``export``: also keep the files there)."""
    from .services import reconciliation_set_days, statement_import, statement_match_auto

    for code, fmt, data in statements(trust, end):
        account = Account.objects.get(book=trust.book, code=code)
        if export is not None:
            (export / f"statement-{code}-{fmt}.csv").write_bytes(data)
        if code == chart.BANK:
            reconciliation_set_days(account=account, days=BANK_WINDOW_DAYS, user=user)
        result = statement_import(trust=trust, account=account, data=data, fmt=fmt, user=user)
        if result.errors:
            raise ValueError(f"statement {code}: " + "; ".join(str(e) for e in result.errors[:5]))
        matched = statement_match_auto(account=account, user=user)
        stdout.write(f"statement {code} ({fmt}): {result.created} lines, {matched} matched")
