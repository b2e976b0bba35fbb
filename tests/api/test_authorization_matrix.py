"""Who may do what, for every route there is: generated from the URL configuration, checked against a table.

Every URL pattern under /api/ and every page (walked from ``django.urls.get_resolver()``) must have a row in
``MATRIX``, keyed by its route name: a test fails when a route has no row (so an endpoint cannot be added without
deciding who may use it), when a row names a route that no longer exists, and when a DRF viewset's methods differ
from the row's. A page (or a DRF view that is not a viewset) lists no methods to compare with: every method the
row leaves out is tried by the whole cast and must get 405. Each row gives the URL kwargs that make the route
resolve in the world below, and per method the exact status for each member of the cast, in the order of
``ROLES``.

Requests: GET as is; POST, PUT, PATCH and DELETE with an empty body (``{}``), which is enough to tell "refused" (401/403/404)
from "allowed but the input is missing" (400), or shows that an action needing no body succeeds (200). Each
request runs in a transaction that is rolled back, so one role's success never changes what the next one sees.

Left out on purpose: ``admin/`` (administrators only; its own matrix in tests/api/test_admin_matrix.py),
``i18n/`` (the language switch), static files. Public by decision: the OpenAPI schema and its docs page (they describe the API, hold no data),
the disclosure page and the annual report PDF (信息公开), ``/healthz`` (and ``/metrics``, refused by address), the sign-in and password-reset pages, and the token
endpoint (it needs a username and password in the body).
"""

from __future__ import annotations
from ledger.services import system_user

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from tests.conftest import grant

ROLES = ["officer", "approver", "auditor", "donor_a", "donor_b", "outsider", "anonymous"]
EXCLUDED_PREFIXES = ("admin/", "i18n/", "static/", "media/")
PROBED = ("get", "post", "put", "patch", "delete")  # the methods asked of a route that is not a viewset

# Status per role, in the order of ROLES:   officer approver auditor donor_a donor_b outsider anonymous
BOOKS = "200 200 200 403 403 403 401"  # charity.read_books
OFFICER_400 = "400 403 403 403 403 403 401"  # record_transactions / draft / post entries; the body is missing
APPROVER_400 = "403 400 403 403 403 403 401"  # approve_disbursements / close_periods; the body is missing
APPROVER_200 = "403 200 403 403 403 403 401"  # approve a draft (no body needed): the approver did not draft it
AUDIT = "403 403 200 403 403 403 401"  # charity.view_audit_log
MINE = "404 404 404 200 200 404 401"  # the signed-in donor's own record
MINE_A = "404 404 404 200 404 404 401"  # donor A's gift: another donor gets 404, never 403
PUBLIC = "200 200 200 200 200 200 200"
SIGNED_IN = "200 200 200 200 200 200 302"  # a page that sends the anonymous to the sign-in page
SIGNED_405 = "405 405 405 405 405 405 302"  # ... and refuses the method to the signed-in
PAGE_BOOKS = "200 200 200 403 403 403 302"  # a page read by everyone of the trust
PAGE_OFFICER_400 = "400 403 403 403 403 403 302"  # an officer's form sent empty
PAGE_MINE = "404 404 404 200 200 404 302"
PAGE_MINE_A = "404 404 404 200 404 404 302"

T = {"trust_code": "CT"}
RECEIPT = "2026-000001"  # DN-A's receipt: the first of the year

# route name: (url kwargs, {method: statuses})
MATRIX: dict[str, tuple[dict, dict[str, str]]] = {
    # -- the ledger
    "trust-list": ({}, {"get": BOOKS}),
    "trust-detail": (T, {"get": BOOKS}),
    "account-list": (T, {"get": BOOKS}),
    "account-detail": ({**T, "code": "100201"}, {"get": BOOKS}),
    "fund-list": (T, {"get": BOOKS, "post": OFFICER_400}),
    "fund-detail": ({**T, "code": "STUDY"}, {"get": BOOKS}),
    "fund-terms": ({**T, "code": "STUDY"}, {"post": APPROVER_400}),  # set terms: approvers; the body is missing
    "entry-list": (T, {"get": BOOKS, "post": OFFICER_400}),
    "entry-detail": ({**T, "sequence": 1}, {"get": BOOKS}),
    "entry-reverse": ({**T, "sequence": 1}, {"post": OFFICER_400}),
    "manual-entry-list": (T, {"get": BOOKS}),
    "manual-entry-detail": ({**T, "pk": "MANUAL"}, {"get": BOOKS}),
    "manual-entry-approve": ({**T, "pk": "MANUAL"}, {"post": APPROVER_200}),
    "manual-entry-reject": ({**T, "pk": "MANUAL"}, {"post": APPROVER_400}),
    "period-list": (T, {"get": BOOKS, "post": APPROVER_400}),
    "verify-list": (T, {"get": BOOKS}),
    "report-list": (T, {"get": BOOKS}),
    "report-detail": ({**T, "name": "trial-balance"}, {"get": BOOKS}),
    # -- the aid side
    "program-list": (T, {"get": BOOKS}),
    "program-detail": ({**T, "code": "study_grant"}, {"get": BOOKS}),
    "stock-item-list": (T, {"get": BOOKS}),
    "stock-item-detail": ({**T, "code": "smile_pack"}, {"get": BOOKS}),
    "stock-move-list": (T, {"get": BOOKS}),
    "household-list": (T, {"get": BOOKS}),
    "household-detail": ({**T, "external_id": "HH-0"}, {"get": BOOKS}),
    "beneficiary-list": (T, {"get": BOOKS, "post": OFFICER_400}),
    # an empty change is a valid change (nothing to do): 200
    "beneficiary-detail": ({**T, "external_id": "K-0"}, {"get": BOOKS, "patch": "200 403 403 403 403 403 401"}),
    "beneficiary-exit": ({**T, "external_id": "K-0"}, {"post": OFFICER_400}),
    "disbursement-list": (T, {"get": BOOKS, "post": OFFICER_400}),
    "disbursement-detail": ({**T, "external_id": "DS-0"}, {"get": BOOKS}),
    # DS-0 is a draft by the officer: the approver may approve it with no body at all
    "disbursement-approve": ({**T, "external_id": "DS-0"}, {"post": "403 200 403 403 403 403 401"}),
    "disbursement-cancel": ({**T, "external_id": "DS-0"}, {"post": APPROVER_400}),
    "disbursement-pay": ({**T, "external_id": "DS-0"}, {"post": APPROVER_400}),  # not approved yet
    "disbursement-reverse": ({**T, "external_id": "DS-0"}, {"post": APPROVER_400}),
    "disbursement-verify": ({**T, "external_id": "DS-0"}, {"post": OFFICER_400}),
    "batch-list": (T, {"get": BOOKS, "post": OFFICER_400}),
    "batch-detail": ({**T, "code": "B-1"}, {"get": BOOKS}),
    "batch-approve": ({**T, "code": "B-1"}, {"post": APPROVER_400}),  # an empty batch
    "batch-cancel": ({**T, "code": "B-1"}, {"post": APPROVER_400}),
    "batch-post-batch": ({**T, "code": "B-1"}, {"post": APPROVER_400}),  # not approved
    # -- the trust side
    "donor-list": (T, {"get": BOOKS, "post": OFFICER_400}),
    "donor-detail": ({**T, "external_id": "D-A"}, {"get": BOOKS, "patch": "200 403 403 403 403 403 401"}),
    "donation-list": (T, {"get": BOOKS, "post": OFFICER_400}),
    "donation-detail": ({**T, "external_id": "DN-A"}, {"get": BOOKS}),
    "donation-receipt": ({**T, "external_id": "DN-A"}, {"get": BOOKS}),
    "donation-refund": ({**T, "external_id": "DN-A"}, {"post": OFFICER_400}),
    "donation-official-receipt": ({**T, "external_id": "DN-A"}, {"post": OFFICER_400}),
    "donation-trace": ({**T, "external_id": "DN-A"}, {"get": BOOKS}),
    "receipt-list": (T, {"get": BOOKS}),
    "receipt-detail": ({**T, "label": RECEIPT}, {"get": BOOKS}),
    "receipt-pdf": ({**T, "label": RECEIPT}, {"get": BOOKS}),
    "receipt-void": ({**T, "label": RECEIPT}, {"post": OFFICER_400}),
    "expense-list": (T, {"get": BOOKS, "post": OFFICER_400}),
    "expense-detail": ({**T, "external_id": "E-1"}, {"get": BOOKS}),
    "expense-request-list": (T, {"get": BOOKS, "post": OFFICER_400}),
    "expense-payment-list": (T, {"get": BOOKS, "post": OFFICER_400}),
    "expense-payment-detail": ({**T, "external_id": "PAY-1"}, {"get": BOOKS}),
    "expense-request-detail": ({**T, "pk": "EXPENSE_REQUEST"}, {"get": BOOKS}),
    "expense-request-approve": ({**T, "pk": "EXPENSE_REQUEST"}, {"post": APPROVER_200}),
    "expense-request-reject": ({**T, "pk": "EXPENSE_REQUEST"}, {"post": APPROVER_400}),
    "reconciliation-list": (T, {"get": BOOKS}),
    "reconciliation-detail": ({**T, "code": "100201"}, {"get": BOOKS}),
    "reconciliation-lines": ({**T, "code": "100201"}, {"get": BOOKS}),
    "reconciliation-matches": ({**T, "code": "100201"}, {"get": BOOKS}),
    "reconciliation-import": ({**T, "code": "100201"}, {"post": OFFICER_400}),
    # matching automatically needs no body: the officer's succeeds (nothing to match)
    "reconciliation-match-auto": ({**T, "code": "100201"}, {"post": "200 403 403 403 403 403 401"}),
    "reconciliation-match": ({**T, "code": "100201"}, {"post": OFFICER_400}),
    "reconciliation-unmatch": ({**T, "code": "100201"}, {"post": OFFICER_400}),
    "reconciliation-book": ({**T, "code": "100201"}, {"post": OFFICER_400}),
    "reconciliation-reconcile": ({**T, "code": "100201"}, {"post": OFFICER_400}),
    "audit-event-list": ({}, {"get": AUDIT}),
    # -- the donor's own corner
    "me": ({}, {"get": MINE}),
    "me-statement": ({}, {"get": MINE}),
    "me-donation-list": ({}, {"get": MINE}),
    "me-donation-detail": ({"external_id": "DN-A"}, {"get": MINE_A}),
    "me-donation-trace": ({"external_id": "DN-A"}, {"get": MINE_A}),
    "me-donation-receipt": ({"external_id": "DN-A"}, {"get": MINE_A}),
    # -- the API's own
    "api-token": ({}, {"get": "405 405 405 405 405 405 405", "post": "400 400 400 400 400 400 400"}),
    "schema": ({}, {"get": PUBLIC}),
    "api-docs": ({}, {"get": PUBLIC}),
    # -- pages
    "home": ({}, {"get": "302 302 302 302 302 302 302"}),
    "auditor": ({}, {"get": "200 200 200 403 403 403 302"}),
    "disclosure": ({}, {"get": PUBLIC}),
    "healthz": ({}, {"get": PUBLIC}),  # no data: the databases' state, pending mail, the ledger's head hash
    # /metrics is refused by address, not role: the test client comes from 127.0.0.1, an allowed one
    # (tests/ops/test_health_metrics.py tries another address and the token)
    "metrics": ({}, {"get": PUBLIC}),
    "disclosure-annual-report": ({}, {"get": PUBLIC}),
    "donor-home": ({}, {"get": SIGNED_IN}),
    "office-import": ({}, {"get": "200 403 403 403 403 403 302", "post": "400 403 403 403 403 403 302"}),
    "office-close": ({}, {"get": "403 200 403 403 403 403 302", "post": "403 200 403 403 403 403 302"}),
    # the approvals inbox: read by everyone of the trust; an empty POST names no item, so it is 400 for whoever may
    # see the page (a button names one item and the service decides: tests/pages/test_approvals.py)
    "office-approvals": ({}, {"get": "200 200 200 403 403 403 302", "post": "400 400 400 403 403 403 302"}),
    # the office's beneficiaries and aid: read by everyone of the trust (masked), written by the role the service
    # asks for; an empty POST is 400 for that role (the form names what is missing) and 403 for everyone else
    "office-beneficiaries": ({}, {"get": PAGE_BOOKS}),
    "office-beneficiaries-csv": ({}, {"get": PAGE_BOOKS}),
    "office-beneficiary-new": ({}, {"get": "200 403 403 403 403 403 302", "post": PAGE_OFFICER_400}),
    "office-beneficiary": ({"external_id": "K-0"}, {"get": PAGE_BOOKS, "post": PAGE_OFFICER_400}),
    "office-aid": ({}, {"get": PAGE_BOOKS, "post": PAGE_OFFICER_400}),
    "office-aid-draft": ({}, {"get": "200 403 403 403 403 403 302", "post": PAGE_OFFICER_400}),
    "office-aid-batch": ({"code": "B-1"}, {"get": PAGE_BOOKS}),
    "office-aid-sheet": ({"code": "B-1"}, {"get": PAGE_BOOKS}),
    # delivery is the approver's, verification the officer's: an empty POST names neither
    "office-aid-disbursement": ({"external_id": "DS-0"}, {"get": PAGE_BOOKS, "post": "400 400 403 403 403 403 302"}),
    # the officer's expense pages and manual entry form: read by the trust's roles, written by the officer only
    "office-expenses": ({}, {"get": "200 200 200 403 403 403 302"}),
    "office-expense-new": ({}, {"get": "200 403 403 403 403 403 302", "post": "400 403 403 403 403 403 302"}),
    "office-entry-new": ({}, {"get": "200 403 403 403 403 403 302", "post": "400 403 403 403 403 403 302"}),
    # platform payouts: read by the trust's roles; recorded by the officer only (an empty POST: 400)
    "office-settlements": ({}, {"get": "200 200 200 403 403 403 302", "post": "400 403 403 403 403 403 302"}),
    # payables and the cash count: read by the trust's roles; a payment or a count is the officer's
    "office-payables": ({}, {"get": PAGE_BOOKS, "post": PAGE_OFFICER_400}),
    "office-cash-count": ({}, {"get": PAGE_BOOKS, "post": PAGE_OFFICER_400}),
    # an attachment (E-1's voucher) is downloaded by the trust's roles only; one entry is read by them all, and a
    # file is attached to it by the officer only (an empty POST names no action and carries no file: 400)
    "attachment-download": ({"pk": "ATTACHMENT"}, {"get": "200 200 200 403 403 403 302"}),
    "auditor-entry": ({"sequence": 1}, {"get": "200 200 200 403 403 403 302", "post": PAGE_OFFICER_400}),
    # the finance officer's own pages: Today and the typeahead need record_transactions; the donations list, a
    # gift and its receipt are read by everyone of the trust, but only the officer writes (the auditor: 403). An
    # empty POST names no gift or action: 400 for the officer.
    "office-today": ({}, {"get": "200 403 403 403 403 403 302"}),
    "office-donations": ({}, {"get": "200 200 200 403 403 403 302"}),
    "office-donation-new": ({}, {"get": "200 403 403 403 403 403 302", "post": "400 403 403 403 403 403 302"}),
    "office-donation": ({"external_id": "DN-A"}, {"get": "200 200 200 403 403 403 302",
                                                  "post": "400 403 403 403 403 403 302"}),
    "office-donation-receipt": ({"external_id": "DN-A"}, {"get": "200 200 200 403 403 403 302"}),
    "office-donor-search": ({}, {"get": "200 403 403 403 403 403 302"}),
    "donor-statement": ({}, {"get": PAGE_MINE}),
    # donors' e-mail: the outbox is read by everyone of the trust; an empty POST names nothing to send (400) for
    # the officer, who alone may send
    "office-mail": ({}, {"get": PAGE_BOOKS, "post": PAGE_OFFICER_400}),
    # reconciliation: read by everyone of the trust; an empty POST names no action (400) for the officer alone
    "office-reconciliation": ({}, {"get": PAGE_BOOKS}),
    "office-reconciliation-account": ({"code": "100201"}, {"get": PAGE_BOOKS, "post": PAGE_OFFICER_400}),
    # public by decision, through a link's token (no sign-in): a gift's page and an invitation; an empty POST is
    # a form with its errors. A wrong token is 404 for everyone (tests/charity/test_mail.py)
    "gift-public": ({"token": "GIFT_TOKEN"}, {"get": PUBLIC, "post": "400 400 400 400 400 400 400"}),
    "invitation-accept": ({"token": "INVITE_TOKEN"}, {"get": PUBLIC, "post": "400 400 400 400 400 400 400"}),
    "donor-gift": ({"external_id": "DN-A"}, {"get": PAGE_MINE_A}),
    "donor-receipt": ({"external_id": "DN-A"}, {"get": PAGE_MINE_A}),
    # -- signing in (Django's auth views); an empty form is shown again with its errors. Django's form views answer
    # PUT as POST; the views behind login_required send the anonymous to sign in before asking the method; the
    # password-reset link checks its token first and, for a wrong one, says so whatever the method.
    "login": ({}, {"get": PUBLIC, "post": PUBLIC, "put": PUBLIC}),
    "logout": ({}, {"get": "405 405 405 405 405 405 405", "post": "302 302 302 302 302 302 302"}),
    "password_change": ({}, {"get": SIGNED_IN, "post": SIGNED_IN, "put": SIGNED_IN, "patch": SIGNED_405,
                             "delete": SIGNED_405}),
    "password_change_done": ({}, {"get": SIGNED_IN, "post": SIGNED_405, "put": SIGNED_405, "patch": SIGNED_405,
                                  "delete": SIGNED_405}),
    "password_reset": ({}, {"get": PUBLIC, "post": PUBLIC, "put": PUBLIC}),
    "password_reset_done": ({}, {"get": PUBLIC}),
    "password_reset_confirm": ({"uidb64": "MQ", "token": "set-password"},
                               {"get": PUBLIC, "post": PUBLIC, "put": PUBLIC, "patch": PUBLIC, "delete": PUBLIC}),
    "password_reset_complete": ({}, {"get": PUBLIC}),
}


# -- the routes there are ---------------------------------------------------------------------------------------


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def routes() -> dict[str, object]:
    """Route name -> its callback, for every route that is not left out; a route without a name is an error."""
    found, unnamed = {}, []
    for path, pattern in _walk(get_resolver().url_patterns):
        if re.sub(r"^\^", "", path).startswith(EXCLUDED_PREFIXES):
            continue
        if not pattern.name:
            unnamed.append(path)
            continue
        assert pattern.name not in found, f"two routes are named {pattern.name}"
        found[pattern.name] = pattern.callback
    assert not unnamed, f"routes without a name cannot be given a row in MATRIX: {unnamed}"
    return found


ROUTES = routes()


def test_every_route_has_a_row():
    missing = sorted(set(ROUTES) - set(MATRIX))
    assert not missing, f"routes with no row in MATRIX (decide who may use them): {missing}"


def test_every_row_is_a_route():
    stale = sorted(set(MATRIX) - set(ROUTES))
    assert not stale, f"rows in MATRIX for routes that no longer exist: {stale}"


@pytest.mark.parametrize("name", sorted(name for name in ROUTES if hasattr(ROUTES[name], "actions")))
def test_the_rows_methods_are_the_viewsets(name):
    actions = ROUTES[name].actions
    assert set(MATRIX[name][1]) == set(actions) - {"head"}, f"{name} answers {sorted(actions)}"


# -- the world: one of each, built once for the module ----------------------------------------------------------


def _build():
    from beneficiaries.idnumber import make_id_number
    from beneficiaries.models import Program
    from beneficiaries.services import batch_create, beneficiary_register, disbursement_draft, household_get_or_create
    from charity import roles
    from charity.services import donation_record, donor_create, expense_record, trust_create
    from ledger import services as ledger
    from ledger.models import Fund

    users = {}
    groups = {"officer": roles.OFFICER, "approver": roles.APPROVER, "auditor": roles.AUDITOR,
              "donor_a": roles.DONOR, "donor_b": roles.DONOR}
    for name in ROLES[:-1]:
        user = get_user_model().objects.create_user(name)  # no password: no hashing
        users[name] = user
    officer = users["officer"]
    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托", name_en="Caring Trust")
    for name, role in groups.items():
        if role != roles.DONOR:
            grant(users[name], role, trust)
    study = ledger.fund_create(user=system_user(), book=trust.book, code="STUDY", name="助学金专项资金", restriction="restricted",
                               purpose="study_grant")
    general = Fund.objects.get(book=trust.book, code="GEN")
    day = dt.date(2026, 3, 2)
    a = donor_create(by=system_user(), trust=trust, kind="individual", name="甲捐赠人", external_id="D-A", user=users["donor_a"])
    b = donor_create(by=system_user(), trust=trust, kind="individual", name="乙捐赠人", external_id="D-B", user=users["donor_b"])
    donation_record(trust=trust, external_id="DN-A", date=day, amount=Decimal("1200.00"), fund=study,
                    channel="bank", user=officer, donor=a)
    donation_record(trust=trust, external_id="DN-B", date=day, amount=Decimal("800.00"), fund=general,
                    channel="wechat", user=officer, donor=b)
    e1, _created = expense_record(trust=trust, external_id="E-1", date=day, kind="admin", fund=general,
                                  amount=Decimal("10.00"), user=officer)
    from django.core.files.uploadedfile import SimpleUploadedFile

    from charity.services import attachment_add, expense_payment_record

    invoice, _created = expense_record(trust=trust, external_id="E-P", date=day, kind="admin", fund=general,
                                       amount=Decimal("30.00"), user=officer, payable="2202", payee="文具店")
    expense_payment_record(trust=trust, external_id="PAY-1", expense=invoice, date=day, amount=Decimal("10.00"),
                           user=officer)

    voucher = attachment_add(target=e1, user=officer, upload=SimpleUploadedFile("e1.pdf", b"%PDF-1.4\n%%EOF\n"))
    household = household_get_or_create(user=system_user(), book=trust.book, external_id="HH-0")
    mother = beneficiary_register(
        book=trust.book, external_id="M-0", name="母亲", user=officer, gender="F", household=household,
        id_number=make_id_number("440105", dt.date(1988, 1, 1), 100, "F"), birth_date=dt.date(1988, 1, 1),
    )
    kid = beneficiary_register(
        book=trust.book, external_id="K-0", name="孩子", user=officer, gender="M", household=household,
        id_number=make_id_number("440105", dt.date(2014, 2, 1), 201, "M"), birth_date=dt.date(2014, 2, 1),
        guardian=mother,
    )
    disbursement_draft(book=trust.book, external_id="DS-0", beneficiary=kid, fund=study, date=dt.date(2026, 3, 5),
                       program=Program.objects.get(book=trust.book, code="study_grant"), user=officer,
                       amount=Decimal("300.00"))
    batch_create(book=trust.book, code="B-1", user=officer)
    from charity.services import expense_request_draft, manual_entry_draft

    manual = manual_entry_draft(trust=trust, date=day, memo="x", user=officer, legs=[
        {"account": "100201", "fund": "GEN", "debit": "1.00"}, {"account": "410101", "fund": "GEN", "credit": "1.00"}])
    request = expense_request_draft(trust=trust, external_id="E-2", date=day, kind="admin", fund=general,
                                    amount=Decimal("1.00"), user=officer)
    from charity.links import token_for
    from charity.models import GiftLink, MailMessage
    from charity.services import invitation_send

    c = donor_create(by=system_user(), trust=trust, kind="individual", name="丙捐赠人", external_id="D-C",
                     email="c@example.org")
    invitation_send(donor=c, user=officer)  # sent on commit: never, the world is rolled back
    gift_token = token_for(GiftLink.objects.get(donation__external_id="DN-A").nonce)
    invite_token = MailMessage.objects.get(kind="invitation").secret
    users["pks"] = {"MANUAL": manual.pk, "EXPENSE_REQUEST": request.pk, "ATTACHMENT": voucher.pk,
                    "GIFT_TOKEN": gift_token, "INVITE_TOKEN": invite_token}  # rows name them by these placeholders
    return users


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


def _clients(world) -> dict[str, Client]:
    clients = {}
    for role in ROLES:
        clients[role] = Client()
        if role != "anonymous":
            clients[role].force_login(world[role])
    return clients


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_route_by_every_role(world, db, name):
    if name not in ROUTES:
        pytest.skip("stale row (reported by test_every_row_is_a_route)")
    kwargs, methods = MATRIX[name]
    url = reverse(name, kwargs={k: world["pks"].get(v, v) for k, v in kwargs.items()})
    clients = _clients(world)
    wrong = []
    for method, statuses in methods.items():
        expected = dict(zip(ROLES, (int(s) for s in statuses.split()), strict=True))
        for role in ROLES:
            with transaction.atomic():
                if method == "get":
                    response = clients[role].get(url)
                elif url.startswith("/api/"):
                    response = getattr(clients[role], method)(url, "{}", content_type="application/json")
                else:
                    response = getattr(clients[role], method)(url, {})
                transaction.set_rollback(True)
            if response.status_code != expected[role]:
                wrong.append(f"{method.upper()} {url} as {role}: {response.status_code}, expected {expected[role]}")
            elif url.startswith("/api/") and response.status_code in (400, 401, 403, 404) and name != "api-token":
                assert set(response.json()["error"]) >= {"code", "message", "field"}, (method, role)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(name for name in ROUTES if not hasattr(ROUTES[name], "actions")))
def test_a_page_answers_no_method_beyond_its_row(world, db, name):
    """A page (or a DRF view that is not a viewset) declares no list of methods to compare with the row: ask it.
    Every method the row leaves out gets 405 from every member of the cast, before any sign-in or permission
    check, so that the row's statuses are all there is to know about the route."""
    kwargs, methods = MATRIX[name]
    url = reverse(name, kwargs={k: world["pks"].get(v, v) for k, v in kwargs.items()})
    wrong = []
    for method in sorted(set(PROBED) - set(methods)):
        for role, client in _clients(world).items():
            with transaction.atomic():
                response = getattr(client, method)(url)
                transaction.set_rollback(True)
            if response.status_code != 405:
                wrong.append(f"{method.upper()} {url} as {role}: {response.status_code}, expected 405")
    assert not wrong, "\n".join(wrong)
