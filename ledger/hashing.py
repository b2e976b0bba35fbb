"""The hash chain.

Each posted entry stores ``hash = SHA-256(previous_hash || "\\n" || canonical(entry))`` as 64 lowercase hex
digits, where ``previous_hash`` is the hash of the entry before it in the same book (by sequence number) and
``GENESIS`` (64 zeros) for the first. ``canonical(entry)`` is UTF-8 JSON with sorted keys, no whitespace and
non-ASCII characters kept as they are, of::

    {"book": <book id>, "seq": <sequence>, "date": "YYYY-MM-DD", "memo": <memo>,
     "source": [<source type>, <source id>], "key": <idempotency key or "">,
     "reverses": <sequence of the reversed entry or null>, "fx": <rate as a decimal string or "">,
     "by": <created_by id>, "approved": <approved_by id or null>,
     "legs": [[<position>, <account id>, <fund id>, <currency>, <debit>, <credit>, <debit CNY>, <credit CNY>], ...]}

with legs in position order and amounts as integers in minor units. A closing entry (``JournalEntry.closing``)
adds ``"closing": true``; the key is absent from every other entry, so the hashes of entries written before the
flag existed are unchanged. Database ids rather than codes are hashed
because codes may be renamed while ids never change; a dump restored with its ids verifies to the same head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

GENESIS = "0" * 64
# What json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False) makes, without a new encoder
# for every entry.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(
    *,
    book_id: int,
    sequence: int,
    date: str,
    memo: str,
    source_type: str,
    source_id: str,
    idempotency_key: str | None,
    reverses_sequence: int | None,
    fx_rate: str,
    created_by_id: int,
    approved_by_id: int | None,
    legs: Iterable[Sequence],
    closing: bool = False,
) -> bytes:
    payload = {
        "book": book_id,
        "seq": sequence,
        "date": date,
        "memo": memo,
        "source": [source_type, source_id],
        "key": idempotency_key or "",
        "reverses": reverses_sequence,
        "fx": fx_rate,
        "by": created_by_id,
        "approved": approved_by_id,
        "legs": [list(leg) for leg in legs],
    }
    if closing:
        payload["closing"] = True
    return _CANONICAL.encode(payload).encode("utf-8")


def chain_hash(previous_hash: str, canonical_bytes: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(previous_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_bytes)
    return digest.hexdigest()


def fx_text(rate) -> str:
    """A rate as a stable decimal string (trailing zeros stripped), '' when there is none."""
    if rate is None:
        return ""
    text = format(rate.normalize(), "f")
    return text


def entry_hash(previous_hash: str, *, book_id: int, sequence: int, date, memo: str, source_type: str,
               source_id: str, idempotency_key: str | None, reverses_sequence: int | None, fx_rate,
               created_by_id: int, approved_by_id: int | None, legs: Iterable[Sequence], closing: bool = False) -> str:
    """The hash of one entry, from what is (or will be) stored: the same function for posting and verifying."""
    return chain_hash(
        previous_hash,
        canonical(
            book_id=book_id, sequence=sequence, date=date.isoformat(), memo=memo, source_type=source_type,
            source_id=source_id, idempotency_key=idempotency_key, reverses_sequence=reverses_sequence,
            fx_rate=fx_text(fx_rate), created_by_id=created_by_id, approved_by_id=approved_by_id, legs=legs,
            closing=closing,
        ),
    )
