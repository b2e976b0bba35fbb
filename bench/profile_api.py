"""Profile one B6 request of each kind in-process, through Django's whole stack (middleware, token auth, DRF,
the report or ``entry_post``), without HTTP or gunicorn. For BENCHMARKS.md's explanations; not part of the run.

    DATABASE_URL=<the demo database the run left, e.g. .../ctl_bench2_demo> DJANGO_SETTINGS_MODULE=charity.settings \\
        python -m pyinstrument -r text bench/profile_api.py reads 100
    ... bench/profile_api.py writes 200
    ... bench/profile_api.py donations 200
    ... bench/profile_api.py reads 400 20     # the donors drawn from the first 20 only: after 20 misses, cache hits

(``python -m cProfile -s cumtime`` instead of ``-m pyinstrument -r text`` where pyinstrument is not installed.)

``writes`` posts real entries (memo "bench profile write") into that scratch database's CWCT book; ``donations``
records real gifts (external ids "PROF-...", fund GEN, channel bank) through the donations endpoint, as B6 does.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(kind: str, count: int, pool: int | None = None) -> None:
    import django

    django.setup()
    from django.test import Client
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from charity.models import Donation

    year = timezone.localdate().year
    client = Client()
    if kind == "reads":
        from django.contrib.auth import get_user_model

        token = Token.objects.get_or_create(user=get_user_model().objects.get(username="auditor"))[0]
        donors = sorted(set(Donation.objects.filter(date__year=year, donor__isnull=False)
                            .values_list("donor__external_id", flat=True)))[:pool]
        rng = random.Random(1)
        cache: dict[str, int] = {}
        t0 = time.perf_counter()
        for _ in range(count):
            r = client.get("/api/v1/trusts/CWCT/reports/donor-statement/",
                           {"format": "json", "donor": rng.choice(donors), "year": year},
                           HTTP_AUTHORIZATION=f"Token {token.key}")
            assert r.status_code == 200, r.content[:200]
            cache[r.get("X-Report-Cache", "-")] = cache.get(r.get("X-Report-Cache", "-"), 0) + 1
        print(f"report cache: {cache}", file=sys.stderr)
    else:
        from django.contrib.auth import get_user_model

        token = Token.objects.get_or_create(user=get_user_model().objects.get(username="officer"))[0]
        today = timezone.localdate().isoformat()
        t0 = time.perf_counter()
        for i in range(count):
            if kind == "donations":
                url, body = "/api/v1/trusts/CWCT/donations/", {
                    "external_id": f"PROF-{uuid.uuid4().hex[:16]}", "date": today, "amount": "10.00", "fund": "GEN",
                    "channel": "bank"}
            else:
                url, body = "/api/v1/trusts/CWCT/entries/", {"date": today, "memo": f"bench profile write {i}", "legs": [
                    {"account": "1002", "fund": "GEN", "debit": "10.00"},
                    {"account": "4101", "fund": "GEN", "credit": "10.00"}]}
            r = client.post(url, body, content_type="application/json",
                            HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_IDEMPOTENCY_KEY=f"p-{uuid.uuid4()}")
            assert r.status_code == 201, r.content[:200]
    elapsed = time.perf_counter() - t0
    print(f"{kind}: {count} requests in {elapsed:.2f} s = {elapsed / count * 1000:.1f} ms each, one process",
          file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None)
