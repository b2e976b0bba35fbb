"""Writes ``verify_ledger``'s output and every report in every format it has into DIR (a test-only helper).

    DATABASE_URL=... python tests/reliability/report_all.py DIR YEAR

Runs the real ``report`` command once per report and format (in this one process, so that Python and Django
start once per database, not a hundred times). Reports that take a year get ``--year YEAR``; the donor
statement is written for every donor that has gifts.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(directory: str, year: str) -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charity.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from charity import chart
    from charity.models import Donor
    from charity.reports import REPORTS

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    call_command("verify_ledger", stdout=buffer)
    (out / "verify_ledger.txt").write_text(buffer.getvalue(), encoding="utf-8")
    donors = list(Donor.objects.filter(donations__isnull=False).exclude(external_id="").distinct()
                  .order_by("external_id").values_list("external_id", flat=True))
    for name in sorted(REPORTS):
        report = REPORTS[name]
        runs = [[]]
        if "donor" in report.required:
            runs = [["--donor", d] for d in donors[:3]]
        if "account" in report.required:
            runs = [["--account", chart.BANK]]
        for extra in runs:
            for fmt in report.formats:
                args = ([] if report.period is None else ["--year", year]) + extra
                suffix = f"-{extra[1]}" if extra else ""
                call_command("report", name, *args, "--format", fmt, "--out", str(out / f"{name}{suffix}.{fmt}"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
