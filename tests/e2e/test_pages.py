"""End-to-end test of the participant page (client/overlay) in headless Chromium.

Starts the real server in-process, drives two browser contexts (rep and customer) with
Chromium's fake microphone playing an espeak-ng speech WAV, and checks the consent-first
flow: invite link, consent screens, the "Analysis ON" indicator on both sides, talk-share
metrics for the rep, withdrawal pausing analysis for both, and the end-of-call report.
With SPARRING_SCREENSHOT=1 it also writes docs/screenshot-overlay.png for the README.
"""

from __future__ import annotations

import base64
import json
import os
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
        await expect(lines).to_have_count(4)
        await expect(lines.nth(2).locator(".qbadge.closed")).to_have_text("closed")
        await expect(lines.nth(2).locator(".tip")).to_have_text(tip)
        assert (
            await lines.nth(2).locator(".tip").evaluate("e => getComputedStyle(e).fontStyle")
            == "italic"
        )
        await expect(lines.nth(3).locator(".qbadge.open")).to_have_text("open")
        await expect(lines.nth(3).locator(".tip")).to_have_count(0)
        await expect(lines.nth(0).locator(".qbadge")).to_have_count(0)  # no `question`: no badge
        open_bg, closed_bg = [
            await lines.nth(i).locator(".qbadge").evaluate("e => getComputedStyle(e).color")
            for i in (3, 2)
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
        href = await report_link.get_attribute("href")
        assert "/v1/sessions/" in href and "token=" in href
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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([__file__, "-v"]))
