"""Which database served which view: reports, disclosure, donor portal and the auditor's downloads from the
standby; everything else, every write, and the writer's next reads from the primary; a head the standby has not
replayed from the primary."""

import json

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import signing
from django.utils import timezone

from charity import dbrouter
from ledger.selectors import head

from .conftest import DATABASES

pytestmark = pytest.mark.django_db(transaction=True, databases=DATABASES)

READS = [  # (who, url) of every view marked standby_read
    ("auditor", "/api/v1/trusts/CT/reports/trial-balance/?format=json&as_of=2026-06-30"),
    ("auditor", "/auditor/?report=trial-balance&format=csv&as_of=2026-06-30"),
    ("anonymous", "/disclosure/"),
    ("anonymous", "/disclosure/annual-report.pdf?year=2026"),
    ("donor", "/my/"),
    ("donor", "/my/gifts/DN-1/"),
    ("donor", "/my/gifts/DN-1/receipt.pdf"),
    ("donor", "/my/statement.pdf?year=2026"),
    ("donor", "/api/v1/me/statement/?year=2026"),
]


@pytest.mark.parametrize("who, url", READS)
def test_a_marked_read_is_served_by_the_standby(world, client_for, standby, who, url):
    client = client_for(who)
    with standby() as served:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:200])
    assert response["X-Ledger-Database"] == "standby"
    assert served.count("replica") > 0, url


def test_without_a_standby_everything_is_read_from_the_primary(world, client_for, standby, settings):
    settings.DATABASE_REPLICA = False
    client = client_for("auditor")
    with standby() as served:
        response = client.get(READS[0][1])
    assert response.status_code == 200
    assert response["X-Ledger-Database"] == "primary"
    assert served.count("replica") == 0 and served.count("default") > 0


@pytest.mark.parametrize("who, url", [
    ("officer", "/office/donations/"),
    ("officer", "/api/v1/trusts/CT/donations/"),
    ("auditor", "/api/v1/trusts/CT/entries/"),
    ("anonymous", "/"),
])
def test_an_unmarked_view_reads_the_primary(world, client_for, standby, who, url):
    with standby() as served:
        response = client_for(who).get(url)
    assert response.status_code in (200, 302), (url, response.status_code)
    assert "X-Ledger-Database" not in response
    assert served.count("replica") == 0


def test_the_report_from_the_standby_states_the_head_it_was_made_from(world, client_for, standby):
    with standby():
        response = client_for("auditor").get(READS[0][1])
    meta = json.loads(response.content)["meta"]
    count, head_hash = head(world["trust"].book)
    assert (meta["entry_count"], meta["head_hash"]) == (count, head_hash) and count > 0


def _gift(client, external_id="DN-2"):
    return client.post("/api/v1/trusts/CT/donations/", {
        "external_id": external_id, "date": "2026-04-01", "amount": "300.00", "fund": "GEN", "channel": "bank",
    }, format="json")


def test_the_writer_reads_her_own_writes_from_the_primary_then_the_standby_again(world, client_for, standby):
    officer = client_for("officer")
    with standby() as served:
        written = _gift(officer)
    assert written.status_code == 201, written.content
    assert served.count("replica") == 0  # a write never touches the standby
    assert dbrouter.STICKY_COOKIE in written.cookies
    url = READS[0][1]
    with standby() as served:
        response = officer.get(url)
    assert response.status_code == 200
    assert response["X-Ledger-Database"] == "primary" and served.count("replica") == 0
    assert json.loads(response.content)["meta"]["entry_count"] == head(world["trust"].book)[0] == 2
    # Someone else, who wrote nothing, reads from the standby meanwhile.
    assert client_for("auditor").get(url)["X-Ledger-Database"] == "standby"
    later = timezone.now() + timezone.timedelta(seconds=django_settings.DATABASE_REPLICA_STICKY_SECONDS + 1)
    with time_machine.travel(later):
        assert officer.get(url)["X-Ledger-Database"] == "standby"


def test_a_refused_write_also_sends_the_writer_to_the_primary_but_a_forged_marker_does_not(world, client_for,
                                                                                          standby):
    outsider = client_for("outsider")
    assert _gift(outsider).status_code in (403, 404)
    assert dbrouter.STICKY_COOKIE in outsider.cookies  # any unsafe request: the cookie says nothing about success
    auditor = client_for("auditor")
    url = READS[0][1]
    auditor.cookies[dbrouter.STICKY_COOKIE] = "9999999999"  # unsigned
    assert auditor.get(url)["X-Ledger-Database"] == "standby"
    auditor.cookies[dbrouter.STICKY_COOKIE] = signing.dumps("9999999999", salt="another purpose")
    assert auditor.get(url)["X-Ledger-Database"] == "standby"


def test_no_marker_is_set_without_a_standby(world, client_for, standby, settings):
    settings.DATABASE_REPLICA = False
    assert dbrouter.STICKY_COOKIE not in _gift(client_for("officer")).cookies


@pytest.mark.parametrize("asked, expected", [
    ("current", "standby"),  # the standby has replayed it
    ("0" * 64, "primary"),  # a head the standby does not hold (yet): the primary
    ("not-a-hash", "primary"),  # malformed: the primary, never an error
    ("", "primary"),
])
def test_a_request_for_a_head_the_standby_lacks_goes_to_the_primary(world, client_for, standby, asked, expected):
    if asked == "current":
        asked = head(world["trust"].book)[1]
    with standby() as served:
        response = client_for("auditor").get(READS[0][1] + f"&head={asked}")
    assert response.status_code == 200
    assert response["X-Ledger-Database"] == expected
    if expected == "standby":
        assert served.count("replica") > 1
    else:  # only the question whether the standby holds the head (for a well-formed one) went there
        assert served.count("replica") == (1 if len(asked) == 64 else 0)


@pytest.mark.parametrize("ahead, expected", [(0, "standby"), (1, "primary")])
def test_a_sequence_the_standby_has_not_reached_goes_to_the_primary(world, client_for, standby, ahead, expected):
    """``?head=<entry count>`` of the trust in the URL: reached by the standby, the standby; beyond it, the
    primary. On a page the trust is named by ``?trust=``; without one, the primary."""
    count = head(world["trust"].book)[0] + ahead
    auditor = client_for("auditor")
    assert auditor.get(READS[0][1] + f"&head={count}")["X-Ledger-Database"] == expected
    assert auditor.get(READS[1][1] + f"&trust=CT&head={count}")["X-Ledger-Database"] == expected
    assert auditor.get(READS[1][1] + f"&head={count}")["X-Ledger-Database"] == "primary"
    assert auditor.get(READS[0][1] + f"&head={'9' * 40}")["X-Ledger-Database"] == "primary"  # too long: malformed


def test_a_head_the_standby_lacks_is_routed_by_what_the_standby_holds(world, client_for, standby, monkeypatch):
    """The decision asks the standby itself: an entry only the primary holds (a standby behind) sends the
    request to the primary."""
    current = head(world["trust"].book)[1]
    asked = []
    real = dbrouter.standby_has

    def behind(h):
        asked.append(h)
        return False if h == current else real(h)

    monkeypatch.setattr(dbrouter, "standby_has", behind)
    response = client_for("auditor").get(READS[0][1] + f"&head={current}")
    assert asked == [current] and response["X-Ledger-Database"] == "primary"


@pytest.mark.parametrize("who", ["anonymous", "outsider", "donor"])
def test_the_standby_keeps_every_refusal(world, client_for, standby, who):
    """Reading from the standby changes where, not who: another trust's officer, a donor and the public are
    refused the auditor's report exactly as on the primary."""
    response = client_for(who).get(READS[0][1])
    assert response.status_code in (401, 403, 404)
    page = client_for(who).get(READS[1][1] + "&trust=CT")
    assert page.status_code in (302, 403)


def test_writes_and_migrations_never_go_to_the_standby():
    router = dbrouter.ReadRouter()
    from ledger.models import JournalEntry

    with dbrouter.reading_from("replica"):
        assert router.db_for_read(JournalEntry) == "replica"
        assert router.db_for_write(JournalEntry) == "default"
    assert router.db_for_read(JournalEntry) == "default"
    assert router.allow_migrate("replica", "ledger") is False and router.allow_migrate("default", "ledger") is True
