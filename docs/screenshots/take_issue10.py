"""Screenshots for issue 10's closing note: the editor, its review and the History page, on the
demo database with the stand-in model scripted to answer like a careful editor.

    .venv/bin/python docs/screenshots/take_issue10.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from take_issue9 import CHROMIUM, USER, go, log_in, settle, start_app  # noqa: E402

from tests.ollama_standin import OllamaStandIn, Reply  # noqa: E402

TEXT = (
    "Their going to announce the results tomorow, but nobody know exactly when. "
    "The team have worked hard on this project for months and everyone are exited to see "
    "the outcome."
)
FIXED = (
    "They're going to announce the results tomorrow, but nobody knows exactly when. "
    "The team has worked hard on this project for months, and everyone is excited to see "
    "the outcome."
)


def main() -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch, OllamaStandIn() as ollama:
        process, url = start_app(HERE.parents[1], Path(scratch), ollama.url)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                log_in(page, url, USER)
                settle(page)
                page.get_by_role("textbox", name="Your text").fill(TEXT)
                settle(page)
                page.screenshot(path=str(HERE / "issue10-editor.png"), full_page=True)
                ollama.script(Reply(chunks=[FIXED[i : i + 12] for i in range(0, len(FIXED), 12)]))
                page.get_by_role("button", name="Run").click()
                page.get_by_text("Final text").wait_for()
                settle(page)
                grid = page.get_by_test_id("stDataFrame").first
                grid.click(position={"x": 12, "y": 52 + 35})  # the second change: rejected
                page.keyboard.press("Space")
                settle(page)
                page.get_by_role("heading", name="Result · Fix").scroll_into_view_if_needed()
                page.screenshot(path=str(HERE / "issue10-review.png"))
                page.get_by_role("radio", name="Side by side").click()
                settle(page)
                page.get_by_role("heading", name="Result · Fix").scroll_into_view_if_needed()
                page.screenshot(path=str(HERE / "issue10-review-side-by-side.png"))
                go(page, "History")
                page.get_by_test_id("stDataFrame").first.click(position={"x": 18, "y": 52})
                page.get_by_role("button", name="Open in the editor").wait_for()
                settle(page)
                page.screenshot(path=str(HERE / "issue10-history.png"), full_page=True)
                browser.close()
        finally:
            process.terminate()
    for name in ("editor", "review", "review-side-by-side", "history"):
        print(HERE / f"issue10-{name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
