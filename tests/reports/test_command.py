"""``manage.py report``: names, options per report, --year, defaults, exit statuses, stdout and --out."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from charity.reports import REPORTS, Column, Report, ReportData, register
from charity.reports.base import resolve_params

from .conftest import D, worked_example

ROOT = Path(__file__).resolve().parents[2]
# The first reports scripts were promised (docs/formats.md): never renamed or removed.
PROMISED_NAMES = {"trial-balance", "general-ledger", "journal", "financial-position", "activities", "fund-balances"}


@pytest.fixture
def year(books):
    worked_example(books)
    return books


def run(*args) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue()


def usage_error(*args) -> CommandError:
    with pytest.raises(CommandError) as info:
        call_command("report", *args, stdout=io.StringIO())
    return info.value


def test_registry_holds_the_promised_names():
    assert PROMISED_NAMES <= set(REPORTS)
    for name, cls in REPORTS.items():
        assert cls.name == name and cls.title and cls.title_en


def test_csv_to_stdout(year):
    text = run("trial-balance", "--as-of", "2026-11-29")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["account_code", "account_name", "account_type", "debit", "credit"]
    assert rows[-1] == ["TOTAL", "合计", "", "40700.00", "40700.00"]


def test_year_is_short_for_the_whole_year(year):
    assert run("activities", "--year", "2026", "--format", "json") == run(
        "activities", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "json"
    )
    assert run("financial-position", "--year", "2025") == run("financial-position", "--as-of", "2025-12-31")
    meta = json.loads(run("trial-balance", "--year", "2025", "--format", "json"))["meta"]
    assert meta["parameters"] == {"as_of": "2025-12-31"}


@time_machine.travel("2026-08-15 10:00 +0800", tick=False)
def test_defaults_are_today_and_the_current_year(year):
    params = resolve_params(REPORTS["journal"], year.book)
    assert (params.date_from, params.date_to, params.as_of) == (D(2026, 1, 1), D(2026, 8, 15), None)
    params = resolve_params(REPORTS["trial-balance"], year.book)
    assert (params.as_of, params.date_from) == (D(2026, 8, 15), None)
    meta = json.loads(run("fund-balances", "--format", "json"))["meta"]
    assert meta["parameters"] == {"from": "2026-01-01", "to": "2026-08-15"}
    assert json.loads(run("financial-position", "--format", "json"))["meta"]["parameters"] == {"as_of": "2026-08-15"}


@pytest.mark.parametrize("args,message", [
    (["trial-balance", "--from", "2026-01-01"], "does not take --from"),
    (["trial-balance", "--to", "2026-01-01"], "does not take --to"),
    (["financial-position", "--donor", "D1"], "does not take --donor"),
    (["activities", "--as-of", "2026-01-01"], "does not take --as-of"),
    (["journal", "--fund", "GEN"], "does not take --fund"),
    (["general-ledger", "--fund", "GEN"], "does not take --fund"),
    (["activities", "--year", "2026", "--from", "2026-02-01"], "--year cannot be combined with --from"),
    (["trial-balance", "--format", "pdf"], "needs --out"),
])
def test_options_a_report_does_not_take_are_usage_errors(year, args, message):
    error = usage_error(*args)
    assert message in str(error)
    assert error.returncode == 2


def test_refused_input_exits_1(year):
    error = usage_error("trial-balance", "--fund", "NOPE")
    assert "no fund with code 'NOPE'" in str(error) and error.returncode == 1
    error = usage_error("journal", "--from", "2026-05-01", "--to", "2026-04-01")
    assert "is after" in str(error) and error.returncode == 1


def test_unknown_report_lists_the_names(year):
    error = usage_error("balance-sheet")
    assert "invalid choice" in str(error)
    for name in PROMISED_NAMES:
        assert name in str(error)


def test_out_writes_the_file(year, tmp_path):
    target = tmp_path / "tb.pdf"
    assert run("trial-balance", "--as-of", "2026-11-29", "--format", "pdf", "--out", str(target)) == ""
    assert target.read_bytes().startswith(b"%PDF")
    assert [p.name for p in tmp_path.iterdir()] == ["tb.pdf"]
    csv_path = tmp_path / "fb.csv"
    run("fund-balances", "--year", "2026", "--out", str(csv_path), "--trust", "T1", "--user", "officer")
    assert csv_path.read_bytes() == year.report("fund-balances", "csv", year=2026)


def test_a_failed_report_leaves_no_file(year, tmp_path, monkeypatch):
    def broken(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(REPORTS["journal"], "build", broken)
    with pytest.raises(RuntimeError):
        run("journal", "--out", str(tmp_path / "j.csv"))
    assert list(tmp_path.iterdir()) == []


def test_a_report_added_by_another_module_plugs_in(year):
    @register
    class FundList(Report):
        name = "test-fund-list"
        title, title_en = "基金清单", "Fund list"
        period = None

        def build(self):
            funds = self.book.funds.order_by("code")
            return ReportData(columns=[Column("code", "编码", "Code"), Column("name", "名称", "Name")],
                              rows=((f.code, f.name) for f in funds))

    try:
        assert "test-fund-list" in REPORTS
        text = run("test-fund-list", "--format", "json")
        assert [r["code"] for r in json.loads(text)["rows"]] == ["ENDOW", "GEN", "SMILE", "STUDY"]
        assert "does not take --as-of" in str(usage_error("test-fund-list", "--as-of", "2026-01-01"))
        assert "does not take --year" in str(usage_error("test-fund-list", "--year", "2026"))
    finally:
        REPORTS.pop("test-fund-list")


def test_exit_statuses_from_the_command_line(tmp_path):
    """A real process against a file database: 0, 1 and 2 as docs/formats.md says, CSV bytes on stdout."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}

    def manage(*args):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True)

    assert manage("migrate", "--noinput", "-v", "0").returncode == 0
    assert manage("create_trust", "T9", "--name", "测试").returncode == 0
    ok = manage("report", "trial-balance", "--as-of", "2026-01-31")
    assert ok.returncode == 0 and ok.stdout.startswith(b"\xef\xbb\xbfaccount_code,") and ok.stdout.endswith(b"\r\n")
    usage = manage("report", "trial-balance", "--from", "2026-01-01")
    assert usage.returncode == 2 and b"does not take --from" in usage.stderr
    unknown = manage("report", "nope")
    assert unknown.returncode == 2 and b"trial-balance" in unknown.stderr
    bad_date = manage("report", "journal", "--from", "2026-13-01")
    assert bad_date.returncode == 2
    refused = manage("report", "trial-balance", "--fund", "NOPE")
    assert refused.returncode == 1 and b"no fund" in refused.stderr
