import pytest

from .conftest import CAST


@pytest.mark.parametrize("who", CAST)
def test_report_download_by_role(trust, client_for, who):
    response = client_for(who).get(f"/api/v1/trusts/{trust.code}/reports/trial-balance/?format=csv&as_of=2026-06-30")
    expected = {"officer": 200, "approver": 200, "auditor": 200, "anonymous": 401}.get(who, 403)
    assert response.status_code == expected
    if expected == 200:
        assert response["Content-Type"].startswith("text/csv")
        text = response.content.decode("utf-8-sig")
        assert text.splitlines()[0] == "account_code,account_name,account_type,debit,credit"
        assert "TOTAL" in text


@pytest.mark.parametrize("who", CAST)
@pytest.mark.parametrize("name, query", [("financial-position-accounts", "as_of=2026-06-30"),
                                         ("activities-accounts", "year=2026"), ("financial-position", "year=2026")])
def test_statements_and_their_account_detail_by_role(trust, client_for, who, name, query):
    """The account detail reports go through the same door as every report: a donor, another trust's officer
    or the public cannot read them."""
    response = client_for(who).get(f"/api/v1/trusts/{trust.code}/reports/{name}/?format=csv&{query}")
    expected = {"officer": 200, "approver": 200, "auditor": 200, "anonymous": 401}.get(who, 403)
    assert response.status_code == expected
    if expected == 200:
        assert "line_no" in response.content.decode("utf-8-sig").splitlines()[0]


@pytest.mark.parametrize("fmt, ctype", [("json", "application/json"), ("pdf", "application/pdf")])
def test_report_formats(trust, client_for, fmt, ctype):
    response = client_for("auditor").get(f"/api/v1/trusts/{trust.code}/reports/activities/?format={fmt}&year=2026")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith(ctype)


@pytest.mark.parametrize(
    "query, field",
    [
        ("format=csv&as_of=2026-02-30", "as_of"),
        ("format=csv&from=2026-01-01", None),  # trial-balance takes --as-of, not --from
        ("format=xml", "format"),
        ("format=csv&fund=NOPE", "fund"),
        ("format=csv&year=abc", "year"),
    ],
)
def test_report_bad_options_are_400(trust, client_for, query, field):
    response = client_for("auditor").get(f"/api/v1/trusts/{trust.code}/reports/trial-balance/?{query}")
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["message"]
    if field:
        assert error["field"] == field


def test_unknown_report_is_404(trust, client_for):
    response = client_for("auditor").get(f"/api/v1/trusts/{trust.code}/reports/nope/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_report_list(trust, client_for):
    names = [r["name"] for r in client_for("auditor").get(f"/api/v1/trusts/{trust.code}/reports/").json()]
    assert {"trial-balance", "fund-balances", "activities", "financial-position"} <= set(names)
