"""Chinese by default, English through the language switch, and a compiled catalogue that matches the .po."""

from ledger.services import system_user
import gettext
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import translation

from charity import roles
from charity.models import Donation
from charity.services import trust_create
from tests.conftest import grant

MO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
PO = MO.with_suffix(".po")

# A few msgids from each area: pages, login, models (verbose names and choices), the admin's own title.
EXPECTED = {
    "Public disclosure": "信息公开",
    "Sign in": "登录",
    "Where my money went": "善款去向",
    "Donor honour roll": "捐赠芳名录",
    "Beneficiaries reached": "受益人数",
    "unrestricted": "非限定性",
    "restricted": "限定性",
    "endowment": "留本基金",
    "management (administration)": "管理费用",
    "donation": "捐赠",
    "journal entry": "会计分录",
    "Charity Trust Ledger": "慈善信托账簿",
}


@pytest.fixture
def trust(db):
    return trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托", name_en="Caring Trust", filing_number="F-1")


def test_disclosure_is_chinese_by_default(client, trust):
    text = client.get("/disclosure/").content.decode()
    assert '<html lang="zh-hans">' in text
    for chinese in ("信息公开", "慈善项目", "捐赠芳名录", "受托人", "金额单位：人民币元。"):
        assert chinese in text
    assert "Public disclosure" not in text and "Donor honour roll" not in text


def test_login_is_chinese_by_default(client, db):
    text = client.get("/accounts/login/").content.decode()
    assert "用户名" in text and "密码" in text and "登录" in text
    assert "Username" not in text


def test_switch_to_english_and_back(client, trust):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/disclosure/"})
    assert response.status_code == 302 and response["Location"] == "/disclosure/"
    text = client.get("/disclosure/").content.decode()
    assert '<html lang="en">' in text
    for english in ("Public disclosure", "Programs", "Donor honour roll", "Trustee", "Amounts in CNY."):
        assert english in text
    assert "信息公开" not in text
    login = client.get("/accounts/login/").content.decode()
    assert "Username" in login and "Password" in login and "用户名" not in login

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/disclosure/"})
    assert "信息公开" in client.get("/disclosure/").content.decode()


def test_auditor_page_and_admin_in_chinese(client, trust, django_user_model):
    auditor = django_user_model.objects.create_user("aud", password="pw-aud-12345", is_staff=True)
    grant(auditor, roles.AUDITOR, trust)
    client.force_login(auditor)
    text = client.get("/auditor/").content.decode()
    assert "报表与核验" in text and "账簿核验" in text and "下载报表" in text
    assert "试算平衡表" in text and "(trial-balance)" in text  # the report select names every report


def test_admin_in_chinese(client, trust, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-12345"))
    admin = client.get("/admin/").content.decode()
    assert "慈善信托账簿" in admin  # our site header
    assert "站点管理" in admin  # Django's own catalogue
    for chinese in ("慈善信托", "捐赠", "捐赠人", "捐赠收据", "受益人", "账簿", "资金", "费用"):  # apps and verbose names
        assert f">{chinese}<" in admin, chinese
    changelist = client.get("/admin/charity/donation/").content.decode()
    assert "渠道" in changelist and "资金" in changelist  # field verbose names head the filters


def test_catalogue_translates_the_known_msgids():
    with translation.override("zh-hans"):
        for msgid, chinese in EXPECTED.items():
            assert translation.gettext(msgid) == chinese, msgid
        assert str(Donation._meta.verbose_name) == "捐赠"
    with translation.override("en"):
        assert translation.gettext("Public disclosure") == "Public disclosure"


def _po_entries(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a .po file (enough of the format for what makemessages writes)."""
    entries: dict[str, str] = {}
    msgid = msgstr = None
    current = None

    def unquote(s: str) -> str:
        return s.strip()[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")

    def flush():
        if msgid is not None and msgstr is not None:
            entries[msgid] = msgstr

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            flush()
            msgid, msgstr, current = unquote(line[6:]), None, "id"
        elif line.startswith("msgstr "):
            msgstr, current = unquote(line[7:]), "str"
        elif line.startswith('"'):
            if current == "id":
                msgid += unquote(line)
            elif current == "str":
                msgstr += unquote(line)
        else:
            current = None
    flush()
    return entries


def test_mo_matches_po():
    """CI has no gettext tools, so the committed .mo must say exactly what the .po says."""
    po = {k: v for k, v in _po_entries(PO).items() if k}
    assert len(po) > 250
    untranslated = sorted(k for k, v in po.items() if not v)
    assert not untranslated, f"untranslated in {PO.name}: {untranslated[:10]}"
    with MO.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    stale = sorted(k for k, v in po.items() if catalogue.gettext(k) != v)
    assert not stale, f"django.mo is stale (run `make messages`): {stale[:10]}"
    assert "#, fuzzy" not in PO.read_text(encoding="utf-8")
