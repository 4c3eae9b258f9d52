"""Limits over real connections on port 0 (docs/protocol.md, Limits): each one fires with
its coded error, is counted in `sparring_limits_fired_total{limit}`, and leaves a
well-behaved client alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from client.stream import Participant, create_session
from models.wire import AudioFormat, Created, ErrorMessage, Report, State
from server.app import Server
from server.config import Config
from tests.waiting import recv, recv_until, recv_until_closed, wait_for

HELLO_AUDIO = {"format": "pcm_s16le", "rate": 16000, "channels": 1}
SECOND_16K = b"\x00\x00" * 16000


@contextlib.asynccontextmanager
async def serving(**limits: object) -> AsyncIterator[Server]:
    async with Server(Config(port=0, model="none", **limits)) as srv:  # type: ignore[arg-type]
        yield srv


@contextlib.asynccontextmanager
async def opened(srv: Server, **kw: object) -> AsyncIterator[ClientConnection]:
    ws = await connect(srv.ws_url, compression=None, max_size=1 << 22, **kw)  # type: ignore[arg-type]
    try:
        yield ws
    finally:
        with contextlib.suppress(Exception):
            await ws.close()


def fired(srv: Server, limit: str) -> float:
    """`sparring_limits_fired_total{limit=...}` as the metrics endpoint shows it."""
    value = srv.app.stats.registry.get_sample_value("sparring_limits_fired_total", {"limit": limit})
    return value or 0.0


async def create(ws: ClientConnection, **fields: object) -> Created | ErrorMessage:
    await ws.send(json.dumps({"type": "create", **fields}))
    message = await recv(ws)
    assert isinstance(message, (Created, ErrorMessage)), message
    return message


async def hello(ws: ClientConnection, token: str, name: str = "X") -> None:
    await ws.send(json.dumps({"type": "hello", "token": token, "name": name, "audio": HELLO_AUDIO}))


# --- creating calls ----------------------------------------------------------------------


async def test_limits_one_create_per_connection_before_hello() -> None:
    async with serving() as srv, opened(srv) as ws:
        assert isinstance(await create(ws), Created)
        again = await create(ws)
        assert isinstance(again, ErrorMessage) and again.code == "bad_state"
        assert len(srv.app.hub.sessions) == 1
        assert fired(srv, "create_per_connection") == 1


async def test_limits_create_rate_per_address_then_slowed() -> None:
    async with serving(create_burst=3, creates_per_min=60) as srv:
        answers = []
        for _ in range(4):
            async with opened(srv) as ws:
                answers.append(await create(ws))
                if isinstance(answers[-1], ErrorMessage):
                    await asyncio.wait_for(ws.wait_closed(), 5)
                    assert ws.close_code == 1013
        assert [type(a).__name__ for a in answers] == ["Created"] * 3 + ["ErrorMessage"]
        assert answers[-1].code == "rate_limited" and "try again in" in answers[-1].message
        assert fired(srv, "create_rate") == 1
        # The trainer key is not counted: a trainer can start a room's calls.
        async with opened(srv) as ws:
            assert isinstance(await create(ws, key=srv.app.trainer_key), Created)
        await asyncio.sleep(1.05)  # one a second comes back
        async with opened(srv) as ws:
            assert isinstance(await create(ws), Created)


async def test_limits_create_needs_key_takes_trainer_key_only() -> None:
    async with serving(create_needs_key=True, trainer_key="k" * 24) as srv:
        async with opened(srv) as ws:
            refused = await create(ws)
            assert isinstance(refused, ErrorMessage) and refused.code == "key_required"
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 1008
        async with opened(srv) as ws:
            assert isinstance(await create(ws, key="k" * 24), Created)
        assert fired(srv, "create_needs_key") == 1


# --- who is in a call --------------------------------------------------------------------


async def test_limits_observers_per_call() -> None:
    async with serving(max_observers=2) as srv:
        created = await create_session(srv.ws_url, "full")
        async with (
            opened(srv) as a,
            opened(srv) as b,
            opened(srv) as c,
        ):
            for ws, name in ((a, "A"), (b, "B")):
                await hello(ws, created.tokens.observer, name)
                await recv(ws)  # welcome
            await hello(c, created.tokens.observer, "C")
            seen = await recv_until_closed(c)
            assert [m.code for m in seen if isinstance(m, ErrorMessage)] == ["call_full"]
            assert c.close_code == 1013
        assert fired(srv, "observers_per_call") == 1


async def test_limits_connections_per_address() -> None:
    async with serving(max_connections_per_address=3) as srv:
        async with opened(srv), opened(srv), opened(srv):
            await wait_for(lambda: len(srv.app.address_limits.connections._counts) == 1)
            async with opened(srv) as fourth:
                seen = await recv_until_closed(fourth)
                assert [m.code for m in seen if isinstance(m, ErrorMessage)] == [
                    "too_many_connections"
                ]
                assert fourth.close_code == 1013
        async with opened(srv) as later:  # closed ones no longer count
            assert isinstance(await create(later), Created)
        assert fired(srv, "connections_per_address") == 1


async def test_limits_hello_deadline() -> None:
    async with serving(hello_timeout_s=0.3) as srv:
        async with opened(srv) as idle:
            seen = await recv_until_closed(idle)
            assert [m.code for m in seen if isinstance(m, ErrorMessage)] == ["hello_timeout"]
            assert idle.close_code == 1008
        async with opened(srv) as busy:  # a request answered gives it another deadline
            created = await create(busy)
            assert isinstance(created, Created)
            await hello(busy, created.tokens.rep)
            await recv(busy)  # welcome
            await asyncio.sleep(0.5)
            await busy.send(json.dumps({"type": "consent", "granted": False}))
            _, before = await recv_until(busy, lambda m: isinstance(m, State) and m.seq > 3)
            assert not [m for m in before if isinstance(m, ErrorMessage)]
        assert fired(srv, "hello_timeout") == 1


# --- sizes and rates ---------------------------------------------------------------------


async def test_limits_text_size_counts_bytes_not_characters() -> None:
    async with serving() as srv, opened(srv) as ws:
        title = "é" * 33_000  # 33,000 characters, 66,000 bytes
        await ws.send(json.dumps({"type": "create", "title": title}, ensure_ascii=False))
        seen = await recv_until_closed(ws)
        assert [m.code for m in seen if isinstance(m, ErrorMessage)] == ["too_big"]
        assert ws.close_code == 1009
        assert fired(srv, "message_size") == 1


@pytest.mark.parametrize("size", [2 << 20, (1 << 20) + 1], ids=["2MiB", "1MiB+1"])
async def test_limits_frame_over_a_mebibyte_gets_error_before_close(size: int) -> None:
    async with serving() as srv, opened(srv) as ws:
        await ws.send(b"\x00" * size)
        seen = await recv_until_closed(ws)
        assert [m.code for m in seen if isinstance(m, ErrorMessage)] == ["too_big"]
        assert seen[0].seq == 1
        assert ws.close_code == 1009
        assert fired(srv, "message_size") == 1


async def _live_rep(srv: Server) -> tuple[Participant, Participant]:
    created = await create_session(srv.ws_url, "fast")
    rep = Participant(srv.ws_url, created.tokens.rep, "Anna", AudioFormat())
    customer = Participant(srv.ws_url, created.tokens.customer, "Bob", AudioFormat())
    await rep.__aenter__()
    await customer.__aenter__()
    await rep.consent()
    await customer.consent()
    await asyncio.wait_for(rep.live.wait(), 5)
    return rep, customer


async def test_limits_audio_over_the_cap_is_paced_not_dropped() -> None:
    async with serving(audio_rate_x=20.0, audio_burst_s=1.0) as srv:
        rep, customer = await _live_rep(srv)
        try:
            started = time.monotonic()
            for _ in range(5):  # 5 s of audio as fast as the socket takes it
                for i in range(10):
                    await rep.send_audio(SECOND_16K[i * 3200 : (i + 1) * 3200])
            await wait_for(lambda: srv.app.stats.audio_bytes >= 5 * len(SECOND_16K), 10)
            took_s = time.monotonic() - started
            assert took_s >= (5 - 1) / 20 * 0.9  # all of it, no faster than the cap
            too_fast = [m for m in rep.of_type(ErrorMessage) if m.code == "audio_too_fast"]
            assert len(too_fast) == 1  # said once, not per frame
            assert fired(srv, "audio_rate") == 1
        finally:
            await rep.__aexit__(None, None, None)
            await customer.__aexit__(None, None, None)


async def test_limits_replay_at_20x_is_under_the_default_cap() -> None:
    async with serving(audio_burst_s=1.0) as srv:  # the default cap (50x), hardly a burst
        rep, customer = await _live_rep(srv)
        try:
            for i in range(40):  # 4 s of audio at 20x real time
                await rep.send_audio(SECOND_16K[:3200])
                await customer.send_audio(SECOND_16K[:3200])
                await asyncio.sleep(0.1 / 20)
            await rep.consent(granted=False)  # a later answer: everything before it was read
            await wait_for(lambda: any(not s.live for s in rep.of_type(State)[-1:]))
            assert not rep.of_type(ErrorMessage) and fired(srv, "audio_rate") == 0
        finally:
            await rep.__aexit__(None, None, None)
            await customer.__aexit__(None, None, None)


async def test_limits_consents_and_whispers_per_minute() -> None:
    async with serving(consents_per_min=3, whispers_per_min=2) as srv:
        created = await create_session(srv.ws_url, "busy")
        async with opened(srv) as rep, opened(srv) as observer:
            await hello(rep, created.tokens.rep, "Anna")
            await hello(observer, created.tokens.observer, "Eva")
            await recv(rep)
            await recv(observer)
            consent = json.dumps({"type": "consent", "granted": True, "scopes": ["coaching"]})
            for _ in range(4):
                await rep.send(consent)
            _, seen = await recv_until(
                rep, lambda m: isinstance(m, ErrorMessage) and m.code == "rate_limited"
            )
            await observer.send(json.dumps({"type": "consent", "granted": True, "scopes": ["coaching"]}))
            for _ in range(3):
                await observer.send(json.dumps({"type": "whisper", "text": "Ask"}))
            answer, _ = await recv_until(
                observer, lambda m: isinstance(m, ErrorMessage) and m.code == "rate_limited"
            )
            assert "try again in" in answer.message
            assert len(srv.app.hub.sessions[created.session].roster.ledger) == 4  # 3 + observer
            assert fired(srv, "consents_per_min") == 1 and fired(srv, "whispers_per_min") == 1
            await rep.send(json.dumps({"type": "end"}))  # the connection is still there
            await recv_until(rep, lambda m: isinstance(m, Report))


# --- calls the server ends ------------------------------------------------------------------


async def test_limits_idle_and_too_long_calls_end_with_their_error() -> None:
    async with serving(call_idle_s=60.0, max_call_s=600.0) as srv:
        idle = await create_session(srv.ws_url, "idle")
        long = await create_session(srv.ws_url, "long")
        async with opened(srv) as a, opened(srv) as b:
            await hello(a, idle.tokens.rep)
            await hello(b, long.tokens.rep)
            await recv(a)
            await recv(b)
            now = time.time()
            srv.app.hub.touch(long.session, now + 100)
            ended = srv.app.dispatch.expire_abandoned(now + 100)
            assert [(s.id, r.value) for s, r in ended] == [(idle.session, "call_idle")]
            seen = await recv_until_closed(a)
            codes = [type(m).__name__ if not isinstance(m, ErrorMessage) else m.code for m in seen]
            assert codes.index("call_idle") < codes.index("Report") and a.close_code == 1000
            ended = srv.app.dispatch.expire_abandoned(now + 700)
            assert [(s.id, r.value) for s, r in ended] == [(long.session, "call_too_long")]
            seen = await recv_until_closed(b)
            assert "call_too_long" in [m.code for m in seen if isinstance(m, ErrorMessage)]


# --- slow readers ------------------------------------------------------------------------


async def test_limits_reader_that_stops_reading_is_cut_off_within_seconds() -> None:
    async with serving() as srv:
        created = await create_session(srv.ws_url, "slow")
        # max_queue=1: the client stops taking from the socket as soon as one message waits.
        async with opened(srv, max_queue=1) as slow:
            await hello(slow, created.tokens.rep, "Slow")
            await wait_for(lambda: len(srv.app.dispatch.connections) == 1)
            started = time.monotonic()
            big = json.dumps({"type": "x" * 60_000})  # each answered with a 60 KB error
            for _ in range(400):
                await slow.send(big)
            roster = srv.app.hub.sessions[created.session].roster
            await wait_for(lambda: not roster.connected_ids(), 15, what="the slow rep dropped")
            cut_s = time.monotonic() - started
        assert cut_s < 12, cut_s
        assert fired(srv, "send_stall") + fired(srv, "outbox") >= 1


# --- origin ------------------------------------------------------------------------------


async def test_limits_origin_checked_on_upgrades_only_from_browsers() -> None:
    async with serving(allow_origins=("https://coach.example.com",)) as srv:
        own = srv.http_url
        for origin in (None, own, "https://coach.example.com", "https://COACH.example.com:443/"):
            headers = {"Origin": origin} if origin else {}
            async with opened(srv, additional_headers=headers) as ws:
                assert isinstance(await create(ws), Created), origin
        for origin in ("https://evil.example.net", "null", own.replace("http", "https") + "1"):
            with pytest.raises(InvalidStatus) as refused:
                async with opened(srv, additional_headers={"Origin": origin}):
                    pass
            assert refused.value.response.status_code == 403, origin
        assert fired(srv, "origin") == 3


async def test_limits_public_url_is_the_servers_own_origin() -> None:
    async with serving(public_url="https://sparring.example.org") as srv:
        headers = {"Origin": "https://sparring.example.org"}
        async with opened(srv, additional_headers=headers) as ws:
            assert isinstance(await create(ws), Created)


# --- crash paths -------------------------------------------------------------------------


async def test_limits_crash_paths_get_clean_coded_answers(caplog) -> None:
    async with serving() as srv:
        async with opened(srv) as ws:
            await ws.send("[" * 5000 + "]" * 5000)
            answer = await recv(ws)
            assert isinstance(answer, ErrorMessage) and answer.code == "bad_message"
            await ws.send(json.dumps({"type": "hello", "name": [[[[[]]]]] * 3}))
            assert (await recv(ws)).code == "bad_message"
        created = await create_session(srv.ws_url, "observed")
        async with opened(srv) as observer:
            await hello(observer, created.tokens.observer, "Eva")
            await recv(observer)
            await observer.send(json.dumps({"type": "end"}))
            with contextlib.suppress(ConnectionClosed):
                await observer.send(json.dumps({"type": "consent", "granted": True, "scopes": ["coaching"]}))
            seen = await recv_until_closed(observer)
            assert not [m for m in seen if isinstance(m, ErrorMessage) and m.code == "internal"]
            assert observer.close_code == 1000
        assert "Traceback" not in caplog.text and "internal error" not in caplog.text
