"""A believable year of the demo trust, generated deterministically from a seed, as the seven CSV kinds.

``demo_year(...)`` returns ``{kind: [row dict, ...]}`` in the formats of docs/formats.md (the platforms' weekly
payouts as ``settlements``), so that ``seed_demo``
loads it through exactly the same importers as ``import_csv`` (and ``seed_demo --export DIR`` writes the same
rows as files). Everything is fictitious: names are drawn from common characters, identity numbers are valid in
form (check digit, birth date, sex digit) but built from a district code and random sequence numbers.

The year: donors (individuals, companies, a few anonymous, a few giving in HKD and USD) give through bank,
WeChat and Alipay; a charity yoga and family sports day in May brings a burst of small gifts and 1,200 donated
books; 9 September (99 Giving Day) is the peak; Smile Packs are bought and handed out to single mothers at
festivals; the 8·26 study-assistance day pays grants to a few hundred students in one batch; management
expenses and bank fees stay within the ratio thresholds; one refund. Nothing is dated after ``today``.
The generator simulates fund balances and stock so that no fund is overspent and no stock goes negative.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

from ledger.models import CENT

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
FEMALE = "秀英桂兰玉梅芳丽娜敏静燕艳娟霞红华平琳雪慧婷颖洁莉晶瑶佳怡欣悦雯倩蓉薇岚萍凤琴云莹"
MALE = "伟强磊军勇杰涛斌超明辉刚健鹏飞浩宇轩然博文俊凯睿泽晨阳航昊铭"
COMPANIES = [
    "广州市明德科技有限公司", "珠江建设集团有限公司", "岭南食品股份有限公司", "海珠区妇女联合会", "广东华安物流有限公司",
    "南方之星教育咨询有限公司", "羊城印刷有限公司", "天河律师事务所", "越秀会计师事务所", "白云山康健药业有限公司",
    "粤海电子有限公司", "穗安保险代理有限公司", "番禺纺织有限公司", "花城文化传播有限公司", "荔湾百货有限公司",
    "东山餐饮管理有限公司", "黄埔港航运有限公司", "从化温泉度假村有限公司", "增城荔枝合作社", "南沙新能源有限公司",
]
FOREIGN_DONORS = [("HKD", "香港仁爱基金会"), ("HKD", "陈嘉欣"), ("USD", "Li Family Foundation"), ("USD", "Grace Wong")]
DISTRICT = ("440105", "海珠区")
COMMUNITIES = [
    "南华西街道龙凤社区", "南华西街道同庆社区", "江南中街道江南社区", "昌岗街道晓园社区", "素社街道素社社区",
    "新港街道康乐社区", "滨江街道东滨社区", "赤岗街道赤岗社区", "凤阳街道康鹭社区", "瑞宝街道瑞宝社区",
    "江海街道红卫社区", "琶洲街道黄埔村社区", "南石头街道南泰社区", "沙园街道沙园社区", "官洲街道北山社区",
]
FUNDS = [
    {"code": "SMILE", "name": "微笑礼包专项资金", "restriction": "restricted", "program": "smile_pack",
     "description": "为困难单亲母亲购买并发放微笑礼包"},
    {"code": "STUDY", "name": "助学金专项资金", "restriction": "restricted", "program": "study_grant",
     "description": "困难家庭子女助学金"},
    {"code": "ENDOW", "name": "母亲留本基金", "restriction": "endowment", "program": "general",
     "description": "留本基金：本金不得动用，只使用其收益"},
]
# The demo trust is a charity trust: its spending rule is its deed's (charity.spending). In its first year there
# is no previous year's income, so the floor reads n/a; management stays under the cap.
DEMO_SPENDING_POLICY = {
    "preset": "charity_trust_deed", "base": "prior_year_income", "floor": Decimal("0.70"), "cap": Decimal("0.10"),
    "count_endowment_principal": False, "count_in_kind": False,
    "deed_reference": "信托合同第十二条：每年慈善活动支出不低于上一年度收入（不含留本基金本金和实物捐赠）的70%，"
                      "管理费用不高于当年总支出的10%（示例）",
}
PACK_COST = Decimal("200.00")
# WeChat Pay and Alipay gifts carry the platform's order id (商户订单号); the platforms pay out every Monday what
# they took to the Sunday before, less their fee (0.6%), under a payout number of their own.
ORDER_PREFIX = {"wechat": "WX", "alipay": "AP"}
PAYOUT_PREFIX = {"wechat": "WXS", "alipay": "APS"}
PLATFORM_FEE = Decimal("0.006")
RATES = {"HKD": Decimal("0.91960"), "USD": Decimal("7.12450")}


def _money(value) -> str:
    return str(Decimal(value).quantize(CENT))


def check_digit(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of a resident identity number."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(body17, weights))
    return "10X98765432"[total % 11]


def _id_number(rng: random.Random, birth: dt.date, gender: str, used: set[str]) -> str:
    while True:
        seq = rng.randrange(0, 1000)
        if (seq % 2 == 1) != (gender == "M"):
            seq = (seq + 1) % 1000
        body = f"{DISTRICT[0]}{birth:%Y%m%d}{seq:03d}"
        number = body + check_digit(body)
        if number not in used:
            used.add(number)
            return number


def _name(rng: random.Random, gender: str, surname: str | None = None) -> str:
    pool = FEMALE if gender == "F" else MALE
    given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
    return (surname or rng.choice(SURNAMES)) + given


def _phone(rng: random.Random) -> str:
    return rng.choice(["138", "139", "135", "136", "150", "186", "188", "137"]) + f"{rng.randrange(10**8):08d}"


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def demo_year(*, year: int, today: dt.date, beneficiaries: int = 500, donations: int = 3000, seed: int = 1):
    rng = random.Random(seed)
    start = dt.date(year, 1, 1)
    end = min(dt.date(year, 12, 31), today)
    if end < start:
        raise ValueError(f"year {year} has not begun")

    def in_year(month: int, day: int) -> dt.date | None:
        date = dt.date(year, month, day)
        return date if start <= date <= end else None

    # -- donors
    donor_rows = []
    n_individual = max(10, int(donations * 0.28))
    for i in range(1, n_individual + 1):
        gender = "F" if rng.random() < 0.62 else "M"
        donor_rows.append({
            "external_id": f"D-{i:05d}", "kind": "individual", "name": _name(rng, gender),
            "anonymous": "true" if rng.random() < 0.02 else "false",
            "email": f"donor{i}@example.org" if rng.random() < 0.3 else "",
            "phone": _phone(rng) if rng.random() < 0.4 else "",
        })
    orgs = []
    for name in COMPANIES:
        i = len(donor_rows) + 1
        donor_rows.append({"external_id": f"D-{i:05d}", "kind": "organisation", "name": name, "anonymous": "false",
                           "email": f"csr{i}@example.com", "phone": ""})
        orgs.append(donor_rows[-1]["external_id"])
    foreign = []
    for currency, name in FOREIGN_DONORS:
        i = len(donor_rows) + 1
        kind = "organisation" if "基金会" in name or "Foundation" in name else "individual"
        donor_rows.append({"external_id": f"D-{i:05d}", "kind": kind, "name": name, "anonymous": "false",
                           "email": "", "phone": ""})
        foreign.append((donor_rows[-1]["external_id"], currency))
    individuals = [d["external_id"] for d in donor_rows[:n_individual]]

    # -- donations (the fund balances are tracked to keep spending feasible)
    income: dict[str, Decimal] = defaultdict(Decimal)
    donation_rows = []
    counter = 0

    def add(date, donor, amount, fund, channel, currency="CNY", item="", quantity="", description="爱心捐赠"):
        nonlocal counter
        counter += 1
        rate = RATES.get(currency)
        cny = amount if rate is None else (amount * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)
        income[fund] += cny
        prefix = ORDER_PREFIX.get(channel)
        donation_rows.append({
            "external_id": f"DN-{counter:06d}", "date": date.isoformat(), "donor_external_id": donor,
            "amount": _money(amount), "currency": currency, "fx_rate": str(rate) if rate else "", "channel": channel,
            "fund_code": fund, "item": item, "quantity": str(quantity) if quantity else "", "description": description,
            "order_id": f"{prefix}{date:%Y%m%d}{counter:06d}" if prefix else "",
        })

    giving_day = in_year(9, 9)
    sports_day = in_year(5, 16)
    peak = int(donations * 0.12) if giving_day else 0
    burst = int(donations * 0.06) if sports_day else 0
    regular = max(0, donations - peak - burst - 1 - len(foreign) * 2 - len(orgs))
    funds_weights = [("GEN", 0.42), ("SMILE", 0.26), ("STUDY", 0.27), ("ENDOW", 0.05)]

    def pick_fund():
        x = rng.random()
        for code, weight in funds_weights:
            if x < weight:
                return code
            x -= weight
        return "GEN"

    dated = []
    for _ in range(regular):
        dated.append((_day(rng, start, end), "regular"))
    for _ in range(peak):
        dated.append((giving_day, "giving_day"))
    for _ in range(burst):
        dated.append((sports_day, "sports_day"))
    for donor in orgs:
        dated.append((_day(rng, start, end), donor))
    for donor, currency in foreign:
        for _ in range(2):
            dated.append((_day(rng, start, end), (donor, currency)))
    dated.sort(key=lambda item: (item[0], str(item[1])))
    for date, kind in dated:
        channel = rng.choice(["bank", "wechat", "wechat", "alipay", "alipay", "bank"])
        if kind == "regular":
            donor = "" if rng.random() < 0.03 else rng.choice(individuals)
            amount = Decimal(rng.choice([10, 20, 30, 50, 50, 100, 100, 200, 200, 300, 500, 1000, 2000]))
            description = "月捐" if amount <= 50 and rng.random() < 0.3 else "爱心捐赠"
            add(date, donor, amount, pick_fund(), channel, description=description)
        elif kind == "giving_day":
            amount = Decimal(rng.choice([9.9, 19.9, 29.9, 50, 99, 99, 199, 500])).quantize(CENT)
            add(date, rng.choice(individuals), amount, rng.choice(["SMILE", "STUDY", "STUDY", "GEN"]),
                rng.choice(["wechat", "alipay"]), description="99公益日捐赠")
        elif kind == "sports_day":
            amount = Decimal(rng.choice([20, 30, 50, 66, 88, 100]))
            add(date, rng.choice(individuals), amount, "GEN", rng.choice(["wechat", "alipay", "cash"]),
                description="慈善瑜伽与亲子运动会现场捐赠")
        elif isinstance(kind, tuple):
            donor, currency = kind
            amount = Decimal(rng.randrange(2000, 12000)) + Decimal(rng.randrange(100)) / 100
            add(date, donor, amount, rng.choice(["SMILE", "STUDY", "GEN"]), "bank", currency=currency,
                description=f"境外捐赠（{currency}）")
        else:
            amount = Decimal(rng.choice([10000, 20000, 30000, 50000, 80000]))
            add(date, kind, amount, rng.choice(["SMILE", "STUDY", "STUDY", "ENDOW", "GEN"]), "bank",
                description="企业捐赠")
    if sports_day:
        add(sports_day, orgs[6], Decimal("30000.00"), "GEN", "in_kind", item="books", quantity=1200,
            description="实物捐赠：图书 1200 册，公允价值 25.00 元/册")

    # -- beneficiaries: households of a single mother and her children
    used_ids: set[str] = set()
    ben_rows = []
    households = []
    mothers = max(1, round(beneficiaries * 0.6))
    made = 0
    for h in range(1, mothers + 1):
        if made >= beneficiaries:
            break
        surname = rng.choice(SURNAMES)
        community = rng.choice(COMMUNITIES)
        birth = dt.date(year - rng.randrange(26, 50), rng.randrange(1, 13), rng.randrange(1, 29))
        made += 1
        mother = {
            "external_id": f"BEN-{made:04d}", "name": _name(rng, "F", surname),
            "id_number": _id_number(rng, birth, "F", used_ids), "birth_date": birth.isoformat(), "gender": "F",
            "household_id": f"HH-{h:04d}", "guardian_external_id": "", "district": DISTRICT[1],
            "community": community, "phone": _phone(rng),
        }
        ben_rows.append(mother)
        children = []
        remaining_households = mothers - h
        remaining_people = beneficiaries - made
        max_children = max(0, remaining_people - remaining_households)
        wanted = min(max_children, rng.choice([0, 1, 1, 1, 2, 2]))
        for _ in range(wanted):
            gender = rng.choice("FM")
            age = rng.randrange(4, 18)
            child_birth = dt.date(year - age, rng.randrange(1, 13), rng.randrange(1, 29))
            made += 1
            children.append({
                "external_id": f"BEN-{made:04d}", "name": _name(rng, gender, rng.choice(SURNAMES)),
                "id_number": _id_number(rng, child_birth, gender, used_ids),
                "birth_date": child_birth.isoformat(), "gender": gender, "household_id": f"HH-{h:04d}",
                "guardian_external_id": mother["external_id"], "district": DISTRICT[1], "community": community,
                "phone": "",
            })
        ben_rows.extend(children)
        households.append((mother, children))

    # -- expenses and disbursements, simulated day by day against fund balances and stock
    expense_rows: list[dict] = []
    disb_rows: list[dict] = []
    spent: dict[str, Decimal] = defaultdict(Decimal)
    packs = 0
    ex_counter = 0
    ds_counter = 0

    def income_by(date: dt.date, fund: str) -> Decimal:
        return sum((Decimal(r["amount"]) * Decimal(r["fx_rate"] or 1)).quantize(CENT, rounding=ROUND_HALF_EVEN)
                   for r in donation_rows if r["fund_code"] == fund and r["date"] <= date.isoformat())

    def expense(date, kind, fund, amount, item="", quantity="", unit_cost="", payee="", description=""):
        nonlocal ex_counter
        ex_counter += 1
        expense_rows.append({
            "external_id": f"EX-{ex_counter:05d}", "date": date.isoformat(), "kind": kind, "fund_code": fund,
            "amount": _money(amount), "item": item, "quantity": str(quantity) if quantity else "",
            "unit_cost": _money(unit_cost) if unit_cost else "", "payee": payee, "description": description,
        })

    def hand_out(date, beneficiary, program, fund, amount, quantity, batch, description):
        nonlocal ds_counter
        ds_counter += 1
        disb_rows.append({
            "external_id": f"DS-{ds_counter:06d}", "date": date.isoformat(),
            "beneficiary_external_id": beneficiary["external_id"], "program": program, "fund_code": fund,
            "amount": _money(amount) if amount else "", "quantity": str(quantity) if quantity else "",
            "batch": batch, "description": description,
        })

    # Management expenses: rent and staff each month; bank fees; all paid from GEN (kept well under 10%).
    month = 1
    while True:
        first = dt.date(year, month, 1)
        if first > end:
            break
        pay_day = min(dt.date(year, month, 25), end)
        if pay_day >= first:
            expense(pay_day, "admin", "GEN", Decimal("2000.00"), payee="海珠区某物业管理有限公司", description="办公场地租金")
            expense(pay_day, "admin", "GEN", Decimal(rng.randrange(500, 1500)) + Decimal(rng.randrange(100)) / 100,
                    payee="项目执行团队", description="行政办公费用")
            expense(pay_day, "bank_fee", "GEN", Decimal(rng.choice([10, 15, 20, 25])), payee="托管银行",
                    description="账户管理及转账手续费")
        month += 1
        if month > 12:
            break

    festivals = [
        (in_year(2, 10), "spring-festival", "春节微笑礼包"),
        (in_year(3, 8), "womens-day", "三八妇女节微笑礼包"),
        (in_year(5, 10), "mothers-day", "母亲节微笑礼包"),
        (in_year(9, 25), "mid-autumn", "中秋微笑礼包"),
        (in_year(12, 20), "winter", "冬季微笑礼包"),
    ]
    for date, slug, description in festivals:
        if date is None:
            continue
        buy_day = date - dt.timedelta(days=7)
        if buy_day < start:
            buy_day = date
        available = income_by(buy_day, "SMILE") - spent["SMILE"] - packs * PACK_COST
        wanted = min(len(households), 160)
        affordable = int(available // PACK_COST) + packs
        count = min(wanted, affordable)
        to_buy = max(0, count - packs)
        if to_buy:
            expense(buy_day, "inventory_purchase", "SMILE", PACK_COST * to_buy, item="smile_pack", quantity=to_buy,
                    unit_cost=PACK_COST, payee="广州市暖阳礼品供应链有限公司",
                    description=f"采购微笑礼包 {to_buy} 份 @ {PACK_COST}")
            packs += to_buy
        chosen = rng.sample(households, min(count, packs))
        batch = f"{date.isoformat()}-{slug}"
        for mother, _children in sorted(chosen, key=lambda h: h[0]["external_id"]):
            hand_out(date, mother, "smile_pack", "SMILE", None, 1, batch, description)
            packs -= 1
            spent["SMILE"] += PACK_COST

    study_day = in_year(8, 26)
    if study_day:
        students = [c for _m, children in households for c in children
                    if 6 <= (study_day - dt.date.fromisoformat(c["birth_date"])).days // 365 <= 18]
        available = {"STUDY": income_by(study_day, "STUDY") - spent["STUDY"],
                     "GEN": (income_by(study_day, "GEN") - sum(Decimal(e["amount"]) for e in expense_rows
                                                                if e["fund_code"] == "GEN"
                                                                and e["date"] <= study_day.isoformat())) * Decimal("0.5")}
        batch = f"{study_day.isoformat()}-study-day"
        for student in students:
            age = (study_day - dt.date.fromisoformat(student["birth_date"])).days // 365
            amount = Decimal(1000 if age < 12 else 1500 if age < 15 else 2000)
            fund = "STUDY" if available["STUDY"] >= amount else "GEN" if available["GEN"] >= amount else None
            if fund is None:
                continue
            available[fund] -= amount
            spent[fund] += amount
            hand_out(study_day, student, "study_grant", fund, amount, None, batch, "8·26助学日助学金")

    # One refund: a recent general gift returned in full (it is still unspent: FIFO spends the oldest first).
    refund_rows = []
    candidates = [r for r in donation_rows if r["fund_code"] == "GEN" and r["channel"] == "bank"
                  and r["currency"] == "CNY" and r["donor_external_id"]]
    if candidates:
        gift = candidates[-1]
        refund_day = min(end, dt.date.fromisoformat(gift["date"]) + dt.timedelta(days=3))
        refund_rows.append({"external_id": "RF-0001", "date": refund_day.isoformat(),
                            "donation_external_id": gift["external_id"], "amount": "",
                            "reason": "捐赠人误操作重复转账，原路退回"})

    fund_rows = [dict(row) for row in FUNDS]
    settlement_rows = _payouts(donation_rows, start, end)
    return {
        "funds": fund_rows,
        "donors": donor_rows,
        "donations": donation_rows,
        "beneficiaries": ben_rows,
        "expenses": sorted(expense_rows, key=lambda r: (r["date"], r["external_id"])),
        "disbursements": disb_rows,
        "refunds": refund_rows,
        "settlements": settlement_rows,
    }


def _payouts(donation_rows: list[dict], start: dt.date, end: dt.date) -> list[dict]:
    """Weekly payouts per platform, as ``import_csv settlements`` rows (one per gift settled)."""
    rows = []
    pending = {channel: [r for r in donation_rows if r["channel"] == channel and r["currency"] == "CNY"]
               for channel in PAYOUT_PREFIX}
    monday = start + dt.timedelta(days=(7 - start.weekday()) % 7 or 7)
    while monday <= end:
        for channel, gifts in pending.items():
            due = [r for r in gifts if r["date"] < monday.isoformat()]
            if not due:
                continue
            pending[channel] = gifts[len(due):]  # gifts are in date order
            gross = sum(Decimal(r["amount"]) for r in due)
            fee = (gross * PLATFORM_FEE).quantize(CENT, rounding=ROUND_HALF_EVEN)
            reference = f"{PAYOUT_PREFIX[channel]}{monday:%Y%m%d}"
            rows += [{"reference": reference, "date": monday.isoformat(), "channel": channel, "fee": _money(fee),
                      "order_id": r["order_id"]} for r in due]
        monday += dt.timedelta(days=7)
    return rows
