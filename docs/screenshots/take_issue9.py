"""Screenshots for issue 9's closing note: the app seeded with demo data, driven by Chromium.

    .venv/bin/python docs/screenshots/take_issue9.py --root . --tag after

`--root` may be another checkout (a `git worktree` of an older commit gives the "before" shots);
the stand-in Ollama server comes from this checkout's tests. Prints what it measured.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.ollama_standin import OllamaStandIn, free_port  # noqa: E402

ADMIN = ("admin@demo.example", "copper lantern orchard")
USER = ("user@demo.example", "maple river notebook")
CHROMIUM = os.environ.get("TEXTEDIT_TEST_CHROMIUM", "/usr/bin/chromium")


def start_app(root: Path, tmp: Path, ollama_url: str) -> tuple[subprocess.Popen, str]:
    env = {
        **os.environ,
        "TEXTEDIT_DATABASE_URL": f"sqlite:///{tmp / 'demo.db'}",
        "TEXTEDIT_DATA_DIR": str(tmp / "data"),
        "TEXTEDIT_DEMO_MODE": "true",
        "TEXTEDIT_OLLAMA_HOST": ollama_url,
    }
    python = str(root / ".venv/bin/python") if (root / ".venv/bin/python").exists() else sys.executable
    subprocess.run([python, "-m", "textedit_core", "seed-demo"], cwd=root, env=env, check=True)
    port = free_port()
    log = (tmp / "streamlit.log").open("w")
    process = subprocess.Popen(
        [python, "-m", "streamlit", "run", "serve.py", "--server.port", str(port)],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the app did not start")


def log_in(page, url: str, who: tuple[str, str]) -> None:
    page.goto(url)
    page.get_by_label("Email").first.fill(who[0])
    page.get_by_label("Password", exact=True).first.fill(who[1])
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Editor").wait_for()


def settle(page) -> None:
    """Until the script run is over (the app's CSP forbids wait_for_function's eval)."""
    page.wait_for_timeout(400)
    for _ in range(100):
        if page.get_by_test_id("stStatusWidget").count() == 0:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(800)


def go(page, label: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=label).click()
    page.get_by_role("heading", name=label).first.wait_for()
    settle(page)


def main_width(page) -> int:
    return page.evaluate("document.querySelector('[data-testid=stMainBlockContainer]').clientWidth")


def shoot(page, name: str, tag: str) -> None:
    path = HERE / f"issue9-{name}-{tag}.png"
    page.screenshot(path=str(path), full_page=False)
    print(f"wrote {path.relative_to(HERE.parents[1])}")


def run(root: Path, tag: str) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp_name, OllamaStandIn() as ollama:
        process, url = start_app(root, Path(tmp_name), ollama.url)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                wide = browser.new_page(viewport={"width": 1440, "height": 900})
                wide.set_default_timeout(20_000)
                log_in(wide, url, ADMIN)

                # Item 1: Transactions after Admin keeps the wide layout.
                go(wide, "Transactions")
                fresh = main_width(wide)
                go(wide, "Admin")
                go(wide, "Transactions")
                after = main_width(wide)
                print(f"item 1: Transactions content width {fresh} px fresh, {after} px after Admin")
                shoot(wide, "01-transactions-after-admin", tag)

                # Item 14: the rate editor.
                go(wide, "Admin")
                shoot(wide, "14-rate-editor", tag)

                # Item 12 and 11: the Users page, a user picked, Block pressed.
                go(wide, "Users")
                shoot(wide, "12-users", tag)
                picked = pick_first_user(wide)
                if picked:
                    shoot(wide, "12-user-detail", tag)
                press_block(wide)
                shoot(wide, "11-block-confirmation", tag)

                # Item 16: a phone, after navigating from the sidebar.
                phone = browser.new_page(viewport={"width": 390, "height": 844})
                phone.set_default_timeout(20_000)
                phone.goto(url)
                phone.get_by_label("Email").first.fill(USER[0])
                phone.get_by_label("Password", exact=True).first.fill(USER[1])
                phone.get_by_role("button", name="Log in").click()
                phone.get_by_role("heading", name="Editor").wait_for()
                settle(phone)
                shoot(phone, "16-phone-editor", tag)
                open_sidebar(phone)
                go(phone, "Wallet")
                shoot(phone, "16-phone-after-navigating", tag)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=10)


def pick_first_user(page) -> bool:
    """Click the first row of the users table (the detail panel); False where rows are not
    selectable (the old page picks a user from a dropdown)."""
    before = page.get_by_role("heading").count()
    # The grid is drawn on a canvas: the first row's selection box sits left, under the header.
    page.get_by_test_id("stDataFrame").first.click(position={"x": 18, "y": 52})
    settle(page)
    return page.get_by_role("heading").count() > before


def press_block(page) -> None:
    """Block on the picked user: the new page asks first (a dialog); the old one acts at once."""
    for tab_name in ("Status", "Block"):
        tab = page.get_by_role("tab", name=tab_name, exact=True)
        if tab.count():
            tab.first.click()
            break
    button = page.locator(".st-key-toggle_block button")
    if button.count():
        button.first.click()
        settle(page)


def open_sidebar(page) -> None:
    opener = page.get_by_test_id("stExpandSidebarButton")
    if opener.count() and opener.first.is_visible():
        opener.first.click()
        page.wait_for_timeout(500)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=HERE.parents[1])
    parser.add_argument("--tag", default="after")
    args = parser.parse_args()
    run(args.root.resolve(), args.tag)
