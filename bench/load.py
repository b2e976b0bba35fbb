"""The B6 load generator: asyncio clients over httpx, closed loop (each client sends its next request when the
last one is answered, no think time), traffic to 127.0.0.1 only.

Reads:  ``read_clients`` clients for ``read_seconds``: GET the donor-statement report as JSON for a random donor
        of the year, as the auditor (token from POST /api/v1/auth/token/). A 200 with the report's JSON is a
        success; anything else (status, timeout, connection error, a body that is not the report) an error.
Writes: ``write_clients`` clients for ``write_seconds``: as the officer, POST a gift to the donations endpoint
        (``donations``: ``/api/v1/trusts/{code}/donations/``, fund GEN, channel bank, 1.00-500.00, an
        external id of its own; recording it posts one entry and issues its receipt) or a manual journal entry
        (``entries``: bank 1002 Dr / donation income 4101 Cr, fund GEN, 1.00-500.00), each with its own
        Idempotency-Key; every 10th request of a client is sent a second time with the same key and body, and
        must come back as a replay (``Idempotent-Replayed: true``, the same entry). The rate counts distinct
        entries created; ``memo_prefix(kind)`` is how the check finds them in the ledger afterwards.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from decimal import Decimal

MEMO_PREFIX = "bench B6 write"  # manual entries' memo
DONATION_PREFIX = "B6W-"  # gifts' external id; donation_record writes the memo "Donation <external id>"
WRITE_KINDS = ("donations", "entries")


def memo_prefix(kind: str) -> str:
    return f"Donation {DONATION_PREFIX}" if kind == "donations" else MEMO_PREFIX


def _write_body(kind: str, date: str, amount: Decimal, client: int, n: int) -> dict:
    if kind == "donations":
        return {"external_id": f"{DONATION_PREFIX}{client}-{n}-{uuid.uuid4().hex[:12]}", "date": date,
                "amount": f"{amount:.2f}", "fund": "GEN", "channel": "bank"}
    return {"date": date, "memo": f"{MEMO_PREFIX} {client}-{n}", "legs": [
        {"account": "1002", "fund": "GEN", "debit": f"{amount:.2f}"},
        {"account": "4101", "fund": "GEN", "credit": f"{amount:.2f}"},
    ]}


def _sequence(kind: str, body: dict):
    """The ledger entry a 201 answer names: an entry's sequence, or the entry a gift was posted as."""
    return body.get("entry") if kind == "donations" else body.get("sequence")


def percentiles(samples_s: list[float]) -> dict:
    if not samples_s:
        return {"requests": 0}
    ms = sorted(s * 1000 for s in samples_s)

    def rank(p: float) -> float:  # nearest rank
        return ms[min(len(ms) - 1, max(0, int(-(-p * len(ms) // 1)) - 1))]

    return {"requests": len(ms), "p50_ms": rank(0.50), "p95_ms": rank(0.95), "p99_ms": rank(0.99), "max_ms": ms[-1],
            "mean_ms": sum(ms) / len(ms)}


async def token(client, base: str, username: str, password: str) -> str:
    r = await client.post(f"{base}/api/v1/auth/token/", data={"username": username, "password": password})
    r.raise_for_status()
    return r.json()["token"]


async def _reads(client, base, trust, year, donors, auth, seconds, clients, seed) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    url = f"{base}/api/v1/trusts/{trust}/reports/donor-statement/"
    deadline = time.perf_counter() + seconds

    async def one_client(i: int):
        rng = random.Random(seed * 1000 + i)
        while time.perf_counter() < deadline:
            donor = rng.choice(donors)
            t = time.perf_counter()
            try:
                r = await client.get(url, params={"format": "json", "donor": donor, "year": year}, headers=auth)
                elapsed = time.perf_counter() - t
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:120]}")
                elif '"rows"' not in r.text or donor not in r.text:
                    errors.append(f"200 without the report of {donor}")
                else:
                    latencies.append(elapsed)
            except Exception as exc:  # noqa: BLE001 - counted as an error
                errors.append(f"{type(exc).__name__}: {exc}"[:160])

    t0 = time.perf_counter()
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    wall = time.perf_counter() - t0
    return {"clients": clients, "seconds": wall, **percentiles(latencies), "errors": len(errors),
            "error_samples": sorted(set(errors))[:5], "per_s": len(latencies) / wall}


async def _writes(client, base, trust, date, auth, seconds, clients, seed, kind: str = "donations") -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    created: dict[str, tuple[int, Decimal]] = {}
    replays = {"sent": 0, "ok": 0}
    url = f"{base}/api/v1/trusts/{trust}/{kind}/"
    deadline = time.perf_counter() + seconds

    async def post(key: str, body: dict):
        t = time.perf_counter()
        r = await client.post(url, json=body, headers={**auth, "Idempotency-Key": key})
        return r, time.perf_counter() - t

    async def one_client(i: int):
        rng = random.Random(seed * 1000 + i)
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            amount = Decimal(rng.randint(100, 50_000)) / 100
            key = f"b6-{uuid.uuid4()}"
            body = _write_body(kind, date, amount, i, n)
            try:
                r, elapsed = await post(key, body)
                if r.status_code != 201:
                    errors.append(f"{r.status_code} {r.text[:160]}")
                    continue
                latencies.append(elapsed)
                created[key] = (_sequence(kind, r.json()), amount)
                if n % 10 == 0:  # the same request again: a replay, nothing written
                    replays["sent"] += 1
                    again, _ = await post(key, body)
                    if (again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
                            and _sequence(kind, again.json()) == created[key][0]):
                        replays["ok"] += 1
                    else:
                        errors.append(f"replay: {again.status_code} {again.headers.get('Idempotent-Replayed')}")
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{type(exc).__name__}: {exc}"[:160])

    t0 = time.perf_counter()
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    wall = time.perf_counter() - t0
    sequences = [s for s, _ in created.values()]
    return {"clients": clients, "kind": kind, "endpoint": url[len(base):], "seconds": wall, **percentiles(latencies),
            "created": len(created),
            "per_s": len(created) / wall, "distinct_sequences": len(set(sequences)),
            "amount_created": str(sum((a for _, a in created.values()), Decimal("0.00"))), "replays": replays,
            "errors": len(errors), "error_samples": sorted(set(errors))[:5]}


async def run(*, base: str, trust: str, year: int, date: str, donors: list[str], users: dict, read_clients: int,
              read_seconds: float, write_clients: int, write_seconds: float, seed: int = 6,
              write_kind: str = "donations", warm_all: bool = False) -> dict:
    import httpx

    assert base.startswith("http://127.0.0.1:"), base  # traffic to this machine only
    limits = httpx.Limits(max_connections=max(read_clients, write_clients) + 4,
                          max_keepalive_connections=max(read_clients, write_clients) + 4)
    out: dict = {}
    async with httpx.AsyncClient(timeout=httpx.Timeout(120.0), limits=limits) as client:
        auditor = {"Authorization": f"Token {await token(client, base, 'auditor', users['auditor'])}"}
        officer = {"Authorization": f"Token {await token(client, base, 'officer', users['officer'])}"}
        probe = await client.get(f"{base}/api/v1/trusts/{trust}/donations/", headers=officer)
        out["donations_endpoint"] = probe.status_code != 404
        if write_kind == "donations" and not out["donations_endpoint"]:
            raise RuntimeError("B6 writes to the donations endpoint, and the server has none (use entries)")
        out["write_endpoint"] = f"/api/v1/trusts/{trust}/{write_kind}/"
        # Warm-up, untimed: every worker has imported the views and opened its database connection. With
        # ``warm_all`` (not the protocol; ``apps.py b6 --warm-all``) every donor's statement is asked for
        # once first, so that the timed reads measure a server whose report cache already holds them.
        t0 = time.perf_counter()
        warm = donors if warm_all else donors[:6]
        gate = asyncio.Semaphore(4 if warm_all else 1)

        async def warm_one(donor):
            async with gate:
                await client.get(f"{base}/api/v1/trusts/{trust}/reports/donor-statement/",
                                 params={"format": "json", "donor": donor, "year": year}, headers=auditor)

        await asyncio.gather(*(warm_one(donor) for donor in warm))
        out["warm_up"] = {"statements": len(warm), "seconds": time.perf_counter() - t0}
        # One client alone first (a few seconds): the service time, without queueing behind other clients.
        solo = min(5.0, read_seconds / 3)
        out["reads_1_client"] = await _reads(client, base, trust, year, donors, auditor, solo, 1, seed + 1)
        out["reads"] = await _reads(client, base, trust, year, donors, auditor, read_seconds, read_clients, seed)
        out["writes"] = await _writes(client, base, trust, date, officer, write_seconds, write_clients, seed,
                                      write_kind)
    return out
