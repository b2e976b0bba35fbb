"""Take the README's screenshots from a running demo (``seed_demo --passwords username``).

    python docs/screenshots/take.py [BASE_URL]     # default http://127.0.0.1:8765

Needs headless Chromium (Debian's ``chromium``), Playwright for Python, ``pdftoppm`` (poppler-utils) and a CJK
font for Chromium (``fonts-noto-cjk``), or the Chinese text shows as boxes. Each PNG is kept under ~300 KB.
It signs in as each role of the demo; as the officer it drafts a batch (DAY-README) so that the approver's inbox
has something waiting: run it against a scratch demo.
"""

from __future__ import annotations

import io
from datetime import date
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765").rstrip("/")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=zh-CN"]
WIDTH, MAX_HEIGHT, LIMIT = 1200, 1500, 300_000


def save(png: bytes, name: str) -> None:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.height > MAX_HEIGHT:
        image = image.crop((0, 0, image.width, MAX_HEIGHT))
    out = HERE / name
    scale = 1.0
    while True:
        sized = image if scale == 1.0 else image.resize((int(image.width * scale), int(image.height * scale)),
                                                        Image.LANCZOS)
        quantized = sized.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        quantized.save(out, optimize=True)
        if out.stat().st_size <= LIMIT or scale < 0.5:
            break
        scale -= 0.1
    print(f"{out.relative_to(HERE.parent.parent)}: {sized.width}x{sized.height}, {out.stat().st_size // 1024} KB")


def sign_in(page, username: str) -> None:
    page.goto(f"{BASE}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"{username}-demo")
    page.click("form.card button[type=submit]")
    page.wait_for_load_state("networkidle")


def main() -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS,
                                    env={**os.environ, "LANG": "zh_CN.UTF-8", "LANGUAGE": "zh_CN"})
        context = browser.new_context(viewport={"width": WIDTH, "height": 900}, locale="zh-CN")
        page = context.new_page()

        page.goto(f"{BASE}/disclosure/")
        save(page.screenshot(full_page=True), "disclosure.png")

        sign_in(page, "donor")
        page.goto(f"{BASE}/my/")
        save(page.screenshot(full_page=True), "my-gifts.png")
        page.locator("#gifts tbody tr", has_text="微笑礼包").last.locator("a.trace-link").click()  # spent by now
        page.wait_for_load_state("networkidle")
        save(page.screenshot(full_page=True), "where-my-money-went.png")
        page.click("header form.inline button[type=submit]")  # sign out

        sign_in(page, "auditor")
        page.goto(f"{BASE}/auditor/")
        save(page.screenshot(full_page=True), "auditor.png")
        page.click("header form.inline button[type=submit]")

        sign_in(page, "officer")
        for path, name in (("/office/", "office-today.png"), ("/office/donations/", "office-donations.png")):
            page.goto(f"{BASE}{path}")
            save(page.screenshot(full_page=True), name)
        # A batch for a distribution day: the first five children of the filtered list, for the approver's inbox.
        page.goto(f"{BASE}/office/aid/")
        page.fill("#filters input[name=max_age]", "15")
        with page.expect_navigation():
            page.click("#filters button[type=submit]")
        boxes = page.locator("#candidates input[name=people]")
        for n in range(min(5, boxes.count())):
            boxes.nth(n).check()
        page.fill("#batch_code", "DAY-README")
        page.select_option("#batch_program", "study_grant")
        page.select_option("#batch_fund", "STUDY")
        page.fill("#batch_date", date.today().isoformat())
        page.fill("#batch_amount", "500.00")
        save(page.screenshot(full_page=True), "office-aid.png")
        page.click("#create-batch")
        page.wait_for_load_state("networkidle")
        page.goto(f"{BASE}/")
        page.click("header form.inline button[type=submit]")

        sign_in(page, "approver")
        page.goto(f"{BASE}/office/approvals/")
        save(page.screenshot(full_page=True), "office-approvals.png")
        browser.close()

    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "annual.pdf"
        subprocess.run(["curl", "-sf", "-o", str(pdf), f"{BASE}/disclosure/annual-report.pdf"], check=True)
        subprocess.run(["pdftoppm", "-png", "-r", "90", "-f", "3", "-l", "3", str(pdf), str(Path(tmp) / "page")],
                       check=True)
        page_png = next(Path(tmp).glob("page*.png"))
        save(page_png.read_bytes(), "annual-report.png")  # page 3: the statement of activities


if __name__ == "__main__":
    main()
