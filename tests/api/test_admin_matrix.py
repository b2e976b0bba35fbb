"""The admin is for administrators: every registered model and every admin action, tried by the whole cast.

The models and actions come from the admin itself (``admin.site._registry`` and each ModelAdmin's
``get_actions``), so a model registered tomorrow is checked without a line here, and an action added tomorrow
fails ``test_every_action_has_a_row`` until ``ACTIONS`` says what it should do.

* Every model's changelist, and its add page where it has one: 200 for the administrator; every other member of
  the cast, signed in or not, is sent to the admin's sign-in page (302).
* Every action, POSTed on the changelist as Django's action form does: by anyone but the administrator it
  changes nothing (the object's row is the same before and after); by the administrator it goes through the
  service, so the object changes, or the service's refusal is shown (four eyes: the drafter never approves).

Each request runs in a transaction that is rolled back, so one role's action never changes what the next sees.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from tests.conftest import grant

ROLES = ["officer", "approver", "auditor", "donor", "outsider", "anonymous", "administrator"]
CHANGED = "changed"  # the administrator's action changed the object

# (model label, action): [(the object it is tried on, what the administrator's request does: CHANGED or the
# service's refusal)]
ACTIONS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("beneficiaries.Disbursement", "approve"): [("DS-0", CHANGED), ("DS-ADM", "another user must approve it")],
    ("beneficiaries.Disbursement", "pay"): [("DS-1", CHANGED), ("DS-0", "cannot be paid")],
    ("beneficiaries.Disbursement", "cancel"): [("DS-0", CHANGED)],
    ("beneficiaries.DisbursementBatch", "approve"): [("B-1", CHANGED), ("B-ADM", "another user must approve it")],
    ("beneficiaries.DisbursementBatch", "post"): [("B-2", CHANGED), ("B-1", "only an approved batch is posted")],
    ("auth.Group", "delete_selected"): [("group", CHANGED)],
    ("charity.Membership", "delete_selected"): [("membership", CHANGED)],
    ("auth.User", "delete_selected"): [("user", CHANGED)],
    ("axes.AccessAttempt", "delete_selected"): [("attempt", CHANGED)],
    ("axes.AccessAttempt", "cleanup_expired_attempts"): [("attempt", CHANGED)],
    ("axes.AccessLog", "delete_selected"): [("access-log", CHANGED)],
    ("axes.AccessFailureLog", "delete_selected"): [("failure-log", CHANGED)],
}



def _expire(obj):
    """axes removes expired attempts at every sign-in (the cast's force_login): the attempt ages only here."""
    type(obj).objects.filter(pk=obj.pk).update(attempt_time=timezone.now() - dt.timedelta(days=2))


# (model label, action): what to do to the object first, inside the request's transaction
BEFORE = {("axes.AccessAttempt", "cleanup_expired_attempts"): _expire}


def _as_administrator():
    """A request by a superuser, made without the database: enough to ask each ModelAdmin for its actions."""
    request = RequestFactory().get("/admin/")
    request.user = get_user_model()(username="root", is_superuser=True, is_active=True)
    return request


MODELS = {model._meta.label: model_admin for model, model_admin in admin.site._registry.items()}
ACTIONS_THERE_ARE = sorted((label, name) for label, ma in MODELS.items() for name in ma.get_actions(_as_administrator()))


def test_every_action_has_a_row():
    missing = sorted(set(ACTIONS_THERE_ARE) - set(ACTIONS))
    assert not missing, f"admin actions with no row in ACTIONS (decide what they do, on what): {missing}"
    stale = sorted(set(ACTIONS) - set(ACTIONS_THERE_ARE))
    assert not stale, f"rows in ACTIONS for admin actions that no longer exist: {stale}"


# -- the world: one of each, built once for the module ----------------------------------------------------------


def _build():
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from beneficiaries.idnumber import make_id_number
    from beneficiaries.models import Program
    from beneficiaries.services import (batch_approve, batch_create, beneficiary_register, disbursement_approve,
                                        disbursement_draft, household_get_or_create)
    from charity import roles
    from charity.services import donation_record, donor_create, trust_create
    from ledger import services as ledger
    from ledger.services import system_user

    users = {name: get_user_model().objects.create_user(name) for name in ROLES if name != "anonymous"}
    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托", name_en="Caring Trust")
    for name, role in (("officer", roles.OFFICER), ("approver", roles.APPROVER), ("auditor", roles.AUDITOR)):
        grant(users[name], role, trust)
    grant(users["administrator"], roles.ADMINISTRATOR)
    officer, approver, administrator = users["officer"], users["approver"], users["administrator"]
    donor_create(by=system_user(), trust=trust, kind="individual", name="甲捐赠人", external_id="D-A",
                 user=users["donor"])
    book = trust.book
    study = ledger.fund_create(user=system_user(), book=book, code="STUDY", name="助学金专项资金",
                               restriction="restricted", purpose="study_grant")
    day = dt.date(2026, 3, 2)
    donation_record(trust=trust, external_id="DN-A", date=day, amount=Decimal("5000.00"), fund=study,
                    channel="bank", user=officer)
    program = Program.objects.get(book=book, code="study_grant")
    household = household_get_or_create(user=system_user(), book=book, external_id="HH-0")
    mother = beneficiary_register(
        book=book, external_id="M-0", name="母亲", user=officer, gender="F", household=household,
        id_number=make_id_number("440105", dt.date(1988, 1, 1), 100, "F"), birth_date=dt.date(1988, 1, 1),
    )
    objects = {}

    def draft(external_id, n, user, batch=None):
        kid = beneficiary_register(
            book=book, external_id=f"K-{n}", name=f"孩子{n}", user=officer, gender="M", household=household,
            id_number=make_id_number("440105", dt.date(2014, 2, n), 200 + n, "M"), birth_date=dt.date(2014, 2, n),
            guardian=mother,
        )
        objects[external_id] = disbursement_draft(
            book=book, external_id=external_id, beneficiary=kid, fund=study, date=dt.date(2026, 3, 5),
            program=program, user=user, amount=Decimal("300.00"), batch=batch,
        )

    draft("DS-0", 1, officer)
    draft("DS-1", 2, officer)
    disbursement_approve(disbursement=objects["DS-1"], user=approver)
    draft("DS-ADM", 3, administrator)
    for code, n, user in (("B-1", 4, officer), ("B-2", 5, officer), ("B-ADM", 6, administrator)):
        objects[code] = batch_create(book=book, code=code, user=user)
        draft(f"DS-{code}", n, user, batch=objects[code])
    batch_approve(batch=objects["B-2"], user=approver)
    objects["group"] = Group.objects.create(name="spare")
    objects["user"] = get_user_model().objects.create_user("spare")
    from charity.models import Membership

    objects["membership"] = Membership.objects.create(user=objects["user"], trust=trust, role="auditor")
    common = {"user_agent": "test", "ip_address": "127.0.0.1", "username": "spare", "http_accept": "*/*",
              "path_info": "/accounts/login/"}
    objects["attempt"] = AccessAttempt.objects.create(**common, get_data="", post_data="", failures_since_start=1)
    objects["access-log"] = AccessLog.objects.create(**common)
    objects["failure-log"] = AccessFailureLog.objects.create(**common)
    return users, objects


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once in a transaction of its own that is rolled back after the module (each test nests inside)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield _build()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _clients(users) -> dict[str, Client]:
    clients = {}
    for role in ROLES:
        clients[role] = Client()
        if role != "anonymous":
            clients[role].force_login(users[role])
    return clients


def _state(obj):
    """The object's row as the database holds it now (None once deleted)."""
    return type(obj)._default_manager.filter(pk=obj.pk).values().first()


def _sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


# -- pages -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", sorted(MODELS))
def test_changelist_and_add_page_by_every_role(world, db, label):
    users, _ = world
    model_admin = MODELS[label]
    meta = model_admin.model._meta
    urls = [reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")]
    request = _as_administrator()
    request.user = users["administrator"]
    if model_admin.has_add_permission(request):
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    wrong = []
    for url in urls:
        for role, client in _clients(users).items():
            response = client.get(url)
            if role == "administrator" and response.status_code != 200:
                wrong.append(f"GET {url} as {role}: {response.status_code}, expected 200")
            elif role != "administrator" and not _sent_to_sign_in(response):
                wrong.append(f"GET {url} as {role}: {response.status_code}, expected 302 to the admin's sign-in")
    assert not wrong, "\n".join(wrong)


# -- actions -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label,action", ACTIONS_THERE_ARE)
def test_action_by_every_role(world, db, label, action):
    users, objects = world
    model_admin = MODELS[label]
    meta = model_admin.model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    clients = _clients(users)
    wrong = []
    for key, outcome in ACTIONS[(label, action)]:
        obj = objects[key]
        assert isinstance(obj, model_admin.model), (key, label)
        data = {"action": action, "_selected_action": [obj.pk], "index": 0, "post": "yes"}
        for role, client in clients.items():
            with transaction.atomic():
                BEFORE.get((label, action), lambda obj: None)(obj)
                before = _state(obj)
                response = client.post(url, data, follow=role == "administrator")
                after = _state(obj)
                transaction.set_rollback(True)
            if role != "administrator":
                if not _sent_to_sign_in(response) or after != before:
                    wrong.append(f"{action} on {key} as {role}: {response.status_code}, changed: {after != before}")
                continue
            shown = [str(m) for m in response.context["messages"]] if response.context else []
            if outcome == CHANGED and (after == before or response.status_code != 200):
                wrong.append(f"{action} on {key} as administrator changed nothing: {response.status_code} {shown}")
            if outcome != CHANGED and (after != before or not any(outcome in m for m in shown)):
                wrong.append(f"{action} on {key} as administrator: expected the refusal {outcome!r}, got {shown}, "
                             f"changed: {after != before}")
    assert not wrong, "\n".join(wrong)
