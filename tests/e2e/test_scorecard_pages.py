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
import itertools
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
        # The printable report opens through a short-lived link: no token in the URL.
        printable = card.locator("#scorecard-print")
        await expect(printable).to_have_attribute("href", re.compile(r"[?&]link=rep\."), timeout=T)
        href = await printable.get_attribute("href")
        assert href and "format=html" in href and "token=" not in href
        async with rep.context.expect_page() as opened:
            await printable.click()
        tab = await opened.value
        await expect(tab.locator("body")).to_contain_text("Consent ledger", timeout=T)
        assert "link=rep." in tab.url and "token=" not in tab.url
        await tab.close()
        as_json = href.replace("format=html", "format=json")
        status, body = await _http(as_json, "")
        assert status == 200
        scorecard = json.loads(body)["scorecard"]
        assert scorecard["reflection"] == "given"

        # After the call the observer's panel says plainly that a second one is refused.
        await expect(obs.locator("#peer-status")).to_contain_text("Sent")

        if SHOTS:
            await rep.set_viewport_size({"width": 460, "height": 2400})
            await card.screenshot(path=str(ROOT / "docs" / "scorecard.png"))

        # Erase: confirmed, then the report answers 404.
        rep.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
        await card.get_by_role("button", name="Erase this call").click()
        await expect(card.locator("#scorecard-status")).to_contain_text("erased", timeout=T)
        deadline = time.monotonic() + 10
        while True:  # the link opens the report as it is now: nothing, once erased
            status, _ = await _http(as_json, "")
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


async def _trainer_ws(ws_url: str):
    from websockets.asyncio.client import connect

    ws = await connect(ws_url)
    await ws.send(json.dumps({"type": "hello", "trainer_key": KEY, "name": "Tom"}))
    while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "welcome":
        pass
    return ws


async def _answer(ws, kind: str) -> dict:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if msg["type"] == kind:
            return msg
        assert msg["type"] != "error", msg


async def _rep_call(
    ws_url: str, rep_token: str, title: str, speed: float = 30.0, share: float = 1.0
) -> str:
    """One whole `pushy` call started with a rep's personal link, streamed by the Python
    client (the rep talks far too much: talk share needs work); `share` of it only."""
    from websockets.asyncio.client import connect

    async with connect(ws_url) as ws:
        await ws.send(json.dumps({"type": "create", "title": title, "rep_token": rep_token}))
        created = await _answer(ws, "created")
    rep_audio = read_audio(CALLS / "pushy.rep.flac")
    cust_audio = read_audio(CALLS / "pushy.customer.flac")
    tokens = created["tokens"]
    async with (
        Participant(ws_url, tokens["rep"], "Anna", rep_audio.format()) as rep,
        Participant(ws_url, tokens["customer"], "Bram", cust_audio.format()) as cust,
    ):
        await rep.consent()
        await cust.consent()
        await asyncio.wait_for(rep.live.wait(), 10)
        t0 = time.monotonic()
        n = int(rep_audio.duration_s * share * 10)
        await asyncio.gather(
            rep.stream(itertools.islice(rep_audio.frames(), n), speed=speed, start_at=t0),
            cust.stream(itertools.islice(cust_audio.frames(), n), speed=speed, start_at=t0),
        )
        await rep.end()
        await asyncio.wait_for(rep.ended.wait(), 20)
    return created["session"]


async def _history_until(base: str, token: str, path: str, ok, deadline_s: float = 30.0):
    deadline = time.monotonic() + deadline_s
    while True:
        status, body = await _http(base + path, token)
        data = json.loads(body) if status == 200 else None
        if data is not None and ok(data):
            return data
        assert time.monotonic() < deadline, (status, body[:500])
        await asyncio.sleep(0.3)


async def test_history_page_shows_recurring_issues(server):
    base = server.http_url.rstrip("/")
    ws_url = base.replace("http", "ws", 1) + "/v1/live"
    trainer = await _trainer_ws(ws_url)
    await trainer.send(json.dumps({"type": "create_group", "name": "Group B"}))
    group = (await _answer(trainer, "groups"))["groups"][0]
    await trainer.send(json.dumps({"type": "add_rep", "group": group["id"], "name": "Anna"}))
    link = await _answer(trainer, "rep_link")
    await trainer.close()
    token = link["token"]
    for i, share in enumerate((1.0, 0.8, 0.9)):
        await _rep_call(ws_url, token, f"Discovery call {i + 1}", share=share)
    await _history_until(
        base,
        token,
        "/v1/reps/me/history",
        lambda d: len(d["recurring"]) > 0 and len(d["calls"]) == 3,
    )
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await _launch(pw)
        ctx, page = await _page(browser, errors, base, viewport={"width": 1000, "height": 900})
        await page.goto(f"{base}/history#rep={token}")
        await expect(page.locator("#hist-h")).to_have_text("Progress of Anna", timeout=T)
        # The token leaves the address bar; the tab keeps it.
        assert token not in page.url
        issue = page.locator('#recurring-list .issue[data-criterion="talk_share"]')
        await expect(issue).to_contain_text("Talk share")
        await expect(issue).to_contain_text("needed work in 3 of the last 3 calls")
        await expect(issue.locator("button")).to_have_count(3)
        # A call's report opens in a new tab through a short-lived link, never the token.
        async with ctx.expect_page() as opened:
            await page.locator("#calls-body tr button").first.click()
        tab = await opened.value
        await expect(tab.locator("body")).to_contain_text("Consent ledger", timeout=T)
        assert "link=rep." in tab.url and token not in tab.url
        await tab.close()
        await expect(page.locator("#calls-body tr")).to_have_count(3)
        await expect(page.locator("#calls-body")).to_contain_text("Discovery call 3")
        talk = page.locator('.trend[data-measure="talk"]')
        await expect(talk).to_contain_text("%")
        await expect(talk.locator("svg circle")).to_have_count(3)
        assert "Talk share, oldest to newest" in (await talk.get_attribute("aria-label") or "")
        if SHOTS:
            await page.screenshot(path=str(ROOT / "docs" / "history.png"), full_page=True)
        # A reload keeps the rep's view (sessionStorage), with no token in the URL.
        await page.reload()
        await expect(page.locator("#hist-h")).to_have_text("Progress of Anna", timeout=T)

        # The trainer's view of the group: what the group keeps missing, ranked.
        await page.evaluate(f"sessionStorage.setItem('sparring.trainer.key', {json.dumps(KEY)})")
        await page.goto(f"{base}/history?group={group['id']}")
        await expect(page.locator("#hist-h")).to_contain_text("Group B", timeout=T)
        first = page.locator("#missed-list li").first
        await expect(first).to_contain_text("needed work in 3 of 3 calls, by 1 reps")
        await expect(page.locator("#reps-list")).to_contain_text("Anna")
        # A wrong key: said plainly.
        await page.evaluate("sessionStorage.setItem('sparring.trainer.key', 'wrong')")
        await page.reload()
        await expect(page.locator("#hist-status")).to_contain_text("Nothing is kept", timeout=T)
        await ctx.close()
        await browser.close()
    assert not [e for e in errors if "404" not in e], errors


async def test_trainer_creates_group_and_rep_whose_link_starts_a_call(server, pushy_wavs):
    base = server.http_url.rstrip("/")
    errors: list[str] = []
    async with async_playwright() as pw:
        plain = await _launch(pw)
        rep_browser = await _launch(pw, pushy_wavs["rep"])
        cust_browser = await _launch(pw, pushy_wavs["customer"])
        tctx, desk = await _page(plain, errors, base, viewport=DESK)
        await desk.goto(base + "/trainer")
        await desk.get_by_label("Your name").fill("Tom")
        await desk.get_by_label("Trainer key").fill(KEY)
        await desk.get_by_role("button", name="Sign in").click()
        await desk.get_by_role("button", name="Groups and reps").click()
        await expect(desk.locator("#groups")).to_be_visible(timeout=T)
        await desk.get_by_label("New group").fill("Group B")
        await desk.get_by_label("New group").press("Enter")
        group = desk.locator("#group-list li.group").filter(has_text="Group B")
        await expect(group).to_be_visible(timeout=T)
        await group.get_by_label("Add a rep to Group B").fill("Anna")
        await group.get_by_role("button", name="Add rep").click()
        box = group.locator(".rep-link")
        await expect(box).to_be_visible(timeout=T)
        await expect(box).to_contain_text("Shown only this once")
        url = await box.locator("input").input_value()
        assert "#rep=" in url
        await expect(group.locator(".rep-list")).to_contain_text("Anna", timeout=T)
        await box.get_by_role("button", name="Done, I copied it").click()
        await expect(group.locator(".rep-link")).to_have_count(0)

        # The rep opens the personal link: the page names whose link it is and starts calls.
        rep_ctx, rep = await _page(rep_browser, errors, base)
        await rep.goto(url)
        await expect(rep.locator("#rep-link-text")).to_contain_text(
            "Anna’s personal link", timeout=T
        )
        await expect(rep.locator("#start-name")).to_have_value("Anna")
        href = await rep.locator("#my-progress").get_attribute("href")
        assert href and href.startswith("/history#rep=")
        rep, cust, _, ctxs = await _start_call(
            cust_browser, errors, base, title="Personal link call", rep_page=(rep_ctx, rep)
        )
        await expect(rep.locator("#consent-report")).to_contain_text("progress history")
        await expect(rep.locator("#talk-label")).to_contain_text("%", timeout=T)

        # The trainer evaluates the live call from its detail view.
        await desk.get_by_role("button", name="← All calls").first.click()
        await desk.locator(".call", has_text="Personal link call").click()
        panel = desk.locator("#evaluate")
        await expect(panel.locator("#evaluate-form")).to_be_visible(timeout=T)
        talk = _row(desk, "#evaluate", "Talk share")
        await talk.get_by_label("Needs work").check()
        await talk.get_by_role("textbox").fill("Ask before you pitch")
        await panel.get_by_role("button", name="Send evaluation").click()
        await expect(panel.locator("#evaluate-status")).to_contain_text("Sent", timeout=T)

        await rep.get_by_role("button", name="End call").click()
        await rep.locator("#reflect").get_by_role("button", name="Skip").click()
        await expect(rep.locator("#scorecard-progress")).to_be_visible(timeout=T)
        tom = rep.locator('.sc-item[data-criterion="talk_share"] .view[data-by="Tom"]')
        await expect(tom).to_contain_text("Tom (trainer)", timeout=T)
        await expect(tom).to_contain_text("Ask before you pitch")
        await desk.keyboard.press("Escape")
        await desk.get_by_role("button", name="Groups and reps").click()

        # The call lands in the rep's history: the trainer opens it from the dashboard.
        await group.get_by_role("link", name="Progress of Anna").click()
        await expect(desk.locator("#hist-h")).to_have_text("Progress of Anna", timeout=T)
        deadline = time.monotonic() + 30
        while not await desk.locator("#calls-body tr").count():
            assert time.monotonic() < deadline, "the call never reached the rep's history"
            await asyncio.sleep(0.5)
            await desk.reload()
        await expect(desk.locator("#calls-body")).to_contain_text("Personal link call")
        for c in (tctx, *ctxs):
            await c.close()
        for b in (plain, rep_browser, cust_browser):
            await b.close()
    assert not errors, errors
