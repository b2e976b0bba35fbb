"""Counts of people from 1 to 4 never reach anything readable without signing in.

The demo year of ``aidyear`` plus two small groups: one grant of the general program (1 person, September)
and a batch of two (October). The public disclosure page (Chinese and English) and the annual report (its
only format is PDF; CSV, JSON and HTML of it do not exist, and the report API refuses anonymous readers) show
"少于5人 fewer than 5" for them, and no count from 1 to 4 anywhere a count of people, disbursements, goods or
grants is printed. One function decides: ``beneficiaries.privacy.shown_count``.
"""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from beneficiaries.privacy import shown_count
from charity.reports import REPORTS, resolve_params
from charity.reports.annual import COUNT_COLUMNS

from .aidconf import pdf_text
from .aidyear import D, batch, make_year, paid


@pytest.fixture
def small_year(db, officer, approver):
    y = make_year(officer, approver)
    p = y.people
    paid(y, "DSB-Z1", p[0], "general", "GEN", D(2026, 9, 1), "100")
    batch(y, "2026-10-01-tiny", [("DSB-Z2", p[1]), ("DSB-Z3", p[2])], "general", "GEN", D(2026, 10, 1),
          amount="50")
    return y


def test_one_rule():
    assert [shown_count(n) for n in (0, 1, 4, 5, 12)] == [0, "少于5人 fewer than 5", "少于5人 fewer than 5", 5, 12]
    assert shown_count(3, fewer="x", zero=None) == "x" and shown_count(0, zero=None) is None


def _counts_in_programs_table(html: str) -> list[str]:
    table = html[html.index('id="programs"'):]
    table = table[:table.index("</table>")]
    return [cells[-1] for cells in (re.findall(r"<td[^>]*>(.*?)</td>", row) for row in table.split("<tr>")) if cells]


@pytest.mark.parametrize("language, fewer", [("zh-hans", "少于5人"), ("en", "fewer than 5")])
def test_disclosure_page(client, small_year, language, fewer):
    html = client.get("/disclosure/?year=2026", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    counts = _counts_in_programs_table(html)
    assert sorted(counts) == sorted(["6", "8", fewer]), counts  # Smile Packs 6, study 8, general 3 people


def test_annual_report_pdf_and_its_data(client, small_year):
    response = client.get("/disclosure/annual-report.pdf?year=2026")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "少于5人fewerthan5" in re.sub(r"\s+", "", text)
    # The tables of the program section (after the charts, whose axes are labelled 0, 1000, ...): a cell holding
    # a whole number is a count (amounts have two decimals), and none reads 1 to 4.
    tables = text[text.index("按项目 By program"):text.index("七、限定性资金变动说明")]
    counts = [line.strip() for line in tables.splitlines() if re.fullmatch(r"\s*\d+\s*", line)]
    assert counts and not [c for c in counts if c in {"1", "2", "3", "4"}], counts

    report = REPORTS["annual-report"](book=small_year.book,
                                     params=resolve_params(REPORTS["annual-report"], small_year.book, year=2026))
    report.build()
    programs = report.data["programs"]
    cells = [(r[0], r[1], r[2], i, r[i]) for r in list(programs.rows) + list(programs.totals) for i in COUNT_COLUMNS]
    assert not [c for c in cells if isinstance(c[4], int) and 1 <= c[4] <= 4], cells
    assert ("month", "2026-04", "study_grant", 6, "少于5人 fewer than 5") in cells  # 3 grants in April
    assert ("program", "", "general", 6, "少于5人 fewer than 5") in cells
    assert ("batch", "2026-10-01-tiny", "general", 6, "少于5人 fewer than 5") in cells
    assert all(not (isinstance(s["value"], int) and 1 <= s["value"] <= 4) for s in programs.summary)


def test_no_other_public_format(small_year):
    assert REPORTS["annual-report"].formats == ("pdf",)  # no CSV, JSON or HTML of it to leak from
    anonymous = APIClient()
    for name in ("annual-report", "programs"):
        for fmt in ("csv", "json", "pdf"):
            response = anonymous.get(f"/api/v1/trusts/CT/reports/{name}/", {"format": fmt, "year": "2026"})
            assert response.status_code in (401, 403), (name, fmt, response.status_code)
