"""The benchmark harness (bench/run.py) in its tiny mode, our side only, on the test database.

It checks that the harness runs, that every figure it times is exact, and that it writes a results JSON with
positive rates. The peer (django-hordak) and pgbench need bench/.venv-hordak and are left to `make bench`.
"""

import json

import pytest
from django.db import connection

from bench import run


@pytest.mark.django_db
def test_tiny_benchmark_writes_exact_results(tmp_path):
    # Inside the test's transaction (a flush could not delete posted entries: the ledger's guards refuse), so
    # no B1c: its processes could not see the uncommitted books. `make bench-tiny` runs B1c for real.
    cfg = dict(run.MODES["tiny"])
    procs = 0
    ours = run.run_ours(cfg, prefix="T", procs=procs)
    result = {"name": f"{connection.vendor}-tiny", "vendor": connection.vendor, "mode": "tiny", "config": cfg,
              "ours": ours}
    result["verdicts"] = run.verdicts(result)
    result["exact"] = run.all_exact(result)
    path = run.write_results(result, tmp_path, result["name"])

    data = json.loads(path.read_text())
    assert data["exact"] is True, data
    for name in ("B1", "B2"):
        assert data["ours"][name]["entries_per_s"] > 0
        assert data["ours"][name]["exact"] is True, data["ours"][name]
    if procs:
        assert data["ours"]["B1c"]["entries_per_s"] > 0
        assert data["ours"]["B1c"]["exact"] is True, data["ours"]["B1c"]
    assert data["ours"]["B3"]["median_ms"] > 0 and data["ours"]["B3"]["exact"] is True
    assert data["ours"]["B3"]["value"] == data["ours"]["B3"]["sql_sum"]
    assert data["ours"]["B4"]["seconds"] > 0 and data["ours"]["B4"]["exact"] is True
    assert data["ours"]["B4"]["debits"] == data["ours"]["B4"]["credits"]
    assert data["ours"]["load"]["verified"] is True
    assert data["ours"]["statements_per_entry"] > 0
    assert {row["status"] for row in data["verdicts"]} <= {"PASS", "MISS", "n/a"}
