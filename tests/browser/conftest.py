"""Browser fixtures: Playwright for Python driving Debian's Chromium (/usr/bin/chromium), headless.

`make test` installs Chromium with apt when it is missing; Playwright's own browser
download (`playwright install`) is never used, so no network is needed at test time.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from tests.admin_support import ConsoleStack, console_stack  # noqa: F401  (fixture)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture(scope="package")  # closed before other packages run: its loop must not outlive them
def browser() -> Iterator:
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
                              headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def log_in(page, stack: ConsoleStack) -> None:  # noqa: ANN001
    page.goto(f"{stack.bot_url}/admin/")
    page.fill("#username", stack.admin)
    page.fill("#password", stack.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.bot_url}/admin/")
