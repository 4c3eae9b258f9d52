"""A recorded call through the live core, faster than real time (`sparring analyse`).

The very same `Session` as a live call: both parties' audio fed in 100 ms frames in
lockstep, as two live clients send it, and recognition run as the core asks. Two passes
make it fast and keep it faithful: a first pass over the audio only collects what the core
will ask to recognise (what it asks depends on the audio, never on recognition results),
so that every utterance is recognised in parallel from the start; the second pass is the
call itself, and hands each result back `RESULT_DELAY_S` of audio after the core asked for
it, in that order, as a live server's results come back. Partials are off: nobody watches.

An adapter: no coaching rule lives here. No clock but the wall time of the consent ledger.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Protocol

import numpy as np

from models.errors import BadConsent, StoreUnavailable
from models.playbook import Playbook
from models.recognition import SegmentRecognized
from models.wire import AudioFormat, Consent, Create, Nudge, Role, RoleTokens, Scope
from server.asr.jobs import Recognition
from server.core.hub import SessionHub
from server.core.second_stage import VoiceConfirmer
from server.core.session import AsrRequest, Outputs, Session
from server.media import Tracks

log = logging.getLogger("sparring.recording")

FRAME_S = 0.1  # what live clients send (client/stream.py, the browser's worklet)
# Audio seconds between the core asking for a final and its result coming back: a live
# server on 2 cores answers a final in about 0.3-0.7 s after it was asked (issue 11: 0.75 s
# p50 from the last word's end, which includes the VAD's 300 ms hangover), so a call
# streamed live at real time hears its words about this much later.
RESULT_DELAY_S = 0.5
# Who a declared consent is given by in the ledger.
UPLOADER = "uploader"
DEFAULT_SCOPES: tuple[str, ...] = (Scope.COACHING.value, Scope.TRANSCRIPT.value)


class Recognizes(Protocol):
    """What the analysis needs of a recogniser (`server.asr.engine.Recognizer`)."""

    def recognize(
        self, audio: np.ndarray, *, language: str | None, final: bool, prompt: str | None = None
    ) -> Recognition:
        """Recognises one utterance (blocking; thread-safe up to the pool's workers)."""
        ...

    def supports(self, language: str) -> bool:
        """Whether the model transcribes `language`."""
        ...


@dataclass(frozen=True, slots=True)
class Declared:
    """Consent for a recording, declared by whoever uploads it (`--consent rep=Anna`)."""

    rep: str
    customer: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES

    def __post_init__(self) -> None:
        if not self.rep.strip() or not self.customer.strip():
            missing = [
                r for r, n in (("rep", self.rep), ("customer", self.customer)) if not n.strip()
            ]
            raise BadConsent(
                f"no declared consent of the {' and the '.join(missing)}: a recording is"
                " analysed only with both parties' consent (--consent rep=NAME"
                " --consent customer=NAME)"
            )
        known = {s.value for s in Scope}
        unknown = sorted(set(self.scopes) - known)
        if unknown:
            raise BadConsent(f"unknown scope {unknown[0]!r}; known: {', '.join(sorted(known))}")
        if Scope.COACHING.value not in self.scopes:
            raise BadConsent("the coaching scope is required to analyse a call")


@dataclass(frozen=True, slots=True)
class Analysed:
    """An analysed recording: the ended session (its report) and its join tokens."""

    session: Session
    tokens: RoleTokens
    nudges: tuple[Nudge, ...]  # as the rep's overlay would have shown them, in order
    recognized: int  # utterances recognised
    wall_s: float


Progress = Callable[[float, float], None]  # (audio seconds analysed, of total)


def analyse(
    tracks: Tracks,
    declared: Declared,
    *,
    playbook: Playbook,
    language: str = "en",
    title: str = "",
    recognizer: Recognizes | None = None,
    workers: int = 1,
    confirmer_factory: Callable[[], VoiceConfirmer] | None = None,
    on_progress: Progress | None = None,
    wall_time: Callable[[], float] = time.time,
) -> Analysed:
    """Analyses a recording as a live call of the same audio would be analysed.

    Args:
        tracks: The parties' audio.
        declared: Both parties' consent, as declared by the uploader.
        playbook: The rules and form to apply.
        language: The call's language ("en", "nl").
        title: The call's title.
        recognizer: Speech recognition; None: none (no transcript, no speech rules).
        workers: Recognitions run at once (each is thread-safe up to the model's workers).
        confirmer_factory: The second voice stage (Silero), as the live server has it.
        on_progress: Told after each audio second analysed.
        wall_time: For the consent ledger and the call's times.

    Returns:
        The ended session, its tokens and the nudges the rep would have seen.

    Raises:
        BadConsent: the scopes do not allow coaching.
    """
    started = time.perf_counter()
    hub = SessionHub({"default": playbook})
    if recognizer is not None:
        hub.transcribes = recognizer.supports
    hub.confirmer_factory = confirmer_factory
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="analyse") as pool:
        asked: dict[tuple[Role, int, bool, float], Future[Recognition]] = {}

        def submit(request: AsrRequest) -> None:
            if recognizer is not None:
                asked[_key(request)] = pool.submit(_recognize, recognizer, request)

        # Pass 1: what the core will ask to recognise, all of it queued at once.
        listener = _Call(hub, tracks, declared, language, title, wall_time)
        for out in listener.feed_all():
            for request in out.asr_jobs:
                submit(request)
        for request in listener.end().asr_jobs:
            submit(request)

        # Pass 2: the call, with each result back RESULT_DELAY_S of audio after it was asked.
        call = _Call(hub, tracks, declared, language, title, wall_time)
        session = call.session
        due: deque[tuple[float, AsrRequest]] = deque()
        nudges: list[Nudge] = []
        recognized = 0

        def take(out: Outputs) -> None:
            nudges.extend(m for pid, m in out.sends if pid == call.rep and isinstance(m, Nudge))
            due.extend((session.at_s + RESULT_DELAY_S, request) for request in out.asr_jobs)

        def hand_back(until_s: float) -> None:
            nonlocal recognized
            while due and due[0][0] <= until_s:
                _, request = due.popleft()
                future = asked.pop(_key(request), None)
                if future is None:  # not foreseen (never expected): recognised now
                    log.warning("unforeseen recognition request %s", _key(request))
                    assert recognizer is not None
                    future = pool.submit(_recognize, recognizer, request)
                recognized += 1
                take(session.on_recognition(_recognized(request, future.result())))

        next_report_s = 1.0
        for out in call.feed_all(before_frame=lambda: hand_back(session.at_s)):
            take(out)
            if on_progress is not None and session.at_s >= next_report_s:
                next_report_s = float(int(session.at_s) + 1)
                on_progress(session.at_s, tracks.duration_s)
        hand_back(float("inf"))  # the tail of the call is recognised before it ends (as live)
        take(call.end())
        hand_back(float("inf"))  # the last words, flushed at the end, count in the report
        for future in asked.values():
            future.cancel()
    if on_progress is not None:
        on_progress(tracks.duration_s, tracks.duration_s)
    return Analysed(
        session=session,
        tokens=call.tokens,
        nudges=tuple(nudges),
        recognized=recognized,
        wall_s=time.perf_counter() - started,
    )


class _Call:
    """One pass over the recording: a session with both parties joined and consenting."""

    def __init__(
        self,
        hub: SessionHub,
        tracks: Tracks,
        declared: Declared,
        language: str,
        title: str,
        wall_time: Callable[[], float],
    ) -> None:
        self.tracks = tracks
        self.wall_time = wall_time
        self.session, self.tokens = hub.create(
            Create(title=title, language=language), default_language=language, now=wall_time()
        )
        session = self.session
        session.set_partial_interval(None)  # nobody watches a recording's partials
        audio = AudioFormat(rate=tracks.rate_hz, channels=1)
        self.rep, _ = session.join(Role.REP, declared.rep, audio)
        self.customer, _ = session.join(Role.CUSTOMER, declared.customer, audio)
        consent = Consent(granted=True, scopes=declared.scopes)
        for pid in (self.rep, self.customer):
            session.consent(pid, consent, wall_time(), declared_by=UPLOADER)

    def feed_all(self, before_frame: Callable[[], None] | None = None) -> Iterator[Outputs]:
        """Feeds both tracks in 100 ms frames, rep then customer, as two live clients do."""
        session = self.session
        for rep_frame, customer_frame in zip_longest(
            _frames(self.tracks.rep, self.tracks.rate_hz),
            _frames(self.tracks.customer, self.tracks.rate_hz),
        ):
            for pid, frame in ((self.rep, rep_frame), (self.customer, customer_frame)):
                if frame is not None:
                    if before_frame is not None:
                        before_frame()
                    yield session.feed_audio(pid, frame)

    def end(self) -> Outputs:
        return self.session.end(self.rep, self.wall_time())


def _frames(samples: np.ndarray, rate_hz: int) -> Iterator[bytes]:
    step = round(rate_hz * FRAME_S)
    for i in range(0, len(samples), step):
        yield samples[i : i + step].astype("<i2").tobytes()


def _key(request: AsrRequest) -> tuple[Role, int, bool, float]:
    return (request.speaker, request.segment, request.final, request.start_s)


def _recognize(recognizer: Recognizes, request: AsrRequest) -> Recognition:
    audio = np.frombuffer(request.pcm, dtype="<i2").astype(np.float32) / 32768.0
    try:
        return recognizer.recognize(
            audio, language=request.language, final=request.final, prompt=request.prompt
        )
    except Exception:  # a final must still reach the session, as in the live pool
        log.exception("recognition failed for %s segment %d", request.speaker, request.segment)
        return Recognition(text="", duration_s=len(audio) / 16000, rejected="error")


def _recognized(request: AsrRequest, recognition: Recognition) -> SegmentRecognized:
    return SegmentRecognized(
        speaker=request.speaker,
        segment=request.segment,
        final=request.final,
        start_s=request.start_s,
        words=recognition.words,
        language=recognition.language,
        language_probability=recognition.language_probability,
    )


async def keep(analysed: Analysed, target: str | Path | None, *, node: str) -> None:
    """Stores an analysed recording as a live call is stored (report, scorecard, ledger).

    Args:
        analysed: What `analyse` returned.
        target: A postgresql:// URL or an SQLite data directory (see `Store.open`).
        node: The name kept with the call (this machine's, as `sparring serve` keeps).

    Raises:
        StoreUnavailable: the store cannot be opened, or the call could not be written.
    """
    from server.archive import Archive
    from server.store import AsyncStore

    store = await AsyncStore.open(target)
    try:
        archive = Archive(store, lambda _: analysed.tokens, node)
        archive.ended(analysed.session)  # nothing is in flight: kept at once
        await archive.drain()
    finally:
        lost = await store.close()
    if lost:
        raise StoreUnavailable(f"the call was not kept: {lost[0].error.message}")
