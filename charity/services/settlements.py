"""A payment platform's payout to the bank (结算), gift by gift.

``settlement_record`` posts ONE entry through the ledger's usual path. Entries balance per fund (DESIGN.md,
self-balancing funds), so per fund that the settled gifts were received in: credit the platform's clearing
account with the gross of those gifts and debit the bank with it; the platform's fee is borne by the general
fund (``GEN``, the trust's unrestricted money; a restricted fund pays only for its own program): debit 540101
银行手续费 and take the fee off GEN's bank debit (a credit to the bank in GEN when GEN's own gifts in the payout
are less than the fee). The bank's legs add up to the net the bank receives, the clearing legs to the gross the
platform pays out: each side matches its statement's one payout line (``statement_match_auto``, by reference).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Q

from ledger import services as ledger
from ledger.authority import require
from ledger.locking import lock
from ledger.models import CENT, Fund
from ledger.services import Cr, Dr

from .. import chart
from ..audit import audit
from ..errors import SettlementError
from ..models import Donation, Refund, SettledDonation, Settlement, SettlementChannel, Trust
from ..roles import RECORD
from ._common import account, check_date, translated

CLEARING = {SettlementChannel.WECHAT: chart.WECHAT, SettlementChannel.ALIPAY: chart.ALIPAY}
FEE_FUND = chart.GENERAL_FUND[0]


def settlement_key(channel: str, reference: str) -> str:
    return f"settlement:{channel}:{reference}"


def _fee(value) -> Decimal:
    if isinstance(value, (float, bool)):
        raise SettlementError("the fee must be a decimal amount, not float", field="fee")
    try:
        fee = value if isinstance(value, Decimal) else Decimal(str(value if value is not None else "0"))
    except (InvalidOperation, ValueError, TypeError):
        raise SettlementError(f"{value!r} is not a decimal amount", field="fee") from None
    if not fee.is_finite() or fee < 0:
        raise SettlementError(f"the fee {value} is below zero", field="fee")
    if fee != fee.quantize(CENT):
        raise SettlementError(f"the fee {fee} has more than two decimal places", field="fee")
    return fee.quantize(CENT)


def _donations(trust: Trust, channel: str, donations, order_ids) -> list[Donation]:
    if donations is not None and order_ids is not None:
        raise SettlementError("name the gifts by donations or by order ids, not both", field="donations")
    if order_ids is not None:
        wanted = [str(o).strip() for o in order_ids]
        found = {d.order_id: d for d in Donation.objects.filter(trust=trust, channel=channel, order_id__in=wanted)}
        missing = [o for o in wanted if o not in found]
        if missing:
            raise SettlementError(f"no {channel} gift of trust {trust.code} has order id {missing[0]!r}",
                                  field="order_ids")
        donations = [found[o] for o in wanted]
    donations = list(donations or [])
    if not donations:
        raise SettlementError("a settlement settles at least one gift", field="donations")
    return donations


def settlement_record(*, trust: Trust, channel: str, date: dt.date, fee, reference: str, user,
                      donations: list[Donation] | None = None, order_ids: list[str] | None = None,
                      posting=None) -> tuple[Settlement, bool]:
    """Record a platform's payout of ``donations`` (or the gifts with ``order_ids``) to the bank, less ``fee``:
    ``(settlement, created)``. The same reference again with the same gifts, date and fee returns the first
    settlement and writes nothing; with different content it is refused. Refused: a gift on another channel or
    of another trust, one already settled or refunded, dated after the payout, or not in CNY; a fee below zero
    or not below the gross."""
    require(user, RECORD, trust.book)
    if channel not in SettlementChannel.values:
        raise SettlementError(f"channel {channel!r} is not one of {', '.join(SettlementChannel.values)}",
                              field="channel")
    date = check_date(date)
    fee = _fee(fee)
    reference = (reference or "").strip()
    if not reference or len(reference) > 64:
        raise SettlementError("a settlement's reference (the platform's payout number) is 1 to 64 characters",
                              field="reference")
    donations = _donations(trust, channel, donations, order_ids)
    with transaction.atomic(), ledger.posting_batch(posting) as posting:
        ids = [d.pk for d in donations]
        if len(set(ids)) != len(ids):
            raise SettlementError("a gift is named twice", field="donations")
        present = list(Donation.objects.filter(pk__in=ids))
        posted_to = list(Fund.objects.filter(book=trust.book).filter(
            Q(pk__in={d.fund_id for d in present}) | Q(code=FEE_FUND)))
        # the book and the funds the payout posts to, then the gifts (ledger.locking)
        rows = lock(trust.book, *posted_to, *present)
        fund_rows = {f.pk: f for f in rows[1:1 + len(posted_to)]}
        locked = {d.pk: d for d in rows[1 + len(posted_to):]}
        donations = [locked[pk] for pk in ids if pk in locked]
        if len(donations) != len(ids):
            raise SettlementError("a gift named is not recorded", field="donations")
        existing = Settlement.objects.filter(trust=trust, channel=channel, reference=reference).first()
        if existing is not None:
            same = (existing.date == date and existing.fee == fee
                    and set(existing.donations.values_list("donation_id", flat=True)) == set(ids))
            if same:
                return existing, False
            raise SettlementError(f"settlement {reference} of {channel} was already recorded with different content",
                                  field="reference")
        for d in donations:
            label = f"gift {d.external_id}"
            if d.trust_id != trust.pk:
                raise SettlementError(f"{label} is not a gift of trust {trust.code}", field="donations")
            if d.channel != channel:
                raise SettlementError(f"{label} came by {d.channel}, not {channel}", field="donations")
            if d.amount.currency.code != "CNY":
                raise SettlementError(f"{label} is in {d.amount.currency.code}; a platform settles CNY",
                                      field="donations")
            if d.date > date:
                raise SettlementError(f"{label} is dated {d.date}, after the payout ({date})", field="donations")
        settled = SettledDonation.objects.filter(donation_id__in=ids).select_related("donation", "settlement").first()
        if settled is not None:
            raise SettlementError(f"gift {settled.donation.external_id} was already settled by "
                                  f"{settled.settlement.reference}", field="donations")
        refunded = Refund.objects.filter(donation_id__in=ids).select_related("donation").first()
        if refunded is not None:
            raise SettlementError(f"gift {refunded.donation.external_id} was refunded; a platform does not pay out "
                                  f"a refunded gift", field="donations")
        per_fund: dict[int, Decimal] = defaultdict(Decimal)
        for d in donations:
            per_fund[d.fund_id] += d.amount.amount
        funds = fund_rows  # each gift's fund, read with its lock: no query per gift
        gross = sum(per_fund.values(), Decimal("0.00"))
        if fee >= gross:
            raise SettlementError(f"the fee {fee} is not below the gross {gross} of the gifts settled", field="fee")
        net = gross - fee
        clearing, bank = account(trust, CLEARING[channel]), account(trust, chart.BANK)
        general = next((f for f in fund_rows.values() if f.code == FEE_FUND), None)
        if general is None:
            raise SettlementError(f"trust {trust.code} has no general fund {FEE_FUND} to bear the fee", field="fee")
        legs = []
        for fund_id in sorted(per_fund, key=lambda pk: funds[pk].code):
            fund, amount = funds[fund_id], per_fund[fund_id]
            legs.append(Cr(clearing, fund, amount))
            to_bank = amount - fee if fund.pk == general.pk else amount
            if to_bank > 0:
                legs.append(Dr(bank, fund, to_bank))
            elif to_bank < 0:
                legs.append(Cr(bank, fund, -to_bank))
        if fee:
            if general.pk not in per_fund:
                legs.append(Cr(bank, general, fee))
            legs.append(Dr(account(trust, chart.BANK_FEES), general, fee))
        memo = (f"平台结算 {channel} payout {reference}: gross {gross}, fee {fee}, net {net} "
                f"({len(donations)} gift(s))")
        with translated(SettlementError):
            entry = posting.post(book=trust.book, date=date, memo=memo[:200], user=user, legs=legs,
                                 idempotency_key=settlement_key(channel, reference), source=("settlement", reference))
        settlement = Settlement.objects.create(trust=trust, channel=channel, date=date, reference=reference,
                                               gross=gross, fee=fee, net=net, entry=entry, created_by=user)
        SettledDonation.objects.bulk_create([SettledDonation(settlement=settlement, donation=d) for d in donations])
        audit(user=user, action=f"settlement recorded {channel} {reference}", trust=trust,
              detail={"channel": channel, "reference": reference, "date": date.isoformat(), "gifts": len(donations),
                      "gross": str(gross), "fee": str(fee), "net": str(net)})
    return settlement, True


def unsettled(*, trust: Trust, channel: str, up_to: dt.date):
    """The platform's CNY gifts up to a date that no payout has settled and that were not refunded."""
    return (Donation.objects.filter(trust=trust, channel=channel, date__lte=up_to, amount_currency="CNY",
                                    settled__isnull=True, refunds__isnull=True)
            .select_related("fund").order_by("date", "pk"))
