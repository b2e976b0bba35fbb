"""The hash chain's links, computed in the test itself from the canonical form docs/ledger.md writes down ("Hash
chain"), never with ``ledger.hashing``: a change to what is hashed, or to how the links are joined, fails
here even though posting and ``verify_ledger`` would still agree with each other.

Then tampering by someone who knows the canonical form: an entry rewritten by raw SQL with its own hash
recomputed, the chain rewritten after it, and how far ``verify_ledger`` still sees it.
"""

import datetime as dt
import hashlib
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from ledger import services
from ledger.models import Book, JournalEntry
from ledger.services import Cr, Dr
from ledger.verification import verify_book

from .test_tamper import guard_lifted, guards_in_place

GENESIS = "0" * 64


def link(previous: str, payload: dict) -> str:
    """SHA-256 over the previous hash, a newline and the canonical JSON, as 64 lowercase hex digits."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(previous.encode("ascii") + b"\n" + canonical).hexdigest()


def payload(sb, *, seq, date, memo, legs, by, source=("", ""), key="", reverses=None, fx="", approved=None):
    return {
        "book": sb.book.pk, "seq": seq, "date": date, "memo": memo, "source": list(source), "key": key,
        "reverses": reverses, "fx": fx, "by": by.pk, "approved": approved.pk if approved else None,
        "legs": [list(leg) for leg in legs],
    }


def stored(entry) -> tuple[str, str]:
    row = JournalEntry.objects.values_list("previous_hash", "hash").get(pk=entry.pk)
    return row[0], row[1]


# --- each link, computed by hand -----------------------------------------------------------------------------------


@pytest.fixture
def chain(db, sb, user, approver):
    """Four entries: a plain gift (first, after genesis), a second with every optional field set and a non-ASCII
    memo, a foreign-currency entry, and a reversal of the second."""
    first = services.entry_post(
        book=sb.book, date=dt.date(2026, 5, 1), memo="gift", user=user,
        legs=[Dr(sb.bank, sb.gen, Decimal("100.00")), Cr(sb.income, sb.gen, Decimal("100.00"))],
    )
    second = services.entry_post(
        book=sb.book, date=dt.date(2026, 5, 2), memo='捐赠 "A" \\ 1', user=user, approved_by=approver,
        idempotency_key="key-2", source=("donation", 7),
        legs=[Dr(sb.bank, sb.fa, Decimal("250.5")), Cr(sb.income_r, sb.fa, Decimal("250.50"))],
    )
    foreign = services.entry_post(
        book=sb.book, date=dt.date(2026, 5, 3), memo="HK gift", user=user, fx_rate=Decimal("0.91230"),
        legs=[Dr(sb.bank, sb.gen, Decimal("123.45"), "HKD"), Cr(sb.income, sb.gen, Decimal("123.45"), "HKD")],
    )
    reversal = services.entry_reverse(entry=second, date=dt.date(2026, 5, 4), reason="wrong fund", user=user)
    return sb, user, approver, [first, second, foreign, reversal]


def expected_chain(sb, user, approver):
    """The four entries of ``chain`` in canonical form, written out by hand (ids, integer fen, swapped sides)."""
    bank, income, income_r, gen, fa = sb.bank.pk, sb.income.pk, sb.income_r.pk, sb.gen.pk, sb.fa.pk
    # 123.45 HKD at 0.9123 is 112.623435 CNY: 112.62 (half-even to the fen); the rate is hashed without its
    # trailing zeros.
    return [
        payload(sb, seq=1, date="2026-05-01", memo="gift", by=user,
                legs=[[1, bank, gen, "CNY", 10000, 0, 10000, 0], [2, income, gen, "CNY", 0, 10000, 0, 10000]]),
        payload(sb, seq=2, date="2026-05-02", memo='捐赠 "A" \\ 1', by=user, approved=approver,
                key="key-2", source=("donation", "7"),
                legs=[[1, bank, fa, "CNY", 25050, 0, 25050, 0], [2, income_r, fa, "CNY", 0, 25050, 0, 25050]]),
        payload(sb, seq=3, date="2026-05-03", memo="HK gift", by=user, fx="0.9123",
                legs=[[1, bank, gen, "HKD", 12345, 0, 11262, 0], [2, income, gen, "HKD", 0, 12345, 0, 11262]]),
        payload(sb, seq=4, date="2026-05-04", memo="冲销 Reversal of #2: wrong fund", by=user, reverses=2,
                source=("donation", "7"),
                legs=[[1, bank, fa, "CNY", 0, 25050, 0, 25050], [2, income_r, fa, "CNY", 25050, 0, 25050, 0]]),
    ]


@pytest.mark.parametrize("index", [0, 1, 2, 3], ids=["first (genesis)", "second", "foreign currency", "reversal"])
def test_each_entry_hash_is_the_link_computed_by_hand(chain, index):
    sb, user, approver, entries = chain
    payloads = expected_chain(sb, user, approver)
    hashes, previous = [], GENESIS
    for each in payloads:
        previous = link(previous, each)
        hashes.append(previous)
    expected_previous = GENESIS if index == 0 else hashes[index - 1]
    assert stored(entries[index]) == (expected_previous, hashes[index])
    assert (entries[index].previous_hash, entries[index].hash) == (expected_previous, hashes[index])


def test_the_first_hash_links_to_genesis_not_to_nothing(chain):
    """A hash over the payload alone (the previous hash left out) is not what is stored."""
    sb, user, approver, entries = chain
    canonical = json.dumps(expected_chain(sb, user, approver)[0], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False).encode()
    assert entries[0].hash != hashlib.sha256(canonical).hexdigest()
    assert entries[0].hash == hashlib.sha256(GENESIS.encode() + b"\n" + canonical).hexdigest()


def test_the_book_head_and_the_verdict_name_the_last_link(chain, capsys):
    sb, user, approver, _ = chain
    head = GENESIS
    for each in expected_chain(sb, user, approver):
        head = link(head, each)
    assert Book.objects.values_list("last_sequence", "head_hash").get(pk=sb.book.pk) == (4, head)
    verdict = verify_book(sb.book)
    assert verdict.ok and (verdict.count, verdict.head) == (4, head)
    call_command("verify_ledger")
    assert f"OK 4 {head} BK" in capsys.readouterr().out


def test_the_same_entries_in_another_book_hash_differently(chain, user):
    """The book id is in the payload: an entry copied into another book does not keep its hash."""
    from .conftest import make_book

    sb, _, _, entries = chain
    other = make_book("OTHER")
    copy = services.entry_post(
        book=other.book, date=dt.date(2026, 5, 1), memo="gift", user=user,
        legs=[Dr(other.bank, other.gen, Decimal("100.00")), Cr(other.income, other.gen, Decimal("100.00"))],
    )
    assert copy.hash != entries[0].hash
    assert copy.hash == link(GENESIS, payload(other, seq=1, date="2026-05-01", memo="gift", by=user, legs=[
        [1, other.bank.pk, other.gen.pk, "CNY", 10000, 0, 10000, 0],
        [2, other.income.pk, other.gen.pk, "CNY", 0, 10000, 0, 10000],
    ]))


# --- tampering with the chain, by someone who can recompute hashes -------------------------------------------------


def gifts(sb, user, count=3):
    return [
        services.entry_post(
            book=sb.book, date=dt.date(2026, 5, day), memo=f"gift {day}", user=user,
            legs=[Dr(sb.bank, sb.gen, Decimal("100.00")), Cr(sb.income, sb.gen, Decimal("100.00"))],
        )
        for day in range(1, count + 1)
    ]


def gift_payload(sb, user, seq, memo):
    return payload(sb, seq=seq, date=f"2026-05-{seq:02d}", memo=memo, by=user, legs=[
        [1, sb.bank.pk, sb.gen.pk, "CNY", 10000, 0, 10000, 0], [2, sb.income.pk, sb.gen.pk, "CNY", 0, 10000, 0, 10000],
    ])


def rewrite(entry, **columns):
    sets = ", ".join(f"{name} = %s" for name in columns)
    with guard_lifted("ledger_journalentry"), connection.cursor() as cursor:
        cursor.execute(f"UPDATE ledger_journalentry SET {sets} WHERE id = %s", [*columns.values(), entry.pk])
    assert guards_in_place()


@pytest.fixture
def posted(csb, user):
    entries = gifts(csb, user)
    verdict = verify_book(csb.book)
    assert verdict.ok
    return csb, user, entries, verdict.head


@pytest.mark.django_db(transaction=True)
def test_a_rewritten_previous_hash_alone_is_found(posted):
    """The entry's own hash does not cover its stored previous hash: only the comparison with the chain finds it."""
    sb, _, entries, _ = posted
    rewrite(entries[1], previous_hash="f" * 64)
    verdict = verify_book(sb.book)
    assert not verdict.ok
    assert verdict.problem == "entry #2: previous hash does not match the chain"


@pytest.mark.django_db(transaction=True)
def test_an_entry_rewritten_with_its_own_hash_recomputed_is_found_at_the_next_link(posted):
    sb, user, entries, _ = posted
    forged = link(entries[0].hash, gift_payload(sb, user, 2, "gift 2 (edited)"))
    rewrite(entries[1], memo="gift 2 (edited)", hash=forged)
    verdict = verify_book(sb.book)
    assert not verdict.ok
    assert verdict.problem == "entry #3: previous hash does not match the chain"


@pytest.mark.django_db(transaction=True)
def test_the_chain_rewritten_to_its_end_is_found_by_the_books_head(posted):
    """Entry 2 edited, and every later link recomputed and stored consistently: every entry verifies on its own,
    and the book's recorded head (written under the book's lock by each post) no longer matches."""
    sb, user, entries, _ = posted
    forged_2 = link(entries[0].hash, gift_payload(sb, user, 2, "gift 2 (edited)"))
    forged_3 = link(forged_2, gift_payload(sb, user, 3, "gift 3"))
    rewrite(entries[1], memo="gift 2 (edited)", hash=forged_2)
    rewrite(entries[2], previous_hash=forged_2, hash=forged_3)
    verdict = verify_book(sb.book)
    assert not verdict.ok
    assert verdict.problem == "the book's recorded head does not match its last entry"


@pytest.mark.django_db(transaction=True)
def test_a_rewrite_that_also_moves_the_books_head_is_found_only_against_a_head_kept_elsewhere(posted):
    """The limit of a chain kept in the same database: whoever can rewrite the entries and the book's head row
    recomputes a chain that verifies. What still shows it is a head taken before (printed by ``verify_ledger``,
    stated on every report): the chain now ends in another hash."""
    sb, user, entries, published_head = posted
    forged_2 = link(entries[0].hash, gift_payload(sb, user, 2, "gift 2 (edited)"))
    forged_3 = link(forged_2, gift_payload(sb, user, 3, "gift 3"))
    rewrite(entries[1], memo="gift 2 (edited)", hash=forged_2)
    rewrite(entries[2], previous_hash=forged_2, hash=forged_3)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_book SET head_hash = %s WHERE id = %s", [forged_3, sb.book.pk])
    verdict = verify_book(sb.book)
    assert verdict.ok  # not caught inside the database: documented in docs/ledger.md ("Hash chain")
    assert verdict.head == forged_3 != published_head
