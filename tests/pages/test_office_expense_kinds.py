"""The office expense form offers the trust's fees and a program's delivery costs (issue 18)."""

from decimal import Decimal

import pytest

from charity import chart
from charity.models import Expense
from ledger import selectors
from ledger.models import Account, Fund

from .test_office_expenses import NEW, _expense, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _balance(trust, code, fund):
    return selectors.account_balance(Account.objects.get(book=trust.book, code=code),
                                     fund=Fund.objects.get(book=trust.book, code=fund))


def test_the_page_records_a_trustee_fee(client, world):
    """GEN holds 5,000.00: a trustee's fee of 1,250.00 leaves 3,750.00 in GEN's bank; 受托人报酬 1,250.00."""
    client.force_login(world["officer"])
    form = client.get(NEW).content.decode()
    assert 'value="trustee_fee"' in form and 'value="program_cost"' in form and 'name="program"' in form
    response = client.post(NEW, _expense(external_id="FEE-1", kind="trustee_fee", amount="1250.00", payee="某信托公司"))
    assert response.status_code == 302
    expense = Expense.objects.get(external_id="FEE-1")
    assert expense.kind == "trustee_fee" and expense.amount.amount == Decimal("1250.00")
    trust = world["trust"]
    assert _balance(trust, chart.TRUSTEE_FEE, "GEN") == Decimal("1250.00")
    assert _balance(trust, chart.BANK, "GEN") == Decimal("3750.00")
    assert "FEE-1" in client.get("/office/expenses/?trust=CT&kind=trustee_fee").content.decode()


def test_the_page_records_a_program_cost_from_the_programs_fund(client, world):
    """SMILE holds 3,000.00; delivery of Smile Packs 400.00 from SMILE: 业务活动成本—微笑礼包 400.00 in SMILE."""
    client.force_login(world["officer"])
    response = client.post(NEW, _expense(external_id="PC-1", kind="program_cost", fund="SMILE", amount="400.00",
                                         program="smile_pack"))
    assert response.status_code == 302
    assert _balance(world["trust"], chart.PROGRAM_SMILE, "SMILE") == Decimal("400.00")
    csv = client.get("/office/expenses/?trust=CT&format=csv").content.decode("utf-8-sig").splitlines()
    # program, then the payable's columns (trailing, blank for an expense paid at once)
    assert csv[0].endswith(",program,payable,due_date") and any(
        line.startswith("PC-1,") and line.endswith(",smile_pack,,") for line in csv)


@pytest.mark.parametrize("bad, field", [
    ({"kind": "program_cost"}, "program"),
    ({"kind": "program_cost", "fund": "SMILE", "program": "study_grant"}, "fund"),
    ({"kind": "custodian_fee", "fund": "SMILE"}, "fund"),
    ({"kind": "supervisor_fee", "program": "general"}, "program"),
])
def test_refusals_show_on_the_field(client, world, bad, field):
    client.force_login(world["officer"])
    response = client.post(NEW, _expense(**bad))
    assert response.status_code == 400 and f'id="error-{field}"' in response.content.decode()
    assert not Expense.objects.filter(external_id="E-100").exists()


def test_the_auditor_may_not_record_a_fee(client, world):
    client.force_login(world["auditor"])
    assert client.post(NEW, _expense(kind="trustee_fee")).status_code == 403
    assert not Expense.objects.exists()
