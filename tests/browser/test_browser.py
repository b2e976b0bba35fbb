"""The portal in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright's sync API.

A donor signs in, opens "my gifts" and "where my money went", downloads a receipt; an auditor downloads the trial
balance; the finance officer's day: her Today page, a gift recorded with the donor found as she types, its receipt
PDF opened at once, the gift found again by the receipt's number. The app runs in pytest-django's ``live_server`` thread on a small seeded demo year; the seeding happens
before Playwright starts, because Django refuses ORM calls from a thread where an event loop runs (Playwright's
sync API keeps one in this thread). Skips, saying why, when the browser or Playwright is missing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not shutil.which("chromium"),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run tries it)"),
    pytest.mark.skipif(sync_playwright is None, reason="Playwright for Python is not installed (requirements.txt)"),
]


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form.card button[type=submit]")
    assert page.locator("header .who").inner_text() == username


def sign_out(page) -> None:
    with page.expect_navigation():
        page.click("header form.inline button[type=submit]")
    assert page.locator("header .who").count() == 0


@pytest.mark.django_db(transaction=True)
def test_donor_and_auditor_in_chromium(live_server, tmp_path, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (tmp_path / "seed.log").open("w") as log:
        call_command("seed_demo", "--beneficiaries", "30", "--donations", "150", "--year", "2025", "--no-progress",
                     "--passwords", "username", stdout=log)
    base = live_server.url

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()
            page.set_default_timeout(20_000)

            # The donor: my gifts, where my money went, a receipt.
            sign_in(page, base, "donor", "donor-demo")
            page.click("header nav a[href='/my/']")
            page.wait_for_url(f"{base}/my/")
            assert page.locator("h1").inner_text() == "我的捐赠"
            gifts = page.locator("#gifts tbody tr")
            assert gifts.count() >= 1
            page.locator("a.trace-link").first.click()
            page.wait_for_url("**/my/gifts/*/")
            assert page.locator("h1").inner_text() == "善款去向"
            assert page.locator("#where tbody tr").count() >= 1
            assert page.locator("#unspent").inner_text().strip()
            page.go_back()
            with page.expect_download() as info:
                page.locator("a.receipt-link").first.click()
            receipt = tmp_path / "receipt.pdf"
            info.value.save_as(receipt)
            assert info.value.suggested_filename.startswith("receipt-")
            assert receipt.read_bytes().startswith(b"%PDF")
            sign_out(page)

            # The auditor: the trial balance as CSV from the auditor's page.
            sign_in(page, base, "auditor", "auditor-demo")
            page.goto(f"{base}/auditor/")
            assert page.locator("#verify-line").inner_text().startswith("OK ")
            page.select_option("#report", "trial-balance")
            page.fill("input[name=as_of]", "2025-12-31")
            page.select_option("#format", "csv")
            with page.expect_download() as info:
                page.click("#report-form button[type=submit]")
            csv_path = tmp_path / "trial-balance.csv"
            info.value.save_as(csv_path)
            header = csv_path.read_text(encoding="utf-8-sig").splitlines()[0]
            assert header == "account_code,account_name,account_type,debit,credit"
            # She reads every office list, and no page offers her a button that writes (a POST form in the page;
            # the header's sign-out and language forms aside).
            for path in ("/office/donations/", "/office/beneficiaries/", "/office/aid/", "/office/expenses/",
                         "/office/approvals/"):
                page.goto(f"{base}{path}")
                assert page.locator("h1").count() == 1, path
                assert page.locator("main form[method=post]").count() == 0, path
            sign_out(page)

            # The finance officer's day: Today, record a gift, its receipt at once, find it again by number.
            sign_in(page, base, "officer", "officer-demo")
            page.goto(f"{base}/")
            page.wait_for_url(f"{base}/office/")
            assert page.locator("h1").inner_text() == "今日"
            page.click("#record-gift")
            page.wait_for_url("**/office/donations/new/**")
            page.fill("#id_donor_name", "D-00001")  # htmx asks for the trust's donors as she types
            page.locator("button.pick-donor").first.click()
            picked = page.locator("#donor-picked strong").inner_text()
            assert picked
            gift = page.input_value("input[name=external_id]")
            page.fill("input[name=amount]", "888.00")
            page.select_option("select[name=fund]", "GEN")
            with page.expect_response(lambda r: "/receipt.pdf" in r.url) as info:  # saving opens the receipt
                page.click("#save-gift")
            opened = info.value
            assert opened.status == 200 and opened.headers["content-type"] == "application/pdf"
            page.wait_for_url("**/receipt.pdf?*")  # shown in Chromium's PDF viewer; the bytes, as the officer's session
            assert page.request.get(opened.url).body().startswith(b"%PDF")
            label = re.search(r'filename="receipt-([0-9-]+)\.pdf"', opened.headers["content-disposition"])[1]
            page.goto(f"{base}/office/donations/")
            assert page.locator("h1").inner_text() == "捐赠记录"
            page.fill("#gift-filter input[name=receipt]", label)
            page.click("#gift-filter button[type=submit]")  # htmx swaps the results in place
            # htmx puts the filter in the address once the results are swapped in (no script evaluated here: the
            # CSP refuses eval, so no wait_for_function)
            page.wait_for_url(re.compile(rf"receipt={label}"))
            page.locator("#gifts a.gift-link", has_text=gift).wait_for()
            assert page.locator("#gifts a.gift-link").count() == 1
            assert page.locator("#gifts a.gift-link").inner_text() == gift
            assert page.locator("#gifts td.receipt").inner_text() == label
            page.click("#gifts a.gift-link")
            page.wait_for_url(f"**/office/donations/gift/{gift}/**")
            assert picked in page.locator("#gift").inner_text()
            sign_out(page)
        finally:
            browser.close()


def _aid_world():
    """A trust with money for study grants, an officer and an approver who sign in, and a mother with five
    children in one district (and one child elsewhere) for the officer to pick from."""
    import datetime as dt

    from django.contrib.auth import get_user_model

    from beneficiaries.idnumber import make_id_number
    from beneficiaries.services import beneficiary_register, household_get_or_create
    from charity import roles
    from ledger.services import system_user
    from tests.beneficiaries.conftest import give, make_aid
    from tests.conftest import grant

    users = get_user_model().objects
    officer = users.create_user("officer", password="officer-pw-1")
    approver = users.create_user("approver", password="approver-pw-1")
    aid = make_aid("CT")
    grant(officer, roles.OFFICER, aid.book.trust)
    grant(approver, roles.APPROVER, aid.book.trust)
    give(aid, aid.study, "5000.00", officer)
    home = household_get_or_create(book=aid.book, external_id="HH-1", user=system_user())
    mother = beneficiary_register(book=aid.book, external_id="M-1", name="母亲甲", gender="F", user=officer,
                                  id_number=make_id_number("440105", dt.date(1985, 6, 1), 10, "F"),
                                  birth_date=dt.date(1985, 6, 1), household=home, district="天河")
    for n in range(1, 7):
        birth = dt.date(2012 + n % 5, n, 5)
        beneficiary_register(book=aid.book, external_id=f"K-{n}", name=f"孩子{n}", gender="M", user=officer,
                             id_number=make_id_number("440105", birth, n, "M"), birth_date=birth, guardian=mother,
                             household=home, district="天河" if n <= 5 else "越秀")
    return aid


@pytest.mark.django_db(transaction=True)
def test_officer_registers_drafts_a_batch_and_the_approver_posts_it(live_server, tmp_path, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _aid_world()
    base = live_server.url

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()
            page.set_default_timeout(20_000)

            # The officer registers a beneficiary from the register's page.
            sign_in(page, base, "officer", "officer-pw-1")
            page.click("header nav a[href='/office/beneficiaries/']")
            page.wait_for_url(f"{base}/office/beneficiaries/")
            assert page.locator("h1").inner_text() == "受益人"
            page.click("#register-link")
            page.fill("#register-form input[name=external_id]", "B-NEW")
            page.fill("#register-form input[name=name]", "新人")
            page.fill("#register-form input[name=id_number]", "44010519900403302X")
            page.fill("#register-form input[name=birth_date]", "1990-04-03")
            page.fill("#register-form input[name=household]", "HH-9")
            page.fill("#register-form input[name=consent_date]", "2026-01-10")
            with page.expect_navigation():
                page.click("#register-form button[type=submit]")
            assert page.locator("h1").inner_text() == "受益人 B-NEW"
            assert page.locator("#consent").inner_text().startswith("2026-01-10")
            assert page.locator("#person .id-number").inner_text() == "44****************"

            # ... then picks the five children of one district on the aid page and drafts a batch.
            page.click("header nav a[href='/office/aid/']")
            page.wait_for_url(f"{base}/office/aid/")
            page.fill("#filters input[name=district]", "天河")
            page.fill("#filters input[name=max_age]", "15")
            with page.expect_navigation():
                page.click("#filters button[type=submit]")
            boxes = page.locator("#candidates input[name=people]")
            assert boxes.count() == 5
            for n in range(boxes.count()):
                boxes.nth(n).check()
            page.fill("#batch_code", "DAY-1")
            page.select_option("#batch_program", "study_grant")
            page.select_option("#batch_fund", "STUDY")
            page.fill("#batch_date", "2026-03-02")
            page.fill("#batch_amount", "100.00")
            with page.expect_navigation():
                page.click("#create-batch")
            assert page.locator("h1").inner_text() == "批次 DAY-1", page.locator(".error").all_inner_texts()
            assert page.locator("#members tbody tr").count() == 5
            with page.expect_download() as info:
                page.click("#sheet-link")
            sheet = tmp_path / "sheet.pdf"
            info.value.save_as(sheet)
            assert sheet.read_bytes().startswith(b"%PDF")

            # She sees her batch in the inbox, marked hers, with no button to approve it.
            with page.expect_navigation():
                page.click("header nav a[href='/office/approvals/']")
            row = page.locator("#approvals tr", has_text="DAY-1")
            assert row.locator(".mine").count() == 1
            assert row.locator("button[value=approve]").count() == 0
            sign_out(page)

            # The approver approves it, then posts it.
            sign_in(page, base, "approver", "approver-pw-1")
            with page.expect_navigation():
                page.click("header nav a[href='/office/approvals/']")
            row = page.locator("#approvals tr", has_text="DAY-1")
            with page.expect_navigation():
                row.locator("button[value=approve]").click()
            row = page.locator("#approvals tr", has_text="DAY-1")
            with page.expect_navigation():
                row.locator("button[value=post]").click()
            assert page.locator("#approvals tr", has_text="DAY-1").count() == 0  # done: no longer waiting
            page.goto(f"{base}/office/aid/batches/DAY-1/")
            assert "approver" in page.locator("#batch-status").inner_text()
            assert page.locator("#members tbody tr", has_text="已支付").count() == 5
            sign_out(page)
        finally:
            browser.close()


@pytest.mark.django_db(transaction=True)
def test_an_invited_donor_sets_a_password_and_sees_only_her_gifts(live_server, settings):
    """An officer invites 李美华 (two gifts); the e-mail's link opens in Chromium, she sets a password, lands on
    "my gifts" signed in, and sees her two gifts and not 王丽's; the link then answers 404."""
    import datetime as dt
    import re
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.core import mail as django_mail

    from charity import roles
    from charity.services import donation_record, donor_create, invitation_send, trust_create
    from ledger.models import Fund
    from ledger.services import system_user
    from tests.conftest import grant

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = live_server.url
    trust = trust_create(user=system_user(), code="CT", name="关爱妇女儿童慈善信托", name_en="Caring Trust")
    officer = grant(get_user_model().objects.create_user("officer"), roles.OFFICER, trust)
    gen = Fund.objects.get(book=trust.book, code="GEN")
    mei = donor_create(by=officer, trust=trust, kind="individual", name="李美华", external_id="D-1",
                       email="meihua@example.org")
    li = donor_create(by=officer, trust=trust, kind="individual", name="王丽", external_id="D-2",
                      email="wangli@example.org")
    for external_id, donor, amount in (("DN-MEI-1", mei, "100.00"), ("DN-MEI-2", mei, "250.00"),
                                       ("DN-LI-1", li, "999.00")):
        donation_record(trust=trust, external_id=external_id, date=dt.date(2026, 3, 2), amount=Decimal(amount),
                        fund=gen, channel="bank", user=officer, donor=donor, notify="off")
    invitation_send(donor=mei, user=officer)  # sent when its transaction commits (autocommit here)
    (message,) = django_mail.outbox
    link = re.search(r"(http://\S+/invite/\S+/)", message.body)[1]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(locale="zh-CN").new_page()
            page.set_default_timeout(20_000)
            page.goto(link)
            assert page.locator("h1").inner_text() == "设置密码"
            assert page.locator("#username").inner_text() == "meihua@example.org"
            page.fill("input[name=password1]", "a-long-pass-phrase-9")
            page.fill("input[name=password2]", "a-long-pass-phrase-9")
            with page.expect_navigation():
                page.click("#invitation-form button[type=submit]")
            assert page.url == f"{live_server.url}/my/"
            assert page.locator("header .who").inner_text() == "meihua@example.org"
            rows = page.locator("#gifts tbody tr").all_inner_texts()
            assert len(rows) == 2 and all("DN-MEI" in row for row in rows)
            assert "DN-LI-1" not in page.content() and "王丽" not in page.content()
            assert page.goto(link).status == 404  # once
        finally:
            browser.close()


@pytest.mark.django_db(transaction=True)
def test_officer_books_the_unbooked_bank_fee_and_reconciles_december_the_auditor_only_reads(live_server, tmp_path,
                                                                                           settings):
    """Issue 20 as the officer meets it: the demo year's bank statement is imported and matched by seed_demo,
    with one 6.00 SMS fee the books lack; she opens 对账 from the nav, books the fee from its line, sees the
    余额调节表 of December agree and marks the month reconciled. The auditor sees the same page with no button."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (tmp_path / "seed.log").open("w") as log:
        call_command("seed_demo", "--beneficiaries", "30", "--donations", "150", "--year", "2025", "--no-progress",
                     "--passwords", "username", stdout=log)
    base = live_server.url

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(locale="zh-CN").new_page()
            page.set_default_timeout(20_000)
            sign_in(page, base, "officer", "officer-demo")
            with page.expect_navigation():
                page.click("header nav a[href='/office/reconciliation/']")
            with page.expect_navigation():
                page.click("#account-100201 a")
            page.goto(page.url + "&month=2025-12")
            six = re.compile(r"^-6\.00$")
            fee = page.locator("#unmatched-lines td.num", has_text=six)
            assert fee.count() == 1, page.locator("#unmatched-lines").inner_text()
            option = page.locator("#book-line select[name=line] option", has_text=re.compile(r" -6\.00( |$)"))
            page.select_option("#book-line select[name=line]", option.get_attribute("value"))
            page.select_option("#book-line select[name=kind]", "bank_fee")
            page.fill("#book-line input[name=date]", "2026-01-05")  # 2025 is closed: booked in the open year
            with page.expect_navigation():
                page.click("#book-line button[type=submit]")
            assert page.locator("#error").count() == 0, page.locator("#error").inner_text()
            assert page.locator("#unmatched-lines td.num", has_text=six).count() == 0  # booked and matched
            assert page.locator("#matches tr", has_text=re.compile(r" -6\.00 ")).count() >= 1
            assert page.locator("#agrees").count() == 1, page.locator("#reconciliation-sheet").inner_text()
            with page.expect_navigation():
                page.click("#reconcile-month button[type=submit]")
            assert page.locator("#month-reconciled").inner_text().startswith("2025-12")
            sign_out(page)

            sign_in(page, base, "auditor", "auditor-demo")
            page.goto(f"{base}/office/reconciliation/")
            with page.expect_navigation():
                page.click("#account-100201 a")
            page.goto(page.url + "&month=2025-12")
            assert page.locator("#month-reconciled").count() == 1
            for form in ("#statement-import", "#match-auto", "#book-line", "#reconcile-month", "#match-window"):
                assert page.locator(form).count() == 0, form
            sign_out(page)
        finally:
            browser.close()
