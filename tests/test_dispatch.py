"""Dispatcher: a core command's outputs carried out in order, recognition routed back into
its session, and the partial interval told to sessions when the pool's degrade level
changes (never per frame)."""

from __future__ import annotations

import numpy as np
import pytest

from models.playbook import default_playbook
from models.recognition import SegmentRecognized, Word
from models.wire import Create, ErrorMessage, Role
from server.asr.jobs import AsrJob, Recognition
from server.bus.local import LocalBus
from server.core.hub import EndReason, SessionHub
from server.core.session import Outputs
from server.core.transcripts import AsrRequest
from server.dispatch import Dispatcher
from tests.waiting import wait_for


class FakeQueue:
    """The ASR pool as the dispatcher sees it; records what it is told, in `log`."""

    def __init__(self, log: list) -> None:
        self.log = log
        self.interval: float | None = 1.0
        self.asked = 0

    def submit(self, job: AsrJob) -> None:
        self.log.append(("submit", job))

    def cancel_session(self, session_id: str, speaker: str | None = None) -> int:
        self.log.append(
            ("cancel", session_id) if speaker is None else ("cancel", session_id, speaker)
        )
        return 0

    def partial_interval_s(self) -> float | None:
        self.asked += 1
        return self.interval


class FakeConn:
    def __init__(self, name: str, log: list) -> None:
        self.name = name
        self.log = log

    def enqueue(self, message, arrived_at: float = 0.0) -> None:
        self.log.append(("send", self.name, message, arrived_at))

    def close_soon(self, code: int = 1000) -> None:
        self.log.append(("close", self.name, code))


@pytest.fixture
def log() -> list:
    return []


@pytest.fixture
def hub() -> SessionHub:
    hub = SessionHub({"default": default_playbook()})
    hub.transcribes = lambda language: True
    return hub


@pytest.fixture
def bus() -> LocalBus:
    return LocalBus()


@pytest.fixture
def queue(log) -> FakeQueue:
    return FakeQueue(log)


@pytest.fixture
def dispatch(hub, bus, queue) -> Dispatcher:
    dispatcher = Dispatcher(hub, bus, clock=lambda: 42.0)
    dispatcher.use_asr(queue)
    return dispatcher


def told_intervals(session, monkeypatch) -> list:
    told: list = []
    monkeypatch.setattr(session, "set_partial_interval", told.append)
    return told


def test_dispatch_carries_out_outputs_in_order(dispatch, hub, bus, log):
    session, _ = hub.create(Create(title="t"))
    rep, gone = FakeConn("rep", log), FakeConn("gone", log)
    dispatch.attach("p1", rep)
    dispatch.attach("p2", gone)
    dispatch.detach("p2")
    hello, bye = ErrorMessage(code="a", message="1"), ErrorMessage(code="b", message="2")
    pcm = np.array([0, 16384, -32768], dtype="<i2").tobytes()
    out = Outputs(
        sends=[("p1", hello), ("p2", bye), ("p9", bye)],
        publish=[hello, bye],
        asr_jobs=[AsrRequest(Role.REP, 3, True, pcm, 1.5, "en", prompt="so")],
        cancel_asr=True,
        cancel_speakers=[Role.CUSTOMER],
        closes=["p1"],
    )
    dispatch.carry_out(session, out, arrived_at=7.0)

    assert [entry[0] for entry in log] == ["send", "submit", "cancel", "cancel", "close"]
    assert log[0] == ("send", "rep", hello, 7.0)  # p2 detached, p9 never attached
    job = log[1][1]
    assert (job.session_id, job.speaker, job.segment, job.final) == (session.id, "rep", 3, True)
    assert (job.start_s, job.language, job.prompt, job.submitted_at_s) == (1.5, "en", "so", 42.0)
    assert job.audio.tolist() == [0, 16384, -32768]  # queued as PCM16
    assert job.samples.tolist() == [0.0, 0.5, -1.0]  # what recognition gets
    assert log[2] == ("cancel", session.id)
    assert log[3] == ("cancel", session.id, "customer")  # one party narrowed its consent
    assert log[4] == ("close", "rep", 1000)
    assert dispatch.connections == {}
    assert bus.published == {"error": 2}
    assert hub.sessions[session.id] is session  # not ended: not retired


def test_dispatch_retires_an_ended_session(dispatch, hub):
    session, _ = hub.create(Create())
    session.abandon()
    dispatch.carry_out(session, Outputs())
    assert session.id not in hub.sessions
    assert hub.get(session.id) is session  # the report stays readable


def test_dispatch_without_asr_sends_and_drops_recognition_requests(hub, bus, log):
    dispatch = Dispatcher(hub, bus)
    session, _ = hub.create(Create())
    dispatch.attach("p1", FakeConn("rep", log))
    pcm = bytes(320)
    out = Outputs(
        sends=[("p1", ErrorMessage(code="a", message="1"))],
        asr_jobs=[AsrRequest(Role.REP, 0, True, pcm, 0.0, None)],
        cancel_asr=True,
    )
    dispatch.carry_out(session, out)
    dispatch.opened(session)
    dispatch.on_degrade(2)
    assert [entry[0] for entry in log] == ["send"]


def test_dispatch_routes_a_recognition_into_its_session(dispatch, hub, log, monkeypatch):
    session, _ = hub.create(Create())
    dispatch.attach("p1", FakeConn("rep", log))
    calls = []
    reply = ErrorMessage(code="a", message="1")

    def on_recognition(*args):
        calls.append(args)
        return Outputs(sends=[("p1", reply)])

    monkeypatch.setattr(session, "on_recognition", on_recognition)
    words = (Word("hello", 0.0, 0.4),)
    audio = np.zeros(160, np.float32)
    job = AsrJob(session.id, "customer", 4, True, audio, 2.5, "en", 0.0)
    dispatch.on_recognition(
        job, Recognition("hello", words, language="nl", language_probability=0.9)
    )
    assert calls == [
        (
            SegmentRecognized(
                speaker=Role.CUSTOMER,
                segment=4,
                final=True,
                start_s=2.5,
                words=words,
                language="nl",
                language_probability=0.9,
            ),
        )
    ]
    assert log == [("send", "rep", reply, 0.0)]

    other = AsrJob("0123456789abcdef", "rep", 1, True, audio, 0.0, "en", 0.0)
    dispatch.on_recognition(other, Recognition("x"))  # no such session: nothing happens
    assert len(calls) == 1 and len(log) == 1


def test_dispatch_tells_the_partial_interval_on_change_not_per_frame(
    dispatch, hub, queue, log, monkeypatch
):
    first, _ = hub.create(Create())
    told_first = told_intervals(first, monkeypatch)
    dispatch.opened(first)
    assert told_first == [1.0]  # a new session gets the interval now in effect

    hub.transcribes = None  # a session without recognition is never told
    mute, _ = hub.create(Create())
    told_mute = told_intervals(mute, monkeypatch)
    dispatch.opened(mute)
    hub.transcribes = lambda language: True
    ended, _ = hub.create(Create())
    told_ended = told_intervals(ended, monkeypatch)
    ended.abandon()
    dispatch.carry_out(ended, Outputs())

    asked = queue.asked
    for _ in range(50):  # audio frames: their outputs carry no interval
        dispatch.carry_out(first, Outputs())
    assert queue.asked == asked

    queue.interval = None
    dispatch.on_degrade(2)
    queue.interval = 2.0
    dispatch.on_degrade(1)
    assert told_first == [1.0, None, 2.0]
    assert told_mute == [] and told_ended == []

    later, _ = hub.create(Create())
    told_later = told_intervals(later, monkeypatch)
    dispatch.opened(later)
    assert told_later == [2.0]


def test_dispatch_expiry_cancels_recognition_of_abandoned_sessions(dispatch, hub, bus, log):
    old, _ = hub.create(Create(), now=0.0)
    fresh, _ = hub.create(Create(), now=3000.0)
    assert dispatch.expire_abandoned(now=3700.0) == [(old, EndReason.NEVER_JOINED)]
    assert log == [("cancel", old.id)]
    assert old.is_ended and fresh.id in hub.sessions
    # Dashboards learn that the call ended: its grid line, private (nobody allowed more).
    assert bus.published == {"call": 1}


def test_dispatch_tells_a_call_whose_finals_were_dropped_once_per_half_minute(hub, bus, queue, log):
    now = [100.0]
    dispatch = Dispatcher(hub, bus, clock=lambda: now[0])
    dispatch.use_asr(queue)
    session, _ = hub.create(Create())
    other, _ = hub.create(Create())
    for role in (Role.REP, Role.CUSTOMER):
        pid, _ = session.join(role, role.value, None)
        dispatch.attach(pid, FakeConn(role.value, log))
    pid, _ = other.join(Role.REP, "other rep", None)
    dispatch.attach(pid, FakeConn("other rep", log))
    audio = np.zeros(160, np.float32)

    def dropped(segment: int) -> None:
        job = AsrJob(session.id, "rep", segment, True, audio, 0.0, "en", 0.0)
        dispatch.on_recognition(job, Recognition("", rejected="overflow"))

    def told() -> list:
        return [
            name
            for kind, name, message, *_ in log
            if kind == "send" and message.code == "transcript_behind"
        ]

    dropped(1)
    dropped(2)  # same half minute: not told again
    assert told() == ["rep", "customer"]  # the other call hears nothing
    now[0] += 31
    dropped(3)
    assert told() == ["rep", "customer", "rep", "customer"]


def _ending_call(hub, dispatch, log, monkeypatch):
    """A call whose rep pressed End while a final of theirs was still being recognised."""
    session, _ = hub.create(Create())
    rep, _ = session.join(Role.REP, "Anna", None)
    dispatch.attach(rep, FakeConn("rep", log))
    monkeypatch.setattr(session.transcription, "in_flight", lambda role: role is Role.REP)
    dispatch.carry_out(session, session.end(rep, 0.0))
    return session


def _closes(log) -> list:
    return [entry for entry in log if entry[0] == "close"]


async def test_dispatch_bounds_the_wait_for_an_ended_calls_last_final(
    hub, bus, queue, log, monkeypatch
):
    monkeypatch.setattr("server.dispatch.ENDING_MAX_S", 0.05)
    dispatch = Dispatcher(hub, bus)
    dispatch.use_asr(queue)
    session = _ending_call(hub, dispatch, log, monkeypatch)
    assert session.is_ending and _closes(log) == []  # open for the last final
    await wait_for(lambda: _closes(log), what="the ending call closed after its bound")
    sent = [type(entry[2]).__name__ for entry in log if entry[0] == "send"]
    assert sent == ["Report", "State"] and not session.is_ending


async def test_dispatch_closes_an_ending_call_once_its_last_final_is_in(
    hub, bus, queue, log, monkeypatch
):
    dispatch = Dispatcher(hub, bus)
    dispatch.use_asr(queue)
    session = _ending_call(hub, dispatch, log, monkeypatch)
    monkeypatch.setattr(session.transcription, "in_flight", lambda role: False)
    job = AsrJob(session.id, "rep", 1, True, np.zeros(160, np.float32), 0.0, "en", 0.0)
    dispatch.on_recognition(job, Recognition(""))
    assert _closes(log) == [("close", "rep", 1000)]
    assert dispatch.conclude_all() == 0  # no bound left running for it


async def test_dispatch_shutdown_concludes_calls_still_waiting(hub, bus, queue, log, monkeypatch):
    dispatch = Dispatcher(hub, bus)
    dispatch.use_asr(queue)
    session = _ending_call(hub, dispatch, log, monkeypatch)
    assert dispatch.conclude_all() == 1
    assert _closes(log) == [("close", "rep", 1000)] and not session.is_ending
