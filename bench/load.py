"""The B6 load generator: asyncio clients over httpx, traffic to 127.0.0.1 only. B6 is stated as measurements
of the design, not of how many cores the machine has:

Writes  the same write requests twice, with the same concurrency and the same total count: (i) every request to
        ONE trust's book, (ii) spread over 20 trusts' books (request i to book i mod 20). Closed loop,
        ``write_clients`` clients taking the next request number until ``write_total`` are sent. Each request, as
        the officer, POSTs a gift to the donations endpoint (``donations``: ``/api/v1/trusts/{code}/donations/``,
        fund GEN, channel bank, 1.00-500.00, an external id of its own; recording it posts one entry and issues
        its receipt) or a manual journal entry (``entries``: bank 1002 Dr / donation income 4101 Cr, fund GEN),
        each with its own Idempotency-Key; every 10th request is sent a second time with the same key and body and
        must come back as a replay (``Idempotent-Replayed: true``, the same entry). The rate counts distinct entries
        created over the phase's wall clock; the ratio one book / 20 books says whether a book's lock is held only
        for the chain step (ratio near 1) or for the whole request (the one-book phase serialises).
Reads   OPEN loop: ``read_rate`` requests per second for ``read_seconds``, each sent at its scheduled time whether
        or not the earlier ones were answered, and its latency measured from that scheduled time (so a stalled
        server is not hidden by a client that waits: no coordinated omission). GET the donor-statement report as
        JSON for a random donor of the year, as the auditor. A 200 with the report's JSON is a success; anything
        else (status, timeout, connection error, a body that is not the report, no answer by the end of the drain
        time) an error.
Ceiling closed loop, ``sat_clients`` clients for ``sat_seconds`` each: the most the server answers per second of
        the same read endpoint, and of a trivial DRF endpoint (``/bench/ping/``: an ``APIView`` with the project's
        authentication and permission defaults returning ``{}``; only in the bench's URLconf, ``bench/server_urls.py``)
        on the same server: the framework's ceiling. Their ratio is the share of the ceiling the report leaves.
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
PING = "/bench/ping/"


def memo_prefix(kind: str) -> str:
    return f"Donation {DONATION_PREFIX}" if kind == "donations" else MEMO_PREFIX


def _write_body(kind: str, date: str, amount: Decimal, tag: str) -> dict:
    if kind == "donations":
        return {"external_id": f"{DONATION_PREFIX}{tag}-{uuid.uuid4().hex[:12]}", "date": date,
                "amount": f"{amount:.2f}", "fund": "GEN", "channel": "bank"}
    return {"date": date, "memo": f"{MEMO_PREFIX} {tag}", "legs": [
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


def _statement(client, base, trust, year, donors, auth):
    """(send(rng) -> awaitable response, check(response, donor) -> error or None) for the donor statement."""
    url = f"{base}/api/v1/trusts/{trust}/reports/donor-statement/"

    async def send(rng):
        donor = rng.choice(donors)
        return donor, await client.get(url, params={"format": "json", "donor": donor, "year": year}, headers=auth)

    def check(donor, r):
        if r.status_code != 200:
            return f"{r.status_code} {r.text[:120]}"
        if '"rows"' not in r.text or donor not in r.text:
            return f"200 without the report of {donor}"
        return None

    return send, check


def _ping(client, base, auth):
    async def send(rng):
        return None, await client.get(f"{base}{PING}", headers=auth)

    def check(_, r):
        return None if r.status_code == 200 and r.text.strip() == "{}" else f"{r.status_code} {r.text[:120]}"

    return send, check


async def closed_loop(send, check, *, seconds: float, clients: int, seed: int) -> dict:
    """``clients`` clients, each sending its next request when the last is answered, for ``seconds``."""
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    async def one_client(i: int):
        rng = random.Random(seed * 1000 + i)
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            try:
                what, r = await send(rng)
                elapsed = time.perf_counter() - t
                problem = check(what, r)
                if problem:
                    errors.append(problem)
                else:
                    latencies.append(elapsed)
            except Exception as exc:  # noqa: BLE001 - counted as an error
                errors.append(f"{type(exc).__name__}: {exc}"[:160])

    t0 = time.perf_counter()
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    wall = time.perf_counter() - t0
    return {"loop": "closed", "clients": clients, "seconds": wall, **percentiles(latencies), "errors": len(errors),
            "error_samples": sorted(set(errors))[:5], "per_s": len(latencies) / wall}


async def open_loop(send, check, *, rate: float, seconds: float, seed: int, drain: float = 30.0) -> dict:
    """Request k is sent at t0 + k / rate whatever became of the earlier ones; its latency runs from that scheduled
    time to its answer, so the time a request waited for a connection or behind a stalled server counts. Requests
    still unanswered ``drain`` seconds after the last scheduled send are errors. ``send_lag`` is how late the
    client itself sent (its own CPU: the load generator shares the cores); it is part of the latency."""
    n = max(1, int(round(rate * seconds)))
    rng = random.Random(seed)
    latencies: list[float] = []
    lags: list[float] = []
    errors: list[str] = []
    t0 = time.perf_counter() + 0.05

    async def one(k: int):
        scheduled = t0 + k / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(time.perf_counter() - scheduled)
        try:
            what, r = await send(rng)
            done = time.perf_counter()
            problem = check(what, r)
            if problem:
                errors.append(problem)
            else:
                latencies.append(done - scheduled)
        except Exception as exc:  # noqa: BLE001 - counted as an error
            errors.append(f"{type(exc).__name__}: {exc}"[:160])

    tasks = [asyncio.create_task(one(k)) for k in range(n)]
    done, pending = await asyncio.wait(tasks, timeout=seconds + drain)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
        errors.extend([f"no answer within {drain:.0f} s of the last scheduled send"] * len(pending))
    wall = time.perf_counter() - t0
    lag = percentiles(lags)
    return {"loop": "open", "rate_per_s": rate, "scheduled": n, "seconds": seconds, "wall_seconds": wall,
            **percentiles(latencies), "errors": len(errors), "error_samples": sorted(set(errors))[:5],
            "per_s": len(latencies) / wall, "unanswered": len(pending),
            "send_lag_p99_ms": lag.get("p99_ms"), "send_lag_max_ms": lag.get("max_ms")}


async def writes_phase(client, base, trusts: list[str], date, auth, *, total: int, clients: int, seed: int,
                       kind: str = "donations") -> dict:
    """``total`` write requests from ``clients`` closed-loop clients; request k goes to ``trusts[k % len]``."""
    latencies: list[float] = []
    errors: list[str] = []
    created: dict[str, tuple[str, int, Decimal]] = {}
    replays = {"sent": 0, "ok": 0}
    counter = iter(range(total))
    rng = random.Random(seed)
    amounts = [Decimal(rng.randint(100, 50_000)) / 100 for _ in range(total)]
    tag = uuid.uuid4().hex[:6]

    async def post(url: str, key: str, body: dict):
        t = time.perf_counter()
        r = await client.post(url, json=body, headers={**auth, "Idempotency-Key": key})
        return r, time.perf_counter() - t

    async def one_client():
        for k in counter:  # shared: each request number is taken by one client
            trust = trusts[k % len(trusts)]
            url = f"{base}/api/v1/trusts/{trust}/{kind}/"
            amount = amounts[k]
            key = f"b6-{uuid.uuid4()}"
            body = _write_body(kind, date, amount, f"{tag}-{k}")
            try:
                r, elapsed = await post(url, key, body)
                if r.status_code != 201:
                    errors.append(f"{r.status_code} {r.text[:160]}")
                    continue
                latencies.append(elapsed)
                created[key] = (trust, _sequence(kind, r.json()), amount)
                if k % 10 == 9:  # the same request again: a replay, nothing written
                    replays["sent"] += 1
                    again, _ = await post(url, key, body)
                    if (again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
                            and _sequence(kind, again.json()) == created[key][1]):
                        replays["ok"] += 1
                    else:
                        errors.append(f"replay: {again.status_code} {again.headers.get('Idempotent-Replayed')}")
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{type(exc).__name__}: {exc}"[:160])

    t0 = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    wall = time.perf_counter() - t0
    per_trust: dict[str, dict] = {}
    for trust, sequence, amount in created.values():
        slot = per_trust.setdefault(trust, {"created": 0, "amount": Decimal("0.00"), "sequences": set()})
        slot["created"] += 1
        slot["amount"] += amount
        slot["sequences"].add(sequence)
    return {"clients": clients, "kind": kind, "books": len(trusts), "requests": total, "seconds": wall,
            **{k: v for k, v in percentiles(latencies).items() if k != "requests"},
            "created": len(created), "per_s": len(created) / wall,
            "distinct_sequences": sum(len(s["sequences"]) for s in per_trust.values()),
            "amount_created": str(sum((a for _, _, a in created.values()), Decimal("0.00"))),
            "per_trust": {t: {"created": s["created"], "amount": str(s["amount"])} for t, s in sorted(per_trust.items())},
            "replays": replays, "errors": len(errors), "error_samples": sorted(set(errors))[:5]}


def _merge_writes(kind: str, endpoint: str, phases: list[dict]) -> dict:
    """The two write phases together (what the ledger check compares with)."""
    per_trust: dict[str, dict] = {}
    for phase in phases:
        for trust, s in phase.get("per_trust", {}).items():
            slot = per_trust.setdefault(trust, {"created": 0, "amount": Decimal("0.00")})
            slot["created"] += s["created"]
            slot["amount"] += Decimal(s["amount"])
    return {"kind": kind, "endpoint": endpoint, "clients": phases[0].get("clients"),
            "created": sum(p.get("created", 0) for p in phases), "errors": sum(p.get("errors", 0) for p in phases),
            "amount_created": str(sum((Decimal(p.get("amount_created", "0")) for p in phases), Decimal("0.00"))),
            "per_trust": {t: {"created": s["created"], "amount": str(s["amount"])} for t, s in sorted(per_trust.items())}}


async def run(*, base: str, trust: str, year: int, date: str, donors: list[str], users: dict, write_trusts: list[str],
              cfg: dict, seed: int = 6, write_kind: str = "donations", warm_all: bool = False) -> dict:
    """B6 against a running server. ``cfg``: read_rate, read_seconds, write_clients, write_total, sat_clients,
    sat_seconds. ``write_trusts``: the 20 trusts of the spread phase; the first is the one-book phase's."""
    import httpx

    assert base.startswith("http://127.0.0.1:"), base  # traffic to this machine only
    conns = max(cfg["write_clients"], cfg["sat_clients"], 64) + 4
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    out: dict = {}
    async with httpx.AsyncClient(timeout=httpx.Timeout(120.0), limits=limits) as client:
        auditor = {"Authorization": f"Token {await token(client, base, 'auditor', users['auditor'])}"}
        officer = {"Authorization": f"Token {await token(client, base, 'officer', users['officer'])}"}
        probe = await client.get(f"{base}/api/v1/trusts/{trust}/donations/", headers=officer)
        out["donations_endpoint"] = probe.status_code != 404
        if write_kind == "donations" and not out["donations_endpoint"]:
            raise RuntimeError("B6 writes to the donations endpoint, and the server has none (use entries)")
        out["write_endpoint"] = f"/api/v1/trusts/{{trust}}/{write_kind}/"
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

        await asyncio.gather(*(warm_one(donor) for donor in warm), *(client.get(f"{base}{PING}", headers=auditor)
                                                                    for _ in range(4)))
        out["warm_up"] = {"statements": len(warm), "seconds": time.perf_counter() - t0}
        statement = _statement(client, base, trust, year, donors, auditor)
        # One client alone first (a few seconds): the service time, without queueing behind other clients.
        solo = min(5.0, cfg["read_seconds"] / 3)
        out["reads_1_client"] = await closed_loop(*statement, seconds=solo, clients=1, seed=seed + 1)
        # (b) reads at a fixed arrival rate, open loop.
        out["reads"] = await open_loop(*statement, rate=cfg["read_rate"], seconds=cfg["read_seconds"], seed=seed)
        # The ceilings: the read endpoint and a trivial DRF endpoint, closed loop, on the same server.
        out["saturation"] = {
            "reads": await closed_loop(*statement, seconds=cfg["sat_seconds"], clients=cfg["sat_clients"],
                                       seed=seed + 2),
            "ping": await closed_loop(*_ping(client, base, auditor), seconds=cfg["sat_seconds"],
                                      clients=cfg["sat_clients"], seed=seed + 3),
        }
        sat = out["saturation"]
        sat["ratio_reads_to_ping"] = (sat["reads"]["per_s"] / sat["ping"]["per_s"]) if sat["ping"]["per_s"] else None
        # (a) writes: the same requests to one book, then spread over the 20.
        one = await writes_phase(client, base, write_trusts[:1], date, officer, total=cfg["write_total"],
                                 clients=cfg["write_clients"], seed=seed, kind=write_kind)
        spread = await writes_phase(client, base, write_trusts, date, officer, total=cfg["write_total"],
                                    clients=cfg["write_clients"], seed=seed, kind=write_kind)
        out["writes_one_book"], out["writes_spread"] = one, spread
        out["writes_ratio_one_to_spread"] = one["per_s"] / spread["per_s"] if spread.get("per_s") else None
        out["writes"] = _merge_writes(write_kind, out["write_endpoint"], [one, spread])
    return out
