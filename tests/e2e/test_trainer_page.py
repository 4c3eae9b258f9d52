"""End to end: the trainer dashboard (/trainer) against the real server in real Chromium.

A rep and a customer page, each with a fake microphone playing its party of the bundled
`pushy` call, consent with trainer view and transcript; a trainer signs in on /trainer (a
wrong key first), sees the call in the grid, opens it with the keyboard, sees its metrics,
nudges, checklist (and transcript, where the server runs the speech model) and whispers.
The rep's page shows the whisper marked as from the trainer; the customer's page never gets
it. A second test drives the dashboard in Dutch, with a private call, a refused watch and a
whisper to an ended call; a third puts 30 calls on one grid.

With SPARRING_TRAINER_SHOTS=1 the first test writes docs/dashboard.png and docs/detail.png
(the README's screenshots) from its real run. SPARRING_TRAINER_MODEL picks the speech model
of that test's server (default `tiny.en` when faster-whisper is installed, else `none`).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path

import pytest

from client.stream import Participant, create_session, read_audio

ROOT = Path(__file__).resolve().parents[2]
CALLS = ROOT / "client" / "calls"
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
PHONE = {"width": 360, "height": 640}  # the participant overlay beside a video call
DESK = {"width": 1280, "height": 860}  # a trainer's screen
KEY = "sesame-trainer-key"
T = 20_000  # ms
NUDGE_DEADLINE = 120_000  # ms: the playbook's 45 s warm-up, in real time, then the nudge

async_playwright = pytest.importorskip("playwright.async_api").async_playwright
expect = pytest.importorskip("playwright.async_api").expect


def _model() -> str:
    chosen = os.environ.get("SPARRING_TRAINER_MODEL")
    if chosen:
        return chosen
    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        return "none"
    return "tiny.en"


async def _server(model: str = "none"):
    app = pytest.importorskip("server.app")
    config = pytest.importorskip("server.config")
    return app.Server(
        config.Config(host="127.0.0.1", port=0, model=model, trainer_key=KEY, node="n1")
    )


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


async def _record(page, received: list[dict], urls: list[str]) -> None:
    """Route the page's live socket through Playwright and record what the server sends."""

    def route(ws):
        urls.append(ws.url)
        server = ws.connect_to_server()

        def to_page(message):
            if isinstance(message, str):
                received.append(json.loads(message))
            ws.send(message)

        server.on_message(to_page)

    await page.route_web_socket(re.compile(r".*/v1/live(\?.*)?$"), route)


async def _record_sent(page, sent: list[dict]) -> None:
    """Route the page's live socket through Playwright and record what the page sends."""

    def route(ws):
        server = ws.connect_to_server()

        def to_server(message):
            if isinstance(message, str):
                sent.append(json.loads(message))
            server.send(message)

        ws.on_message(to_server)

    await page.route_web_socket(re.compile(r".*/v1/live(\?.*)?$"), route)


async def _sign_in(page, base: str, key: str = KEY, name: str = "Tom") -> None:
    await page.goto(base + "/trainer")
    await page.locator("#signin-name").fill(name)
    await page.locator("#signin-key").fill(key)
    await page.locator("#signin-submit").click()


async def test_trainer_watches_call_and_whispers_to_rep(pushy_wavs):
    errors: list[str] = []
    model = _model()
    async with await _server(model) as srv, async_playwright() as pw:
        base = srv.http_url.rstrip("/")
        rep_browser = await _launch(pw, pushy_wavs["rep"])
        cust_browser = await _launch(pw, pushy_wavs["customer"])
        desk_browser = await _launch(pw)

        # The trainer signs in: a wrong key first, answered plainly with its code.
        desk_ctx, desk = await _page(desk_browser, errors, base, viewport=DESK)
        desk_sent: list[dict] = []
        await _record_sent(desk, desk_sent)
        await _sign_in(desk, base, key="not-the-key")
        error = desk.locator("#signin-error")
        await expect(error).to_be_visible(timeout=T)
        await expect(error).to_contain_text("Wrong trainer key")
        await expect(error.locator("code")).to_have_text("bad_token")
        assert await desk.evaluate("sessionStorage.getItem('sparring.trainer.key')") is None
        await _sign_in(desk, base)
        await expect(desk.locator("#board")).to_be_visible(timeout=T)
        await expect(desk.locator("#board-empty")).to_be_visible()
        # The key travels in `hello` only, never in a URL; the tab keeps it for a reload.
        hello = next(m for m in desk_sent if m["type"] == "hello" and m["trainer_key"] == KEY)
        assert hello["name"] == "Tom"
        assert KEY not in desk.url
        assert await desk.evaluate("sessionStorage.getItem('sparring.trainer.key')") == KEY
        assert {"type": "watch", "session": "*", "events": "summary"} in desk_sent

        # Other calls on the same server, as on a role-play afternoon: one running, one
        # private, one ended (Python clients streaming the bundled `good` call).
        others = [
            await _python_call(srv, "Objection handling, group A", trainer_view=True),
            await _python_call(srv, "Group C", trainer_view=False),
            await _python_call(srv, "Warm-up call, group A", trainer_view=True, seconds=6.0),
        ]
        await others[2][1].end()
        await asyncio.wait_for(others[2][1].ended.wait(), 10)
        await expect(desk.locator("#grid .call-cell")).to_have_count(3, timeout=T)
        await expect(desk.locator("#grid .call-cell.private")).to_have_count(1)
        await expect(desk.locator("#grid .call-cell.ended")).to_have_count(1, timeout=T)

        # The rep starts a call and allows trainer view and the transcript.
        rep_ctx, rep = await _page(rep_browser, errors, base)
        rep_got: list[dict] = []
        rep_urls: list[str] = []
        await _record(rep, rep_got, rep_urls)
        await rep.goto(base + "/")
        await rep.locator("#start-name").fill("Anna")
        await rep.locator("#start-title").fill("Discovery, group B")
        await rep.locator("#start-language").select_option("en")
        await rep.locator("#start-submit").click()
        link = rep.locator("#link-customer")
        await expect(link).not_to_have_value("", timeout=T)
        customer_url = await link.input_value()
        await expect(rep.locator("#screen-consent")).to_be_visible(timeout=T)
        await rep.get_by_label("Trainer view").check()

        cust_ctx, cust = await _page(cust_browser, errors, base)
        cust_got: list[dict] = []
        cust_urls: list[str] = []
        await _record(cust, cust_got, cust_urls)
        await cust.goto(customer_url)
        await cust.locator("#join-name").fill("Bram")
        await cust.locator("#join-submit").click()
        await expect(cust.locator("#screen-consent")).to_be_visible(timeout=T)
        await cust.get_by_label("Trainer view").check()
        # Both agree together, so that both fake microphones start their tracks together.
        await asyncio.gather(
            rep.get_by_role("button", name="I agree").click(),
            cust.get_by_role("button", name="I agree").click(),
        )
        await expect(rep.locator("#indicator")).to_contain_text("Analysis ON", timeout=T)
        # The customer's page routes its socket by the node its token names.
        assert cust_urls and cust_urls[-1].endswith("/v1/live?node=n1"), cust_urls

        # The grid: the call appears live, with both names, consent and scopes.
        card = desk.locator(".call", has_text="Discovery, group B")
        await expect(card).to_contain_text("Discovery, group B", timeout=T)
        await expect(card.locator(".status-chip")).to_have_text(re.compile("Live"), timeout=T)
        await expect(card).to_contain_text("Anna")
        await expect(card).to_contain_text("Bram")
        await expect(card.locator(".tick.yes")).to_have_count(2)
        await expect(card).to_contain_text("trainer view")
        # Elapsed time ticks from created_at.
        elapsed = card.locator(".elapsed")
        first = await elapsed.text_content()
        await expect(elapsed).not_to_have_text(first or "", timeout=5_000)
        # The rolling talk share, against the playbook's target.
        await expect(card.locator(".call-talk-label")).to_contain_text("target", timeout=T)
        # The pushy rep talks most of the time: after the 45 s warm-up, a nudge.
        await expect(card.locator(".call-nudge")).not_to_have_class(
            re.compile(r"\bnone\b"), timeout=NUDGE_DEADLINE
        )
        await expect(card.locator(".call-check")).to_contain_text("Checklist")
        box_before = await card.bounding_box()

        # Open it with the keyboard: focus the row, Enter.
        await card.focus()
        await desk.keyboard.press("Enter")
        detail = desk.locator("#detail")
        await expect(detail).to_be_visible()
        await expect(desk.locator("#detail-title")).to_have_text("Discovery, group B")
        await expect(desk.locator("#detail-title")).to_be_focused()
        session_id = await card.get_attribute("data-session")
        assert session_id and session_id.startswith("n1."), session_id
        assert {"type": "watch", "session": session_id} in desk_sent
        await expect(desk.locator("#detail-nudges .nl").first).to_be_visible(timeout=T)
        # The server's pictures of the running call, fetched with the key in a header.
        await expect(desk.locator("#detail-timeline")).to_be_visible(timeout=T)
        await expect(desk.locator("#detail-talkline")).to_be_visible(timeout=T)
        assert await desk.locator("#detail-timeline").evaluate("img => img.naturalWidth > 0")
        await expect(desk.locator("#m-monologue")).not_to_have_text("—", timeout=T)
        await expect(desk.locator("#m-interruptions")).not_to_have_text("—")
        await expect(desk.locator("#detail-talk-label")).to_contain_text("Rep")
        await expect(desk.locator("#detail-checklist li").first).to_be_visible(timeout=T)
        if model != "none":
            lines = desk.locator("#detail-transcript li")
            await expect(lines.first).to_be_visible(timeout=NUDGE_DEADLINE)
            await expect(desk.locator("#detail-transcript .spk.rep").first).to_have_text("Anna")
        # Quick lines from the playbook.
        await expect(desk.locator("#whisper-quick .quick")).to_contain_text(
            ["Ask an open question"], timeout=T
        )

        # The whisper: typed, sent with Enter.
        text = "Ask about their budget now"
        await desk.locator("#whisper-text").fill(text)
        await desk.locator("#whisper-text").press("Enter")
        await expect(desk.locator("#whisper-status")).to_contain_text(text)
        await expect(desk.locator("#whisper-status")).to_contain_text("Sent at")  # `done` came
        whisper = {"type": "whisper", "session": session_id, "text": text}
        assert whisper in desk_sent

        # The rep's overlay shows it, marked as from the trainer, and keeps it in its list.
        toast = rep.locator("#nudge .toast.manual")
        await expect(toast).to_contain_text(text, timeout=T)
        await expect(toast).to_contain_text("From the trainer (Tom)")
        hist = rep.locator("#history-items li[data-whisper=trainer]")
        await expect(hist).to_contain_text(text)
        await expect(hist).to_contain_text("From the trainer (Tom)")
        # ... the rule nudges so far too.
        await expect(rep.locator("#history-items li:not(.manual)").first).to_be_visible()

        if os.environ.get("SPARRING_TRAINER_SHOTS"):
            await desk.screenshot(path=str(ROOT / "docs" / "detail.png"))
            await rep.screenshot(path=str(ROOT / "docs" / "rep-whisper.png"))

        # Back to the grid (Escape), focus on the row again; the card did not move.
        await desk.keyboard.press("Escape")
        await expect(desk.locator("#board")).to_be_visible()
        await expect(card).to_be_focused()
        assert await card.bounding_box() == box_before
        assert {"type": "unwatch", "session": session_id} in desk_sent
        if os.environ.get("SPARRING_TRAINER_SHOTS"):
            await desk.screenshot(path=str(ROOT / "docs" / "dashboard.png"))

        # The rep ends the call: the customer's page gets the final state, which the server
        # sent after the whisper; by then a whisper for the customer would have come first.
        await rep.locator("#btn-end").click()
        await expect(cust.locator("#indicator")).to_contain_text("Call ended", timeout=T)
        assert any(m.get("type") == "state" and m.get("status") == "ended" for m in cust_got)
        assert not [m for m in cust_got if m.get("type") == "nudge"], "a nudge reached the customer"
        assert not [m for m in cust_got if text in json.dumps(m)]
        await expect(cust.locator("#nudge .toast")).to_have_count(0)
        await expect(cust.locator("#history")).to_be_hidden()
        assert any(m.get("type") == "nudge" and m.get("rule") == "manual" for m in rep_got)
        # The grid shows it ended.
        await expect(card.locator(".status-chip")).to_have_text(re.compile("Ended"), timeout=T)

        for _, rep_p, cust_p in others:
            await rep_p.__aexit__(None, None, None)
            await cust_p.__aexit__(None, None, None)
        for ctx in (desk_ctx, rep_ctx, cust_ctx):
            await ctx.close()
        for b in (desk_browser, rep_browser, cust_browser):
            await b.close()
    assert not errors, errors


async def _python_call(srv, title: str, *, trainer_view: bool, seconds: float = 3.0):
    """A call of two Python clients that consent and stream a few seconds of `good`."""
    created = await create_session(srv.ws_url, title)
    scopes = ("coaching", "transcript", "trainer_view") if trainer_view else ("coaching",)
    rep_a = read_audio(CALLS / "good.rep.flac")
    cust_a = read_audio(CALLS / "good.customer.flac")
    n = int(seconds * 16000)
    rep_a.samples, cust_a.samples = rep_a.samples[:n], cust_a.samples[:n]
    rep = Participant(srv.ws_url, created.tokens.rep, "Anna", rep_a.format(), scopes=scopes)
    cust = Participant(srv.ws_url, created.tokens.customer, "Bram", cust_a.format(), scopes=scopes)
    await rep.__aenter__()
    await cust.__aenter__()
    await rep.consent()
    await cust.consent()
    await asyncio.wait_for(rep.live.wait(), 5)
    start = time.monotonic()
    await asyncio.gather(
        rep.stream(rep_a.frames(), speed=0, start_at=start),
        cust.stream(cust_a.frames(), speed=0, start_at=start),
    )
    return created.session, rep, cust


async def test_dashboard_in_dutch_private_call_refused_watch_and_ended_whisper():
    """A Dutch browser: every word of the dashboard in Dutch. A private call shows as one
    line; opening it is refused plainly; a whisper to an ended call answers `bad_state`."""
    errors: list[str] = []
    async with await _server() as srv, async_playwright() as pw:
        base = srv.http_url.rstrip("/")
        open_id, rep, cust = await _python_call(srv, "Verkenningsgesprek", trainer_view=True)
        private_id, prep, pcust = await _python_call(srv, "Geheim", trainer_view=False)
        browser = await _launch(pw)
        ctx, page = await _page(browser, errors, base, viewport=DESK, locale="nl-NL")
        await page.goto(base + "/trainer")
        await expect(page.locator("#signin-h")).to_have_text("Aanmelden als trainer")
        await expect(page.locator("#signin-submit")).to_have_text("Aanmelden")
        await expect(page.locator("html")).to_have_attribute("lang", "nl")
        await _sign_in(page, base, key="fout")
        await expect(page.locator("#signin-error")).to_contain_text("Verkeerde trainerssleutel")
        await _sign_in(page, base)
        await expect(page.locator("#board-h")).to_have_text("Gesprekken", timeout=T)
        grid = page.locator("#grid")
        await expect(grid.locator(".call-cell")).to_have_count(2, timeout=T)
        open_card = grid.locator(f'.call[data-session="{open_id}"]')
        private_card = grid.locator(f'.call[data-session="{private_id}"]')
        await expect(open_card).to_contain_text("Verkenningsgesprek")
        await expect(open_card.locator(".status-chip")).to_have_text(re.compile("Live"))
        await expect(open_card).to_contain_text("Verkoper")
        await expect(open_card).to_contain_text("meekijken")
        await expect(open_card.locator(".call-nudge")).to_have_text("Nog geen tip")
        # The private call: one line, nothing else.
        await expect(private_card.locator(".call-private")).to_have_text(
            re.compile(r"^privégesprek, \d+ min$")
        )
        assert "Geheim" not in (await private_card.inner_text())
        assert "Anna" not in (await private_card.inner_text())
        await expect(page.locator("#board-count")).to_contain_text("1 privé")

        # Opening the private call: refused, and the page says why (with the code).
        await private_card.focus()
        await page.keyboard.press(" ")
        note = page.locator("#detail-note")
        await expect(note).to_contain_text(
            "De verkoper en de klant hebben niet allebei meekijken door een trainer toegestaan"
        )
        await expect(note.locator("code")).to_have_text("forbidden")
        await expect(page.locator("#detail-body")).to_be_hidden()
        await page.locator("#detail-back").click()
        await expect(private_card).to_be_focused()

        # The open call in detail: Dutch labels, quick lines in the call's language (en).
        await open_card.click()
        await expect(page.locator("#whisper-h")).to_have_text("Fluister de verkoper iets toe")
        await expect(page.locator("#whisper-send")).to_have_text("Fluisteren")
        await expect(page.locator("#detail-status")).to_have_text(re.compile("Live"))
        await expect(page.locator("#m-interruptions")).not_to_have_text("—", timeout=T)
        # The call ends; a whisper now answers bad_state, shown next to the box.
        await rep.end()
        await asyncio.wait_for(rep.ended.wait(), 10)
        await expect(page.locator("#detail-status")).to_have_text(
            re.compile("Beëindigd"), timeout=T
        )
        await page.locator("#whisper-text").fill("Nog één vraag")
        await page.locator("#whisper-send").click()
        status = page.locator("#whisper-status")
        await expect(status).to_contain_text("Niet verstuurd: het gesprek is beëindigd")
        await expect(status.locator("code")).to_have_text("bad_state")
        for p in (rep, cust, prep, pcust):
            await p.__aexit__(None, None, None)
        await ctx.close()
        await browser.close()
    assert not errors, errors


async def test_thirty_calls_on_one_grid():
    """30 live calls whose lines keep changing: every one on the grid, in fixed cells that
    do not move while the figures change, each reachable with the keyboard."""
    errors: list[str] = []
    async with await _server() as srv, async_playwright() as pw:
        base = srv.http_url.rstrip("/")
        calls = [
            await _python_call(srv, f"Role-play {i + 1:02d}", trainer_view=i % 5 != 4, seconds=1)
            for i in range(30)
        ]
        browser = await _launch(pw)
        ctx, page = await _page(browser, errors, base, viewport=DESK)
        await _sign_in(page, base)
        cells = page.locator("#grid .call-cell")
        await expect(cells).to_have_count(30, timeout=T)
        await expect(page.locator("#grid .call-cell.private")).to_have_count(6)
        boxes = [await cells.nth(i).bounding_box() for i in (0, 7, 29)]

        # Every call keeps talking (about 8 grid updates a second each on the server's side).
        rep_a = read_audio(CALLS / "good.rep.flac")
        cust_a = read_audio(CALLS / "good.customer.flac")
        n = 8 * 16000
        rep_a.samples, cust_a.samples = rep_a.samples[16000 : 16000 + n], cust_a.samples[:n]
        start = time.monotonic()
        await asyncio.gather(
            *(
                p.stream(a.frames(), speed=4.0, start_at=start)
                for _, rep, cust in calls
                for p, a in ((rep, rep_a), (cust, cust_a))
            )
        )
        first = cells.nth(0).locator(".call-talk-label")
        await expect(first).to_contain_text("%", timeout=T)
        assert [await cells.nth(i).bounding_box() for i in (0, 7, 29)] == boxes
        # The keyboard reaches a row and opens it.
        await cells.nth(2).locator(".call").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#detail-title")).to_have_text("Role-play 03")
        await page.keyboard.press("Escape")
        await expect(cells.nth(2).locator(".call")).to_be_focused()
        for _, rep, cust in calls:
            await rep.__aexit__(None, None, None)
            await cust.__aexit__(None, None, None)
        await ctx.close()
        await browser.close()
    assert not errors, errors


async def test_observer_told_why_there_is_nothing_to_see():
    """An observer of a call whose customer did not allow trainer view: the page says so
    (in the browser's language) instead of showing dashes; joining never pauses the call."""
    errors: list[str] = []
    async with await _server() as srv, async_playwright() as pw:
        base = srv.http_url.rstrip("/")
        created = await create_session(srv.ws_url, "Observed")
        rep = Participant(srv.ws_url, created.tokens.rep, "Anna")
        cust = Participant(
            srv.ws_url, created.tokens.customer, "Bram", scopes=("coaching", "transcript")
        )
        async with rep, cust:
            await rep.consent()
            await cust.consent()
            await asyncio.wait_for(rep.live.wait(), 5)
            browser = await _launch(pw)
            for locale, says in [
                ("en-GB", "The customer did not allow trainer view"),
                ("nl-NL", "De klant heeft meekijken door een trainer niet toegestaan"),
            ]:
                ctx, page = await _page(browser, errors, base, locale=locale)
                await page.goto(f"{base}/#join={created.tokens.observer}")
                await page.locator("#join-name").fill("Olga")
                await page.locator("#join-submit").click()
                await page.locator("#consent-agree").click()
                note = page.locator("#observer-note")
                await expect(note).to_contain_text(says, timeout=T)
                await expect(note).to_have_attribute("data-kind", "nothing")
                await ctx.close()
            assert rep.live.is_set()  # the observer never paused the call
            await browser.close()
    assert not errors, errors


async def test_cluster_reconnecting_banner_and_lost_call():
    """What other nodes do cannot be staged on one server: the `cluster` and `call` lines a
    multi-node desk sends are added to the real connection by the test. The banner says the
    other nodes' calls are not updated; a lost call says so in words; both clear again."""
    errors: list[str] = []
    async with await _server() as srv, async_playwright() as pw:
        base = srv.http_url.rstrip("/")
        browser = await _launch(pw)
        ctx, page = await _page(browser, errors, base, viewport=DESK)
        routes: list = []

        def route(ws):
            ws.connect_to_server()
            routes.append(ws)

        await page.route_web_socket("**/v1/live", route)
        await _sign_in(page, base)
        await expect(page.locator("#board")).to_be_visible(timeout=T)
        ws = routes[-1]
        nodes = [{"node": "n1", "online": True}, {"node": "n2", "online": False}]
        ws.send(json.dumps({"type": "cluster", "mqtt": "reconnecting", "nodes": nodes}))
        banners = page.locator("#banners")
        await expect(banners).to_contain_text(
            "Reconnecting to the other nodes — calls on other nodes are not updated"
        )
        await expect(banners).to_contain_text("Node n2 is offline")
        await expect(page.locator("#dash-nodes")).to_contain_text("n2 offline")
        line = {
            "type": "call",
            "session": "n2.abc",
            "node": "n2",
            "status": "lost",
            "created_at": time.time() - 125,
            "title": "On the other node",
            "participants": [],
        }
        ws.send(json.dumps(line))
        card = page.locator('.call[data-session="n2.abc"]')
        await expect(card.locator(".status-chip")).to_have_text("⚠Lost — node offline")
        await expect(card.locator(".elapsed")).to_have_text(re.compile(r"^2:0\d$"))
        ws.send(json.dumps({"type": "cluster", "mqtt": "connected", "nodes": nodes[:1]}))
        await expect(banners).to_be_empty()
        await ctx.close()
        await browser.close()
    assert not errors, errors
