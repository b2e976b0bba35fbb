"""The trust's donation acknowledgement (捐赠确认书) as a PDF (on ``charity.pdf.Document``): Chinese and English.

It is not the official donation receipt (公益事业捐赠票据): a trust company cannot issue one; the charitable
co-trustee issues it through the fiscal e-receipt system, and once an officer has recorded it the
acknowledgement prints its code and number. The amount in figures (小写) and in Chinese capitals (大写) are both
in CNY, the books' currency; a foreign-currency gift's own amount and rate stand beside the figures. The
trustee, the co-trustee, the donor's name, address and identity or credit code come from what the receipt
copied at issue time, so a later edit of the donor never changes an issued acknowledgement.

``reveal_id_code``: the donor's code in full (the donor herself, or a reader holding
``charity.view_donor_identity``); otherwise masked (``charity.idcodes.mask_id_code``).

``ReceiptDocument.story()`` is the one place the page is put together: a new block (a QR code, a seal) is one
more flowable appended there.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from reportlab.lib.units import mm

from .idcodes import mask_id_code
from .models import ANONYMOUS_NAME, OfficialReceipt, Receipt
from .numerals import cny_capital
from .pdf import Document, DocumentInfo, para, table

CHANNELS = {
    "bank": "银行转账 Bank transfer", "wechat": "微信支付 WeChat Pay", "alipay": "支付宝 Alipay",
    "cash": "现金 Cash", "in_kind": "实物 In kind",
}
ID_LABELS = {
    "individual": "身份证号码 Resident identity number",
    "organisation": "统一社会信用代码 Unified social credit code",
}
NOT_OFFICIAL = ("本确认书由慈善信托出具，不是公益事业捐赠票据；公益事业捐赠票据由共同受托人通过财政电子票据系统开具。"
                " This acknowledgement is not the official donation receipt (公益事业捐赠票据); the co-trustee issues "
                "that through the fiscal e-receipt system.")


def _figures(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def official_of(receipt: Receipt) -> OfficialReceipt | None:
    return OfficialReceipt.objects.filter(donation_id=receipt.donation_id).first()


class ReceiptDocument(Document):
    def __init__(self, receipt: Receipt, *, reveal_id_code: bool = True):
        entry = receipt.donation.entry
        self.receipt = receipt
        self.reveal_id_code = reveal_id_code
        super().__init__(DocumentInfo(
            trust_name=f"{receipt.trust_name} {receipt.trust_name_en}".strip(),
            title="捐赠确认书 Donation Acknowledgement",
            parameters=f"No. {receipt.label}",
            generated_at=timezone.localtime(receipt.issued_at),
            entry_count=entry.sequence,
            head_hash=entry.hash,
            subject=f"Receipt {receipt.label}",
            keywords=["receipt", receipt.label],
        ))

    def donor_rows(self) -> list[list[str]]:
        r = self.receipt
        rows = [["捐赠人 Donor", r.donor_name or ANONYMOUS_NAME]]
        if r.donor_id_code and r.donor_name:
            code = r.donor_id_code if self.reveal_id_code else mask_id_code(r.donor_id_code)
            rows.append([ID_LABELS.get(r.donor_kind, "证件号码 Identity or credit code"), code])
        if r.donor_address:
            rows.append(["地址 Address", r.donor_address])
        return rows

    def amount_rows(self) -> list[list[str]]:
        """小写 and 大写 in the same currency, CNY; a foreign gift's own amount and rate beside the figures."""
        r = self.receipt
        currency = r.amount.currency.code
        figures = f"¥{_figures(r.amount_cny)}（CNY {_figures(r.amount_cny)}）"
        if currency != "CNY":
            figures += f"；原币 original {currency} {_figures(r.amount.amount)}，汇率 rate {r.fx_rate.normalize():f}"
        return [
            ["金额（小写） Amount in figures", figures],
            ["金额（大写） Amount in words", f"人民币{cny_capital(r.amount_cny)}"],
        ]

    def party_rows(self) -> list[list[str]]:
        r = self.receipt
        rows = [["慈善信托 Charity trust", f"{r.trust_name} {r.trust_name_en}".strip()]]
        if r.trustee_name:
            rows.append(["受托人 Trustee", r.trustee_name])
        if r.co_trustee_name:
            rows.append(["共同受托人（开具公益事业捐赠票据） Co-trustee issuing official receipts", r.co_trustee_name])
        return rows

    def official_rows(self) -> list[list[str]]:
        official = official_of(self.receipt)
        if official is None:
            return [["公益事业捐赠票据 Official receipt", "尚未开具 not yet issued"]]
        return [["公益事业捐赠票据 Official receipt",
                 f"票据代码 code {official.receipt_code} 票据号码 No. {official.receipt_number}"
                 f"（{official.issuer}，{official.issued_on.isoformat()}）"]]

    def story(self) -> list:
        r = self.receipt
        rows = [["项目 Item", "内容 Details"], ["确认书编号 Acknowledgement No.", r.label]]
        rows += self.donor_rows()
        rows += self.amount_rows()
        rows.append(["捐赠方式 Channel", CHANNELS.get(r.channel, r.channel)])
        if r.item:
            rows.append(["物品及数量 Goods and quantity", f"{r.item} × {r.quantity}"])
        rows += [
            ["资金 Fund", f"{r.fund_name} ({r.fund_code})"],
            ["捐赠日期 Date of gift", r.date.isoformat()],
        ]
        rows += self.party_rows()
        rows += self.official_rows()
        rows += [
            ["经办人 Officer", r.officer_name],
            ["开具时间 Issued", timezone.localtime(r.issued_at).strftime("%Y-%m-%d %H:%M %Z").strip()],
        ]
        if r.note:
            rows.append(["备注 Note", r.note])
        story = [table(rows, widths=[62 * mm, 118 * mm])]
        if r.voided:
            story.append(para(f"已作废 VOID — {timezone.localtime(r.voided_at):%Y-%m-%d}: {r.void_reason}", self.st["h2"]))
        story.append(para(NOT_OFFICIAL, self.st["small"]))
        story.append(para("感谢您的善心捐赠。Thank you for your generous gift.", self.st["body"]))
        story += gift_code(r.donation, self.st)
        return story


def gift_code(donation, st) -> list:
    """The gift's QR code and link (``charity.links``), appended to the receipt: where the gift went, no sign-in
    needed. Nothing when the gift has no live link (revoked, or recorded before links existed)."""
    from reportlab.graphics.shapes import Drawing
    from reportlab.platypus import Table

    from .links import gift_url, qr_widget
    from .services.links import live_link

    link = live_link(donation)
    if link is None:
        return []
    url = gift_url(link)
    size = 32 * mm
    code = Drawing(size, size)
    code.add(qr_widget(url, size))
    text = [para("扫码查看这笔捐赠的去向（无需登录）", st["body"]),
            para("Scan to see where this gift went (no sign-in needed):", st["body"]), para(url, st["body"])]
    return [Table([[code, text]], colWidths=[36 * mm, 144 * mm], style=[("VALIGN", (0, 0), (-1, -1), "MIDDLE")])]


def receipt_pdf(receipt: Receipt, *, reveal_id_code: bool = True) -> bytes:
    return ReceiptDocument(receipt, reveal_id_code=reveal_id_code).render()
