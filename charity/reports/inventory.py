"""Aid inventory ledger (物资收发存台账): per stock item and fund, the opening stock, what was received (donated
in kind), bought and handed out in the period, and the stock on hand at the end, in quantity and in value.

Read from the inventory's own ledger, ``beneficiaries.StockMove`` (signed quantities and values in fen), in two
grouped queries (before the period; in it), so the queries do not grow with the movements. A reversal is
counted against the kind of the movement it reverses (an in-kind gift refunded lowers *received*, a reversed
hand-out lowers *handed out*). The closing value is checked against the inventory accounts of the ledger.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Sum

from beneficiaries.models import StockItem, StockMove, StockMoveKind
from ledger import selectors
from ledger.models import Fund

from .base import RANGE, Column, Report, ReportData, Row, amount, register

KINDS = (StockMoveKind.RECEIVED, StockMoveKind.BOUGHT, StockMoveKind.ISSUED)


def _label(name: str, name_en: str) -> str:
    return f"{name} {name_en}" if name_en and name_en != name else name


@register
class Inventory(Report):
    name = "inventory"
    title = "物资收发存台账"
    title_en = "Aid inventory: received, bought, handed out, on hand"
    period = RANGE
    options = frozenset({"fund"})
    landscape = True
    cacheable = True  # every stock movement is written with its entry; stock items never change

    COLUMNS = [
        Column("item_code", "物资编码", "Item", width=1.1),
        Column("item_name", "物资名称", "Name", width=1.4),
        Column("unit", "单位", "Unit", width=0.5),
        Column("fund_code", "基金", "Fund", width=0.8),
        Column("opening_quantity", "期初数量", "Opening qty", "int"),
        Column("opening_value", "期初金额", "Opening value", "amount"),
        Column("received_quantity", "受赠数量", "Received qty", "int"),
        Column("received_value", "受赠金额", "Received value", "amount"),
        Column("bought_quantity", "购入数量", "Bought qty", "int"),
        Column("bought_value", "购入金额", "Bought value", "amount"),
        Column("issued_quantity", "发放数量", "Handed out qty", "int"),
        Column("issued_value", "发放金额", "Handed out value", "amount"),
        Column("closing_quantity", "结存数量", "On hand qty", "int"),
        Column("closing_value", "结存金额", "On hand value", "amount"),
    ]

    def build(self) -> ReportData:
        p = self.params
        moves = StockMove.objects.filter(item__book=self.book)
        if p.fund is not None:
            moves = moves.filter(fund=p.fund)
        opening: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
        for r in moves.filter(date__lt=p.date_from).values("item_id", "fund_id").annotate(
            q=Sum("quantity"), v=Sum("value")
        ).order_by():
            opening[(r["item_id"], r["fund_id"])] = [r["q"], r["v"]]
        # (item, fund) -> kind -> [quantity, value], reversals folded into the kind they reverse
        moved: dict[tuple, dict[str, list[int]]] = defaultdict(lambda: {k: [0, 0] for k in KINDS})
        for r in moves.filter(date__gte=p.date_from, date__lte=p.date_to).values(
            "item_id", "fund_id", "kind", "entry__reverses__stock_move__kind"
        ).annotate(q=Sum("quantity"), v=Sum("value")).order_by():
            kind = r["kind"]
            if kind == StockMoveKind.REVERSED:
                kind = r["entry__reverses__stock_move__kind"]
            if kind not in KINDS:  # a reversal of something unknown: by its direction
                kind = StockMoveKind.RECEIVED if r["q"] > 0 else StockMoveKind.ISSUED
            cell = moved[(r["item_id"], r["fund_id"])][kind]
            cell[0] += r["q"]
            cell[1] += r["v"]
        items = {i.pk: i for i in StockItem.objects.filter(book=self.book).select_related("inventory_account")}
        funds = {f.pk: f for f in Fund.objects.filter(book=self.book)}

        rows = []
        total = [0] * 5  # opening, received, bought, handed out, closing values
        by_account: dict[int, int] = defaultdict(int)
        keys = sorted(set(opening) | set(moved), key=lambda k: (items[k[0]].code, funds[k[1]].code))
        for key in keys:
            item, fund = items[key[0]], funds[key[1]]
            oq, ov = opening.get(key, [0, 0])
            m = moved.get(key) or {k: [0, 0] for k in KINDS}
            (rq, rv), (bq, bv), (iq, iv) = m[StockMoveKind.RECEIVED], m[StockMoveKind.BOUGHT], m[StockMoveKind.ISSUED]
            cq, cv = oq + rq + bq + iq, ov + rv + bv + iv
            if key not in moved and not (oq or ov):
                continue  # nothing held and nothing moved
            rows.append((
                item.code, _label(item.name, item.name_en),
                item.unit, fund.code, oq, amount(ov), rq, amount(rv), bq, amount(bv), -iq, amount(-iv), cq, amount(cv),
            ))
            for i, v in enumerate((ov, rv, bv, -iv, cv)):
                total[i] += v
            by_account[item.inventory_account_id] += cv

        # The closing value against the ledger's inventory accounts (only when the whole book is shown).
        ledger_fen = None
        account_ids = sorted({i.inventory_account_id for i in items.values()})
        if account_ids:
            balances = selectors.movements(
                self.book.pk, as_of=p.date_to, account_ids=account_ids,
                fund_ids=[p.fund.pk] if p.fund is not None else None, group=("account_id",),
            )
            ledger_fen = sum(d - c for d, c in balances.values())
        summary = [
            {"key": "closing_value", "label": "期末结存金额 Value on hand at the end", "value": amount(total[4])},
            {"key": "ledger_inventory", "label": "账簿库存物资科目余额 Inventory accounts in the ledger",
             "value": amount(ledger_fen or 0)},
            {"key": "ties_to_ledger", "label": "与账簿一致 Agrees with the ledger",
             "value": ledger_fen is None or ledger_fen == total[4]},
        ]
        notes = [
            "发放金额按加权平均成本计价；冲销计入被冲销业务的类别（退回的实物捐赠冲减受赠，冲销的发放冲减发放）。"
            " Handed-out value is weighted-average cost; a reversal counts against what it reverses (a refunded "
            "gift in kind lowers received, a reversed hand-out lowers handed out). Stock belongs to the fund "
            "that paid for it or received it.",
        ]
        if ledger_fen is not None and ledger_fen != total[4]:
            notes.append(f"不一致 DOES NOT AGREE: stock on hand {amount(total[4])} ≠ inventory accounts "
                         f"{amount(ledger_fen)}")
        return ReportData(
            columns=self.COLUMNS, rows=rows,
            totals=[Row(("TOTAL", "合计 Total", "", "", None, amount(total[0]), None, amount(total[1]), None,
                         amount(total[2]), None, amount(total[3]), None, amount(total[4])), "total")],
            summary=summary, notes=notes,
        )
