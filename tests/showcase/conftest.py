"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, for the showcase page.

The browser test skips with its reason when Chromium or Playwright is missing, unless REQUIRE_BROWSER=1
(CI, after scripts/install_browser.sh), where a missing browser is a failure."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# The flags this machine needs: no sandbox as root, and no background connections, which the closed
# network refuses (many at a time). Playwright gives every launch a fresh, empty profile (--user-data-dir).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "showcase"


def _missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is absent: run scripts/install_browser.sh (as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is absent: make setup installs requirements-dev.txt"
    return None


def skip_or_fail_without_browser() -> None:
    reason = _missing_browser()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    skip_or_fail_without_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageWatch:
    """What a page reported that a visitor would not want: console errors, uncaught exceptions, failed
    requests and HTTP errors."""

    def __init__(self, page):
        self.console_errors: list[tuple[str, str]] = []
        self.page_errors: list[str] = []
        self.bad_responses: list[tuple[int, str]] = []
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(
            (m.text, (m.location or {}).get("url", ""))))
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("requestfailed", lambda r: self.bad_responses.append((0, r.url)))
        page.on("response", lambda r: r.status >= 400 and self.bad_responses.append((r.status, r.url)))


@pytest.fixture
def open_page(chromium):
    """open_page(url, **context options) -> (page, PageWatch); contexts are closed after the test."""
    contexts = []

    def open_(url: str, **options):
        context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        watch = PageWatch(page)
        page.goto(url)
        return page, watch

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(capsys):
    """screenshot(page, name): a full-page PNG under test-artifacts/showcase/ (gitignored); prints its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        with capsys.disabled():
            print(f"\nshowcase screenshot: {path}")
        return path

    return take
