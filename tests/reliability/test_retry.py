"""Retry at the boundary (charity/retry.py), with real conflicts on PostgreSQL.

A second connection, in a thread, holds rows the request needs: the request loses a real deadlock (40P01) and
is run again, and the gift posts once; or it waits on a lock past ``lock_timeout`` (55P03) every time, and the
caller sees 503 ``busy`` with ``Retry-After`` (the API's JSON body, the office's page, the command's error),
nothing written; once the rows are free, the same request succeeds.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from rest_framework.test import APIClient

from charity import roles
from charity.models import Donation, IdempotencyRecord
from charity.services import trust_create
from ledger.models import Book, Fund, Period
from ledger.services import system_user
from tests.conftest import grant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

URL = "/api/v1/trusts/CT/donations/"


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and their timeouts: PostgreSQL")


@pytest.fixture
def staff(django_user_model):
    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托")
    made = {"trust": trust}
    for name, role in (("officer", roles.OFFICER), ("approver", roles.APPROVER)):
        made[name] = grant(django_user_model.objects.create_user(name, password="pw-12345-x"), role, trust)
    return made


def _gift(ext: str) -> dict:
    return {"external_id": ext, "date": "2026-03-02", "amount": "100.00", "fund": "GEN", "channel": "bank"}


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


WAITING = """SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE NOT l.granted AND a.datname = current_database() AND a.pid <> pg_backend_pid()"""


class Holder(threading.Thread):
    """Another connection: locks ``first`` (SQL, params); once someone waits for it, runs ``then`` (or nothing);
    holds everything until ``release`` is set, then commits."""

    def __init__(self, first, then=None):
        super().__init__(daemon=True)
        self.first, self.then = first, then
        self.locked, self.release, self.errors = threading.Event(), threading.Event(), []

    def run(self):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL deadlock_timeout = '20s'")  # the request is the one that finds a cycle
                cursor.execute("SET LOCAL lock_timeout = 0")
                cursor.execute(*self.first)
                self.locked.set()
                if self.then is not None:
                    for _ in range(500):
                        cursor.execute(WAITING)
                        if cursor.fetchone()[0]:
                            break
                        time.sleep(0.01)
                    cursor.execute(*self.then)
                    self.release.set()
                self.release.wait(30)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)
        finally:
            connection.close()


@contextmanager
def holding(first, then=None):
    holder = Holder(first, then)
    holder.start()
    assert holder.locked.wait(10)
    try:
        yield holder
    finally:
        holder.release.set()
        holder.join(30)
    assert not holder.errors, holder.errors


@pytest.fixture
def short_lock_timeout(settings):
    """This thread's connections give up waiting for a lock after 100 ms (a new connection, from the setting)."""
    options = connection.settings_dict["OPTIONS"]
    before = options.get("options")
    options["options"] = "-c lock_timeout=100 -c statement_timeout=30000"
    connection.close()
    settings.DB_RETRY_ATTEMPTS = 2
    yield
    options["options"] = before
    connection.close()


def _book_lock(book) -> tuple:
    return ("SELECT id FROM ledger_book WHERE id = %s FOR NO KEY UPDATE", [book.pk])


def test_a_request_that_loses_a_deadlock_is_run_again_and_posts_once(staff, caplog):
    """The request holds the book and waits for the fund; the other transaction holds the fund and then asks for
    the book: PostgreSQL ends the request's transaction (40P01); the boundary runs the request again."""
    book = staff["trust"].book
    fund = Fund.objects.get(book=book, code="GEN")
    with caplog.at_level(logging.WARNING, logger="charity.retry"):
        with holding(("SELECT id FROM ledger_fund WHERE id = %s FOR NO KEY UPDATE", [fund.pk]), then=_book_lock(book)):
            response = _api(staff["officer"]).post(URL, _gift("DN-1"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert "retrying after deadlock" in caplog.text
    assert response.status_code == 201, response.content
    assert Donation.objects.filter(external_id="DN-1").count() == 1
    again = _api(staff["officer"]).post(URL, _gift("DN-1"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.has_header("Idempotent-Replayed") and Donation.objects.count() == 1


def test_after_the_retries_the_api_says_busy_with_503_and_nothing_is_written(staff, short_lock_timeout, caplog):
    book = staff["trust"].book
    with caplog.at_level(logging.WARNING, logger="charity.retry"):
        with holding(_book_lock(book)):
            response = _api(staff["officer"]).post(URL, _gift("DN-2"), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert caplog.text.count("retrying after lock timeout") == 2  # DB_RETRY_ATTEMPTS
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["error"]["code"] == "busy" and response.json()["error"]["field"] is None
    assert not Donation.objects.exists() and not IdempotencyRecord.objects.exists()
    retry = _api(staff["officer"]).post(URL, _gift("DN-2"), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert retry.status_code == 201 and Donation.objects.count() == 1


def test_after_the_retries_an_office_form_shows_the_busy_page(staff, short_lock_timeout, client):
    book = staff["trust"].book
    client.force_login(staff["approver"])
    with holding(_book_lock(book)):
        response = client.post("/office/close/", {"month": "2026-01"})
    assert response.status_code == 503 and response["Retry-After"]
    assert 'id="busy"' in response.content.decode()
    assert not Period.objects.exists()
    assert client.post("/office/close/", {"month": "2026-01"}).status_code == 302
    assert str(Book.objects.get().closed_through) == "2026-01-31"


def test_after_the_retries_a_command_says_busy(staff, short_lock_timeout, tmp_path):
    path = tmp_path / "donations.csv"
    path.write_text("external_id,date,amount,fund_code,channel\nDN-3,2026-03-02,100.00,GEN,bank\n", encoding="utf-8")
    with holding(_book_lock(staff["trust"].book)):
        with pytest.raises(CommandError, match="busy"):
            call_command("import_csv", "donations", str(path), "--trust", "CT", "--user", "officer", "--no-email")
    assert not Donation.objects.exists()
    call_command("import_csv", "donations", str(path), "--trust", "CT", "--user", "officer", "--no-email")
    assert Donation.objects.get().external_id == "DN-3"


@contextmanager
def database_gone():
    """This thread's next connection goes to a port where no database listens (a primary killed in a failover)."""
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        yield
    finally:
        connection.settings_dict["PORT"] = port
        connection.close()


def test_a_database_that_cannot_be_reached_gives_503_busy_not_500(staff, caplog):
    client = _api(staff["officer"])
    with database_gone(), caplog.at_level(logging.WARNING, logger="charity.retry"):
        response = client.post(URL, _gift("DN-GONE"), format="json", HTTP_IDEMPOTENCY_KEY="gone-1")
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "busy"
    assert response["Retry-After"]
    assert "database unavailable" in caplog.text
    # once the database is back, the same request (same key) is taken
    again = client.post(URL, _gift("DN-GONE"), format="json", HTTP_IDEMPOTENCY_KEY="gone-1")
    assert again.status_code == 201, again.content
    assert Donation.objects.filter(external_id="DN-GONE").count() == 1
