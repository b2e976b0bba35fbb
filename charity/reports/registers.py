"""Registers to print and sign: the beneficiary disbursement register (受益人发放清册) and the donation receipt
register (捐赠票据领用存登记).

Beneficiary register: every disbursement dated in the period that was not cancelled (drafts and approved ones
too, so that the sheet can be printed for signing before the aid is handed out; reversed ones stay, marked),
grouped by batch, with the beneficiary's name and her identity number *always masked* (``32****************``,
whatever the reader's permissions: a printed sheet leaves the system) and an empty signature column (签收).
There is no ``--batch`` option (the report options are the framework's ``--fund``/``--donor``): ask for the
batch's day as the period, the ``batch`` column and the PDF's order (by batch) do the rest.

Receipt register: every receipt number whose gift is dated in the period (receipt numbers run per year of the
gift's date), valid or void, in number order; anonymous donors and walk-in gifts show as anonymous; totals of
numbers used, valid and void, and a check for gaps in the numbers. The last two columns give the official
donation receipt (公益事业捐赠票据, ``票据代码-票据号码`` and 开票日期) the co-trustee issued for the gift; a valid
receipt whose gift has none yet is counted as lacking one (the API's ``receipts/?official=lacking`` and the
office's donation list filter list them).

Both stream their rows from one query (``iterator``), so queries do not grow with the rows.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from beneficiaries.models import POSTED_STATUSES, Disbursement, DisbursementStatus, ProgramKind
from beneficiaries.privacy import mask_id_number
from charity.models import ANONYMOUS_NAME, Receipt

from .donors import trust_of
from .base import RANGE, Column, Report, ReportData, Row, amount, register

ZERO = Decimal("0.00")
STATUS_TEXT = {
    DisbursementStatus.DRAFT: "草稿 draft",
    DisbursementStatus.APPROVED: "已审批 approved",
    DisbursementStatus.PAID: "已支付 paid",
    DisbursementStatus.DELIVERED: "已发放 delivered",
    DisbursementStatus.VERIFIED: "已回访 verified",
    DisbursementStatus.REVERSED: "已冲销 reversed",
}


@register
class BeneficiaryRegister(Report):
    name = "beneficiary-register"
    title = "受益人发放清册"
    title_en = "Register of aid handed out"
    period = RANGE
    options = frozenset({"fund"})
    landscape = True
    # Not cached (charity.reports.cache): drafts, approvals, cancellations and beneficiaries' names change
    # without an entry.
    cacheable = False

    COLUMNS = [
        Column("batch", "批次", "Batch", width=1.6),
        Column("date", "日期", "Date", "date", width=0.9),
        Column("disbursement", "发放编号", "Disbursement", width=1.1),
        Column("beneficiary_external_id", "受益人编号", "Beneficiary id", pdf=False),
        Column("name", "姓名", "Name", width=1.0),
        Column("id_number", "身份证号（脱敏）", "Identity no. (masked)", width=1.7),
        Column("program", "项目", "Program", width=1.1),
        Column("fund_code", "基金", "Fund", width=0.7),
        Column("quantity", "数量", "Qty", "int", width=0.5),
        Column("amount", "金额", "Amount", "amount", width=0.9),
        Column("status", "状态", "Status", width=1.0),
        Column("signature", "签收", "Signature", width=1.4),
    ]

    def disbursements(self):
        """The rows of the register; a subclass may narrow them (the office's sign-off sheet of one batch)."""
        p = self.params
        disbursements = (
            Disbursement.objects.filter(book=self.book, date__gte=p.date_from, date__lte=p.date_to)
            .exclude(status=DisbursementStatus.CANCELLED)
            .select_related("batch", "beneficiary", "program", "fund")
            .order_by(F("batch__code").asc(nulls_last=True), "date", "external_id")
        )
        if p.fund is not None:
            disbursements = disbursements.filter(fund=p.fund)
        return disbursements

    def build(self) -> ReportData:
        disbursements = self.disbursements()
        tally = {"rows": 0, "posted": 0, "fen": ZERO, "goods": 0, "people": set(), "pending": 0, "reversed": 0}

        def rows():
            for d in disbursements.iterator(chunk_size=2000):
                goods = d.program.kind == ProgramKind.IN_KIND
                tally["rows"] += 1
                if d.status in POSTED_STATUSES:
                    tally["posted"] += 1
                    tally["fen"] += d.amount or ZERO
                    tally["goods"] += d.quantity if goods else 0
                    tally["people"].add(d.beneficiary_id)
                elif d.status == DisbursementStatus.REVERSED:
                    tally["reversed"] += 1
                else:
                    tally["pending"] += 1
                b = d.beneficiary
                yield (
                    d.batch.code if d.batch_id else "", d.date, d.external_id, b.external_id, b.name,
                    mask_id_number(b.id_number), f"{d.program.name} {d.program.name_en}".strip(), d.fund.code,
                    d.quantity if goods else None, d.amount, STATUS_TEXT.get(d.status, d.status), "",
                )

        return ReportData(
            columns=self.COLUMNS,
            rows=rows(),
            totals=lambda: [Row(("TOTAL", None, "", "", "合计（已发放）", "Total (handed out)", "", "",
                                 tally["goods"], tally["fen"], f"{tally['posted']} 笔 posted", ""), "total")],
            summary=lambda: [
                {"key": "disbursements", "label": "清册行数 Lines", "value": tally["rows"]},
                {"key": "posted", "label": "已发放 Handed out or paid", "value": tally["posted"]},
                {"key": "pending", "label": "待发放（草稿、已审批） Not yet posted (draft, approved)",
                 "value": tally["pending"]},
                {"key": "reversed", "label": "已冲销 Reversed", "value": tally["reversed"]},
                {"key": "beneficiaries", "label": "受益人数（已发放，不重复） Distinct beneficiaries handed out to",
                 "value": len(tally["people"])},
                {"key": "amount", "label": "已发放金额 Amount handed out or paid", "value": tally["fen"]},
            ],
            notes=[
                "身份证号一律脱敏显示。金额与数量合计仅含已发放（已支付、已交付、已回访）记录；已取消的记录不列示。"
                " Identity numbers are always masked. The totals count disbursements paid, delivered or verified "
                "only; cancelled ones are left out. Beneficiaries sign in the 签收 column.",
            ],
        )


@register
class ReceiptRegister(Report):
    name = "receipt-register"
    title = "捐赠票据领用存登记"
    title_en = "Register of donation receipts"
    period = RANGE
    landscape = True
    cacheable = False  # receipts are issued and voided without an entry

    COLUMNS = [
        Column("number", "票据号", "Number", width=1.2),
        Column("status", "状态", "Status", width=0.7),
        Column("date", "捐赠日期", "Gift date", "date"),
        Column("donation", "捐赠编号", "Gift", width=1.0),
        Column("donor", "捐赠人", "Donor", width=1.4),
        Column("amount", "原币金额", "Amount", "amount"),
        Column("currency", "币种", "Cur.", width=0.5),
        Column("amount_cny", "人民币金额", "Amount (CNY)", "amount"),
        Column("fund_code", "基金", "Fund", width=0.7),
        Column("issued_at", "开具时间", "Issued at", width=1.1),
        Column("officer", "开具人", "Issued by", width=0.8),
        Column("voided_at", "作废时间", "Voided at", width=1.0),
        Column("void_reason", "作废原因", "Reason for the void", width=1.2),
        Column("official_receipt", "公益事业捐赠票据", "Official receipt", width=1.3),
        Column("official_issued_on", "开票日期", "Issued on", "date", width=0.9),
    ]

    def build(self) -> ReportData:
        p = self.params
        trust = trust_of(self.book)
        receipts = (
            Receipt.objects.filter(trust=trust, date__gte=p.date_from, date__lte=p.date_to)
            .select_related("donation__official_receipt")
            .order_by("year", "number")
        )
        tally = {"valid": 0, "void": 0, "valid_fen": ZERO, "void_fen": ZERO, "lacking": 0}
        numbers: dict[int, list[int]] = defaultdict(list)

        def when(value):
            return timezone.localtime(value).replace(microsecond=0).isoformat() if value else None

        def rows():
            for r in receipts.iterator(chunk_size=2000):
                numbers[r.year].append(r.number)
                official = getattr(r.donation, "official_receipt", None)  # none yet: RelatedObjectDoesNotExist
                if r.voided_at is None:
                    tally["valid"] += 1
                    tally["lacking"] += official is None
                    tally["valid_fen"] += r.amount_cny
                else:
                    tally["void"] += 1
                    tally["void_fen"] += r.amount_cny
                donor = ANONYMOUS_NAME if (r.donor_anonymous or not r.donor_name) else r.donor_name
                yield (
                    r.label, "作废 void" if r.voided_at else "有效 issued", r.date, r.donation.external_id, donor,
                    r.amount.amount, r.amount.currency.code, r.amount_cny, r.fund_code, when(r.issued_at),
                    r.officer_name, when(r.voided_at), r.void_reason,
                    official.label if official else "", official.issued_on if official else None,
                )

        def gaps() -> list[str]:
            missing = []
            for year, used in sorted(numbers.items()):
                have = set(used)
                missing += [f"{year}-{n:06d}" for n in range(min(used), max(used) + 1) if n not in have]
            return missing

        def notes() -> list[str]:
            found = gaps()
            lines = [
                "票据号按捐赠日期所在年度连续编号；作废票据保留原号。匿名捐赠人及未留名的捐赠显示为匿名。"
                " Receipt numbers run without gaps per year of the gift's date; a voided receipt keeps its number. "
                "Anonymous donors and walk-in gifts show as anonymous.",
            ]
            if tally["lacking"]:
                lines.append(f"尚未开具公益事业捐赠票据的有效捐赠 Valid receipts whose gift still lacks an official "
                             f"receipt: {tally['lacking']}")
            if found:
                lines.append("号码缺失 NUMBERS MISSING: " + ", ".join(found[:50]) + (" ..." if len(found) > 50 else ""))
            return lines

        return ReportData(
            columns=self.COLUMNS,
            rows=rows(),
            totals=lambda: [Row(("TOTAL", tally["valid"] + tally["void"], None, "", "有效票据金额合计 Total of "
                                 "valid receipts", None, "CNY", amount(0) + tally["valid_fen"], "", None, "", None,
                                 "", "", None), "total")],
            summary=lambda: [
                {"key": "used", "label": "使用票据号 Numbers used", "value": tally["valid"] + tally["void"]},
                {"key": "issued", "label": "有效 Valid (issued)", "value": tally["valid"]},
                {"key": "voided", "label": "作废 Voided", "value": tally["void"]},
                {"key": "amount_issued", "label": "有效票据金额 Amount of valid receipts (CNY)",
                 "value": amount(0) + tally["valid_fen"]},
                {"key": "amount_voided", "label": "作废票据金额 Amount of voided receipts (CNY)",
                 "value": amount(0) + tally["void_fen"]},
                {"key": "gaps", "label": "缺号 Numbers missing", "value": len(gaps())},
                {"key": "lacking_official", "label": "尚缺公益事业捐赠票据 Valid receipts lacking an official receipt",
                 "value": tally["lacking"]},
            ],
            notes=notes,
        )
