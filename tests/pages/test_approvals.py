"""The approver's start page: one inbox of what waits in the trust, and buttons that each call one service."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from beneficiaries.idnumber import make_id_number
from beneficiaries.models import Disbursement, DisbursementBatch
from beneficiaries.services import batch_create, beneficiary_register, disbursement_draft
from charity import roles
from charity.models import ExpenseRequest, ManualEntry
from charity.services import expense_request_draft, manual_entry_draft
from ledger.services import system_user
from tests.beneficiaries.conftest import give, make_aid
from tests.conftest import grant

D = dt.date(2026, 3, 2)
ID_NUMBER = make_id_number("440105", dt.date(2014, 2, 1), 201, "M")
MOTHER_ID = make_id_number("440105", dt.date(1988, 1, 1), 100, "F")
URL = "/office/approvals/"


@pytest.fixture
def world(db, officer, approver, django_user_model):
    aid = make_aid("CT")
    trust = aid.book.trust
    give(aid, aid.study, "5000.00", officer)
    give(aid, aid.gen, "100.00", officer)
    mother = beneficiary_register(book=aid.book, external_id="M-0", name="母亲甲", id_number=MOTHER_ID,
                                  birth_date=dt.date(1988, 1, 1), gender="F", user=officer)
    kid = beneficiary_register(book=aid.book, external_id="K-0", name="孩子甲", id_number=ID_NUMBER,
                               birth_date=dt.date(2014, 2, 1), gender="M", user=officer, guardian=mother)
    manual = manual_entry_draft(trust=trust, date=D, memo="correction", user=officer, legs=[
        {"account": "100201", "fund": "GEN", "debit": "1.00"}, {"account": "410101", "fund": "GEN", "credit": "1.00"}])
    expense = expense_request_draft(trust=trust, external_id="E-2", date=D, kind="admin", fund=aid.gen,
                                    amount=Decimal("12.34"), user=officer)
    single = disbursement_draft(book=aid.book, external_id="DS-1", beneficiary=kid, program=aid.study_grant,
                                fund=aid.study, date=D, amount=Decimal("300.00"), user=officer)
    batch = batch_create(book=aid.book, code="B-1", user=officer)
    for n in (2, 3):
        disbursement_draft(book=aid.book, external_id=f"DS-{n}", beneficiary=kid, program=aid.study_grant,
                           fund=aid.study, date=D, amount=Decimal("100.00"), user=officer, batch=batch)
    auditor = grant(django_user_model.objects.create_user("auditor"), roles.AUDITOR, trust)
    return {"trust": trust, "manual": manual, "expense": expense, "single": single, "batch": batch,
            "officer": officer, "approver": approver, "auditor": auditor}


def _post(client, kind, obj, action, **extra):
    return client.post(f"{URL}?trust=CT", {"trust": "CT", "kind": kind, "pk": obj.pk, "action": action, **extra})


def _forms(html: str) -> list[str]:
    """The forms that write, leaving out the header's sign-out and language switch."""
    return [f for f in re.findall(r"<form[^>]*method=\"post\".*?</form>", html, re.S)
            if "logout" not in f and "set_language" not in f and "language" not in f]


def test_the_inbox_shows_everything_that_waits(client, world):
    client.force_login(world["approver"])
    html = client.get(URL).content.decode()
    for row in (f"manual-{world['manual'].pk}", f"expense-{world['expense'].pk}", f"disbursement-{world['single'].pk}",
                f"batch-{world['batch'].pk}"):
        assert f'id="{row}"' in html
    assert "410101" in html and "12.34" in html and "300.00" in html
    assert "200.00" in html  # the batch's total of two members
    assert html.count("officer") >= 4  # who drafted each
    assert "DS-2" not in html  # batch members are decided with their batch


def test_approver_approves_entry_and_expense_and_approves_then_posts_a_batch(client, world):
    client.force_login(world["approver"])
    response = _post(client, "manual", world["manual"], "approve")
    assert response.status_code == 302 and response["Location"] == f"{URL}?trust=CT"
    assert ManualEntry.objects.get(pk=world["manual"].pk).status == "posted"
    assert _post(client, "expense", world["expense"], "approve").status_code == 302
    assert ExpenseRequest.objects.get(pk=world["expense"].pk).status == "posted"
    assert _post(client, "batch", world["batch"], "approve").status_code == 302
    assert DisbursementBatch.objects.get(pk=world["batch"].pk).status == "approved"
    page = client.get(f"{URL}?trust=CT").content.decode()
    assert 'value="post"' in page  # the approved batch now waits to be posted
    done = client.post(f"{URL}?trust=CT", {"trust": "CT", "kind": "batch", "pk": world["batch"].pk,
                                           "action": "post"}, follow=True)
    assert "B-1" in done.content.decode()
    assert DisbursementBatch.objects.get(pk=world["batch"].pk).status == "posted"
    assert set(Disbursement.objects.filter(batch=world["batch"]).values_list("status", flat=True)) == {"paid"}


def test_approver_approves_and_pays_a_single_disbursement(client, world):
    client.force_login(world["approver"])
    assert _post(client, "disbursement", world["single"], "approve").status_code == 302
    assert _post(client, "disbursement", world["single"], "pay").status_code == 302
    assert Disbursement.objects.get(pk=world["single"].pk).status == "paid"


def test_officer_sees_her_drafts_marked_and_her_approval_is_refused(client, world):
    client.force_login(world["officer"])
    html = client.get(URL).content.decode()
    assert html.count('class="mine"') == 4
    assert not _forms(html) and 'value="approve"' not in html
    response = _post(client, "manual", world["manual"], "approve")
    assert response.status_code == 403
    assert f"#{world['manual'].pk}" in response.content.decode()  # the message names the item
    assert ManualEntry.objects.get(pk=world["manual"].pk).status == "draft"


def test_both_roles_in_one_person_see_their_approve_button_disabled(client, world, both):
    trust = world["trust"]
    mine = manual_entry_draft(trust=trust, date=D, memo="mine", user=both, legs=[
        {"account": "100201", "fund": "GEN", "debit": "2.00"}, {"account": "410101", "fund": "GEN", "credit": "2.00"}])
    client.force_login(both)
    html = client.get(URL).content.decode()
    row = re.search(rf'<tr id="manual-{mine.pk}">.*?</tr>\n', html, re.S).group(0)
    assert "drafted by you" in row or "由您起草" in row
    assert "disabled" in row and 'value="approve"' not in row
    response = _post(client, "manual", mine, "approve")  # the service refuses, whatever the page shows
    assert response.status_code == 400 and "another user" in response.content.decode()
    assert ManualEntry.objects.get(pk=mine.pk).status == "draft"


def test_auditor_sees_the_list_with_no_form_that_writes(client, world):
    client.force_login(world["auditor"])
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="manual-{world["manual"].pk}"' in html
    assert not _forms(html) and "<button" not in html.split("</header>", 1)[1]
    assert _post(client, "batch", world["batch"], "approve").status_code == 403
    assert DisbursementBatch.objects.get(pk=world["batch"].pk).status == "draft"


def test_a_rejection_needs_a_reason(client, world):
    client.force_login(world["approver"])
    response = _post(client, "manual", world["manual"], "reject", reason="  ")
    assert response.status_code == 400 and "reason" in response.content.decode()
    assert ManualEntry.objects.get(pk=world["manual"].pk).status == "draft"
    assert _post(client, "manual", world["manual"], "reject", reason="wrong account").status_code == 302
    manual = ManualEntry.objects.get(pk=world["manual"].pk)
    assert manual.status == "rejected" and manual.reason == "wrong account"
    assert _post(client, "disbursement", world["single"], "cancel").status_code == 400
    assert Disbursement.objects.get(pk=world["single"].pk).status == "draft"


def test_an_item_of_another_trust_or_no_action(client, world):
    client.force_login(world["approver"])
    assert client.post(URL, {}).status_code == 400
    assert client.post(URL, {"kind": "manual", "pk": "999999", "action": "approve"}).status_code == 404


def test_no_full_identity_number_on_the_page(client, world):
    client.force_login(world["approver"])
    html = client.get(URL).content.decode()
    assert ID_NUMBER not in html and ID_NUMBER[-4:] not in html and MOTHER_ID not in html
    assert "44****************" in html
    assert "孩子甲" not in html


def test_the_page_in_english_and_chinese(client, world):
    client.force_login(world["approver"])
    english = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Approvals" in english and "Approve" in english and "Manual journal entries" in english
    client.cookies.load({"django_language": "zh-hans"})
    chinese = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "审批" in chinese and "手工记账凭证" in chinese
    assert "Manual journal entries" not in chinese


def test_the_navigation_follows_the_roles_held_in_a_trust(client, django_user_model):
    """Roles are per trust: the links show for what the user may do in some trust, and the admin for admins."""
    from charity import roles
    from charity.services import trust_create
    from ledger.services import system_user
    from tests.conftest import grant

    trust = trust_create(code="NAV", name="导航信托", user=system_user())
    seen = {}
    for name, role in (("o", roles.OFFICER), ("a", roles.APPROVER), ("u", roles.AUDITOR), ("n", None)):
        user = django_user_model.objects.create_user(f"nav-{name}")
        if role:
            grant(user, role, trust)
        client.force_login(user)
        page = client.get("/disclosure/?trust=NAV", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        seen[name] = {link for link in ("/auditor/", "/office/approvals/", "/office/import/", "/office/close/",
                                        'href="/admin/"') if link in page}
    assert seen["o"] == {"/auditor/", "/office/approvals/", "/office/import/"}
    assert seen["a"] == {"/auditor/", "/office/approvals/", "/office/close/"}
    assert seen["u"] == {"/auditor/", "/office/approvals/"}
    assert seen["n"] == set()


def test_the_approver_starts_on_her_inbox_and_the_auditor_on_the_reports(client, world):
    client.force_login(world["approver"])
    assert client.get("/").url == "/office/approvals/"
    client.force_login(world["auditor"])
    assert client.get("/").url == "/auditor/"
