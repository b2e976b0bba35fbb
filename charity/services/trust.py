from django.db import transaction

from beneficiaries.services import program_create, stock_item_create
from ledger import services as ledger
from ledger.authority import require

from .. import chart
from ..errors import TrustError
from ..models import Trust


@transaction.atomic
def trust_create(
    *, code: str, name: str, user, name_en: str = "", trustee: str = "", supervisor: str = "",
    filing_number: str = "", co_trustee: str = "", settlor: str = "",
) -> Trust:
    """A trust with its book, default chart of accounts, general unrestricted fund and default programs.

    ``co_trustee``: the charitable organisation that issues the official donation receipts (公益事业捐赠票据).
    Only an administrator (who holds ``charity.add_trust`` everywhere) creates trusts."""
    require(user, "charity.add_trust", None)
    if not code or len(code) > 32 or not code.replace("-", "").replace("_", "").isalnum():
        raise TrustError("a trust code is 1 to 32 letters, digits, '-' or '_'", field="code")
    if not name or len(name) > 200:
        raise TrustError("a trust name is 1 to 200 characters", field="name")
    if Trust.objects.filter(code=code).exists():
        raise TrustError(f"a trust with code {code!r} already exists", field="code")
    book = ledger.book_create(code=code, name=name)
    accounts = {}
    for line in chart.DEFAULT_CHART:
        accounts[line.code] = ledger.account_create(
            book=book, code=line.code, name=line.name, name_en=line.name_en, type=line.type,
            parent=accounts[line.parent] if line.parent else None, purpose=line.purpose,
            restriction=line.restriction, currency=line.currency,
        )
    gen_code, gen_zh, gen_en = chart.GENERAL_FUND
    ledger.fund_create(book=book, code=gen_code, name=gen_zh, name_en=gen_en, restriction="unrestricted",
                       purpose="general", user=user)
    smile = stock_item_create(
        book=book, code="smile_pack", name="微笑礼包", name_en="Smile Pack", unit="份",
        inventory_account=accounts[chart.INVENTORY_SMILE], user=user,
    )
    for prog_code, kind, zh, en, expense_code, item_code in chart.DEFAULT_PROGRAMS:
        program_create(
            book=book, code=prog_code, name=zh, name_en=en, kind=kind, expense_account=accounts[expense_code],
            stock_item=smile if item_code == "smile_pack" else None, pay_account=accounts[chart.BANK], user=user,
        )
    return Trust.objects.create(
        code=code, name=name, name_en=name_en, trustee=trustee, supervisor=supervisor, filing_number=filing_number,
        co_trustee=(co_trustee or "").strip()[:200], settlor=(settlor or "").strip()[:200], book=book,
        chart_version=chart.CHART_VERSION,
    )
