"""B5-B7 of the harness (bench/apps.py) in tiny mode: a small demo year seeded by ``seed_demo`` in a child
process into a SQLite file of the test's own, documents rendered, the general ledger read back, and (when httpx,
a bench-only requirement, is installed) the B6 load client against gunicorn on that file.

Marked slow (about a minute: several Django start-ups in child processes); run with ``-m slow``.
"""

import importlib.util

import pytest

from bench import apps, run


@pytest.mark.slow
def test_tiny_apps_benchmark_is_exact(tmp_path):
    demo = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    has_httpx = importlib.util.find_spec("httpx") is not None
    out = apps.run_apps(demo, "tiny", big_book=None, force_b6=has_httpx, demo_url=demo,
                        only={"B5", "B6", "B7"} if has_httpx else {"B5", "B7"})
    seed = out["B7"]["seed"]
    assert seed["exact"] is True and seed["seconds"] > 0 and seed["peak_rss_mb"] > 0, seed
    b5 = out["B5"]
    assert b5["exact"] is True, b5
    assert b5["annual"]["seconds"] > 0 and b5["donor_statement"]["median_ms"] > 0 and b5["receipt"]["median_ms"] > 0
    gl = out["B7"]["gl_demo"]
    assert gl["exact"] is True and gl["legs"] == gl["expected_legs"] > 0, gl
    if has_httpx:
        b6 = out["B6"]
        assert b6.get("exact") is True, b6
        assert b6["reads"]["errors"] == 0 and b6["reads"]["requests"] > 0
        assert b6["writes"]["errors"] == 0 and b6["writes"]["created"] > 0
        assert b6["writes"]["kind"] == "donations" and b6["write_endpoint"].endswith("/donations/")
        assert b6["check"]["entries_written"] == b6["writes"]["created"]
        # The writes twice, the same count to one book and spread over 20; reads open loop; the two ceilings.
        one, spread = b6["writes_one_book"], b6["writes_spread"]
        assert one["books"] == 1 and spread["books"] == 20 and one["requests"] == spread["requests"]
        assert one["created"] == spread["created"] == one["requests"] and b6["writes_ratio_one_to_spread"] > 0
        assert b6["reads"]["loop"] == "open" and b6["reads"]["scheduled"] == b6["reads"]["requests"]
        assert b6["saturation"]["ping"]["per_s"] > 0 and b6["saturation"]["ping"]["errors"] == 0
        assert b6["saturation"]["reads"]["per_s"] > 0 and b6["saturation"]["reads"]["errors"] == 0
    rows = run.app_verdicts(out, pg=False)
    assert {r["status"] for r in rows} <= {"PASS", "MISS", "n/a"}, rows
