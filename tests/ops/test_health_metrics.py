"""/healthz (anyone; 200 healthy, 503 not; nothing secret), /metrics (only from an allowed address or with the
token), and the ledger's posting metrics fed through its signal at commit, never for a rollback."""

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from charity.metrics import ENTRIES_POSTED, POSTING_SECONDS
from charity.models import MailMessage
from charity.services import donation_record
from ledger.models import Fund
from ledger.selectors import head

from .conftest import DATABASES

pytestmark = pytest.mark.django_db(transaction=True, databases=DATABASES)


def _health(client=None):
    response = (client or APIClient()).get("/healthz")
    return response, response.json()


def test_healthz_answers_anyone_with_the_state_of_the_databases_mail_and_ledger(world):
    response, body = _health()
    assert response.status_code == 200 and body["status"] == "ok"
    assert body["databases"] == {"primary": {"ok": True}, "replica": None}
    assert body["standby_lag"] == {"seconds": None, "bytes": None}
    assert body["mail"] == {"pending": MailMessage.objects.filter(status__in=["queued", "sending"]).count()}
    count, head_hash = head(world["trust"].book)
    assert body["ledger"] == {"books": 2, "entries": count, "head": head_hash}
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_counts_pending_mail(world):
    before = _health()[1]["mail"]["pending"]
    MailMessage.objects.create(trust=world["trust"], donor=world["donor"], kind="receipt", to="a@example.org",
                               language="zh-hans", next_attempt_at=timezone.now())
    assert _health()[1]["mail"]["pending"] == before + 1


def test_healthz_tells_no_secret_and_no_person(world, standby):
    response, body = _health()
    text = response.content.decode()
    db = django_settings.DATABASES["default"]
    for secret in (str(db["NAME"]), db.get("USER") or "\0", db.get("PASSWORD") or "\0", django_settings.SECRET_KEY,
                   "甲捐赠人", "D-A", "officer"):
        assert secret not in text, secret
    assert set(body) == {"status", "databases", "standby_lag", "mail", "ledger"}


def test_healthz_with_a_standby_reports_it_and_its_lag(world, standby):
    response, body = _health()
    assert response.status_code == 200
    replica = body["databases"]["replica"]
    assert replica["ok"] is True
    if connections["default"].vendor == "postgresql":
        # The test mirror is the primary itself, not in recovery: no lag to wait for.
        assert replica["in_recovery"] is False and body["standby_lag"] == {"seconds": 0.0, "bytes": 0}
    else:
        assert replica["in_recovery"] is None and body["standby_lag"] == {"seconds": None, "bytes": None}


@pytest.mark.postgres
def test_healthz_is_503_when_the_standby_lags_too_far(world, standby, settings):
    if connections["default"].vendor != "postgresql":
        pytest.skip("standby lag is measured on PostgreSQL")
    settings.HEALTH_MAX_STANDBY_LAG_SECONDS = -1
    response, body = _health()
    assert response.status_code == 503 and body["status"] == "unhealthy"


@pytest.mark.parametrize("alias", ["replica", "default"])
def test_healthz_is_503_when_a_database_does_not_answer(world, standby, monkeypatch, alias):
    from django.db import OperationalError

    def refuse():
        raise OperationalError('connection to server at "db-secret-host" (10.9.8.7) failed')

    client = APIClient()
    client.force_login(world["users"]["auditor"])  # a session to read: the request's log line must not fail on it
    connection = connections[alias]
    monkeypatch.setattr(connection, "ensure_connection", refuse)
    response, body = _health(client)
    monkeypatch.undo()
    assert response.status_code == 503 and body["status"] == "unhealthy"
    key = "primary" if alias == "default" else "replica"
    assert body["databases"][key]["ok"] is False
    assert "secret-host" not in response.content.decode()  # the error's text never reaches the answer


def test_healthz_takes_no_writes():
    assert APIClient().post("/healthz").status_code == 405


# -- /metrics -------------------------------------------------------------------------------------------------


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_metrics_are_served_to_the_machine_itself_only(world, settings):
    settings.METRICS_TOKEN = ""
    ok = APIClient().get("/metrics")  # the test client's REMOTE_ADDR is 127.0.0.1
    assert ok.status_code == 200
    text = ok.content.decode()
    names = ["django_http_requests_total_by_method_total", "ctl_ledger_entries_posted_total",
             "ctl_ledger_posting_seconds_bucket", "ctl_standby_lag_seconds"]
    if connections["default"].vendor == "postgresql":
        names.append('django_db_execute_total{alias="default",vendor="postgresql"}')
    for name in names:
        assert name in text, name
    for who in ("anonymous", "officer", "auditor"):  # from another address, signed in or not: not found
        client = APIClient()
        if who != "anonymous":
            client.force_login(world["users"][who])
        assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 404


def test_metrics_with_the_token_from_anywhere(world, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    client = APIClient()
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token"
                      ).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_AUTHORIZATION="s3cret-metrics-token"
                      ).status_code == 404


def _gift(world, external_id, amount="10.00"):
    fund = Fund.objects.get(book=world["trust"].book, code="GEN")
    return donation_record(trust=world["trust"], external_id=external_id, date=dt.date(2026, 3, 3),
                           amount=Decimal(amount), fund=fund, channel="bank", user=world["users"]["officer"])


def _samples():
    return ENTRIES_POSTED._value.get(), POSTING_SECONDS._sum.get(), _histogram_count()


def _histogram_count():
    return sum(s.value for m in POSTING_SECONDS.collect() for s in m.samples if s.name.endswith("_count"))


def test_posting_counts_committed_entries_and_their_latency(world):
    posted, _seconds, observed = _samples()
    _gift(world, "DN-M1")
    assert ENTRIES_POSTED._value.get() == posted + 1
    assert _histogram_count() == observed + 1
    _gift(world, "DN-M1")  # the same gift again: a replay posts nothing
    assert ENTRIES_POSTED._value.get() == posted + 1
    text = APIClient().get("/metrics").content.decode()
    assert _metric(text, "ctl_ledger_entries_posted_total") == posted + 1


def test_a_rolled_back_post_is_not_counted(world):
    posted, _seconds, observed = _samples()
    with pytest.raises(RuntimeError), transaction.atomic():
        _gift(world, "DN-M2")
        raise RuntimeError("the caller gives up")
    assert _samples()[0] == posted and _histogram_count() == observed


def test_a_batch_counts_each_entry_and_one_latency(world):
    from ledger import services
    from ledger.services import Cr, Dr

    book = world["trust"].book
    fund = Fund.objects.get(book=book, code="GEN")
    bank = book.accounts.get(code="1002")
    income = book.accounts.filter(code__startswith="4101").order_by("code").first()
    posted, _seconds, observed = _samples()
    with services.posting_batch() as batch:
        for i in range(3):
            batch.post(book=book, date=dt.date(2026, 3, 4), memo=f"m{i}", user=world["users"]["officer"],
                       legs=[Dr(bank, fund, Decimal("1.00")), Cr(income, fund, Decimal("1.00"))])
    assert _samples()[0] == posted + 3 and _histogram_count() == observed + 1


def test_the_ledger_knows_nothing_of_prometheus_or_the_charity():
    root = Path(__file__).resolve().parents[2] / "ledger"
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "prometheus" not in text, path
        assert not re.search(r"^\s*(from|import) charity", text, re.M), path
