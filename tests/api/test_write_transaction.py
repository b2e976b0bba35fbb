"""One API write, one transaction (charity/api/idempotency.py): the write, its idempotency record and its audit
event commit together on PostgreSQL; a refusal leaves none of them; the answer to a POST is what a GET of the
record says, and a replay says it again; concurrent duplicates of one key write once.

The write here is a manual entry's draft (``POST .../entries/``, 202: it waits for a second person's approval).
"""

import threading

import pytest
from django.db import DatabaseError, connection
from rest_framework.test import APIClient

from charity.api import entries as entries_api, idempotency
from charity.models import AuditEvent, IdempotencyRecord, ManualEntry

URL = "/api/v1/trusts/CT/entries/"


def _gift(amount="1200.00", memo="gift"):
    return {"date": "2026-03-02", "memo": memo, "legs": [
        {"account": "100201", "fund": "GEN", "debit": amount},
        {"account": "410101", "fund": "GEN", "credit": amount},
    ]}


def _usd():
    """Three USD legs whose CNY amounts round apart: validation moves a fen onto one leg."""
    return {"date": "2026-03-02", "memo": "usd", "fx_rate": "7.12345678", "legs": [
        {"account": "100201", "fund": "GEN", "debit": "0.33", "currency": "USD"},
        {"account": "100201", "fund": "GEN", "debit": "0.33", "currency": "USD"},
        {"account": "410101", "fund": "GEN", "credit": "0.66", "currency": "USD"},
    ]}


def _writes():
    return AuditEvent.objects.filter(method="POST", status__lt=400)


def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("the one-transaction write path runs on PostgreSQL")


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("payload", [
    _gift("1.005"),
    {**_gift(), "date": "2099-01-01"},
    {**_gift(), "legs": [{"account": "9999", "fund": "GEN", "debit": "1"}, {"account": "410101", "fund": "GEN",
                                                                            "credit": "1"}]},
    {**_gift(), "legs": [{"account": "100201", "fund": "NOPE", "debit": "1"}, {"account": "410101", "fund": "NOPE",
                                                                             "credit": "1"}]},
], ids=["three-places", "future", "no-account", "no-fund"])
def test_a_refused_post_leaves_no_record_and_no_audit_of_a_write(trust, client_for, payload):
    officer = client_for("officer")
    response = officer.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    assert response.status_code == 400, response.content
    assert not IdempotencyRecord.objects.exists()
    assert ManualEntry.objects.count() == 0
    assert not _writes().exists()
    # The refusal itself is in the audit log, as before, and only once.
    assert list(AuditEvent.objects.values_list("status", "path")) == [(400, URL)]
    # Nothing was stored for the key: the corrected request may use it.
    fixed = officer.post(URL, _gift(), format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    assert fixed.status_code == 202 and not fixed.has_header("Idempotent-Replayed")
    assert ManualEntry.objects.count() == 1


def test_a_ledger_refusal_leaves_no_record(trust, client_for):
    """Refused by the ledger's own check (the legs do not balance): the same."""
    unbalanced = {**_gift(), "legs": [{"account": "100201", "fund": "GEN", "debit": "5.00"},
                                      {"account": "410101", "fund": "GEN", "credit": "4.00"}]}
    response = client_for("officer").post(URL, unbalanced, format="json", HTTP_IDEMPOTENCY_KEY="k-unbalanced")
    assert response.status_code == 400 and response.json()["error"]["code"] == "unbalanced"
    assert not IdempotencyRecord.objects.exists()
    assert ManualEntry.objects.count() == 0 and not _writes().exists()


@pytest.mark.parametrize("payload", [_gift(), _usd()], ids=["cny", "usd-rounded"])
def test_the_answer_is_the_entry_as_stored_and_a_replay_repeats_it(trust, client_for, payload):
    officer = client_for("officer")
    first = officer.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert first.status_code == 202, first.content
    stored = officer.get(f"/api/v1/trusts/CT/manual-entries/{first.json()['id']}/")
    assert first.json() == stored.json()
    again = officer.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert again.status_code == 202 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert ManualEntry.objects.count() == 1
    record = IdempotencyRecord.objects.get(key="same")
    assert not record.in_progress and record.status == 202 and record.body == first.json()
    # One audit event per request, the replay's included; none written twice.
    assert list(_writes().values_list("status", flat=True)) == [202, 202]


def test_a_post_reads_only_the_accounts_and_funds_it_names(trust, client_for, django_assert_max_num_queries):
    officer = client_for("officer")
    officer.post(URL, _gift(), format="json")  # warms the user's permission cache
    with django_assert_max_num_queries(20) as captured:
        assert officer.post(URL, _gift("2.00"), format="json", HTTP_IDEMPOTENCY_KEY="q").status_code == 202
    for table in ("ledger_account", "ledger_fund"):  # not every account and fund of the book
        reads = [q["sql"] for q in captured.captured_queries if f'FROM "{table}"' in q["sql"]]
        assert len(reads) == 1 and '"code" IN' in reads[0], reads
    assert not any('"ledger_journalentry"' in q["sql"] for q in captured.captured_queries)  # a draft posts nothing


@pytest.mark.django_db(transaction=True)
def test_the_audit_event_commits_with_the_entry(trust, users):
    response = _client(users["officer"]).post(URL, _gift(), format="json", HTTP_IDEMPOTENCY_KEY="a-1")
    assert response.status_code == 202
    event = AuditEvent.objects.get()
    assert (event.username, event.method, event.path, event.status, event.channel) == (
        "officer", "POST", URL, 202, "api")
    assert IdempotencyRecord.objects.get().status == 202


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["after the draft", "writing the audit event", "storing the response"])
def test_a_failure_before_commit_rolls_back_entry_record_and_audit(trust, users, monkeypatch, where):
    _postgres()
    if where == "after the draft":
        real = entries_api.services.manual_entry_draft

        def broken(**kwargs):
            real(**kwargs)
            raise RuntimeError("answer lost")
        monkeypatch.setattr(entries_api.services, "manual_entry_draft", broken)
    elif where == "writing the audit event":
        def broken(request, status):
            raise DatabaseError("audit table unavailable")
        monkeypatch.setattr(idempotency, "audit_in_transaction", broken)
    else:
        def broken(record, response, **kwargs):
            raise DatabaseError("record lost")
        monkeypatch.setattr(idempotency, "finish", broken)
    client = _client(users["officer"])
    client.raise_request_exception = False
    response = client.post(URL, _gift(), format="json", HTTP_IDEMPOTENCY_KEY="f-1")
    assert response.status_code == 500
    assert ManualEntry.objects.count() == 0
    assert not IdempotencyRecord.objects.exists()
    assert not AuditEvent.objects.exists()
    monkeypatch.undo()
    retry = _client(users["officer"]).post(URL, _gift(), format="json", HTTP_IDEMPOTENCY_KEY="f-1")
    assert retry.status_code == 202 and not retry.has_header("Idempotent-Replayed")
    assert ManualEntry.objects.count() == 1 and _writes().count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_post_one_entry(trust, users):
    """Six threads send the same request under one key at the same moment: one entry; every other answer is
    the first one replayed, or 409 while it was still in progress."""
    _postgres()
    threads, barrier, results = 6, threading.Barrier(6), []

    def send():
        client = _client(users["officer"])
        try:
            barrier.wait(10)
            results.append(client.post(URL, _gift(), format="json", HTTP_IDEMPOTENCY_KEY="race"))
        finally:
            connection.close()

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert len(results) == threads
    fresh = [r for r in results if r.status_code == 202 and not r.has_header("Idempotent-Replayed")]
    replayed = [r for r in results if r.status_code == 202 and r.has_header("Idempotent-Replayed")]
    busy = [r for r in results if r.status_code == 409]
    assert len(fresh) == 1 and len(fresh) + len(replayed) + len(busy) == threads, [r.status_code for r in results]
    assert all(r.json() == fresh[0].json() for r in replayed)
    assert all(r.json()["error"]["code"] == "conflict" for r in busy)
    assert ManualEntry.objects.count() == 1
    assert IdempotencyRecord.objects.filter(key="race", in_progress=False).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_after_the_first_committed_replays(trust, users, monkeypatch):
    """The first request holds its transaction open after posting; its duplicate gets 409 then, and the first
    answer once it has committed."""
    _postgres()
    posted, release = threading.Event(), threading.Event()
    real = entries_api.services.manual_entry_draft

    def slow(**kwargs):
        entry = real(**kwargs)
        posted.set()
        release.wait(10)
        return entry

    monkeypatch.setattr(entries_api.services, "manual_entry_draft", slow)
    results = {}

    def first():
        results["first"] = _client(users["officer"]).post(URL, _gift(), format="json", HTTP_IDEMPOTENCY_KEY="d")
        connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert posted.wait(10)
    during = _client(users["officer"]).post(URL, _gift(), format="json", HTTP_IDEMPOTENCY_KEY="d")
    assert not ManualEntry.objects.exists()  # posted, not committed: nobody else sees it
    release.set()
    thread.join(20)
    after = _client(users["officer"]).post(URL, _gift(), format="json", HTTP_IDEMPOTENCY_KEY="d")
    assert during.status_code == 409 and during.json()["error"]["code"] == "conflict"
    assert results["first"].status_code == 202
    assert after.status_code == 202 and after["Idempotent-Replayed"] == "true"
    assert after.json() == results["first"].json()
    assert ManualEntry.objects.count() == 1


@pytest.mark.parametrize("key", ["k\x00", "k" * 201])
def test_an_unusable_key_is_400(trust, client_for, key):
    response = client_for("officer").post(URL, _gift(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400 and response.json()["error"]["field"] == "Idempotency-Key"
    assert ManualEntry.objects.count() == 0


def test_a_nul_in_the_path_is_404_not_500(trust, client_for):
    response = client_for("officer").post("/api/v1/trusts/C%00T/entries/", _gift(), format="json",
                                          HTTP_IDEMPOTENCY_KEY="nul")
    assert response.status_code == 404
