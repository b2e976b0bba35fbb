"""The donation receipt as a PDF (on ``charity.pdf.Document``): Chinese and English, amount in figures and in
Chinese capitals (大写). Everything shown comes from what the receipt copied at issue time, so re-rendering an
old receipt gives the same bytes whatever happened to the donor record since."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from reportlab.lib.units import mm

from .models import ANONYMOUS_NAME, Receipt
from .numerals import cny_capital
from .pdf import Document, DocumentInfo, para, table

CHANNELS = {
    "bank": "银行转账 Bank transfer", "wechat": "微信支付 WeChat Pay", "alipay": "支付宝 Alipay",
    "cash": "现金 Cash", "in_kind": "实物 In kind",
}


def _figures(amount: Decimal) -> str:
    return f"{amount:,.2f}"


class ReceiptDocument(Document):
    def __init__(self, receipt: Receipt):
        entry = receipt.donation.entry
        self.receipt = receipt
        super().__init__(DocumentInfo(
            trust_name=f"{receipt.trust_name} {receipt.trust_name_en}".strip(),
            title="捐赠收据 Donation Receipt",
            parameters=f"No. {receipt.label}",
            generated_at=timezone.localtime(receipt.issued_at),
            entry_count=entry.sequence,
            head_hash=entry.hash,
            subject=f"Receipt {receipt.label}",
            keywords=["receipt", receipt.label],
        ))

    def story(self) -> list:
        r = self.receipt
        donor = r.donor_name or ANONYMOUS_NAME
        # Figures and words in the same currency, CNY (the books' currency); a foreign gift's own amount beside.
        currency = r.amount.currency.code
        figures = f"CNY {_figures(r.amount_cny)}"
        if currency != "CNY":
            figures += f"（原币 original {currency} {_figures(r.amount.amount)}，汇率 rate {r.fx_rate.normalize():f}）"
        rows = [
            ["项目 Item", "内容 Details"],
            ["收据编号 Receipt No.", r.label],
            ["捐赠人 Donor", donor],
        ]
        if r.donor_address:
            rows.append(["地址 Address", r.donor_address])
        rows += [
            ["金额（小写） Amount in figures", figures],
            ["金额（大写） Amount in words", f"人民币{cny_capital(r.amount_cny)}"],
            ["捐赠方式 Channel", CHANNELS.get(r.channel, r.channel)],
        ]
        if r.item:
            rows.append(["物品及数量 Goods and quantity", f"{r.item} × {r.quantity}"])
        rows += [
            ["资金 Fund", f"{r.fund_name} ({r.fund_code})"],
            ["捐赠日期 Date of gift", r.date.isoformat()],
            ["受托人 Trust", f"{r.trust_name} {r.trust_name_en}".strip()],
            ["经办人 Officer", r.officer_name],
            ["开具时间 Issued", timezone.localtime(r.issued_at).strftime("%Y-%m-%d %H:%M %Z").strip()],
        ]
        if r.note:
            rows.append(["备注 Note", r.note])
        story = [table(rows, widths=[55 * mm, 125 * mm])]
        if r.voided:
            story.append(para(f"已作废 VOID — {timezone.localtime(r.voided_at):%Y-%m-%d}: {r.void_reason}", self.st["h2"]))
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


def receipt_pdf(receipt: Receipt) -> bytes:
    return ReceiptDocument(receipt).render()
