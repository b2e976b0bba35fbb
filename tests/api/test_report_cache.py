"""The report cache (charity/reports/cache.py) over HTTP: a repeated request is served from the cache with fewer
queries, a posted entry or a change to what a report shows besides the ledger gives a fresh rendering, cached
bytes equal a fresh render, the permission check runs before the cache is asked, and two donors never see each
other's statements. Also the lean token authentication and one-query permission check the cached path relies on.
"""

from ledger.services import system_user
import datetime as dt
import io
import json
from decimal import Decimal

import pypdf
import pytest
from django.contrib.auth.models import Permission
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from charity.models import Receipt
from charity.reports import REPORTS, render_cached, render_report, resolve_params
from charity.reports.cache import book_head
from charity.services import donation_record, donor_create, donor_update, receipt_void
from ledger.models import Fund
from charity import roles
from tests.conftest import grant

from .conftest import CAST

D = dt.date(2026, 3, 2)
STATEMENT = "/reports/donor-statement/?format=json&year=2026&donor="


@pytest.fixture(autouse=True)
def _empty_report_cache():
    caches["reports"].clear()
    yield
    caches["reports"].clear()


@pytest.fixture
def gifts(trust, users):
    """Donors D-A (user donor_a) and D-B (user donor_b), one gift each to GEN, with their receipts."""
    general = Fund.objects.get(book=trust.book, code="GEN")
    a = donor_create(by=system_user(), trust=trust, kind="individual", name="甲捐赠人", external_id="D-A", user=users["donor_a"])
    b = donor_create(by=system_user(), trust=trust, kind="individual", name="乙捐赠人", external_id="D-B", user=users["donor_b"])
    record = dict(trust=trust, date=D, fund=general, channel="bank", user=users["officer"])
    donation_record(external_id="DN-A", donor=a, amount=Decimal("1200.00"), **record)
    donation_record(external_id="DN-B", donor=b, amount=Decimal("800.00"), **record)
    return {"a": a, "b": b, "general": general, "record": record}


def _base(trust):
    return f"/api/v1/trusts/{trust.code}"


def _get(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    return response, len(queries.captured_queries)


def _fresh(trust, name, fmt, **options) -> bytes:
    cls = REPORTS[name]
    out = io.BytesIO()
    render_report(book=trust.book, report=cls, params=resolve_params(cls, trust.book, **options), fmt=fmt, out=out)
    return out.getvalue()


def _pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_a_repeated_request_is_a_hit_with_fewer_queries(trust, gifts, client_for):
    auditor = client_for("auditor")
    first, cold = _get(auditor, _base(trust) + STATEMENT + "D-A")
    second, warm = _get(auditor, _base(trust) + STATEMENT + "D-A")
    assert (first["X-Report-Cache"], second["X-Report-Cache"]) == ("miss", "hit")
    assert second.content == first.content
    # A hit: the trust with its book's head, the donor's state (name, receipts). Nothing else: the user's roles in
    # the trust were read by the first request and stay cached on the (force-authenticated) user object.
    assert warm == 2 and cold > warm + 5
    # The parameters are resolved before the key is made: the same period spelt out is the same rendering.
    spelt, _ = _get(auditor, _base(trust) + "/reports/donor-statement/?format=json&from=2026-01-01&to=2026-12-31"
                    "&donor=D-A")
    assert spelt["X-Report-Cache"] == "hit" and spelt.content == first.content
    # Another format, donor, period or report is another key.
    for path in [STATEMENT.replace("json", "pdf") + "D-A", STATEMENT + "D-B",
                 STATEMENT.replace("2026", "2025") + "D-A", "/reports/trial-balance/?format=json&as_of=2026-06-30"]:
        assert auditor.get(_base(trust) + path)["X-Report-Cache"] == "miss", path


@pytest.mark.parametrize("name, fmt, options", [
    ("donor-statement", "json", {"year": 2026, "donor": "D-A"}),
    ("donor-statement", "pdf", {"year": 2026, "donor": "D-B"}),
    ("trial-balance", "csv", {"as_of": D}),
    ("activities", "pdf", {"year": 2026}),
    ("annual-report", "pdf", {"year": 2026}),
    ("programs", "json", {"year": 2026}),
])
def test_cached_bytes_equal_a_fresh_render(trust, gifts, client_for, name, fmt, options):
    query = "&".join(f"{k}={v.isoformat() if isinstance(v, dt.date) else v}" for k, v in options.items())
    path = f"{_base(trust)}/reports/{name}/?format={fmt}&{query}"
    auditor = client_for("auditor")
    assert auditor.get(path)["X-Report-Cache"] == "miss"
    hit = auditor.get(path)
    assert hit["X-Report-Cache"] == "hit"
    assert hit.content == _fresh(trust, name, fmt, **options)


def test_a_posted_entry_gives_a_fresh_rendering(trust, gifts, client_for):
    auditor = client_for("auditor")
    before, _ = _get(auditor, _base(trust) + STATEMENT + "D-A")
    balance, _ = _get(auditor, _base(trust) + "/reports/trial-balance/?format=json&as_of=2026-06-30")
    assert auditor.get(_base(trust) + STATEMENT + "D-A")["X-Report-Cache"] == "hit"
    donation_record(external_id="DN-A2", donor=gifts["a"], amount=Decimal("55.00"), **gifts["record"])
    after, _ = _get(auditor, _base(trust) + STATEMENT + "D-A")
    assert after["X-Report-Cache"] == "miss"
    old, new = json.loads(before.content), json.loads(after.content)
    assert new["meta"]["entry_count"] == old["meta"]["entry_count"] + 1
    assert new["meta"]["head_hash"] != old["meta"]["head_hash"]
    assert "DN-A2" not in before.content.decode() and "DN-A2" in after.content.decode()
    assert after.content == _fresh(trust, "donor-statement", "json", year=2026, donor="D-A")
    # Every cached report moves with the head, not only the donor's own.
    moved, _ = _get(auditor, _base(trust) + "/reports/trial-balance/?format=json&as_of=2026-06-30")
    assert moved["X-Report-Cache"] == "miss" and moved.content != balance.content


def test_a_donor_edit_or_a_receipt_void_gives_a_fresh_statement(trust, gifts, client_for, users):
    """Neither posts an entry: the statement's cache state (the donor's name, the receipts) carries them."""
    auditor = client_for("auditor")
    first, _ = _get(auditor, _base(trust) + STATEMENT + "D-A")
    donor_update(by=system_user(), donor=gifts["a"], name="甲捐赠人（更正）")
    renamed, _ = _get(auditor, _base(trust) + STATEMENT + "D-A")
    assert renamed["X-Report-Cache"] == "miss" and "甲捐赠人（更正）" in renamed.content.decode()
    receipt = Receipt.objects.get(donation__external_id="DN-A")
    receipt_void(receipt=receipt, user=users["officer"], reason="抬头有误")
    voided, _ = _get(auditor, _base(trust) + STATEMENT + "D-A")
    assert voided["X-Report-Cache"] == "miss" and f"{receipt.label} 已作废 void" in voided.content.decode()
    assert json.loads(voided.content)["meta"]["head_hash"] == json.loads(first.content)["meta"]["head_hash"]
    assert voided.content == _fresh(trust, "donor-statement", "json", year=2026, donor="D-A")


def test_two_donors_never_see_each_others_statements(trust, gifts, client_for):
    # The auditor has both statements in the cache, as PDF (the format donors get) too.
    auditor = client_for("auditor")
    for donor in ("D-A", "D-B"):
        auditor.get(_base(trust) + STATEMENT.replace("json", "pdf") + donor)
    for _ in range(2):  # a miss, then a hit
        for who, mine, theirs in (("donor_a", "DN-A", "DN-B"), ("donor_b", "DN-B", "DN-A")):
            response = client_for(who).get("/api/v1/me/statement/?year=2026")
            assert response.status_code == 200
            text = _pdf_text(response.content)
            assert mine in text and theirs not in text, (who, response["X-Report-Cache"])
    assert client_for("donor_a").get("/api/v1/me/statement/?year=2026")["X-Report-Cache"] == "hit"


@pytest.mark.parametrize("who", CAST)
def test_the_permission_check_runs_before_the_cache(trust, gifts, client_for, who):
    auditor = client_for("auditor")
    auditor.get(_base(trust) + STATEMENT + "D-A")
    assert auditor.get(_base(trust) + STATEMENT + "D-A")["X-Report-Cache"] == "hit"
    response = client_for(who).get(_base(trust) + STATEMENT + "D-A")
    expected = {"officer": 200, "approver": 200, "auditor": 200, "anonymous": 401}.get(who, 403)
    assert response.status_code == expected
    if expected != 200:
        assert b"DN-A" not in response.content and "X-Report-Cache" not in response


def test_a_revoked_token_or_deactivated_user_gets_nothing_from_the_cache(trust, gifts, users):
    auditor = users["auditor"]
    token = Token.objects.create(user=auditor)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(_base(trust) + STATEMENT + "D-A").status_code == 200
    assert client.get(_base(trust) + STATEMENT + "D-A")["X-Report-Cache"] == "hit"
    auditor.is_active = False
    auditor.save(update_fields=["is_active"])
    assert client.get(_base(trust) + STATEMENT + "D-A").status_code == 401
    auditor.is_active = True
    auditor.save(update_fields=["is_active"])
    token.delete()
    refused = client.get(_base(trust) + STATEMENT + "D-A")
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Token"
    assert b"DN-A" not in refused.content


def test_a_failing_cache_only_costs_a_render(trust, gifts, client_for, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(caches["reports"], "get", broken)
    monkeypatch.setattr(caches["reports"], "set", broken)
    for _ in range(2):
        response = client_for("auditor").get(_base(trust) + STATEMENT + "D-A")
        assert response.status_code == 200 and response["X-Report-Cache"] == "miss"
        assert response.content == _fresh(trust, "donor-statement", "json", year=2026, donor="D-A")


@pytest.mark.parametrize("name", ["beneficiary-register", "receipt-register"])
def test_registers_are_never_cached(trust, gifts, client_for, name):
    """They show what changes without an entry: drafts and beneficiaries' names; receipts issued and voided."""
    auditor = client_for("auditor")
    for _ in range(2):
        assert auditor.get(f"{_base(trust)}/reports/{name}/?format=csv&year=2026")["X-Report-Cache"] == "off"


def test_only_reviewed_reports_are_cacheable():
    # reconciliation: statement lines and matches change without a ledger entry; ageing: not reviewed yet
    assert {name for name, cls in REPORTS.items() if not cls.cacheable} == {"beneficiary-register",
                                                                             "receipt-register", "reconciliation", "ageing"}


def test_a_rendering_made_from_another_head_is_not_kept(trust, gifts):
    """The head in the key must be the head the render was made from: a posting between the two (here: a stale
    head handed in) costs a miss, never a wrong hit."""
    cls = REPORTS["donor-statement"]
    params = resolve_params(cls, trust.book, year=2026, donor="D-A")
    stale = book_head(trust.book)
    # Another donor's gift: D-A's own state (name, receipts) stays as it was, only the head moves.
    donation_record(external_id="DN-B3", donor=gifts["b"], amount=Decimal("9.00"), **gifts["record"])
    for _ in range(2):
        content, how = render_cached(book=trust.book, report=cls, params=params, fmt="json", head=stale)
        assert how == "miss" and json.loads(content)["meta"]["entry_count"] == stale[0] + 1
    assert render_cached(book=trust.book, report=cls, params=params, fmt="json")[1] == "miss"
    assert render_cached(book=trust.book, report=cls, params=params, fmt="json")[1] == "hit"


def test_a_posting_during_the_render_is_not_kept(trust, gifts, monkeypatch):
    """Without a snapshot (SQLite, or inside a transaction) the book's head is read again after the render."""
    cls = REPORTS["donor-statement"]
    params = resolve_params(cls, trust.book, year=2026, donor="D-A")
    build = cls.build
    posted = []

    def build_while_someone_posts(self):
        if not posted:  # another donor's gift: D-A's own state stays as it was, only the head moves
            posted.append(donation_record(external_id="DN-B4", donor=gifts["b"], amount=Decimal("7.00"),
                                          **gifts["record"])[0])
        return build(self)

    monkeypatch.setattr(cls, "build", build_while_someone_posts)
    before = book_head(trust.book)
    assert render_cached(book=trust.book, report=cls, params=params, fmt="json")[1] == "miss"
    # A request that read the head before the posting committed must not find that rendering.
    assert render_cached(book=trust.book, report=cls, params=params, fmt="json", head=before)[1] == "miss"
    assert render_cached(book=trust.book, report=cls, params=params, fmt="json")[1] == "miss"
    assert render_cached(book=trust.book, report=cls, params=params, fmt="json")[1] == "hit"


@pytest.mark.django_db(transaction=True)
def test_hits_outside_a_transaction(client_for, users):
    """Committed for real: on PostgreSQL the render reads its REPEATABLE READ snapshot and the head it states
    is the key's (the path gunicorn takes)."""
    from charity.services import trust_create

    trust = trust_create(user=system_user(), code="CTX", name="快照信托")
    grant(users["officer"], roles.OFFICER, trust)
    grant(users["auditor"], roles.AUDITOR, trust)
    general = Fund.objects.get(book=trust.book, code="GEN")
    donor = donor_create(by=system_user(), trust=trust, kind="individual", name="丙捐赠人", external_id="D-C")
    donation_record(trust=trust, external_id="DN-C", donor=donor, amount=Decimal("10.00"), date=D, fund=general,
                    channel="bank", user=users["officer"])
    auditor = client_for("auditor")
    assert auditor.get(_base(trust) + STATEMENT + "D-C")["X-Report-Cache"] == "miss"
    hit = auditor.get(_base(trust) + STATEMENT + "D-C")
    assert hit["X-Report-Cache"] == "hit"
    assert hit.content == _fresh(trust, "donor-statement", "json", year=2026, donor="D-C")
    # A request that read the head before a posting committed: its snapshot states the new head, which is
    # not the key's, so the rendering is not kept under the old head.
    cls = REPORTS["donor-statement"]
    params = resolve_params(cls, trust.book, year=2026, donor="D-C")
    stale = book_head(trust.book)
    donation_record(trust=trust, external_id="DN-X", amount=Decimal("3.00"), date=D, fund=general, channel="bank",
                    user=users["officer"])  # no donor: D-C's own state stays as it was, only the head moves
    for _ in range(2):  # CSV: the JSON of the old head is rightly in the cache already
        content, how = render_cached(book=trust.book, report=cls, params=params, fmt="csv", head=stale)
        assert how == "miss" and "DN-C" in content.decode()
