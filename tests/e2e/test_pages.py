"""End-to-end test of the participant page (client/overlay) in headless Chromium.

Starts the real server in-process, drives two browser contexts (rep and customer) with
Chromium's fake microphone playing an espeak-ng speech WAV, and checks the consent-first
flow: invite link, consent screens, the "Analysis ON" indicator on both sides, talk-share
metrics for the rep, withdrawal pausing analysis for both, and the end-of-call report.
With SPARRING_SCREENSHOT=1 it also writes docs/screenshot-overlay.png for the README.

Microphones and rooms: the page's own microphone check (silent, too quiet, clipping, OK),
the capture settings per mode, how `audio_check` notices show on the participants' pages
and the rep's overlay, and a real two-party call whose customer microphone leaks.
With SPARRING_AUDIO_SHOTS=<folder> the notice test saves its screenshots there.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot-overlay.png"
CHROMIUM = "/usr/bin/chromium"
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
VIEWPORT = {"width": 360, "height": 640}  # the overlay's target size beside a video call
T = 20_000  # ms: generous, the first metrics need a second or two of audio from both parties

SPEECH = (
    "Hello, thanks for making the time today. What made you look at a new supplier this year? "
    "We currently spend a lot on maintenance, and the old system is slow. "
    "How does that affect your team day to day? "
)

async_playwright = pytest.importorskip("playwright.async_api").async_playwright
expect = pytest.importorskip("playwright.async_api").expect


def _make_wav(path: Path, channels: int) -> Path:
    """A 16 kHz PCM16 speech WAV from espeak-ng; stereo: the voice left, then right."""
    import numpy as np
    import soundfile as sf
    import soxr

    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-s", "160", "-w", str(raw), SPEECH], check=True, timeout=60)
    audio, rate = sf.read(raw, dtype="float32")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    audio = soxr.resample(audio, rate, 16000)
    gap = np.zeros(8000, dtype="float32")  # 0.5 s pauses keep turn-taking visible
    mono = np.concatenate([audio, gap])
    if channels == 2:
        silence = np.zeros_like(mono)
        left = np.concatenate([mono, silence])
        right = np.concatenate([silence, mono])
        data = np.stack([left, right], axis=1)
    else:
        data = mono
    sf.write(path, data, 16000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def speech_wavs(tmp_path_factory):
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    d = tmp_path_factory.mktemp("speech")
    return {1: _make_wav(d / "speech-mono.wav", 1), 2: _make_wav(d / "speech-stereo.wav", 2)}


@pytest.fixture
async def base_url():
    app = pytest.importorskip("server.app")
    config = pytest.importorskip("server.config")
    async with app.Server(config.Config(host="127.0.0.1", port=0, model="none")) as srv:
        yield srv.http_url.rstrip("/")


async def _launch(pw, wav: Path):
    return await pw.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*BASE_ARGS, f"--use-file-for-fake-audio-capture={wav}"],
    )


async def _new_page(browser, errors: list[str], base: str):
    ctx = await browser.new_context(viewport=VIEWPORT, device_scale_factor=2)
    await ctx.grant_permissions(["microphone"], origin=base)
    page = await ctx.new_page()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
    )
    return ctx, page


async def _record_socket(page, sent: list, frames: list[int]) -> list:
    """Route the page's live WebSocket through Playwright: every message still reaches the
    server, JSON ones are recorded in `sent` and binary frame sizes in `frames`; the returned
    list receives the route, through which the test can add server messages."""
    routes: list = []

    def route(ws):
        server = ws.connect_to_server()

        def to_server(message):
            if isinstance(message, str):
                sent.append(json.loads(message))
            else:
                frames.append(len(message))
            server.send(message)

        ws.on_message(to_server)
        routes.append(ws)

    await page.route_web_socket("**/v1/live", route)
    return routes


def _inject(route, **message) -> None:
    """Deliver `message` to the page as if the server had sent it."""
    route.send(json.dumps(message))


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


async def _compose_screenshot(browser, shots: list[tuple[str, bytes]]) -> None:
    """Lay the page screenshots side by side on one canvas, for the README."""
    ctx = await browser.new_context(
        viewport={"width": 40 + len(shots) * 400, "height": 600}, device_scale_factor=2
    )
    page = await ctx.new_page()
    figs = "".join(
        f'<figure><img width="{_png_size(png)[0] // 2}" height="{_png_size(png)[1] // 2}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{caption}</figcaption></figure>"
        for caption, png in shots
    )
    await page.set_content(
        "<!doctype html><style>"
        "body{margin:0;background:#dfe3ea;font:600 14px system-ui,sans-serif;color:#3a4150}"
        ".row{display:flex;gap:40px;justify-content:center;align-items:flex-start;"
        "padding:24px 20px}"
        "figure{margin:0;display:flex;flex-direction:column;align-items:center}"
        "img{border-radius:14px;"
        "box-shadow:0 10px 30px rgba(16,24,40,.18),0 0 0 1px rgba(16,24,40,.08)}"
        "figcaption{margin-top:14px}</style>"
        f'<div class="row">{figs}</div>'
    )
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT), full_page=True)
    await ctx.close()


async def test_rep_and_customer_consent_live_withdraw(base_url, speech_wavs):
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await _launch(pw, speech_wavs[1])
        rep_ctx, rep = await _new_page(browser, errors, base_url)

        # Keep a handle on the rep's live connection, so the test can add a manual nudge
        # and transcript lines (with the "none" model the server produces no words).
        sent: list[dict] = []
        frames: list[int] = []
        rep_ws = await _record_socket(rep, sent, frames)

        # 1. The rep starts a practice call.
        await rep.goto(base_url + "/")
        start = rep.locator("#screen-start")
        await start.get_by_label("Your name").fill("Anna")
        await rep.get_by_label("Title of the call").fill("Discovery call, group B")
        await rep.get_by_label("Language").select_option("en")
        await rep.get_by_role("button", name="Start call").click()

        link = rep.locator("#link-customer")
        await expect(link).not_to_have_value("", timeout=T)
        customer_url = await link.input_value()
        assert "#join=" in customer_url
        observer_url = await rep.locator("#link-observer").input_value()
        assert "#join=" in observer_url and observer_url != customer_url

        # 2. Consent screen before any audio: says what is analysed and that audio is not stored.
        consent = rep.locator("#screen-consent")
        await expect(consent).to_be_visible(timeout=T)
        await expect(consent).to_contain_text("Raw audio is never stored")
        await expect(consent).to_contain_text("interruptions")
        await expect(rep.locator("#mic-label")).to_have_text("Mic off")
        await rep.get_by_role("button", name="I agree").click()

        indicator = rep.locator("#indicator")
        await expect(indicator).to_contain_text("Analysis paused", timeout=T)
        await expect(indicator).to_contain_text("customer")
        await expect(rep.locator("#mic-label")).to_contain_text("Mic on", timeout=T)

        # 3. The customer opens the link in another browser context and consents.
        cust_ctx, cust = await _new_page(browser, errors, base_url)
        await cust.goto(customer_url)
        await cust.locator("#screen-join").get_by_label("Your name").fill("Bram")
        await cust.get_by_role("button", name="Join call").click()
        await expect(cust.locator("#screen-consent")).to_be_visible(timeout=T)
        await expect(cust.locator("#consent-role")).to_have_text("customer")
        await cust.get_by_label("Trainer view").check()
        await cust.get_by_role("button", name="I agree").click()

        # 4. Both parties see that analysis is on; both see each other as consented.
        cust_indicator = cust.locator("#indicator")
        await expect(indicator).to_contain_text("Analysis ON", timeout=T)
        await expect(cust_indicator).to_contain_text("Analysis ON", timeout=T)
        await expect(rep.locator("#participants li")).to_have_count(2)
        await expect(rep.locator("#participants .tick.yes")).to_have_count(2)
        await expect(cust.locator("#participants .tick.yes")).to_have_count(2)
        await expect(rep.locator("#invite")).to_be_hidden()

        # The page declared 16 kHz mono PCM16 and sends 100 ms frames: 3200 bytes each.
        hello = next(m for m in sent if m["type"] == "hello")
        assert hello["audio"] == {"format": "pcm_s16le", "rate": 16000, "channels": 1}
        assert sent[0]["type"] == "create" and sent[0]["language"] == "en"
        assert frames and set(frames) == {3200}, sorted(set(frames))

        # 5. Metrics reach the rep: the talk-share bar updates; the customer never sees it.
        await expect(rep.locator("#talk-label")).to_contain_text("%", timeout=T)
        assert await rep.locator("#talk-rep").evaluate("e => e.style.width") != ""
        await expect(cust.locator("#talk")).to_be_hidden()

        # 6. A trainer's manual nudge and transcript lines as the server would send them.
        assert rep_ws, "the rep's WebSocket was not routed"
        ws = rep_ws[-1]
        _inject(
            ws,
            type="nudge",
            id="m1",
            rule="manual",
            text="Ask what it costs them",
            severity="info",
            at=12.0,
            evidence={"from": "trainer"},
        )
        toast = rep.locator("#nudge .toast")
        await expect(toast).to_contain_text("Ask what it costs them")
        await expect(toast).to_contain_text("From trainer")
        # Nudges of the newer rules: a short "why" line from the evidence keys the page
        # knows; unknown keys show nothing.
        _inject(
            ws,
            type="nudge",
            id="n0",
            rule="open_question",
            text="Ask an open question — what, how, tell me…",
            severity="info",
            at=13.0,
            evidence={"closed_in_a_row": 3, "since_open_s": 95, "open": 1, "closed": 4},
        )
        await expect(toast).to_contain_text("3 closed questions in a row")
        _inject(
            ws,
            type="nudge",
            id="n0b",
            rule="pace",
            text="Slow down — 185 words a minute",
            severity="info",
            at=13.5,
            evidence={"wpm": 185, "max_wpm": 160},
        )
        await expect(toast).to_contain_text("185 words/min")
        _inject(
            ws,
            type="nudge",
            id="n0c",
            rule="something_new",
            text="A rule this page does not know",
            severity="info",
            at=13.8,
            evidence={"mystery_ratio": 0.4, "note": "x"},
        )
        await expect(toast).to_contain_text("A rule this page does not know")
        await expect(toast.locator(".toast-meta")).to_have_count(0)
        _inject(
            ws,
            type="nudge",
            id="n1",
            rule="talk_ratio",
            text="Let them talk",
            severity="warn",
            at=14.0,
            evidence={"rep_share": 0.72, "window_s": 120},
        )
        await expect(toast).to_have_count(1)  # a newer nudge replaces the older one
        await expect(toast).to_contain_text("Let them talk")
        await expect(toast).to_contain_text("you: 72% · last 2 min")
        await expect(toast).to_have_class("toast warn")
        partials = ["What made", "What made you look"]
        for text in [*partials, "What made you look at a new supplier?", "changed after final"]:
            final = text.endswith("?")
            _inject(
                ws,
                type="transcript",
                speaker="rep",
                segment=1,
                text=text,
                final=final,
                start=1.0,
                end=3.0,
            )
        _inject(
            ws,
            type="transcript",
            speaker="customer",
            segment=2,
            final=False,
            text="The old system is slow, and maintenance is",
            start=3.2,
            end=5.0,
        )
        lines = rep.locator("#transcript li")
        await expect(lines).to_have_count(2)
        await expect(lines.nth(0)).to_contain_text("What made you look at a new supplier?")
        await expect(lines.nth(0)).not_to_have_class("partial")
        await expect(lines.nth(1)).to_have_class("partial")
        # A segment whose partials showed but that recognised nothing: its line goes.
        for text, final in [("Mm", False), ("", True), ("late partial", False)]:
            _inject(
                ws, type="transcript", speaker="customer", segment=4,
                text=text, final=final, start=5.2, end=5.6,
            )  # fmt: skip
        _inject(
            ws, type="transcript", speaker="rep", segment=6,
            text="Go on.", final=True, start=5.8, end=6.2,
        )  # fmt: skip
        await expect(lines).to_have_count(3)
        await expect(lines.nth(2)).to_contain_text("Go on.")
        await expect(rep.locator("#transcript")).not_to_contain_text("Mm")
        await expect(rep.locator("#transcript")).not_to_contain_text("late partial")

        # The rep's finals carry the question's kind (a badge) and a rephrasing tip.
        tip = "Try “What led to…” instead of “why”"
        for seg, text, kind, extra in [
            (3, "Why did you pick the old system?", "closed", {"tip": tip}),
            (5, "How does that affect your team day to day?", "open", {}),
        ]:
            _inject(
                ws,
                type="transcript",
                speaker="rep",
                segment=seg,
                text=text,
                final=True,
                start=6.0 + seg,
                end=8.0 + seg,
                question=kind,
                **extra,
            )
        await expect(lines).to_have_count(5)
        await expect(lines.nth(3).locator(".qbadge.closed")).to_have_text("closed")
        await expect(lines.nth(3).locator(".tip")).to_have_text(tip)
        assert (
            await lines.nth(3).locator(".tip").evaluate("e => getComputedStyle(e).fontStyle")
            == "italic"
        )
        await expect(lines.nth(4).locator(".qbadge.open")).to_have_text("open")
        await expect(lines.nth(4).locator(".tip")).to_have_count(0)
        await expect(lines.nth(0).locator(".qbadge")).to_have_count(0)  # no `question`: no badge
        open_bg, closed_bg = [
            await lines.nth(i).locator(".qbadge").evaluate("e => getComputedStyle(e).color")
            for i in (4, 3)
        ]
        assert open_bg != closed_bg, (open_bg, closed_bg)

        # The checklist: the server sends it whole on going live and whenever an item is
        # covered; ticked items show their time, the summary counts them.
        checklist = rep.locator("#checklist")
        items = [
            {"id": "budget", "label": "Budget", "done": True, "at": 21.8, "speaker": "rep"},
            {"id": "decision_maker", "label": "Decision maker", "done": False},
            {"id": "timing", "label": "Timing", "done": True, "at": 64.2, "speaker": "customer"},
            {"id": "next_step", "label": "Next step", "done": False, "at": None},
        ]
        _inject(ws, type="checklist", items=items)
        await expect(checklist).to_be_visible()
        await expect(rep.locator("#checklist-count")).to_have_text("2/4")
        await expect(checklist.locator("li")).to_have_count(4)
        await expect(checklist.locator("li.done")).to_have_count(2)
        await expect(checklist.locator("li.done").first).to_contain_text("Budget")
        await expect(checklist.locator("li.done").first).to_contain_text("0:22")
        await expect(checklist.locator("li.done").nth(1)).to_contain_text("1:04")
        await expect(checklist.locator("li.open").first).to_have_text("Decision maker")
        await expect(cust.locator("#checklist")).to_be_hidden()  # the rep's coaching only

        # Metrics tiles: questions open/closed, words a minute ("—" until enough speech),
        # fillers, from the server's own metrics (no words with the "none" model).
        await expect(rep.locator("#stat-questions")).to_have_text("0/0")
        await expect(rep.locator("#stat-wpm")).to_have_text("—")
        await expect(rep.locator("#stat-fillers")).to_have_text("0")

        await rep.wait_for_timeout(1500)  # let the talk bar settle for the picture
        shots = [("Rep", await rep.screenshot()), ("Customer", await cust.screenshot())]

        # Pop out: where the browser offers Document Picture-in-Picture, the live panel
        # moves into an always-on-top mini window (styled) and comes back when it closes.
        if await rep.evaluate("'documentPictureInPicture' in window"):
            async with rep_ctx.expect_page() as pip_info:
                await rep.get_by_role("button", name="Pop out").click()
            pip = await pip_info.value
            await expect(rep.locator("#live-panel")).to_have_count(0)
            await expect(pip.locator("#indicator")).to_contain_text("Analysis ON")
            await expect(pip.locator("#nudge .toast")).to_contain_text("Let them talk")
            await expect(pip.locator("#checklist")).to_be_visible()  # at least its summary
            await expect(pip.locator("#checklist-count")).to_have_text("2/4")
            await expect(pip.get_by_role("button", name="Withdraw consent")).to_be_visible()
            bg = await pip.locator("#indicator").evaluate("e => getComputedStyle(e).borderTopColor")
            assert bg != "rgba(0, 0, 0, 0)" and bg != "rgb(0, 0, 0)", bg  # stylesheets copied
            await pip.set_viewport_size({"width": 340, "height": 290})  # as requested by the page
            # Short on space, the checklist folds to one line: "Checklist 2/4" and ticks.
            await expect(pip.locator("#checklist-items")).to_be_hidden()
            await expect(pip.locator("#checklist-ticks .ck.yes")).to_have_count(2)
            box = await pip.locator("#checklist").bounding_box()
            assert box and box["height"] < 40 and box["y"] + box["height"] <= 290, box
            shots.append(("Pop-out mini window (always on top)", await pip.screenshot()))
            await pip.close()
            await expect(rep.locator("#live-home #live-panel")).to_have_count(1)
            await expect(rep.get_by_role("button", name="Pop out")).to_be_visible()
        else:
            await expect(rep.locator("#btn-pip")).to_be_hidden()
        if os.environ.get("SPARRING_SCREENSHOT") == "1":
            await _compose_screenshot(browser, shots)

        # 7. The customer withdraws: analysis pauses for both, the customer's mic stops.
        await cust.get_by_role("button", name="Withdraw consent").click()
        await expect(cust_indicator).to_contain_text("Analysis paused", timeout=T)
        await expect(indicator).to_contain_text("Analysis paused", timeout=T)
        await expect(indicator).to_contain_text("customer")
        await expect(cust.locator("#mic-label")).to_have_text("Mic off")
        await expect(rep.locator("#indicator.on")).to_have_count(0)

        # Consent can be given again: analysis resumes for both.
        await cust.get_by_role("button", name="Consent again").click()
        await expect(cust.locator("#screen-consent")).to_be_visible()
        await cust.get_by_role("button", name="I agree").click()
        await expect(cust_indicator).to_contain_text("Analysis ON", timeout=T)
        await expect(indicator).to_contain_text("Analysis ON", timeout=T)
        await expect(cust.locator("#mic-label")).to_contain_text("Mic on", timeout=T)

        # A gap in `seq` is reported, and errors show their code and message.
        _inject(ws, type="error", code="test_code", message="shown to the user", seq=1_000_000)
        await expect(rep.locator("#alerts")).to_contain_text("went missing", timeout=T)
        await expect(rep.locator("#alerts")).to_contain_text("test_code")
        await expect(rep.locator("#alerts")).to_contain_text("shown to the user")

        # 8. The rep ends the call and gets a link to the report, which the rep's token opens.
        await rep.get_by_role("button", name="End call").click()
        report_link = rep.locator("#report-link")
        await expect(report_link).to_be_visible(timeout=T)
        # A short-lived link the server signed for the rep's token; the token stays out of it.
        await expect(report_link).to_have_attribute(
            "href", re.compile(r"[?&]link=rep\."), timeout=T
        )
        href = await report_link.get_attribute("href")
        assert "/v1/sessions/" in href and "token=" not in href
        resp = await rep_ctx.request.get(href)
        assert resp.status == 200, await resp.text()
        await expect(indicator).to_contain_text("Call ended")
        await expect(cust_indicator).to_contain_text("Call ended", timeout=T)
        await expect(cust.locator("#report-link")).to_be_visible()
        await expect(rep.locator("#alerts")).not_to_contain_text("Connection closed")
        await expect(cust.locator("#alerts")).not_to_contain_text("Connection closed")

        await cust_ctx.close()
        await rep_ctx.close()
        await browser.close()
    assert not errors, errors


async def test_one_device_stereo_mode(base_url, speech_wavs):
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await _launch(pw, speech_wavs[2])
        ctx, page = await _new_page(browser, errors, base_url)
        sent: list[dict] = []
        frames: list[int] = []
        await _record_socket(page, sent, frames)
        await page.goto(base_url + "/")
        has_pip = await page.evaluate("'documentPictureInPicture' in window")
        start = page.locator("#screen-start")
        await start.get_by_label("Your name").fill("Anna")
        await page.get_by_label("Title of the call").fill("One device")
        await page.get_by_label("One device for both of us").check()
        await start.get_by_label("Customer’s name").fill("Bram")
        await page.get_by_role("button", name="Start call").click()

        await expect(page.locator("#screen-consent")).to_be_visible(timeout=T)
        await expect(page.locator("#invite-customer")).to_be_hidden()
        agree = page.get_by_role("button", name="I agree")
        await expect(agree).to_be_disabled()  # not before the customer's agreement is ticked
        await page.get_by_label("The customer agrees").check()
        await expect(agree).to_be_enabled()
        await agree.click()

        await expect(page.locator("#indicator")).to_contain_text("Analysis ON", timeout=T)
        await expect(page.locator("#talk-label")).to_contain_text("%", timeout=T)
        pip_button = page.locator("#btn-pip")
        if has_pip:
            await expect(pip_button).to_be_visible()
        else:
            await expect(pip_button).to_be_hidden()

        hello = next(m for m in sent if m["type"] == "hello")
        assert hello["audio"] == {"format": "pcm_s16le", "rate": 16000, "channels": 2}
        consents = [m for m in sent if m["type"] == "consent"]
        assert consents[0]["granted"] is True and "coaching" in consents[0]["scopes"]
        assert consents[1] == {
            **consents[1],
            "granted": True,
            "on_behalf_of": "customer",
            "name": "Bram",
        }

        await page.get_by_role("button", name="Withdraw consent").click()
        await expect(page.locator("#indicator")).to_contain_text("Analysis paused", timeout=T)
        assert {"type": "consent", "granted": False} in sent
        assert frames and set(frames) == {6400}, sorted(set(frames))  # 100 ms, 2 channels
        stereo_warned = "one channel" in await page.locator("#alerts").inner_text()
        print("fake microphone delivered", "mono" if stereo_warned else "stereo")
        await ctx.close()
        await browser.close()
    assert not errors, errors


async def test_bad_link_shows_the_error(base_url, speech_wavs):
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await _launch(pw, speech_wavs[1])
        ctx, page = await _new_page(browser, errors, base_url)
        await page.goto(base_url + "/#join=not-a-real-token")
        await page.locator("#screen-join").get_by_label("Your name").fill("Eve")
        await page.get_by_role("button", name="Join call").click()
        alerts = page.locator("#alerts .alert")
        await expect(alerts.locator("code")).to_have_count(1, timeout=T)  # the error's code
        await expect(page.locator("#screen-consent")).to_be_hidden()
        await expect(page.get_by_role("button", name="Join call")).to_be_enabled()
        await ctx.close()
        await browser.close()
    assert not errors, errors


# ---------------------------------------------------------------- microphones and rooms

CALLS = ROOT / "client" / "calls"
LEAK_DEADLINE = 60_000  # ms: the server judges a microphone over several seconds of speech

# Records what the page asked getUserMedia for and what the track then reported.
GUM_SPY = """
(() => {
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) return;
  const real = md.getUserMedia.bind(md);
  window.__gum = [];
  md.getUserMedia = async (constraints) => {
    const stream = await real(constraints);
    const track = stream.getAudioTracks()[0];
    window.__gum.push({ constraints, settings: track ? track.getSettings() : null });
    return stream;
  };
})();
"""


def _silent_wav(path: Path, seconds: float = 6.0) -> Path:
    import numpy as np
    import soundfile as sf

    sf.write(path, np.zeros(int(16000 * seconds), dtype="float32"), 16000, subtype="PCM_16")
    return path


def _leak_wavs(
    d: Path, call: str = "good", leak_db: float = -10.0, delay_ms: float = 5.0
) -> tuple[Path, Path]:
    """A bundled call: the rep's track as is, and the customer's track with the rep's voice
    mixed in at `leak_db`, `delay_ms` later (one room, or a laptop speaker playing the call)."""
    import numpy as np
    import soundfile as sf

    rep, rate = sf.read(CALLS / f"{call}.rep.flac", dtype="float32")
    cust, rate_c = sf.read(CALLS / f"{call}.customer.flac", dtype="float32")
    assert rate == rate_c == 16000 and rep.ndim == cust.ndim == 1
    n = min(len(rep), len(cust))
    rep, cust = rep[:n], cust[:n]
    lag = int(round(rate * delay_ms / 1000))
    leaked = np.zeros(n, dtype="float32")
    leaked[lag:] = rep[: n - lag] * 10 ** (leak_db / 20)
    mixed = cust + leaked
    assert np.abs(mixed).max() < 1.0
    rep_wav, cust_wav = d / f"{call}.rep.wav", d / f"{call}.customer-leak.wav"
    sf.write(rep_wav, rep, rate, subtype="PCM_16")
    sf.write(cust_wav, mixed, rate, subtype="PCM_16")
    return rep_wav, cust_wav


async def _start_call(page, base: str, title: str) -> str:
    """The rep starts a call and agrees; returns the customer's join link."""
    await page.goto(base + "/")
    # By id: the page's words follow the browser's language (English or Dutch).
    await page.locator("#start-name").fill("Anna")
    await page.locator("#start-title").fill(title)
    await page.locator("#start-submit").click()
    link = page.locator("#link-customer")
    await expect(link).not_to_have_value("", timeout=T)
    await expect(page.locator("#screen-consent")).to_be_visible(timeout=T)
    return await link.input_value()


async def _join(page, url: str, name: str = "Bram") -> None:
    await page.goto(url)
    await page.locator("#join-name").fill(name)
    await page.locator("#join-submit").click()
    await expect(page.locator("#screen-consent")).to_be_visible(timeout=T)


async def test_local_microphone_check(base_url, speech_wavs, tmp_path):
    """The page checks its own microphone as it starts, in the browser, before the other
    party has agreed: silent, or OK (in the browser's language); and asks the browser for its
    echo cancellation, noise suppression and gain control in one-party mode."""
    errors: list[str] = []
    silent = _silent_wav(tmp_path / "silent.wav")
    async with async_playwright() as pw:
        # A fake microphone playing silence: the page says so, plainly, as a status.
        browser = await _launch(pw, silent)
        ctx, page = await _new_page(browser, errors, base_url)
        sent: list[dict] = []
        await _record_socket(page, sent, [])
        await _start_call(page, base_url, "Silent microphone")
        await page.get_by_role("button", name="I agree").click()
        check = page.locator("#audio-check")
        await expect(check).to_have_attribute("data-state", "silent", timeout=T)
        await expect(check).to_have_attribute("role", "status")
        await expect(check).to_contain_text("Your microphone is silent")
        await expect(check).to_contain_text("muted")
        # ... before the other party agreed, so before anything is analysed; none of it is sent.
        await expect(page.locator("#indicator")).to_contain_text("Analysis paused")
        assert not [m for m in sent if m.get("type") == "audio_check"]
        await ctx.close()
        await browser.close()

        # Speech: "Microphone OK", in English and, for a Dutch browser, in Dutch.
        browser = await _launch(pw, speech_wavs[1])
        for locale, ok_text in [("en-GB", "Microphone OK"), ("nl-NL", "Microfoon OK")]:
            ctx = await browser.new_context(viewport=VIEWPORT, locale=locale)
            await ctx.grant_permissions(["microphone"], origin=base_url)
            await ctx.add_init_script(GUM_SPY)
            page = await ctx.new_page()
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            await _start_call(page, base_url, f"Microphone check {locale}")
            await page.locator("#consent-agree").click()
            check = page.locator("#audio-check")
            await expect(check).to_have_attribute("data-state", "ok", timeout=T)
            await expect(check.locator("#audio-check-text")).to_have_text(ok_text)
            paused = "Analysis paused" if locale.startswith("en") else "Analyse gepauzeerd"
            await expect(page.locator("#indicator")).to_contain_text(paused)
            gum = await page.evaluate("window.__gum")
            assert len(gum) == 1, gum
            asked = gum[0]["constraints"]["audio"]
            assert asked["echoCancellation"] is True
            assert asked["noiseSuppression"] is True
            assert asked["autoGainControl"] is True
            got = gum[0]["settings"] or {}
            for key in ("echoCancellation", "noiseSuppression", "autoGainControl"):
                assert got.get(key, True) is not False, (key, got)
            await ctx.close()
        await browser.close()
    assert not errors, errors


@pytest.mark.parametrize(
    ("kind", "gain_db", "says"),
    [("clipping", 18.0, "overloaded"), ("quiet", -30.0, "very quietly")],
)
async def test_local_microphone_check_levels(base_url, tmp_path, kind, gain_db, says):
    """The rep's voice (a bundled call track) far too loud, clipped at full scale, or far
    too soft: the page's own check says which, before anyone else has joined."""
    import numpy as np
    import soundfile as sf

    errors: list[str] = []
    voice, rate = sf.read(CALLS / "good.rep.flac", dtype="float32")
    voice = np.clip(voice[: rate * 12] * 10 ** (gain_db / 20), -1.0, 1.0)
    wav = tmp_path / f"{kind}.wav"
    sf.write(wav, voice, rate, subtype="PCM_16")
    async with async_playwright() as pw:
        browser = await _launch(pw, wav)
        ctx, page = await _new_page(browser, errors, base_url)
        await _start_call(page, base_url, f"Microphone {kind}")
        await page.get_by_role("button", name="I agree").click()
        check = page.locator("#audio-check")
        await expect(check).to_have_attribute("data-state", kind, timeout=T)
        await expect(check).to_contain_text(says)
        await ctx.close()
        await browser.close()
    assert not errors, errors


async def test_stereo_mode_asks_for_raw_channels(base_url, speech_wavs):
    """One-device stereo mode needs the raw channels: no echo cancellation, noise
    suppression or gain control, which would mix or reshape left and right."""
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await _launch(pw, speech_wavs[2])
        ctx, page = await _new_page(browser, errors, base_url)
        await ctx.add_init_script(GUM_SPY)
        await page.goto(base_url + "/")
        start = page.locator("#screen-start")
        await start.get_by_label("Your name").fill("Anna")
        await page.get_by_label("Title of the call").fill("One device, raw channels")
        await page.get_by_label("One device for both of us").check()
        await start.get_by_label("Customer’s name").fill("Bram")
        await page.get_by_role("button", name="Start call").click()
        await page.get_by_label("The customer agrees").check()
        await page.get_by_role("button", name="I agree").click()
        await expect(page.locator("#mic-label")).to_contain_text("stereo", timeout=T)
        gum = await page.evaluate("window.__gum")
        asked = gum[0]["constraints"]["audio"]
        assert asked["echoCancellation"] is False
        assert asked["noiseSuppression"] is False
        assert asked["autoGainControl"] is False
        got = gum[0]["settings"] or {}
        for key in ("echoCancellation", "noiseSuppression", "autoGainControl"):
            assert got.get(key, False) is False, (key, got)
        await ctx.close()
        await browser.close()
    assert not errors, errors


async def test_audio_check_notice_rendering(base_url, speech_wavs):
    """How the pages show `audio_check`, given the message (the server's detection is tested
    on its own): the customer's page (Dutch) and the rep's overlay each show a calm notice
    with the server's words, the rep's talk-share bar says "not measurable now" while a
    microphone is unreliable, nothing above or below the notice moves, and `ok` clears it.
    The messages travel through the page's real WebSocket, routed by the test."""
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await _launch(pw, speech_wavs[1])
        rep_ctx, rep = await _new_page(browser, errors, base_url)
        rep_ws = await _record_socket(rep, [], [])
        customer_url = await _start_call(rep, base_url, "Audio check")
        await rep.get_by_role("button", name="I agree").click()

        cust_ctx = await browser.new_context(viewport=VIEWPORT, locale="nl-NL")
        await cust_ctx.grant_permissions(["microphone"], origin=base_url)
        cust = await cust_ctx.new_page()
        cust.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        cust_ws = await _record_socket(cust, [], [])
        await _join(cust, customer_url)
        await cust.get_by_role("button", name="Ik ga akkoord").click()  # a Dutch browser
        await expect(rep.locator("#indicator")).to_contain_text("Analysis ON", timeout=T)
        await expect(cust.locator("#indicator")).to_contain_text("Analyse AAN", timeout=T)
        await expect(rep.locator("#talk-label")).to_contain_text("%", timeout=T)
        rep_check, cust_check = rep.locator("#audio-check"), cust.locator("#audio-check")
        await expect(rep_check).to_have_attribute("data-state", "ok", timeout=T)
        await expect(cust_check).to_have_attribute("data-state", "ok", timeout=T)
        await expect(cust_check).to_contain_text("Microfoon OK")

        async def boxes(page):
            out = {}
            for sel in ("#audio-slot", "#talk", "#checklist", "#nudge", "#indicator"):
                loc = page.locator(sel)
                out[sel] = await loc.bounding_box() if await loc.is_visible() else None
            return out

        rep_before, cust_before = await boxes(rep), await boxes(cust)

        # The customer's microphone also hears the rep: the server tells the customer (in
        # the session's language) and the rep; talk-time figures cannot rest on it now.
        leak_nl = "Je microfoon hoort ook de verkoper — gebruik een headset of ga verder uit elkaar"
        leak_en = (
            "The customer’s microphone also hears you — ask them to use a headset or move apart"
        )
        customer_leak = dict(
            type="audio_check", speaker="customer", issue="leak", reliable=False, at=21.5
        )
        _inject(cust_ws[-1], **customer_leak, text=leak_nl)
        _inject(rep_ws[-1], **customer_leak, text=leak_en)
        await expect(cust_check).to_have_attribute("data-state", "notice")
        await expect(cust_check).to_have_attribute("data-issue", "leak")
        await expect(cust_check).to_contain_text("Geluidscontrole")
        await expect(cust_check).to_contain_text("Je microfoon")
        await expect(cust_check).to_contain_text("cijfers gepauzeerd")
        await expect(cust_check.locator("#audio-check-text")).to_have_text(leak_nl)
        await expect(rep_check).to_contain_text("The customer’s microphone")
        await expect(rep_check).to_contain_text("figures paused")
        await expect(rep_check.locator("#audio-check-text")).to_have_text(leak_en)
        talk_label = rep.locator("#talk-label")
        await expect(talk_label).to_have_text("Not measurable now")
        await expect(rep.locator("#talk-bar")).to_have_attribute(
            "aria-label", re.compile("not measurable")
        )
        # Metrics keep coming; they do not put the figures back while the microphone is unreliable.
        updated = await rep.locator("#talk").get_attribute("data-updated")
        await expect(rep.locator("#talk")).not_to_have_attribute("data-updated", updated, timeout=T)
        await expect(talk_label).to_have_text("Not measurable now")

        # The rep's own microphone too (still usable): both notices, the rep's own first,
        # one at a time in the same box; the other is one click away.
        own = "Your microphone also hears the customer — use a headset or move apart"
        _inject(
            rep_ws[-1],
            type="audio_check",
            speaker="rep",
            issue="leak",
            reliable=True,
            at=23.0,
            text=own,
        )
        await expect(rep_check.locator("#audio-check-text")).to_have_text(own)
        await expect(rep_check.locator("#audio-check-who")).to_have_text("Your microphone")
        await expect(rep_check.locator("#audio-check-tag")).to_be_hidden()
        next_btn = rep.locator("#audio-check-next")
        await expect(next_btn).to_have_text("1/2›")
        await expect(next_btn).to_have_attribute(
            "aria-label", "Show the other microphone’s notice (2 of 2)"
        )
        await next_btn.click()
        # Beside the pager a long name may give way to its short form; the full one stays in
        # the box's title.
        await expect(rep_check.locator("#audio-check-who")).to_have_text(
            re.compile("^(The customer’s microphone|Customer)$")
        )
        await expect(rep_check).to_have_attribute(
            "title", re.compile("^The customer’s microphone — ")
        )
        await expect(rep_check.locator("#audio-check-text")).to_have_text(leak_en)

        # Nothing moved: the notices took the space kept for them.
        assert await boxes(rep) == rep_before, (await boxes(rep), rep_before)
        assert await boxes(cust) == cust_before, (await boxes(cust), cust_before)

        # The pop-out mini window carries the notice and the "not measurable" bar as well.
        if await rep.evaluate("'documentPictureInPicture' in window"):
            async with rep_ctx.expect_page() as pip_info:
                await rep.get_by_role("button", name="Pop out").click()
            pip = await pip_info.value
            await pip.set_viewport_size({"width": 340, "height": 290})  # as requested by the page
            await expect(pip.locator("#audio-check")).to_contain_text("figures paused")
            await expect(pip.locator("#audio-check")).to_be_in_viewport()
            await expect(pip.locator("#talk-label")).to_have_text("Not measurable now")
            await expect(pip.get_by_role("button", name="Withdraw consent")).to_be_in_viewport()
            if os.environ.get("SPARRING_AUDIO_SHOTS"):
                shots = Path(os.environ["SPARRING_AUDIO_SHOTS"])
                await pip.screenshot(path=str(shots / "pip-audio-check.png"))
                await rep.screenshot(path=str(shots / "rep-audio-check-main.png"))
            await pip.close()
            await expect(rep.locator("#live-home #audio-check")).to_have_count(1)
        if os.environ.get("SPARRING_AUDIO_SHOTS"):
            shots = Path(os.environ["SPARRING_AUDIO_SHOTS"])
            await rep.screenshot(path=str(shots / "rep-audio-check.png"))
            await cust.screenshot(path=str(shots / "customer-audio-check.png"))

        # Back to ok: the notices go, the figures come back; the server's words that the
        # microphone is fine again take the notice's place, calmly.
        fine_nl = "Je microfoon klinkt weer goed"
        _inject(
            cust_ws[-1],
            type="audio_check",
            speaker="customer",
            issue="ok",
            reliable=True,
            at=40.0,
            text=fine_nl,
        )
        _inject(
            rep_ws[-1],
            type="audio_check",
            speaker="customer",
            issue="ok",
            reliable=True,
            at=40.0,
            text="",
        )
        await expect(cust_check).to_have_attribute("data-state", "recovered")
        await expect(cust_check.locator("#audio-check-text")).to_have_text(fine_nl)
        await expect(rep_check.locator("#audio-check-who")).to_have_text("Your microphone")
        await expect(rep.locator("#audio-check-next")).to_be_hidden()
        await expect(talk_label).to_contain_text("%")  # the rep's own microphone stays usable
        await expect(rep.locator("#talk")).not_to_have_class(re.compile("unmeasurable"))
        fine = "Your microphone sounds fine again"
        _inject(
            rep_ws[-1],
            type="audio_check",
            speaker="rep",
            issue="ok",
            reliable=True,
            at=41.0,
            text=fine,
        )
        await expect(rep_check).to_have_attribute("data-state", "recovered")
        await expect(rep_check.locator("#audio-check-text")).to_have_text(fine)
        await expect(rep_check.locator("#audio-check-who")).to_be_empty()
        assert await boxes(rep) == rep_before
        assert await boxes(cust) == cust_before

        await cust_ctx.close()
        await rep_ctx.close()
        await browser.close()
    assert not errors, errors


@pytest.mark.xfail(
    reason="two browsers' streams reach the server tens of ms apart (capture start, 100 ms "
    "frames), beyond the 0-20 ms lag the server's leak test searches: within 60 s the leak "
    "is found in some runs (10-50 s), in others it is called background or not found",
    strict=False,
)
async def test_leaking_customer_microphone_is_flagged(base_url, tmp_path):
    """A real two-party call: the customer's fake microphone also carries the rep's voice at
    -10 dB, 5 ms late. The server hears it and the customer's page says so, as does the
    rep's. The pushy call, where the rep talks most of the time, gives the server enough of
    the leaked voice within seconds (in `good` the rep speaks only every 20 s or so)."""
    errors: list[str] = []
    rep_wav, cust_wav = _leak_wavs(tmp_path, call="pushy")
    async with async_playwright() as pw:
        rep_browser = await _launch(pw, rep_wav)
        cust_browser = await _launch(pw, cust_wav)
        rep_ctx, rep = await _new_page(rep_browser, errors, base_url)
        cust_ctx, cust = await _new_page(cust_browser, errors, base_url)
        customer_url = await _start_call(rep, base_url, "Same room")
        await _join(cust, customer_url)
        # Both agree together, so that both fake microphones start their files together.
        await asyncio.gather(
            rep.get_by_role("button", name="I agree").click(),
            cust.get_by_role("button", name="I agree").click(),
        )
        await expect(cust.locator("#indicator")).to_contain_text("Analysis ON", timeout=T)
        check = cust.locator("#audio-check")
        await expect(check).to_have_attribute("data-issue", "leak", timeout=LEAK_DEADLINE)
        await expect(check.locator("#audio-check-who")).to_have_text("Your microphone")
        await expect(check.locator("#audio-check-text")).not_to_be_empty()
        rep_check = rep.locator("#audio-check")
        await expect(rep_check).to_have_attribute("data-issue", "leak", timeout=T)
        await expect(rep_check).to_have_attribute("data-speaker", "customer")
        await expect(rep_check.locator("#audio-check-who")).to_have_text(
            re.compile("^(The customer’s microphone|Customer)$")
        )
        await cust_ctx.close()
        await rep_ctx.close()
        await cust_browser.close()
        await rep_browser.close()
    assert not errors, errors


async def test_leak_on_one_device_is_flagged(base_url, tmp_path):
    """A real call in one-device stereo mode, where both microphones reach the server sample
    for sample together: the right (customer) channel also carries the rep's voice at -10 dB,
    5 ms late. The server hears the leak and the rep's page shows it."""
    import numpy as np
    import soundfile as sf

    errors: list[str] = []
    rep_wav, cust_wav = _leak_wavs(tmp_path)
    rep_track, rate = sf.read(rep_wav, dtype="float32")
    cust_track, _ = sf.read(cust_wav, dtype="float32")
    wav = tmp_path / "stereo-leak.wav"
    sf.write(wav, np.stack([rep_track, cust_track], axis=1), rate, subtype="PCM_16")
    async with async_playwright() as pw:
        browser = await _launch(pw, wav)
        ctx, page = await _new_page(browser, errors, base_url)
        await page.goto(base_url + "/")
        start = page.locator("#screen-start")
        await start.get_by_label("Your name").fill("Anna")
        await page.get_by_label("Title of the call").fill("One laptop, one room")
        await page.get_by_label("One device for both of us").check()
        await start.get_by_label("Customer’s name").fill("Bram")
        await page.get_by_role("button", name="Start call").click()
        await page.get_by_label("The customer agrees").check()
        await page.get_by_role("button", name="I agree").click()
        await expect(page.locator("#indicator")).to_contain_text("Analysis ON", timeout=T)
        check = page.locator("#audio-check")
        await expect(check).to_have_attribute("data-issue", "leak", timeout=LEAK_DEADLINE)
        await expect(check).to_have_attribute("data-speaker", "customer")
        await expect(check.locator("#audio-check-who")).to_have_text("The customer’s microphone")
        await expect(check.locator("#audio-check-text")).not_to_be_empty()
        await ctx.close()
        await browser.close()
    assert not errors, errors


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([__file__, "-v"]))
