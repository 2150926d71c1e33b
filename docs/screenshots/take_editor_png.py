"""Takes docs/editor.png: the demo user's Fix of a sample email, answered correctly.

    .venv/bin/python docs/screenshots/take_editor_png.py

Runs the app on the demo data (a temporary database) against the stand-in Ollama server of the
tests, scripted to answer with the corrected email below, and drives Debian's Chromium.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from docs.screenshots.take_issue9 import start_app  # noqa: E402
from tests.ollama_standin import OllamaStandIn, Reply, split_into_chunks  # noqa: E402
from textedit_core.demo.seed import DEMO_USER  # noqa: E402

CHROMIUM = os.environ.get("TEXTEDIT_TEST_CHROMIUM", "/usr/bin/chromium")
SAMPLE = "Business email with typos (EN)"
# The sample (textedit_core/demo/samples.json) with every mistake corrected and nothing else changed.
FIXED = """Dear Mr. Collins,

Thank you for your order #4471. Unfortunately, one of the items is temporarily out of stock, so we will ship it separately on Monday. The rest of the order was dispatched yesterday, and you should receive it by Thursday.

We definitely want to make this right: there will be no extra shipping cost for the second parcel, and if the delay is a problem for your team, please let us know and we will accommodate your schedule.

Apologies for the inconvenience, and thank you for your patience.

Best regards,
Laura Bennett
Customer Support, Northwind Supplies"""  # noqa: E501


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory() as tmp, OllamaStandIn() as ollama:
        ollama.script(Reply(chunks=split_into_chunks(FIXED)))
        process, url = start_app(ROOT, Path(tmp), ollama.url)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 1240})
                page.set_default_timeout(20_000)
                page.goto(url)
                page.get_by_label("Email").first.fill(DEMO_USER.email)
                page.get_by_label("Password", exact=True).first.fill(DEMO_USER.password)
                page.get_by_role("button", name="Log in").click()
                expect(page.get_by_role("heading", name="Editor")).to_be_visible()
                page.get_by_label("Try an example").click()
                page.get_by_role("option", name=SAMPLE).click()
                text = page.get_by_role("textbox", name="Your text")
                expect(text).to_have_value(re.compile("^Dear Mr. Collins"))
                page.get_by_role("button", name="Run").click()
                expect(page.get_by_role("heading", name="Result · Fix")).to_be_visible()
                expect(page.get_by_text("Customer Support, Northwind Supplies").last).to_be_visible()
                page.wait_for_timeout(1500)
                page.mouse.move(0, 0)  # no hover highlight in the picture
                page.screenshot(path=str(ROOT / "docs" / "editor.png"))
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=10)
    print("wrote docs/editor.png")


if __name__ == "__main__":
    main()
