"""End to end: scorecards and progress on the pages (issue 10), real server, real Chromium.

- A rep and a customer talk through fake microphones (the bundled `pushy` call), an
  observer ticks the form live; when the call ends the rep reflects, then reads the
  scorecard with their own view beside the measured one and the observer's by name; the
  rep erases the call and the report answers 404.
- A rep who skips the reflection: the skip is recorded on the scorecard.
- A trainer creates a group and a rep on the dashboard; the rep's personal link opens the
  participant page, which names the rep and starts a call into their history.
- The history page shows the recurring issues after three calls that miss the same
  criterion (calls driven by the Python client, the page in the browser).

With SPARRING_SCORECARD_SHOTS=1 the tests write docs/scorecard.png and docs/history.png
(the README's screenshots) from their real runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from client.stream import Participant, read_audio

ROOT = Path(__file__).resolve().parents[2]
CALLS = ROOT / "client" / "calls"
CHROMIUM = "/usr/bin/chromium"
SHOTS = os.environ.get("SPARRING_SCORECARD_SHOTS") == "1"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium at /usr/bin/chromium"),
]
BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
PHONE = {"width": 400, "height": 760}
DESK = {"width": 1280, "height": 860}
KEY = "sesame-trainer-key"
T = 20_000  # ms

async_playwright = pytest.importorskip("playwright.async_api").async_playwright
expect = pytest.importorskip("playwright.async_api").expect


def _config(**extra):
    config = pytest.importorskip("server.config")
    fields = set(config.Config.__dataclass_fields__)
    extra = {k: v for k, v in extra.items() if k in fields}
    return config.Config(
        host="127.0.0.1", port=0, model="none", trainer_key=KEY, node="n1", **extra
    )


@pytest.fixture
async def server(tmp_path):
    app = pytest.importorskip("server.app")
    async with app.Server(_config(data_dir=tmp_path / "data")) as srv:
        yield srv


@pytest.fixture(scope="module")
def pushy_wavs(tmp_path_factory):
    """The two parties of the bundled `pushy` call as WAV files for the fake microphones."""
    import soundfile as sf

    d = tmp_path_factory.mktemp("pushy")
    out = {}
    for party in ("rep", "customer"):
        data, rate = sf.read(CALLS / f"pushy.{party}.flac", dtype="int16")
        out[party] = d / f"pushy.{party}.wav"
        sf.write(out[party], data, rate, subtype="PCM_16")
    return out


async def _launch(pw, wav: Path | None = None):
    args = list(BASE_ARGS)
    if wav is not None:
        args.append(f"--use-file-for-fake-audio-capture={wav}")
    return await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)


async def _page(browser, errors: list[str], base: str, *, viewport=PHONE, locale="en-GB"):
    ctx = await browser.new_context(viewport=viewport, locale=locale, device_scale_factor=1)
    await ctx.grant_permissions(["microphone"], origin=base)
    page = await ctx.new_page()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
    )
    return ctx, page


def _get(url: str, token: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


async def _http(url: str, token: str) -> tuple[int, bytes]:
    """A GET off the event loop (the server runs on it)."""
    return await asyncio.to_thread(_get, url, token)


async def _start_call(browser, errors, base, title="Discovery call, group B", rep_page=None):
    """The rep starts a call, the customer joins by link; both consent with trainer view.
    Returns (rep, customer, observer_url, contexts)."""
    if rep_page is None:
        rep_ctx, rep = await _page(browser, errors, base)
        await rep.goto(base + "/")
    else:
        rep_ctx, rep = rep_page
    await rep.locator("#screen-start").get_by_label("Your name").fill("Anna")
    await rep.get_by_label("Title of the call").fill(title)
    await rep.get_by_label("Language").select_option("en")
    await rep.get_by_role("button", name="Start call").click()
    link = rep.locator("#link-customer")
    await expect(link).not_to_have_value("", timeout=T)
    customer_url = await link.input_value()
    observer_url = await rep.locator("#link-observer").input_value()
    consent = rep.locator("#screen-consent")
    await expect(consent).to_be_visible(timeout=T)
    await rep.get_by_label("Trainer view").check()
    await rep.get_by_role("button", name="I agree").click()

    cust_ctx, cust = await _page(browser, errors, base)
    await cust.goto(customer_url)
    await cust.locator("#screen-join").get_by_label("Your name").fill("Bram")
    await cust.get_by_role("button", name="Join call").click()
    await expect(cust.locator("#screen-consent")).to_be_visible(timeout=T)
    await cust.get_by_label("Trainer view").check()
    await cust.get_by_role("button", name="I agree").click()
    await expect(rep.locator("#indicator")).to_contain_text("Analysis ON", timeout=T)
    return rep, cust, observer_url, [rep_ctx, cust_ctx]


def _row(page, scope: str, label: str):
    return page.locator(f"{scope} fieldset.ef-row").filter(
        has=page.locator("legend", has_text=label)
    )


async def test_reflect_then_scorecard_with_peer_view_and_erase(server, pushy_wavs):
    base = server.http_url.rstrip("/")
    errors: list[str] = []
    async with async_playwright() as pw:
        rep_browser = await _launch(pw, pushy_wavs["rep"])
        cust_browser = await _launch(pw, pushy_wavs["customer"])
        plain = await _launch(pw)
        # The consent screen says who sees the report and how long it is kept.
        rep_ctx, rep = await _page(rep_browser, errors, base)
        await rep.goto(base + "/")
        rep, cust, observer_url, ctxs = await _start_call(
            cust_browser, errors, base, rep_page=(rep_ctx, rep)
        )
        await expect(cust.locator("#consent-report")).to_have_count(1)

        # An observer joins by the observer link, consents and gets the form.
        obs_ctx, obs = await _page(plain, errors, base)
        await obs.goto(observer_url)
        await obs.locator("#screen-join").get_by_label("Your name").fill("Olga")
        await obs.get_by_role("button", name="Join call").click()
        await expect(obs.locator("#screen-consent")).to_be_visible(timeout=T)
        await expect(obs.locator("#consent-report")).to_contain_text("kept 90 days")
        await obs.get_by_role("button", name="I agree").click()
        panel = obs.locator("#peer-eval")
        await expect(panel).to_be_visible(timeout=T)
        await expect(panel.locator("#peer-name")).to_have_value("Olga")
        talk = _row(obs, "#peer-eval", "Talk share")
        await talk.get_by_label("Needs work").check()
        await talk.get_by_role("textbox").fill("Let Bram talk more")
        await _row(obs, "#peer-eval", "Builds rapport").get_by_label("Good").check()
        # Keyboard: the submit button is reachable and works from the keyboard.
        await panel.get_by_role("button", name="Send evaluation").focus()
        await obs.keyboard.press("Enter")
        await expect(panel.locator("#peer-status")).to_contain_text("Sent", timeout=T)
        await expect(panel.get_by_role("button", name="Send evaluation")).to_be_disabled()

        # A few seconds of the call, then the rep ends it.
        await expect(rep.locator("#talk-label")).to_contain_text("%", timeout=T)
        await rep.get_by_role("button", name="End call").click()

        # Self-reflection first.
        reflect = rep.locator("#reflect")
        await expect(reflect).to_be_visible(timeout=T)
        await expect(rep.locator("#scorecard-card")).to_be_hidden()
        mine = _row(rep, "#reflect", "Talk share")
        await mine.get_by_label("Good").check()
        await mine.get_by_role("textbox").fill("Felt balanced")
        await _row(rep, "#reflect", "Builds rapport").get_by_label("Not sure").check()
        await reflect.get_by_role("button", name="Show my scorecard").click()

        # The scorecard: measured verdict with value and target, "You" beside it, Olga too.
        card = rep.locator("#scorecard-card")
        await expect(card).to_be_visible(timeout=T)
        item = card.locator('.sc-item[data-criterion="talk_share"]')
        await expect(item).to_be_visible(timeout=T)
        await expect(item.locator(".sc-head .verdict")).to_have_text(
            re.compile(r"[✓✗]\s*(Good|Needs work)")
        )
        await expect(item.locator(".sc-value")).to_contain_text("target")
        await expect(item.locator(".sc-value")).to_contain_text("%")
        own = item.locator(".view.rep")
        await expect(own).to_contain_text("You")
        await expect(own).to_contain_text("Good")
        await expect(own).to_contain_text("Felt balanced")
        peer = item.locator('.view[data-by="Olga"]')
        await expect(peer).to_contain_text("Olga (observer)")
        await expect(peer).to_contain_text("Needs work")
        await expect(peer).to_contain_text("Let Bram talk more")
        rapport = card.locator('.sc-item[data-criterion="rapport"]')
        await expect(rapport.locator(".view.rep")).to_contain_text("Not sure")
        await expect(rapport.locator('.view[data-by="Olga"]')).to_contain_text("Good")
        href = await card.locator("#scorecard-print").get_attribute("href")
        assert href and "format=html" in href
        session = await rep.evaluate("() => new URL(document.querySelector('#scorecard-print').href).pathname.split('/')[3]")
        token = await rep.evaluate(
            "() => new URL(document.querySelector('#scorecard-print').href).searchParams.get('token')"
        )
        status, body = await _http(f"{base}/v1/sessions/{session}/report", token)
        assert status == 200
        scorecard = json.loads(body)["scorecard"]
        assert scorecard["reflection"] == "given"

        # After the call the observer's panel says plainly that a second one is refused.
        await expect(obs.locator("#peer-status")).to_contain_text("Sent")

        if SHOTS:
            await rep.set_viewport_size({"width": 460, "height": 1400})
            await card.screenshot(path=str(ROOT / "docs" / "scorecard.png"))

        # Erase: confirmed, then the report answers 404.
        rep.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
        await card.get_by_role("button", name="Erase this call").click()
        await expect(card.locator("#scorecard-status")).to_contain_text("erased", timeout=T)
        deadline = time.monotonic() + 10
        while True:
            status, _ = await _http(f"{base}/v1/sessions/{session}/report", token)
            if status == 404 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert status == 404
        for c in [*ctxs, obs_ctx]:
            await c.close()
        for b in (rep_browser, cust_browser, plain):
            await b.close()
    assert not errors, errors


async def test_skip_is_recorded_and_second_peer_evaluation_refused(server, pushy_wavs):
    base = server.http_url.rstrip("/")
    errors: list[str] = []
    async with async_playwright() as pw:
        rep_browser = await _launch(pw, pushy_wavs["rep"])
        cust_browser = await _launch(pw, pushy_wavs["customer"])
        plain = await _launch(pw)
        rep_ctx, rep = await _page(rep_browser, errors, base, locale="nl-NL")
        await rep.goto(base + "/")
        # In Dutch: the consent screen names who sees the report and for how long.
        await rep.locator("#screen-start").get_by_label("Je naam").fill("Anna")
        await rep.get_by_label("Titel van het gesprek").fill("Overslaan")
        await rep.get_by_role("button", name="Gesprek starten").click()
        await expect(rep.locator("#consent-report")).to_contain_text("90 dagen", timeout=T)
        await rep.get_by_label("Meekijken door trainer").check()
        customer_url = await rep.locator("#link-customer").input_value()
        observer_url = await rep.locator("#link-observer").input_value()
        await rep.get_by_role("button", name="Ik ga akkoord").click()
        cust_ctx, cust = await _page(cust_browser, errors, base)
        await cust.goto(customer_url)
        await cust.locator("#screen-join").get_by_label("Your name").fill("Bram")
        await cust.get_by_role("button", name="Join call").click()
        await cust.get_by_label("Trainer view").check()
        await cust.get_by_role("button", name="I agree").click()
        await expect(rep.locator("#indicator")).to_contain_text("Analyse AAN", timeout=T)

        # Two observer pages under one name (the observer link is shared); they keep their
        # forms open and send them after the call.
        observers = []
        for _ in range(2):
            ctx, page = await _page(plain, errors, base)
            await page.goto(observer_url)
            await page.locator("#screen-join").get_by_label("Your name").fill("Olga")
            await page.get_by_role("button", name="Join call").click()
            await page.get_by_role("button", name="I agree").click()
            await expect(page.locator("#peer-eval")).to_be_visible(timeout=T)
            observers.append((ctx, page))

        await expect(rep.locator("#talk-label")).to_contain_text("%", timeout=T)
        await rep.get_by_role("button", name="Gesprek beëindigen").click()
        reflect = rep.locator("#reflect")
        await expect(reflect).to_be_visible(timeout=T)
        await reflect.get_by_role("button", name="Overslaan").click()
        card = rep.locator("#scorecard-card")
        await expect(card.locator(".sc-reflection")).to_contain_text("overgeslagen", timeout=T)
        await expect(card.locator(".view.rep")).to_have_count(0)

        for i, (_, page) in enumerate(observers):
            await expect(page.locator("#report")).to_be_visible(timeout=T)
            await _row(page, "#peer-eval", "Talk share").get_by_label("Needs work").check()
            await page.get_by_role("button", name="Send evaluation").click()
            status = page.locator("#peer-status")
            if i == 0:
                await expect(status).to_contain_text("Sent", timeout=T)
            else:
                await expect(status).to_contain_text("evaluated this call already", timeout=T)
                await expect(page.get_by_role("button", name="Send evaluation")).to_be_disabled()
        for c in (rep_ctx, cust_ctx, *(ctx for ctx, _ in observers)):
            await c.close()
        for b in (rep_browser, cust_browser, plain):
            await b.close()
    assert not errors, errors
