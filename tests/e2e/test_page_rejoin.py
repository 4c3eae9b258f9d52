"""The participant page rejoins its call by itself after a reload, without asking consent again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_pages import CHROMIUM, T, _launch, _new_page, base_url, speech_wavs  # noqa: F401

async_playwright = pytest.importorskip("playwright.async_api").async_playwright
expect = pytest.importorskip("playwright.async_api").expect
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium at /usr/bin/chromium"),
]


async def _live_call(browser, errors: list[str], base_url: str, title: str):  # noqa: F811
    """Anna starts a call, Bram joins with the customer link, both agree: (rep, customer)
    pages, once the customer's page says the analysis is on."""
    _, rep = await _new_page(browser, errors, base_url)
    await rep.goto(base_url + "/")
    await rep.locator("#screen-start").get_by_label("Your name").fill("Anna")
    await rep.get_by_label("Title of the call").fill(title)
    await rep.get_by_role("button", name="Start call").click()
    link = rep.locator("#link-customer")
    await expect(link).not_to_have_value("", timeout=T)
    customer_url = await link.input_value()
    await rep.get_by_role("button", name="I agree").click()

    _, cust = await _new_page(browser, errors, base_url)
    await cust.goto(customer_url)
    await cust.locator("#screen-join").get_by_label("Your name").fill("Bram")
    await cust.get_by_role("button", name="Join call").click()
    await cust.get_by_role("button", name="I agree").click()
    await expect(cust.locator("#indicator")).to_contain_text("Analysis ON", timeout=T)
    return rep, cust


async def test_customer_page_reload_rejoins_the_live_call(base_url, speech_wavs):  # noqa: F811
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await _launch(pw, speech_wavs[1])
        rep, cust = await _live_call(browser, errors, base_url, "Rejoin")
        await expect(rep.locator("#indicator")).to_contain_text("Analysis ON", timeout=T)

        await cust.reload()  # the page reconnects by itself with the token it kept
        await expect(cust.locator("#indicator")).to_contain_text("Analysis ON", timeout=T)
        await expect(cust.locator("#screen-consent")).to_be_hidden()
        await expect(cust.locator("#mic-label")).to_contain_text("Mic on", timeout=T)
        await expect(rep.locator("#alerts")).to_contain_text("Bram is back.", timeout=T)
        await expect(rep.locator("#participants .tick.yes")).to_have_count(2)
        await expect(rep.locator("#indicator")).to_contain_text("Analysis ON")

        # A rep's reload: the call goes on, the rep's page is back in the live view.
        await rep.reload()
        await expect(rep.locator("#indicator")).to_contain_text("Analysis ON", timeout=T)
        await expect(rep.locator("#screen-consent")).to_be_hidden()
        await browser.close()
    assert errors == []


async def test_page_replaced_by_another_window_stays_put(base_url, speech_wavs):  # noqa: F811
    # The customer's call moves to another window (a duplicated tab, or the laptop's new
    # network while the old connection still looks open): it takes the place over, and the
    # old window says so and does not reconnect (the two would take turns).
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await _launch(pw, speech_wavs[1])
        rep, old = await _live_call(browser, errors, base_url, "Takeover")
        kept = await old.evaluate("sessionStorage.getItem('sparring.call')")
        assert kept and "Bram" in kept

        # The same call in a new window of the customer's: its tab storage is copied over.
        new_ctx, new = await _new_page(browser, errors, base_url)
        await new_ctx.add_init_script(
            f"sessionStorage.setItem('sparring.call', {json.dumps(kept)})"
        )
        await new.goto(base_url + "/")
        await expect(new.locator("#indicator")).to_contain_text("Analysis ON", timeout=T)
        await expect(new.locator("#screen-consent")).to_be_hidden()  # consent kept

        await expect(old.locator("#alerts")).to_contain_text(
            "This call continued in another window.", timeout=T
        )
        await expect(old.locator("#indicator")).not_to_contain_text("Analysis ON")
        await expect(old.locator("#mic-label")).to_have_text("Mic off")
        # No retry was scheduled: that would have said "reconnecting" in the same place.
        await expect(old.locator("#alerts")).not_to_contain_text("reconnecting")
        await expect(old.locator("#btn-rejoin")).to_be_hidden()
        # The rep never saw Bram leave, and the call goes on with the new window.
        await expect(rep.locator("#participants .tick.yes")).to_have_count(2)
        await expect(rep.locator("#indicator")).to_contain_text("Analysis ON")
        await expect(rep.locator("#alerts")).not_to_contain_text("Bram is back")
        await expect(new.locator("#mic-label")).to_contain_text("Mic on", timeout=T)
        await browser.close()
    assert errors == []
