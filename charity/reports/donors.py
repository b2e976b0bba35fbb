"""Donor statement (捐赠人反馈报告): each gift of one donor, its receipt, what of it was spent on which program
and when, how many beneficiaries it reached, what was refunded and what is unspent.

Where the figures come from: the ledger's own FIFO allocations (``ledger.models.Allocation``) on the gift's
income leg, never a recomputation. An allocation of kind ``use`` ties the gift to a spending leg; that leg's
entry names what spent it: ``("disbursement", external_id)`` (aid: the disbursement gives the program and the
beneficiary) or ``("expense", external_id)``. The spending is classed by the expense account it was charged
to: a program's account, management and bank fees (管理及行政 management and administration), fundraising,
or other. A reversal releases what the original took (negative allocations), so each spending is netted with
its reversal before anything is shown, and is shown in the month of the original.

Privacy: the statement never names or identifies a beneficiary. It shows programs, months, amounts and
*counts* of distinct people, and a count from 1 to 4 is shown as "fewer than 5" (少于5人), so that no small
group can be singled out. The donor's own name is shown (an anonymous donor's statement is for the donor).

Period: the gifts dated in ``--from``..``--to``; what became of them as at ``--to`` (spending and refunds
dated on or before it). A fixed number of queries, whatever the number of gifts, uses or beneficiaries.
"""

from __future__ import annotations

import json
from collections import defaultdict

from django.db.models import Count, Max, Q, Sum

from beneficiaries.models import Disbursement, Program
from beneficiaries.privacy import shown_count
from charity import chart
from charity.models import Donation, Donor, Expense, ExpenseKind, Receipt, Trust
from ledger.models import Account, Allocation, AllocationKind, to_minor

from .base import RANGE, Column, Report, ReportData, ReportError, Row, amount, register

MANAGEMENT = ("management", "管理及行政", "management and administration")
FUNDRAISING = ("fundraising", "筹资", "fundraising")


def trust_of(book):
    """The trust that keeps ``book`` (reports on the aid and donor side need one)."""
    trust = Trust.objects.filter(book=book).first()
    if trust is None:
        raise ReportError(f"book {book.code} belongs to no trust", field="trust")
    return trust


def beneficiary_count(n: int):
    """A count of people as a donor may see it: empty for none, "少于5人 fewer than 5" from 1 to 4, else the
    number (``beneficiaries.privacy.shown_count``)."""
    return shown_count(n, zero=None)


def purpose_of(account: Account, programs_by_code: dict) -> tuple[str, str, str]:
    """(key, Chinese, English) of what a spending leg paid for, from the account it was charged to."""
    if account.purpose:
        program = programs_by_code.get(account.purpose)
        if program is not None:
            return program.code, program.name, program.name_en
        return account.purpose, account.name, account.name_en
    if chart.line_code(account.code) == "5201" or account.code == chart.BANK_FEES:
        return MANAGEMENT
    if account.code == chart.FUNDRAISING:
        return FUNDRAISING
    return "other", account.name, account.name_en


@register
class DonorStatement(Report):
    name = "donor-statement"
    title = "捐赠人反馈报告"
    title_en = "Donor statement"
    period = RANGE
    options = frozenset({"donor"})
    required = frozenset({"donor"})
    # Cached with the donor's state in the key (``cache_state``). The rest is ledger state: gifts and refunds
    # are recorded with their entries, spending reaches a gift only through an entry's allocations, and the
    # disbursements, programs, accounts and funds it names never change once posted or created.
    cacheable = True

    COLUMNS = [
        Column("line", "行类型", "Line", width=0.9),
        Column("donation", "捐赠编号", "Gift", width=1.1),
        Column("date", "日期", "Date", "date"),
        Column("month", "月份", "Month", width=0.8),
        Column("receipt", "票据号", "Receipt", width=1.3),
        Column("fund_code", "基金", "Fund", width=0.8),
        Column("program", "用途编码", "Use", pdf=False),
        Column("description", "用途", "Purpose", width=2.6),
        Column("amount", "金额", "Amount", "amount"),
        Column("beneficiaries", "受益人数", "Beneficiaries", "int", width=1.1),
    ]

    donor: Donor | None = None

    def build(self) -> ReportData:
        p = self.params
        trust = trust_of(self.book)
        external_id = (p.donor or "").strip()
        donor = Donor.objects.filter(trust=trust, external_id=external_id).first() if external_id else None
        if donor is None:
            raise ReportError(f"--donor: no donor with external id {p.donor!r} in trust {self.book.code}",
                              field="donor")
        self.donor = donor
        in_period = dict(donor=donor, date__gte=p.date_from, date__lte=p.date_to)
        gifts = list(Donation.objects.filter(trust=trust, **in_period).select_related("fund").order_by("date", "pk"))
        receipts: dict[int, list[Receipt]] = defaultdict(list)
        for r in Receipt.objects.filter(trust=trust, **{f"donation__{k}": v for k, v in in_period.items()}).order_by(
            "year", "number"
        ):
            receipts[r.donation_id].append(r)

        allocations = Allocation.objects.filter(
            **{f"source__leg__entry__donation__{k}": v for k, v in in_period.items()},
            source__leg__entry__donation__trust=trust, leg__date__lte=p.date_to,
        )
        disbursements = {
            d["external_id"]: d
            for d in Disbursement.objects.filter(
                book=self.book,
                external_id__in=allocations.filter(leg__entry__source_type="disbursement").values(
                    "leg__entry__source_id"
                ),
            ).values("external_id", "beneficiary_id", "program_id")
        }
        programs = {pr.pk: pr for pr in Program.objects.filter(book=self.book)}
        programs_by_code = {pr.code: pr for pr in programs.values()}
        accounts = {a.pk: a for a in Account.objects.filter(book=self.book)}

        # Net each spending (an entry and its reversal) per gift first; refunds per gift and date.
        gift_of_entry = {g.entry_id: g.pk for g in gifts}
        spending: dict[tuple, dict] = {}
        refunds: dict[tuple, int] = defaultdict(int)
        for a in allocations.values(
            "source__leg__entry_id", "kind", "amount", "leg__date", "leg__account_id", "leg__entry_id",
            "leg__entry__reverses_id", "leg__entry__source_type", "leg__entry__source_id",
        ).order_by("leg__date", "leg__entry__sequence", "pk"):
            gift_id = gift_of_entry.get(a["source__leg__entry_id"])
            if gift_id is None:
                continue
            if a["kind"] == AllocationKind.REFUND:
                refunds[(gift_id, a["leg__date"])] += a["amount"]
                continue
            key = (gift_id, a["leg__entry__reverses_id"] or a["leg__entry_id"], a["leg__account_id"])
            use = spending.setdefault(key, {"fen": 0, "date": a["leg__date"], "beneficiary": None,
                                            "purpose": None})
            use["fen"] += a["amount"]
            if use["purpose"] is None:
                use["date"] = a["leg__date"]
                disbursement = None
                if a["leg__entry__source_type"] == "disbursement":
                    disbursement = disbursements.get(a["leg__entry__source_id"])
                if disbursement is not None:
                    program = programs[disbursement["program_id"]]
                    use["purpose"] = (program.code, program.name, program.name_en)
                    use["beneficiary"] = disbursement["beneficiary_id"]
                else:
                    use["purpose"] = purpose_of(accounts[a["leg__account_id"]], programs_by_code)

        # Per gift: per (purpose, month) the amount and the people; refunds by date.
        groups: dict[int, dict[tuple, dict]] = defaultdict(dict)
        reached: dict[int, set] = defaultdict(set)
        for (gift_id, _entry, _account), use in spending.items():
            if use["fen"] == 0:
                continue
            month = use["date"].strftime("%Y-%m")
            group = groups[gift_id].setdefault((month, use["purpose"]), {"fen": 0, "people": set()})
            group["fen"] += use["fen"]
            if use["beneficiary"] is not None and use["fen"] > 0:
                group["people"].add(use["beneficiary"])
                reached[gift_id].add(use["beneficiary"])
        refunds_of: dict[int, list] = defaultdict(list)
        for (gift_id, day), fen in sorted(refunds.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            if fen:
                refunds_of[gift_id].append((day, fen))

        rows = []
        totals = {"given": 0, "spent": 0, "refunded": 0, "unspent": 0}
        by_purpose: dict[tuple, int] = defaultdict(int)
        everyone: set = set()
        for g in gifts:
            given = to_minor(g.amount_cny)
            mine = receipts.get(g.pk, [])
            valid = [r.label for r in mine if r.voided_at is None]
            receipt = valid[-1] if valid else (f"{mine[-1].label} 已作废 void" if mine else "")
            fund_text = f"{g.fund.name} {g.fund.name_en}".strip()
            rows.append(Row(("gift", g.external_id, g.date, None, receipt, g.fund.code, "", fund_text,
                             amount(given), beneficiary_count(len(reached[g.pk]))), "heading"))
            spent = 0
            for (month, purpose), group in sorted(groups[g.pk].items(), key=lambda kv: (kv[0][0], kv[0][1][0])):
                spent += group["fen"]
                by_purpose[purpose] += group["fen"]
                rows.append(("spent", g.external_id, None, month, None, g.fund.code, purpose[0],
                             f"{purpose[1]} {purpose[2]}".strip(), amount(group["fen"]),
                             beneficiary_count(len(group["people"]))))
            refunded = 0
            for day, fen in refunds_of[g.pk]:
                refunded += fen
                rows.append(("refunded", g.external_id, day, None, None, g.fund.code, "refund", "退款 refunded",
                             amount(fen), None))
            unspent = given - spent - refunded
            rows.append(Row(("unspent", g.external_id, p.date_to, None, None, g.fund.code, "unspent",
                             "尚未使用 unspent", amount(unspent), None), "subtotal"))
            everyone |= reached[g.pk]
            for k, v in (("given", given), ("spent", spent), ("refunded", refunded), ("unspent", unspent)):
                totals[k] += v

        summary = [
            {"key": "donor", "label": "捐赠人 Donor", "value": f"{donor.name} ({donor.external_id})"},
            {"key": "gifts", "label": "捐赠笔数 Gifts", "value": len(gifts)},
            {"key": "given", "label": "捐赠金额 Given", "value": amount(totals["given"])},
        ]
        for purpose, fen in sorted(by_purpose.items(), key=lambda kv: kv[0][0]):
            summary.append({"key": f"spent_{purpose[0]}", "label": f"用于{purpose[1]} Spent on {purpose[2]}",
                            "value": amount(fen)})
        summary += [
            {"key": "spent", "label": "已使用 Spent", "value": amount(totals["spent"])},
            {"key": "refunded", "label": "已退款 Refunded", "value": amount(totals["refunded"])},
            {"key": "unspent", "label": "尚未使用 Unspent", "value": amount(totals["unspent"])},
            {"key": "beneficiaries", "label": "受益人数（不重复） Beneficiaries reached",
             "value": beneficiary_count(len(everyone)) or 0},
        ]
        notes = [
            "本报告列示期间内的每笔捐赠及截至期末的使用情况：按先进先出原则由账簿分配至各项支出，按项目和月份汇总。"
            " Each gift made in the period and what became of it by the end of the period, as the ledger allocated "
            "spending to gifts first in, first out within each fund, by program and month.",
            "为保护受益人隐私，本报告不列示任何受益人的姓名或身份信息；受益人数少于5人时显示为“少于5人”。"
            " To protect the people the trust serves, no beneficiary is named or identified; fewer than five "
            "people are shown as \"fewer than 5\".",
            "管理费用和银行手续费显示为“管理及行政”。 Management expenses and bank fees show as management and "
            "administration.",
        ] + self.management_fee_notes(trust, gifts)
        return ReportData(
            columns=self.COLUMNS, rows=rows,
            totals=[Row(("TOTAL", "", None, None, "", "", "", "合计捐赠 Total given", amount(totals["given"]),
                         beneficiary_count(len(everyone))), "total")],
            summary=summary, notes=notes,
        )

    def management_fee_notes(self, trust, gifts) -> list[str]:
        """A management fee charged to a restricted fund under its terms is a release of the restriction, not
        spending the ledger allocates to gifts (docs/ledger.md): each fund of the donor's gifts that bore one in
        the period says so, with the fund's total (reversed fees left out)."""
        p = self.params
        fees = (Expense.objects.filter(trust=trust, kind=ExpenseKind.MANAGEMENT_FEE, date__gte=p.date_from,
                                       date__lte=p.date_to, fund_id__in={g.fund_id for g in gifts},
                                       entry__reversed_by__isnull=True)
                .values("fund__code").annotate(total=Sum("amount")).order_by("fund__code"))
        notes = []
        for row in fees:
            fen = to_minor(row["total"])
            notes.append(
                f"基金 {row['fund__code']} 本期按捐赠协议提取管理费 {amount(fen)} 元（管理及行政；限定性净资产转为非限定性净资产），"
                f"未分配至上列各笔捐赠。 Fund {row['fund__code']} bore a management fee of {amount(fen)} CNY in the "
                f"period under its donor agreement (management and administration; released from restriction); "
                f"it is not allocated to the gifts above.")
        return notes

    @classmethod
    def cache_state(cls, book, params) -> str | None:
        """The donor's name and the receipts of the period's gifts: an edit, an issue or a void changes them
        without an entry. Receipts are never deleted and a void is never undone, so (count, last id, voided)
        moves on every change. ``None`` (no such donor): the report refuses it, nothing to keep."""
        external_id = (params.donor or "").strip()
        if not external_id:
            return None
        in_period = Q(donations__date__gte=params.date_from, donations__date__lte=params.date_to)
        row = (
            Donor.objects.filter(trust__book_id=book.pk, external_id=external_id)
            .annotate(receipts=Count("donations__receipts", filter=in_period),
                      last=Max("donations__receipts", filter=in_period),
                      voided=Count("donations__receipts__voided_at", filter=in_period))
            .values_list("pk", "name", "receipts", "last", "voided")
            .first()
        )
        return None if row is None else json.dumps(list(row), ensure_ascii=False)

    def parameters_text(self) -> str:
        text = self.params.describe()
        if self.donor is not None:
            text = text.replace(f"捐赠人 Donor {self.params.donor}",
                                f"捐赠人 Donor {self.donor.external_id} {self.donor.name}")
        return text
