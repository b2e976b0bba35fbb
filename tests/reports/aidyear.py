"""A trust's year built through the real services (donors, donations with receipts, a refund, stock bought,
beneficiaries, batches and single disbursements with four eyes, a reversal), for the aid-side reports.

The figures, worked out by hand (FIFO within each fund):

* Donor D-A (张捐赠, named): 10,000 to SMILE (1 Jan 5), 5,000 to STUDY (Jan 6), 2,000 to GEN (Jan 7).
* Donor D-B (李匿名, anonymous): 3,000 to STUDY (Feb 1), 1,000 to GEN (Feb 1, 200 refunded on Jul 1),
  40 books in kind worth 1,200 to GEN (Feb 15).
* SMILE buys 100 Smile Packs for 5,000 (Jan 10): not spending. Management 300 and bank fees 20 from GEN
  (Feb 10): both from D-A's GEN gift.
* Smile batch ``2026-03-08-smile``: BEN-01..06, two packs each (600 at 50 a pack), all from D-A's SMILE gift.
* Study grants outside a batch (Apr 10): BEN-01..03, 500 each, from D-A's STUDY gift.
* Study batch ``2026-05-20-study``: BEN-04..08, 800 each: 3,200 + 300 from D-A, 500 of BEN-08's from D-B.
* A grant of 300 to BEN-07 on Jun 1, reversed on Jun 2: counts nowhere.

So D-A's SMILE gift reached 6 people, his STUDY gift 8 (3 in April, 5 in May), his GEN gift paid 320 of
management and administration; D-B's STUDY gift reached 1 (fewer than 5).
"""

from __future__ import annotations
from ledger.services import system_user

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from beneficiaries.idnumber import make_id_number
from beneficiaries.models import Beneficiary, Program
from beneficiaries.services import (
    batch_approve,
    batch_create,
    batch_post,
    beneficiary_register,
    disbursement_approve,
    disbursement_draft,
    disbursement_pay,
    disbursement_reverse,
    household_get_or_create,
)
from charity.models import Donation
from charity.services import donation_record, donation_refund, donor_create, expense_record, trust_create
from ledger import services as ledger
from ledger.models import Fund

D = dt.date
NAMES = ["王秀英", "刘桂兰", "陈美玲", "杨丽娟", "赵春燕", "黄晓梅", "周红霞", "吴淑芬"]
TRUST_NAME = "春蕾关爱妇女儿童慈善信托"


@dataclass
class Year:
    trust: object
    officer: object
    approver: object
    funds: dict
    programs: dict
    people: list = field(default_factory=list)
    donations: dict = field(default_factory=dict)

    @property
    def book(self):
        return self.trust.book

    def pii(self) -> list[str]:
        """Everything that identifies a beneficiary: names, identity numbers, phones, external ids, households,
        communities."""
        found = []
        for b in Beneficiary.objects.filter(book=self.book).select_related("household"):
            found += [b.name, b.id_number, b.phone, b.external_id, b.community]
            if b.household:
                found.append(b.household.external_id)
        return [x for x in found if x]


def person(y: Year, n: int, *, birth=D(1988, 4, 2)) -> Beneficiary:
    return beneficiary_register(
        book=y.book, external_id=f"BEN-{n:02d}", name=NAMES[(n - 1) % len(NAMES)] + ("" if n <= 8 else str(n)),
        id_number=make_id_number("320582", birth + dt.timedelta(days=n), n, "F"),
        birth_date=birth + dt.timedelta(days=n), gender="F", phone=f"1381234{n:04d}",
        household=household_get_or_create(user=system_user(), book=y.book, external_id=f"HH-{n:03d}"),
        district="姑苏区", community=f"幸福{n}社区", user=y.officer,
    )


def gift(y: Year, ext, donor, date, amount, fund, channel="bank", **kw) -> Donation:
    y.donations[ext], _created = donation_record(
        trust=y.trust, external_id=ext, date=date, amount=Decimal(amount), fund=y.funds[fund], channel=channel,
        donor=donor, user=y.officer, **kw,
    )
    return y.donations[ext]


def paid(y: Year, ext, who, program, fund, date, amount=None, quantity=1):
    d = disbursement_draft(
        book=y.book, external_id=ext, beneficiary=who, program=y.programs[program], fund=y.funds[fund], date=date,
        user=y.officer, amount=Decimal(amount) if amount is not None else None, quantity=quantity,
    )
    disbursement_approve(disbursement=d, user=y.approver)
    return disbursement_pay(disbursement=d, user=y.approver)


def batch(y: Year, code, members, program, fund, date, amount=None, quantity=1):
    b = batch_create(book=y.book, code=code, user=y.officer)
    for ext, who in members:
        disbursement_draft(
            book=y.book, external_id=ext, beneficiary=who, program=y.programs[program], fund=y.funds[fund],
            date=date, user=y.officer, amount=Decimal(amount) if amount is not None else None, quantity=quantity,
            batch=b,
        )
    batch_approve(batch=b, user=y.approver)
    return batch_post(batch=b, user=y.approver)


def make_year(officer, approver, code="CT") -> Year:
    trust = trust_create(user=system_user(), 
        code=code, name=TRUST_NAME, name_en="Spring Bud Charity Trust for Women and Children",
        trustee="苏州信托有限公司", supervisor="苏州律师事务所", filing_number="苏民慈信备2026001",
    )
    funds = {f.code: f for f in Fund.objects.filter(book=trust.book)}
    funds["SMILE"] = ledger.fund_create(user=system_user(), book=trust.book, code="SMILE", name="微笑礼包专项资金",
                                        restriction="restricted", purpose="smile_pack")
    funds["STUDY"] = ledger.fund_create(user=system_user(), book=trust.book, code="STUDY", name="助学金专项资金",
                                        restriction="restricted", purpose="study_grant")
    programs = {p.code: p for p in Program.objects.filter(book=trust.book)}
    y = Year(trust=trust, officer=officer, approver=approver, funds=funds, programs=programs)

    a = donor_create(by=system_user(), trust=trust, kind="individual", name="张捐赠", external_id="D-A", phone="13900000001")
    b = donor_create(by=system_user(), trust=trust, kind="individual", name="李匿名", external_id="D-B", anonymous=True)
    gift(y, "G-A1", a, D(2026, 1, 5), "10000", "SMILE")
    gift(y, "G-A2", a, D(2026, 1, 6), "5000", "STUDY", channel="wechat")
    gift(y, "G-A3", a, D(2026, 1, 7), "2000", "GEN")
    gift(y, "G-B1", b, D(2026, 2, 1), "3000", "STUDY")
    gift(y, "G-B2", b, D(2026, 2, 1), "1000", "GEN", channel="alipay")
    gift(y, "G-B3", b, D(2026, 2, 15), "1200", "GEN", channel="in_kind", item="books", quantity=40)
    expense_record(trust=trust, external_id="E-1", date=D(2026, 1, 10), kind="inventory_purchase",
                   fund=funds["SMILE"], amount=Decimal("5000"), item="smile_pack", quantity=100,
                   unit_cost=Decimal("50"), user=officer)
    expense_record(trust=trust, external_id="E-2", date=D(2026, 2, 10), kind="admin", fund=funds["GEN"],
                   amount=Decimal("300"), payee="房东", user=officer)
    expense_record(trust=trust, external_id="E-3", date=D(2026, 2, 10), kind="bank_fee", fund=funds["GEN"],
                   amount=Decimal("20"), user=officer)

    y.people = [person(y, n) for n in range(1, 9)]
    p = y.people
    batch(y, "2026-03-08-smile", [(f"DSB-S{n}", p[n - 1]) for n in range(1, 7)], "smile_pack", "SMILE",
          D(2026, 3, 8), quantity=2)
    for n in range(1, 4):
        paid(y, f"DSB-G{n}", p[n - 1], "study_grant", "STUDY", D(2026, 4, 10), "500")
    batch(y, "2026-05-20-study", [(f"DSB-T{n}", p[n - 1]) for n in range(4, 9)], "study_grant", "STUDY",
          D(2026, 5, 20), amount="800")
    wrong = paid(y, "DSB-X1", p[6], "study_grant", "STUDY", D(2026, 6, 1), "300")
    disbursement_reverse(disbursement=wrong, user=y.approver, date=D(2026, 6, 2), reason="paid twice")
    donation_refund(donation=y.donations["G-B2"], external_id="R-1", date=D(2026, 7, 1), user=officer,
                    reason="donor asked", amount=Decimal("200"))
    return y


def grow(y: Year, *, people: int, months: int = 6) -> None:
    """More of everything for the query pins: donors and gifts, beneficiaries, batches and single grants in many
    months, stock bought and handed out."""
    start = len(y.people) + 1
    for n in range(start, start + people):
        y.people.append(person(y, n))
    donor = donor_create(by=system_user(), trust=y.trust, kind="organisation", name="大企业", external_id="D-C")
    for m in range(1, months + 1):
        gift(y, f"G-C{m}", donor, D(2026, m, 2), "900", "STUDY")
        gift(y, f"G-C{m}s", donor, D(2026, m, 2), "300", "SMILE")
        gift(y, f"G-C{m}k", donor, D(2026, m, 3), "100", "GEN", channel="in_kind", item=f"item{m % 3}",
             quantity=5)
    expense_record(trust=y.trust, external_id="E-9", date=D(2026, 1, 11), kind="inventory_purchase",
                   fund=y.funds["SMILE"], amount=Decimal("1000"), item="smile_pack", quantity=20, user=y.officer)
    extra = y.people[start - 1:]
    for m in range(1, months + 1):
        day = D(2026, m, 25)
        chunk = extra[(m - 1) * len(extra) // months: m * len(extra) // months]
        batch(y, f"grow-{m}", [(f"DSB-g{m}-{i}", who) for i, who in enumerate(chunk)], "study_grant", "STUDY",
              day, amount="30")
        paid(y, f"DSB-p{m}", chunk[0], "smile_pack", "SMILE", day, quantity=1)
