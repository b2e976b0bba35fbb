"""schemathesis against the project's own OpenAPI schema, in process (the WSGI app), as a finance officer.

For every operation in ``/api/schema/`` it generates a bounded number of requests (``API_FUZZ_EXAMPLES`` per
operation: 4 in ``make test``; ``make fuzz-api`` runs 50, ``-m slow``) from the schema, valid and not, and
sends them with the officer's token. It proves: no request makes the server fail (no 5xx), and every 4xx
answer carries the API's JSON error body ``{"error": {"code", "message", ...}}``. Every failure is collected
(operation, request, status, body) and reported together. Report PDF downloads are left to the report tests
(slow to render, and their parameters are checked there).
"""

from __future__ import annotations
from ledger.services import system_user

import datetime as dt
import json
import os
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from charity import roles
from charity.services import donation_record, donor_create, trust_create
from ledger import services as ledger
from tests.conftest import grant

schemathesis = pytest.importorskip("schemathesis")

SKIP_PATH_PARTS = ("/reports/",)


def _world(django_user_model) -> str:
    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托", name_en="Caring Trust")
    officer = django_user_model.objects.create_user("officer", password="pw-officer-123")
    grant(officer, roles.OFFICER, trust)
    study = ledger.fund_create(user=system_user(), book=trust.book, code="STUDY", name="助学金专项资金", restriction="restricted",
                               purpose="study_grant")
    donor = donor_create(by=system_user(), trust=trust, kind="individual", name="甲捐赠人", external_id="D-1")
    donation_record(trust=trust, external_id="DN-1", date=dt.date(2026, 3, 2), amount=Decimal("500.00"),
                    fund=study, channel="bank", user=officer, donor=donor)
    return Token.objects.create(user=officer).key


def _check(operation, case, response, failures: list) -> None:
    where = f"{operation.method.upper()} {operation.path}"
    status = response.status_code
    request = f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:300]}"
    if status >= 500:
        failures.append(f"{where}: {status} for {request}: {response.text[:300]}")
        return
    if 400 <= status < 500:
        try:
            body = json.loads(response.text)
        except ValueError:
            failures.append(f"{where}: {status} without a JSON body for {request}: {response.text[:200]}")
            return
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) or not {"code", "message"} <= set(error):
            failures.append(f"{where}: {status} without the error body for {request}: {response.text[:200]}")


def _fuzz(client, django_user_model, examples: int) -> None:
    token = _world(django_user_model)
    headers = {"Authorization": f"Token {token}"}
    raw = client.get("/api/schema/", HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert raw.status_code == 200
    schema = schemathesis.openapi.from_dict(json.loads(raw.content))
    app = get_wsgi_application()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if any(part in operation.path for part in SKIP_PATH_PARTS):
            continue
        operations += 1

        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), real_trust=st.booleans())
        def run(case, real_trust):
            if real_trust and "trust_code" in (case.path_parameters or {}):
                case.path_parameters["trust_code"] = "CT"  # reach the views, not only the trust lookup's 404
            response = case.call(app=app, headers=headers)
            _check(operation, case, response, failures)

        run()
    assert operations > 10
    assert not failures, f"{len(failures)} failing request(s):\n" + "\n".join(dict.fromkeys(failures))


@pytest.mark.django_db(transaction=True)
def test_api_fuzz_short(client, django_user_model):
    _fuzz(client, django_user_model, int(os.environ.get("API_FUZZ_EXAMPLES", 4)))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_api_fuzz_long(client, django_user_model):
    _fuzz(client, django_user_model, int(os.environ.get("API_FUZZ_EXAMPLES", 50)))
