"""Carries out what the session core returns, and feeds recognition back into it.

The one adapter class that calls the session core for outputs and recognition: it sends
to connections, publishes to the bus, submits and cancels recognition, closes connections
and retires ended sessions; it turns recognition results into core commands and tells
sessions how often partials are affordable when the ASR pool's degrade level changes.
Holds no rule and decides no recipient: the core did.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from models.errors import CallIdle, CallTooLong, ServerStopping, SparringError, TranscriptBehind
from models.recognition import SegmentRecognized
from models.wire import ErrorMessage, RecognitionStatus, Role, ServerMessage
from server.asr.jobs import AsrJob, Recognition
from server.bus import Bus
from server.core.hub import EndReason, SessionHub
from server.core.session import Outputs, Session


class Outbox(Protocol):
    """A participant's connection, as the dispatcher uses it (`transport.ws.LiveConnection`)."""

    def enqueue(self, message: ServerMessage, arrived_at: float = 0.0) -> None:
        """Queues a message; never blocks."""
        ...

    def close_soon(self, code: int = 1000) -> None:
        """Closes after the queued messages."""
        ...

    def replaced(self) -> None:
        """Another connection took this participant's place: say so, close, feed nothing."""
        ...


class RecognitionQueue(Protocol):
    """What the dispatcher needs of the ASR pool (`asr.pool.AsrPool`)."""

    def submit(self, job: AsrJob) -> None:
        """Queues a job; never blocks."""
        ...

    def cancel_session(self, session_id: str, speaker: str | None = None) -> int:
        """Drops the session's queued jobs and discards its running ones."""
        ...

    def partial_interval_s(self) -> float | None:
        """How often sessions should ask for partials now; None: not at all."""
        ...


class Dispatcher:
    """Carries out `Outputs` for every session of one process.

    Args:
        hub: The sessions: recognition results are routed by session id, ended sessions
            retired, and the partial interval goes to every open session.
        bus: Where `Outputs.publish` goes.
        clock: The monotonic clock the ASR pool measures latency with.
    """

    def __init__(
        self, hub: SessionHub, bus: Bus, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._hub = hub
        self._bus = bus
        self._clock = clock
        self._asr: RecognitionQueue | None = None
        # Told of an ended session on each of its outputs (the archive keeps it once settled).
        self.on_ended: Callable[[Session], None] | None = None
        self.connections: dict[str, Outbox] = {}  # participant id -> its open connection
        # Shutting down: no call starts, nobody joins, connections close with 1001.
        self.stopping = False
        self._close_code = 1000
        self._grace_timers: set[asyncio.TimerHandle] = set()
        # session -> monotonic time its participants were last told `transcript_behind`
        self._behind_told_at: dict[str, float] = {}
        # ending sessions (`Session.is_ending`) -> the bound on waiting for their last finals
        self._ending: dict[str, asyncio.TimerHandle] = {}

    def use_asr(self, asr: RecognitionQueue) -> None:
        """Sends recognition requests to `asr` from now on.

        Its results must come back through `on_recognition` and its degrade level changes
        through `on_degrade`.
        """
        self._asr = asr

    # -- connections ---------------------------------------------------------------------

    def attach(self, pid: str, conn: Outbox) -> None:
        """Routes the messages for participant `pid` to `conn` (after a successful join).

        A connection routed to before is one whose place the core let the same token take
        over while it still looked open (`Roster.join`): it is told `replaced` and closed.
        """
        previous = self.connections.get(pid)
        self.connections[pid] = conn
        if previous is not None and previous is not conn:
            previous.replaced()

    def detach(self, pid: str, conn: Outbox | None = None) -> None:
        """Stops routing to `pid`'s connection (it closed); with `conn`, only if it is the
        one routed to (a rejoin may have taken its place)."""
        if conn is None or self.connections.get(pid) is conn:
            self.connections.pop(pid, None)

    def give_up_later(self, session: Session, pid: str, dropped_at: float, after_s: float) -> None:
        """Times the rejoin grace of `pid`'s drop at wall time `dropped_at`."""
        loop = asyncio.get_running_loop()

        def run_out() -> None:
            self._grace_timers.discard(timer)
            self.carry_out(session, session.give_up(pid, dropped_at))

        timer = loop.call_later(after_s, run_out)
        self._grace_timers.add(timer)

    def stop_calls(self) -> int:
        """Shutdown: ends every open call as the rep's `end` would, its participants told
        `server_stopping` first; their report follows, then a 1001 close. Recognition of
        the last words goes on (wait for the pool, then the archive). Returns how many."""
        self.stopping = True
        self._close_code = 1001
        for timer in self._grace_timers:
            timer.cancel()
        self._grace_timers.clear()
        error = ServerStopping("the server is stopping: this call has ended; its report follows")
        notice = ErrorMessage(code=error.code, message=error.message)
        sessions = list(self._hub.sessions.values())
        for session in sessions:
            for pid in session.roster.connected_ids():
                conn = self.connections.get(pid)
                if conn is not None:
                    conn.enqueue(notice)
            self.carry_out(session, session.abandon())
        return len(sessions)

    # -- sessions ------------------------------------------------------------------------

    def opened(self, session: Session) -> None:
        """Call right after the hub created `session`: it gets the current partial interval."""
        if self._asr is not None and session.asr:
            session.set_partial_interval(self._asr.partial_interval_s())

    def carry_out(self, session: Session, out: Outputs, arrived_at: float = 0.0) -> None:
        """Carries out a core command's outputs, in the order the core requires.

        Args:
            session: The session the command went to.
            out: What it returned.
            arrived_at: `time.perf_counter()` at the arrival of the audio frame that caused
                `out`, for nudge latency; 0.0 when no frame did.
        """
        connections = self.connections
        for pid, message in out.sends:
            conn = connections.get(pid)
            if conn is not None:
                conn.enqueue(message, arrived_at)
        for message in out.publish:
            self._bus.publish(session.id, message)
        asr = self._asr
        if asr is not None:
            now = self._clock()
            for request in out.asr_jobs:
                # Queued as the PCM16 it came as (a view, no copy); float32 when it runs.
                audio = np.frombuffer(request.pcm, dtype="<i2")
                asr.submit(
                    AsrJob(
                        session_id=session.id,
                        speaker=request.speaker.value,  # type: ignore[arg-type]
                        segment=request.segment,
                        final=request.final,
                        audio=audio,
                        start_s=request.start_s,
                        language=request.language,
                        submitted_at_s=now,
                        prompt=request.prompt,
                    )
                )
            if out.cancel_asr:
                asr.cancel_session(session.id)
            for speaker in out.cancel_speakers:  # a party narrowed their consent
                asr.cancel_session(session.id, speaker.value)
        for pid in out.closes:
            conn = connections.pop(pid, None)
            if conn is not None:
                conn.close_soon(self._close_code)
        if session.is_ended:
            self._behind_told_at.pop(session.id, None)
            self._bound_ending(session)
            if self.on_ended is not None:
                self.on_ended(session)
            self._hub.retire(session)

    def _bound_ending(self, session: Session) -> None:
        """An ending call waits at most `ENDING_MAX_S` for the finals of its last words."""
        timer = self._ending.get(session.id)
        if session.is_ending and timer is None:
            loop = asyncio.get_running_loop()
            self._ending[session.id] = loop.call_later(ENDING_MAX_S, self._conclude, session)
        elif not session.is_ending and timer is not None:
            timer.cancel()
            del self._ending[session.id]

    def _conclude(self, session: Session) -> None:
        self._ending.pop(session.id, None)
        self.carry_out(session, session.conclude())

    def conclude_all(self) -> int:
        """Shutdown, once recognition is done or out of time: calls still waiting for
        their last finals get their report and close now. Returns how many."""
        ending = [self._hub.get(session_id) for session_id in list(self._ending)]
        for session in ending:
            if session is not None:
                self._conclude(session)
        return len(ending)

    def on_recognition(self, job: AsrJob, recognition: Recognition) -> None:
        """The ASR pool's result callback: hands the result to its session, carries out."""
        session = self._hub.get(job.session_id)
        if session is None:
            return
        if recognition.rejected == "overflow":
            self._tell_behind(session)
        result = SegmentRecognized(
            speaker=Role(job.speaker),
            segment=job.segment,
            final=job.final,
            start_s=job.start_s,
            words=recognition.words,
            language=recognition.language,
            language_probability=recognition.language_probability,
        )
        self.carry_out(session, session.on_recognition(result))

    def _tell_behind(self, session: Session) -> None:
        """The pool dropped a final of `session`: its participants hear why their
        transcript has a gap, at most once per `TRANSCRIPT_BEHIND_EVERY_S`."""
        now = self._clock()
        told_at = self._behind_told_at.get(session.id)
        if told_at is not None and now - told_at < TRANSCRIPT_BEHIND_EVERY_S:
            return
        self._behind_told_at[session.id] = now
        error = TranscriptBehind(
            "speech recognition cannot keep up with this call: some of what was said is"
            " missing from the transcript"
        )
        notice = ErrorMessage(code=error.code, message=error.message)
        for pid in session.roster.connected_ids():
            conn = self.connections.get(pid)
            if conn is not None:
                conn.enqueue(notice)

    def recognition_changed(self, language: str, status: RecognitionStatus, install: str) -> None:
        """A language's model loaded ("on") or failed ("unavailable"): its open calls that
        waited for it are told, and recognise from now on or stop waiting."""
        for session in list(self._hub.sessions.values()):
            if session.language == language and session.recognition == "loading":
                self.carry_out(session, session.set_recognition(status, install))

    def on_degrade(self, level: int) -> None:
        """The ASR pool's degrade level changed: open sessions get the new partial interval.

        Args:
            level: The new level (the interval is read from the pool, which owns the map).
        """
        if self._asr is None:
            return
        interval = self._asr.partial_interval_s()
        for session in self._hub.sessions.values():
            if session.asr:
                session.set_partial_interval(interval)

    def expire_abandoned(self, now: float) -> list[tuple[Session, EndReason]]:
        """Ends sessions past their time (`Expiry`); drops their recognition.

        A call ended for being idle or too long tells whoever is still connected why, with
        an `error` before its report.

        Args:
            now: Wall time (`time.time()`).

        Returns:
            The sessions ended, and why.
        """
        expired = []
        for session, out, reason in self._hub.expire(now):
            if self._asr is not None:
                self._asr.cancel_session(session.id)
            out.asr_jobs.clear()  # an expired call's last words are not recognised
            out.extend(session.conclude())  # so its report waits for no final
            error = _END_ERRORS.get(reason)
            if error is not None:
                notice = ErrorMessage(code=error.code, message=_END_TEXTS[reason])
                for pid in out.closes:
                    conn = self.connections.get(pid)
                    if conn is not None:
                        conn.enqueue(notice)
            self.carry_out(session, out)  # the final state reaches trainers too
            expired.append((session, reason))
        return expired


TRANSCRIPT_BEHIND_EVERY_S = 30.0
# How long an ended call keeps its connections open for the finals of its last words (what
# was said in the second before End); at 40 calls on 2 cores a final's p95 is about 2 s.
ENDING_MAX_S = 10.0

_END_ERRORS: dict[EndReason, type[SparringError]] = {
    EndReason.IDLE: CallIdle,
    EndReason.TOO_LONG: CallTooLong,
}
_END_TEXTS = {
    EndReason.IDLE: "nothing was sent in this call for too long: it has ended",
    EndReason.TOO_LONG: "this call reached the longest a call may last: it has ended",
}
