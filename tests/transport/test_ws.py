"""The WebSocket adapter (`WS /v1/live`) over real connections on port 0: no mocks.

Every bad input gets its error code and close behaviour checked, and a second live session
(`bystander`), streaming speech all along, must carry on untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from client.stream import Audio, Participant, create_session, read_audio
from models.wire import (
    AudioFormat,
    Checklist,
    Created,
    ErrorMessage,
    Metrics,
    Nudge,
    Report,
    Role,
    ServerMessage,
    State,
    Transcript,
    Welcome,
)
from server.app import Server
from tests.waiting import TIMEOUT_S, recv, recv_until, recv_until_closed, wait_for, wait_message

CALLS_DIR = Path(__file__).resolve().parents[2] / "client" / "calls"
FRAME_S = 0.1
ANALYSIS = (Metrics, Nudge, Transcript)  # what only live audio may produce


# --- helpers ---------------------------------------------------------------------------


@functools.cache
def track(name: str, party: str) -> Audio:
    """One party's track of a bundled call (client/calls), read once."""
    return read_audio(CALLS_DIR / f"{name}.{party}.flac")


def hello_json(token: str, name: str = "X", *, rate: int = 16000, channels: int = 1) -> str:
    audio = {"format": "pcm_s16le", "rate": rate, "channels": channels}
    return json.dumps({"type": "hello", "token": token, "name": name, "audio": audio})


async def closed_with(ws: ClientConnection, timeout_s: float = TIMEOUT_S) -> int | None:
    """Waits for the server to close the connection; returns the close code it sent."""
    await asyncio.wait_for(ws.wait_closed(), timeout_s)
    return ws.close_code


async def wait_state(
    participant: Participant, match: Callable[[State], bool], since: int = 0
) -> State:
    """The first state the participant got at or after message index `since` that matches."""
    index = await wait_state_index(participant, match, since)
    return participant.messages[index]


async def wait_state_index(
    participant: Participant, match: Callable[[State], bool], since: int = 0
) -> int:
    """Where in `participant.messages` the first matching state at or after `since` is."""
    return await wait_message(
        participant.messages,
        lambda m: isinstance(m, State) and match(m),
        since,
        what=f"a matching state for {participant.name}",
    )


def frames(audio: Audio, start_s: float, end_s: float) -> list[bytes]:
    """100 ms PCM frames of `audio` between two times."""
    step = round(audio.rate_hz * FRAME_S)
    a, b = round(start_s * audio.rate_hz), round(end_s * audio.rate_hz)
    return [audio.samples[i : min(i + step, b)].astype("<i2").tobytes() for i in range(a, b, step)]


async def send_all(ws_or_participant, chunks: Iterable[bytes], speed: float = 0.0) -> None:
    """Sends frames in order, paced at `speed` x real time (0: as fast as possible)."""
    send = getattr(ws_or_participant, "send_audio", None) or ws_or_participant.send
    t0 = time.monotonic()
    for i, chunk in enumerate(chunks):
        if speed:
            delay = t0 + i * FRAME_S / speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await send(chunk)


def errors(messages: list[ServerMessage]) -> list[ErrorMessage]:
    return [m for m in messages if isinstance(m, ErrorMessage)]


def is_analysis(m: ServerMessage) -> bool:
    """A message made from audio: metrics, nudges, transcripts, or a checklist tick.

    A checklist with nothing ticked is the playbook's list of topics, sent on join.
    """
    if isinstance(m, Checklist):
        return any(item.done for item in m.items)
    return isinstance(m, ANALYSIS)


def analysis_outside_live(messages: list[ServerMessage]) -> list[ServerMessage]:
    """Metrics, nudges and transcripts a connection got while its last state said not live."""
    live = False
    leaked = []
    for m in messages:
        if isinstance(m, State):
            live = m.live
        elif not live and is_analysis(m):
            leaked.append(m)
    return leaked


class Call:
    """A two-party session over real `Participant` clients, with its server-side session."""

    def __init__(
        self, srv: Server, created: Created, rep: Participant, customer: Participant, stream
    ):
        self.stream = stream  # the `stream_together` fixture
        self.srv = srv
        self.created = created
        self.rep = rep
        self.customer = customer
        self._talker: asyncio.Task[None] | None = None
        self._mark = 0

    @property
    def session(self):
        return self.srv.app.hub.get(self.created.session)

    def metrics(self) -> list[Metrics]:
        return self.rep.of_type(Metrics)

    async def talk(self, start_s: float, end_s: float, speed: float = 0.0) -> None:
        """Both parties stream the pushy call between two times, on one schedule."""
        rep_a, customer_a = track("pushy", "rep"), track("pushy", "customer")
        await self.stream(
            self.rep,
            self.customer,
            frames(rep_a, start_s, end_s),
            frames(customer_a, start_s, end_s),
            speed,
        )

    def start_talking(self, speed: float = 10.0) -> None:
        """Streams speech in the background, looping, until `stop_talking`."""

        async def loop() -> None:
            with contextlib.suppress(ConnectionClosed):
                while True:
                    await self.talk(0.0, 150.0, speed)

        self._talker = asyncio.create_task(loop(), name="bystander.talk")
        self._mark = len(self.metrics())

    async def stop_talking(self) -> None:
        if self._talker is not None:
            self._talker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._talker

    async def assert_untouched(self) -> None:
        """Still live, no error, no state change, and metrics still coming in."""
        mark = len(self.metrics())
        await wait_for(lambda: len(self.metrics()) >= mark + 2, what="the bystander's metrics")
        assert len(self.metrics()) > self._mark
        assert self.session.is_live
        for party in (self.rep, self.customer):
            assert errors(party.messages) == []
            states = party.of_type(State)
            first_live = next(i for i, s in enumerate(states) if s.live)
            assert all(s.live for s in states[first_live:])  # never paused
            assert all(s.session == self.created.session for s in states)
            assert not party.ended.is_set()
        ats = [m.at for m in self.metrics()]
        assert ats == sorted(ats)


@contextlib.asynccontextmanager
async def live_call(srv: Server, stream, *, consent: bool = True) -> AsyncIterator[Call]:
    created = await create_session(srv.ws_url, "call")
    fmt = AudioFormat(rate=16000, channels=1)
    async with (
        Participant(srv.ws_url, created.tokens.rep, "Anna", fmt) as rep,
        Participant(srv.ws_url, created.tokens.customer, "Bob", fmt) as customer,
    ):
        call = Call(srv, created, rep, customer, stream)
        await wait_for(lambda: rep.of_type(State) and customer.of_type(State), what="both joined")
        if consent:
            await rep.consent()
            await customer.consent()
            await asyncio.wait_for(rep.live.wait(), 5)
            await asyncio.wait_for(customer.live.wait(), 5)
        yield call


@pytest.fixture
async def bystander(server: Server, stream_together) -> AsyncIterator[Call]:
    """Another live session that streams speech throughout the test."""
    async with live_call(server, stream_together) as call:
        call.start_talking()
        await wait_for(lambda: len(call.metrics()) >= 1)
        yield call
        await call.stop_talking()


async def raw_joined(open_ws, token: str, **hello) -> tuple[ClientConnection, list[ServerMessage]]:
    """A raw connection that has sent hello and read its welcome and first state."""
    ws = await open_ws()
    await ws.send(hello_json(token, **hello))
    welcome = await recv(ws)
    assert isinstance(welcome, Welcome), welcome
    state = await recv(ws)
    assert isinstance(state, State), state
    return ws, [welcome, state]


# --- before hello ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [json.dumps({"type": "consent", "granted": True}), b"\x00\x00" * 800],
    ids=["text", "audio"],
)
async def test_ws_anything_before_hello_closes_1008(server, bystander, open_ws, first):
    ws = await open_ws()
    await ws.send(first)
    error = await recv(ws)
    assert isinstance(error, ErrorMessage)
    assert error.code == "hello_required"
    assert error.seq == 1
    assert await closed_with(ws) == 1008
    await bystander.assert_untouched()


@pytest.mark.parametrize(
    ("unknown", "code"),
    [
        ({"type": "dance", "steps": 3}, "unknown_type"),
        ({"type": "watch", "session": "0123456789abcdef"}, "forbidden"),  # trainers only
    ],
    ids=["dance", "watch"],
)
async def test_ws_unknown_type_keeps_connection(server, bystander, open_ws, unknown, code):
    created = await create_session(server.ws_url)
    ws, _ = await raw_joined(open_ws, created.tokens.rep, name="Anna")
    await ws.send(json.dumps(unknown))
    error = await recv(ws)
    assert isinstance(error, ErrorMessage) and error.code == code
    await ws.send(json.dumps({"type": "consent", "granted": True, "scopes": ["coaching"]}))
    state = await recv(ws)
    assert isinstance(state, State)
    assert state.participants[0].consented
    assert ws.close_code is None
    await ws.close()
    await bystander.assert_untouched()


async def test_ws_unknown_type_before_hello_keeps_connection(server, bystander, open_ws):
    created = await create_session(server.ws_url)
    ws = await open_ws()
    await ws.send(json.dumps({"kind": "hello"}))  # no type at all
    error = await recv(ws)
    assert isinstance(error, ErrorMessage) and error.code == "unknown_type"
    await ws.send(hello_json(created.tokens.customer))
    assert isinstance(await recv(ws), Welcome)
    await ws.close()
    await bystander.assert_untouched()


@pytest.mark.parametrize("bad", ["{not json", "[1, 2]", '"hello"', "{}{}"])
async def test_ws_malformed_json_keeps_connection(server, bystander, open_ws, bad):
    created = await create_session(server.ws_url)
    ws, _ = await raw_joined(open_ws, created.tokens.rep, name="Anna")
    await ws.send(bad)
    error = await recv(ws)
    assert isinstance(error, ErrorMessage) and error.code == "bad_message", error
    await ws.send(json.dumps({"type": "consent", "granted": True}))
    state = await recv(ws)
    assert isinstance(state, State) and state.participants[0].consented
    await ws.close()
    await bystander.assert_untouched()


async def test_ws_invalid_field_is_bad_message(server, bystander, open_ws):
    created = await create_session(server.ws_url)
    ws, _ = await raw_joined(open_ws, created.tokens.rep)
    await ws.send(json.dumps({"type": "consent", "granted": "yes"}))
    error = await recv(ws)
    assert isinstance(error, ErrorMessage) and error.code == "bad_message"
    await ws.send(json.dumps({"type": "consent", "granted": True, "scopes": ["spying"]}))
    error = await recv(ws)
    assert isinstance(error, ErrorMessage) and error.code == "bad_message"
    assert "spying" in error.message
    assert ws.close_code is None
    await ws.close()
    await bystander.assert_untouched()


# --- tokens ----------------------------------------------------------------------------


async def test_ws_bad_token_closes_1008(server, bystander, open_ws):
    ws = await open_ws()
    await ws.send(hello_json("not-a-token-of-any-session"))
    error = await recv(ws)
    assert isinstance(error, ErrorMessage) and error.code == "bad_token"
    assert await closed_with(ws) == 1008
    await bystander.assert_untouched()


async def test_ws_token_of_ended_session_expires(server, bystander, open_ws):
    created = await create_session(server.ws_url)
    ws, _ = await raw_joined(open_ws, created.tokens.rep)
    await ws.send(json.dumps({"type": "end"}))
    await recv_until(ws, lambda m: isinstance(m, Report))
    assert await closed_with(ws) == 1000
    for token in (created.tokens.rep, created.tokens.customer, created.tokens.observer):
        ws = await open_ws()
        await ws.send(hello_json(token))
        error = await recv(ws)
        assert isinstance(error, ErrorMessage) and error.code == "token_expired"
        assert await closed_with(ws) == 1008
    await bystander.assert_untouched()


async def test_ws_token_opens_its_own_session_only(server, bystander, open_ws):
    """A customer (or observer) token of session B shows B alone, never A (the bystander)."""
    a = bystander.created
    b = await create_session(server.ws_url, "B")
    a_states_before = len(bystander.rep.of_type(State))
    customer, seen = await raw_joined(open_ws, b.tokens.customer, name="Carol")
    observer, seen_observer = await raw_joined(open_ws, b.tokens.observer, name="Olga")
    assert seen[0].session == b.session and seen[0].role.value == "customer"
    assert seen_observer[0].session == b.session and seen_observer[0].role.value == "observer"
    await observer.send(
        json.dumps({"type": "consent", "granted": True, "scopes": ["coaching", "trainer_view"]})
    )
    await observer.send(json.dumps({"type": "whisper", "text": "Ask about budget"}))
    mark = len(bystander.metrics())
    await wait_for(lambda: len(bystander.metrics()) >= mark + 2, what="A streams while B is open")
    # The observer widens its consent. The state that answers it reaches both of B's
    # connections after everything queued for them before: had A's metrics crossed over,
    # they would come first.
    await observer.send(
        json.dumps(
            {
                "type": "consent",
                "granted": True,
                "scopes": ["coaching", "trainer_view", "transcript"],
            }
        )
    )

    def widened(m: ServerMessage) -> bool:
        return isinstance(m, State) and any(
            p.name == "Olga" and "transcript" in p.scopes for p in m.participants
        )

    for ws, got in ((customer, seen), (observer, seen_observer)):
        barrier, before = await recv_until(ws, widened)
        got += [*before, barrier]
    # Anything of B's that reached A's rep was queued before A's next metrics.
    at_barrier = bystander.session.at_s
    await wait_for(
        lambda: bystander.metrics()[-1].at > at_barrier, what="A's metrics after B's consent"
    )
    for ws, got in ((customer, seen), (observer, seen_observer)):
        for m in got:
            assert getattr(m, "session", b.session) == b.session, m
            assert not is_analysis(m), m  # A's metrics never cross over
            if isinstance(m, State):
                assert {p.name for p in m.participants} <= {"Carol", "Olga"}
        assert errors(got) == []
        await ws.close()
    # A saw none of B's joins, and its rep never got B's whisper.
    assert len(bystander.rep.of_type(State)) == a_states_before
    assert not [n for n in bystander.rep.of_type(Nudge) if n.rule == "manual"]
    assert a.session != b.session
    await bystander.assert_untouched()


# --- audio -----------------------------------------------------------------------------


async def test_ws_audio_before_consent_is_dropped_and_counted(server, bystander, stream_together):
    async with live_call(server, stream_together, consent=False) as call:
        rep_a = track("pushy", "rep")
        customer_a = track("good", "customer")
        # 10 s of the pushy rep's monologue and 1 s of the customer before any consent.
        await send_all(call.rep, frames(rep_a, 60.0, 70.0))
        await send_all(call.customer, frames(customer_a, 5.0, 6.0))
        await call.rep.consent()  # same connection: processed after the rep's audio
        state = await wait_state(call.rep, lambda s: s.participants[0].consented)
        assert not state.live
        assert state.dropped_before_consent_s >= 10.0
        await call.customer.consent()
        await asyncio.wait_for(call.rep.live.wait(), 5)
        live_state = call.rep.of_type(State)[-1]
        assert live_state.dropped_before_consent_s == pytest.approx(11.0, abs=0.01)
        # Live: 5 s in which only the customer speaks (good call, 4.2-9.2 s).
        rep_good = track("good", "rep")
        await stream_together(
            call.rep, call.customer, frames(rep_good, 4.2, 9.2), frames(customer_a, 4.2, 9.2), 50
        )
        await wait_for(lambda: call.metrics() and call.metrics()[-1].at >= 4.0)
        metrics = call.metrics()
        assert metrics[0].at == pytest.approx(1.0, abs=0.05)  # audio time starts when live
        assert all(m.at <= 5.0 + 1e-6 for m in metrics)
        assert metrics[-1].talk.rep < 0.05  # the 10 s monologue before consent never counted
        report = call.session.report()
        assert report.duration_s <= 5.0 + 1e-6
        assert report.rep_speech_s < 0.5
        assert report.dropped_before_consent_s == pytest.approx(11.0, abs=0.01)
        assert analysis_outside_live(call.rep.messages) == []
        assert errors(call.rep.messages) == errors(call.customer.messages) == []
    await bystander.assert_untouched()


async def test_ws_odd_byte_length_is_recoverable(server, bystander, stream_together):
    async with live_call(server, stream_together) as call:
        await call.talk(0.0, 3.0, speed=50)
        await wait_for(lambda: len(call.metrics()) >= 2)
        await call.rep.send_audio(b"\x01" * 4411)
        await wait_for(lambda: errors(call.rep.messages) != [])
        (error,) = errors(call.rep.messages)
        assert error.code == "bad_audio"
        assert "4411" in error.message
        before = call.metrics()[-1].at
        await call.talk(3.0, 6.0, speed=50)
        await wait_for(lambda: call.metrics()[-1].at >= before + 2.0)
        assert call.session.is_live
        assert not call.rep.ended.is_set()
    await bystander.assert_untouched()


@pytest.mark.parametrize("kind", ["binary", "text"])
async def test_ws_frame_over_64k_closes_1009(server, bystander, open_ws, kind):
    created = await create_session(server.ws_url)
    ws, _ = await raw_joined(open_ws, created.tokens.rep)
    if kind == "binary":
        await ws.send(b"\x00" * (64 * 1024 + 2))
    else:
        await ws.send(json.dumps({"type": "consent", "granted": True, "pad": "x" * 70_000}))
    error = await recv(ws)
    assert isinstance(error, ErrorMessage) and error.code == "too_big"
    assert await closed_with(ws) == 1009
    await bystander.assert_untouched()


async def test_ws_frame_of_exactly_64k_is_taken(server, bystander, open_ws):
    created = await create_session(server.ws_url)
    ws, _ = await raw_joined(open_ws, created.tokens.rep)
    await ws.send(b"\x00" * (64 * 1024))
    await ws.send(json.dumps({"type": "consent", "granted": True}))
    state = await recv(ws)
    assert isinstance(state, State)
    assert state.dropped_before_consent_s == pytest.approx(2.048)
    await ws.close()
    await bystander.assert_untouched()


async def test_ws_unsupported_rate_closes_1003(server, bystander, open_ws):
    created = await create_session(server.ws_url)
    ws = await open_ws()
    await ws.send(hello_json(created.tokens.rep, rate=22050))
    error = await recv(ws)
    assert isinstance(error, ErrorMessage) and error.code == "bad_audio_format"
    assert "22050" in error.message
    assert await closed_with(ws) == 1003
    assert server.app.hub.get(created.session).roster.participants == {}
    await bystander.assert_untouched()


async def test_ws_stereo_customer_closes_1003(server, bystander, open_ws):
    created = await create_session(server.ws_url)
    ws = await open_ws()
    await ws.send(hello_json(created.tokens.customer, channels=2))
    error = await recv(ws)
    assert isinstance(error, ErrorMessage) and error.code == "bad_audio_format"
    assert await closed_with(ws) == 1003
    assert server.app.hub.get(created.session).roster.participants == {}
    await bystander.assert_untouched()


async def test_ws_second_rep_is_refused_without_a_rejoin_grace(server, bystander, open_ws):
    server.app.hub.rejoin_grace_s = 0  # for the calls created from now on: no place kept
    created = await create_session(server.ws_url)
    first, _ = await raw_joined(open_ws, created.tokens.rep, name="Anna")
    ws = await open_ws()
    await ws.send(hello_json(created.tokens.rep, name="Mallory"))
    error = await recv(ws)
    assert isinstance(error, ErrorMessage) and error.code == "role_taken"
    assert await closed_with(ws) == 1008
    # The rep already there stays, and hears nothing of it.
    session = server.app.hub.get(created.session)
    assert [p.name for p in session.roster.participants.values()] == ["Anna"]
    assert session.roster.party(Role.REP).connected and first.close_code is None
    await bystander.assert_untouched()


async def test_ws_rejoin_takes_over_a_connection_that_still_looks_open(
    server, bystander, stream_together
):
    async with live_call(server, stream_together) as call:
        await call.talk(0.0, 6.0)
        await wait_for(lambda: len(call.metrics()) >= 3, what="metrics")
        session, old = call.session, call.rep
        rep_pid = next(p.id for p in session.roster.participants.values() if p.role is Role.REP)
        old_conn = server.app.dispatch.connections[rep_pid]
        # The rep's laptop switches networks: the old TCP connection is not closed (the
        # server has not noticed), and the old page reads nothing more.
        old._ws.transport.pause_reading()
        mark, at_before = len(call.customer.messages), call.metrics()[-1].at
        fmt = AudioFormat(rate=16000, channels=1)
        async with Participant(server.ws_url, old.token, "Anna", fmt) as back:
            await asyncio.wait_for(back.live.wait(), 5)  # consent kept: live at once
            assert isinstance(back.messages[0], Welcome) and back.messages[0].role is Role.REP
            assert any(isinstance(m, Checklist) for m in back.messages)
            party = session.timeline.parties[Role.REP]
            heard_until = party.heard_until
            # What the old connection still sends is not counted.
            await send_all(old, frames(track("pushy", "rep"), 6.0, 8.0))
            old._ws.transport.resume_reading()
            await wait_for(lambda: old_conn not in server.app.conns, what="the old one closed")
            replaced = errors(old.messages)
            assert [e.code for e in replaced] == ["replaced"], old.messages[-3:]
            assert old.messages[-1] == replaced[0]  # its last word, then the close
            assert old._ws.close_code == 1008
            assert party.heard_until == heard_until
            # The customer saw the rep there all along; one participant, same place.
            states = [m for m in call.customer.messages[mark:] if isinstance(m, State)]
            assert states and all(s.live for s in states)
            for state in states:
                rep_view = next(v for v in state.participants if v.role is Role.REP)
                assert rep_view.connected and not rep_view.reconnecting and rep_view.consented
            assert session.roster.party(Role.REP).id == rep_pid
            assert len(session.roster.participants) == 2
            # The call goes on with the new connection, counted from where it stood.
            call.rep = back
            await call.talk(6.0, 10.0)
            await wait_for(lambda: call.metrics()[-1].at >= at_before + 3.0, what="metrics")
            assert errors(back.messages) == errors(call.customer.messages) == []
            assert session.is_live and session.turns.rep_frames > 0
    await bystander.assert_untouched()


async def test_ws_customer_token_takes_over_only_the_customer(server, bystander, open_ws):
    created = await create_session(server.ws_url)
    rep_ws, _ = await raw_joined(open_ws, created.tokens.rep, name="Anna")
    customer_ws, _ = await raw_joined(open_ws, created.tokens.customer, name="Bob")
    again, (welcome, state) = await raw_joined(open_ws, created.tokens.customer, name="Rep?")
    assert welcome.role is Role.CUSTOMER and welcome.name == "Bob"  # the same place
    assert [p.role for p in state.participants] == [Role.REP, Role.CUSTOMER]
    replaced, _ = await recv_until(customer_ws, lambda m: isinstance(m, ErrorMessage))
    assert isinstance(replaced, ErrorMessage) and replaced.code == "replaced"
    assert await closed_with(customer_ws) == 1008
    # The rep is untouched: still connected, told nothing but the new state.
    session = server.app.hub.get(created.session)
    assert session.roster.party(Role.REP).connected and rep_ws.close_code is None
    told, _ = await recv_until(rep_ws, lambda m: isinstance(m, State))
    assert isinstance(told, State) and all(p.connected for p in told.participants)
    await bystander.assert_untouched()


# --- leaving, consent ------------------------------------------------------------------


@pytest.mark.parametrize("vanishing", ["customer", "rep"])
async def test_ws_vanished_client_pauses_past_the_grace_and_rejoins(
    server, bystander, http_get, vanishing, stream_together
):
    server.app.hub.rejoin_grace_s = 0.5  # for the calls created from now on
    async with live_call(server, stream_together) as call:
        gone = getattr(call, vanishing)
        stays = call.customer if vanishing == "rep" else call.rep
        talker = asyncio.create_task(call.talk(58.0, 100.0, speed=20))  # the rep's monologue
        await wait_for(lambda: len(call.metrics()) >= 3)
        mark = len(stays.messages)
        gone._ws.transport.abort()  # the TCP connection drops, no close frame
        with contextlib.suppress(ConnectionClosed):
            await talker
        state = await wait_state(stays, lambda s: any(p.reconnecting for p in s.participants), mark)
        assert state.live  # within the grace the call goes on
        state = await wait_state(stays, lambda s: not s.live, mark)
        assert state.status == "paused"
        assert vanishing in state.waiting_for
        assert not call.session.is_live
        # Past the grace the same token joins anew, so consent is asked again.
        fmt = AudioFormat(rate=16000, channels=1)
        mark = len(stays.messages)
        async with Participant(server.ws_url, gone.token, gone.name, fmt) as back:
            state = await wait_state(stays, lambda s: f"{vanishing} consent" in s.waiting_for, mark)
            assert not state.live
            await back.consent()
            await asyncio.wait_for(back.live.wait(), 5)
            await asyncio.wait_for(stays.live.wait(), 5)
            before = max(m.at for m in call.metrics())
            setattr(call, vanishing, back)
            await call.talk(100.0, 103.0, speed=50)
            await wait_for(lambda: call.metrics()[-1].at >= before + 2.0)
            assert errors(back.messages) == errors(stays.messages) == []
            assert analysis_outside_live(stays.messages) == []
    status, _, _ = await http_get("/healthz")
    assert status == 200
    await bystander.assert_untouched()


async def test_ws_customer_rejoins_within_the_grace_and_the_call_goes_on(
    server, bystander, stream_together
):
    async with live_call(server, stream_together) as call:
        talker = asyncio.create_task(call.talk(58.0, 100.0, speed=20))  # the rep's monologue
        await wait_for(lambda: len(call.metrics()) >= 3)
        gone, mark = call.customer, len(call.rep.messages)
        gone._ws.transport.abort()  # the customer's TCP connection drops, no close frame
        with contextlib.suppress(ConnectionClosed):
            await talker
        state = await wait_state(
            call.rep, lambda s: any(p.reconnecting for p in s.participants), mark
        )
        customer = next(p for p in state.participants if p.role.value == "customer")
        assert state.live and not customer.connected and customer.consented
        # The rep alone streams on: the missing customer counts as silent, metrics go on.
        at_drop = call.metrics()[-1].at
        await call.stream(call.rep, call.rep, frames(track("pushy", "rep"), 70.0, 80.0), [], 20)
        await wait_for(lambda: call.metrics()[-1].at >= at_drop + 3.0)
        assert call.session.is_live
        mark = len(call.rep.messages)
        fmt = AudioFormat(rate=16000, channels=1)
        async with Participant(server.ws_url, gone.token, gone.name, fmt) as back:
            # Back in the same place: no consent asked again, live at once.
            await asyncio.wait_for(back.live.wait(), 5)
            state = await wait_state(
                call.rep, lambda s: all(p.connected for p in s.participants), mark
            )
            assert state.live and not any(p.reconnecting for p in state.participants)
            assert len(call.session.roster.participants) == 2
            before = call.metrics()[-1].at
            call.customer = back
            await call.talk(100.0, 103.0, speed=50)
            await wait_for(lambda: call.metrics()[-1].at >= before + 2.0)
            absences = call.session.report().absences
            assert [a.role.value for a in absences] == ["customer"]
            assert absences[0].to_s is not None and absences[0].to_s > absences[0].from_s
            assert errors(back.messages) == errors(call.rep.messages) == []
    await bystander.assert_untouched()


async def test_ws_withdrawal_mid_utterance_stops_analysis(server, bystander, stream_together):
    async with live_call(server, stream_together) as call:
        talker = asyncio.create_task(call.talk(58.0, 100.0, speed=20))
        await wait_for(lambda: len(call.metrics()) >= 3)
        marks = [len(call.rep.messages), len(call.customer.messages)]
        await call.customer.consent(False)
        paused = []
        for party, mark in zip((call.rep, call.customer), marks, strict=True):
            state = await wait_state(party, lambda s: not s.live, mark)
            paused.append(state)
        talker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await talker
        assert all(s.status == "paused" and "customer consent" in s.waiting_for for s in paused)
        session = call.session
        at_pause = session.at_s
        n_metrics = len(call.metrics())
        dropped_at_pause = paused[0].dropped_before_consent_s
        # 2 s more from each party: discarded on arrival, only counted.
        await call.talk(100.0, 102.0)
        await wait_for(
            lambda: session.dropped_before_consent_s >= dropped_at_pause + 4.0 - 1e-6,
            what="the 4 s sent while paused counted as dropped",
        )
        assert session.at_s == at_pause  # the discarded audio took no session time
        mark = len(call.rep.messages)
        await call.customer.consent()
        live_at = await wait_state_index(call.rep, lambda s: s.live, mark)
        state = call.rep.messages[live_at]
        # The state that answers the consent comes after anything the discarded audio made.
        assert [m for m in call.rep.messages[:live_at] if isinstance(m, Metrics)] == (
            call.metrics()[:n_metrics]
        )
        assert state.dropped_before_consent_s >= dropped_at_pause + 4.0 - 1e-3
        # Analysis resumes where it stopped: metrics tick on the next audio second.
        await call.talk(102.0, 105.0, speed=50)
        await wait_for(lambda: len(call.metrics()) >= n_metrics + 2)
        resumed = call.metrics()[n_metrics]
        assert at_pause < resumed.at <= at_pause + 1.0 + 0.03 + 1e-6
        for party in (call.rep, call.customer):
            assert analysis_outside_live(party.messages) == []
            assert errors(party.messages) == []
    await bystander.assert_untouched()


async def test_ws_consent_gate_covers_every_receiver(server, bystander, stream_together):
    """Before all consented and after a withdrawal, nobody gets metrics, nudges or text."""
    async with live_call(server, stream_together, consent=False) as call:
        fmt = None
        async with Participant(
            server.ws_url, call.created.tokens.observer, "Olga", fmt
        ) as observer:
            everyone = (call.rep, call.customer, observer)
            session = call.session
            await call.rep.consent()
            await wait_for(
                lambda: session.roster.participants and len(session.roster.participants) == 3
            )
            # Phase 1: the rep consented, the customer not yet: not live.
            await call.talk(58.0, 64.0)
            await wait_for(lambda: session.dropped_before_consent_s >= 12.0 - 1e-6)
            assert not session.is_live
            # Phase 2: rep and customer consented: live, though the observer has not
            # agreed yet (observers never gate analysis; their consent covers what they see).
            await call.customer.consent()
            for party in everyone:
                await asyncio.wait_for(party.live.wait(), 5)
            await call.talk(64.0, 67.0, speed=50)
            await wait_for(lambda: call.metrics() and call.metrics()[-1].at >= 2.0)
            mark = len(observer.messages)
            await observer.consent()
            agreed = await wait_state(
                observer,
                lambda s: any(p.role.value == "observer" and p.consented for p in s.participants),
                mark,
            )
            before_agreeing = observer.messages[: observer.messages.index(agreed)]
            assert not [m for m in before_agreeing if is_analysis(m)]  # nothing before the terms
            await call.talk(67.0, 70.0, speed=50)
            await wait_for(lambda: call.metrics() and call.metrics()[-1].at >= 5.0)
            # Phase 3: the rep withdraws mid-monologue: not live again.
            marks = [len(party.messages) for party in everyone]
            await call.rep.consent(False)
            for party, mark in zip(everyone, marks, strict=True):
                await wait_state(party, lambda s: not s.live, mark)
            dropped = session.dropped_before_consent_s
            await call.talk(70.0, 76.0)
            await wait_for(
                lambda: session.dropped_before_consent_s >= dropped + 12.0 - 1e-6,
                what="the 12 s sent after the withdrawal counted as dropped",
            )
            assert session.at_s <= 6.0 + 1e-6
            # The observer narrows its consent: the state that answers it reaches everyone
            # after anything the withdrawn audio made.
            marks = [len(party.messages) for party in everyone]
            observer.scopes = ("coaching", "trainer_view")
            await observer.consent()
            for party, mark in zip(everyone, marks, strict=True):
                narrowed = await wait_state(
                    party,
                    lambda s: any(
                        p.name == "Olga" and "transcript" not in p.scopes for p in s.participants
                    ),
                    mark,
                )
                assert not narrowed.live
            for party in everyone:
                assert analysis_outside_live(party.messages) == [], party.name
                assert errors(party.messages) == []
            # The observer (all granted trainer_view) saw metrics while live: the gate is
            # what kept them away otherwise.
            assert observer.of_type(Metrics)
            assert not call.customer.of_type(Metrics)
            assert max(m.at for m in observer.of_type(Metrics)) <= 6.0 + 1e-6
    await bystander.assert_untouched()


# --- stereo single-device mode ---------------------------------------------------------


async def test_ws_stereo_single_device_consent_on_behalf(server, bystander, open_ws):
    created = await create_session(server.ws_url, "one laptop")
    rep_a, customer_a = track("good", "rep"), track("good", "customer")
    n = min(len(rep_a.samples), len(customer_a.samples))
    stereo = Audio(np.stack([rep_a.samples[:n], customer_a.samples[:n]], axis=1), 16000)
    async with Participant(server.ws_url, created.tokens.rep, "Anna", stereo.format()) as rep:
        await rep.consent()
        state = await wait_state(rep, lambda s: s.participants[0].consented)
        assert not state.live and "customer" in state.waiting_for
        await rep.consent(on_behalf_of="customer", name="Bob")
        await asyncio.wait_for(rep.live.wait(), 5)
        state = rep.of_type(State)[-1]
        customer = next(p for p in state.participants if p.role.value == "customer")
        assert customer.name == "Bob" and customer.on_behalf and customer.consented
        # The customer's own token cannot join a customer who is on the rep's device.
        ws = await open_ws()
        await ws.send(hello_json(created.tokens.customer))
        error = await recv(ws)
        assert isinstance(error, ErrorMessage) and error.code == "role_taken"
        assert await closed_with(ws) == 1008
        await send_all(rep, frames(stereo, 0.0, 20.0), speed=50)
        await wait_for(lambda: rep.of_type(Metrics) and rep.of_type(Metrics)[-1].at >= 19.0)
        talk = rep.of_type(Metrics)[-1].talk
        assert 0.1 < talk.rep < 0.6 and talk.customer > 0.4  # both channels were analysed
        await rep.end()
        await asyncio.wait_for(rep.ended.wait(), 5)
    report = server.app.hub.get(created.session).report()
    on_behalf = [c for c in report.consent if c.on_behalf_of == "customer"]
    assert len(on_behalf) == 1
    record = on_behalf[0]
    assert record.granted and record.role.value == "customer"
    assert record.name == "Bob" and record.given_by == "Anna"
    assert "coaching" in record.scopes
    own = [c for c in report.consent if c.on_behalf_of is None]
    assert len(own) == 1 and own[0].role.value == "rep" and own[0].given_by == "Anna"
    await bystander.assert_untouched()


async def test_ws_consent_on_behalf_needs_stereo(server, bystander, open_ws):
    created = await create_session(server.ws_url)
    ws, _ = await raw_joined(open_ws, created.tokens.rep, name="Anna")
    await ws.send(
        json.dumps(
            {
                "type": "consent",
                "granted": True,
                "scopes": ["coaching"],
                "on_behalf_of": "customer",
                "name": "Bob",
            }
        )
    )
    error = await recv(ws)
    assert isinstance(error, ErrorMessage) and error.code == "bad_consent"
    # Recoverable: the connection stays, and nothing was recorded for the customer.
    await ws.send(json.dumps({"type": "consent", "granted": True}))
    state = await recv(ws)
    assert isinstance(state, State)
    assert [p.role.value for p in state.participants] == ["rep"]
    assert all(not c.on_behalf_of for c in server.app.hub.get(created.session).roster.ledger)
    await ws.close()
    await bystander.assert_untouched()


async def test_ws_consent_without_coaching_is_bad_consent(server, bystander, open_ws):
    created = await create_session(server.ws_url)
    ws, _ = await raw_joined(open_ws, created.tokens.rep)
    await ws.send(json.dumps({"type": "consent", "granted": True, "scopes": ["transcript"]}))
    error = await recv(ws)
    assert isinstance(error, ErrorMessage) and error.code == "bad_consent"
    assert ws.close_code is None
    await ws.close()
    await bystander.assert_untouched()


# --- the end ---------------------------------------------------------------------------


async def test_ws_rep_end_sends_report_then_closes_1000(
    server, bystander, open_ws, stream_together
):
    created = await create_session(server.ws_url, "ending")
    rep, rep_seen = await raw_joined(open_ws, created.tokens.rep, name="Anna")
    customer, customer_seen = await raw_joined(open_ws, created.tokens.customer, name="Bob")
    observer, observer_seen = await raw_joined(open_ws, created.tokens.observer, name="Olga")
    connections = ((rep, rep_seen), (customer, customer_seen), (observer, observer_seen))
    for ws, _ in connections:
        await ws.send(
            json.dumps(
                {
                    "type": "consent",
                    "granted": True,
                    "scopes": ["coaching", "transcript", "trainer_view"],
                }
            )
        )
    for ws, seen in connections:
        state, before = await recv_until(ws, lambda m: isinstance(m, State) and m.live)
        seen += [*before, state]
    rep_a, customer_a = track("good", "rep"), track("good", "customer")
    await stream_together(rep, customer, frames(rep_a, 0.0, 4.0), frames(customer_a, 0.0, 4.0), 50)
    await rep.send(json.dumps({"type": "end"}))
    for ws, seen in connections:
        report, before = await recv_until(ws, lambda m: isinstance(m, Report))
        seen += [*before, report]
        assert report.session == created.session
        assert report.url == f"/v1/sessions/{created.session}/report"
        seen += await recv_until_closed(ws)
        assert ws.close_code == 1000
        # After the report, at most the final state: nothing else.
        after = seen[seen.index(report) + 1 :]
        assert all(isinstance(m, State) and m.status == "ended" for m in after)
        # seq starts at 1 and goes up by one per message, per connection.
        assert [m.seq for m in seen] == list(range(1, len(seen) + 1))
    assert any(isinstance(m, Metrics) for m in rep_seen)
    assert server.app.hub.get(created.session).is_ended
    await bystander.assert_untouched()


async def test_ws_customer_end_leaves_without_ending(server, bystander, stream_together):
    """A customer's `end` closes its own connection (1000) and pauses, but keeps, the call."""
    async with live_call(server, stream_together) as call:
        mark = len(call.rep.messages)
        await call.customer.end()
        state = await wait_state(call.rep, lambda s: not s.live, mark)
        assert state.status == "paused" and "customer" in state.waiting_for
        await asyncio.wait_for(call.customer.ended.wait(), TIMEOUT_S)
        assert call.customer._ws.close_code == 1000
        assert not call.session.is_ended
        assert not call.rep.ended.is_set()
        assert not call.rep.of_type(Report)
        # The customer may come back with the same link.
        fmt = AudioFormat(rate=16000, channels=1)
        async with Participant(server.ws_url, call.created.tokens.customer, "Bob", fmt) as back:
            await back.consent()
            await asyncio.wait_for(call.rep.live.wait(), TIMEOUT_S)
            assert errors(back.messages) == errors(call.rep.messages) == []
    await bystander.assert_untouched()
