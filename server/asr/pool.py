"""Shared recognition queue: fair scheduling of ASR jobs from all sessions onto one model.

Owns the queue, the worker threads and the degrade level. Jobs of one party (session,
speaker) run one at a time and in order; finals go before partials; partials coalesce.
A party that falls behind has its waiting finals recognised together (one decode instead of
several), and past ``MAX_QUEUED_FINAL_AUDIO_S`` of waiting speech its oldest finals are
dropped, delivered empty with ``rejected="overflow"``: a call whose audio outruns
recognition loses its own words, never delays other calls' finals. Knows nothing of coaching; results go to the ``on_result`` callback,
degrade level changes to ``on_level``, delivered latencies to ``on_latency``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from server.asr.jobs import SAMPLE_RATE_HZ, AsrJob, Recognition, Word

log = logging.getLogger("sparring.asr")

# Degrade thresholds on the wait a new job faces: backlog x mean service time / workers,
# or the age of the oldest queued job if larger. Partials are worth showing when
# they arrive within about a second; past that they are noise that delays finals.
DEGRADE_SLOW_WAIT_S = 0.6
DEGRADE_OFF_WAIT_S = 1.5
# Recover only when well below the threshold that raised the level (hysteresis).
DEGRADE_RECOVER_FACTOR = 0.5
# A session with more jobs than this waiting has a backlog of its own (its audio outruns
# recognition): its waits say nothing of what the other sessions' jobs wait.
BACKLOG_JOBS = 2
PARTIAL_INTERVAL_S = {0: 1.0, 1: 2.0}
# A partial that waited this long is stale: a newer partial or the final will follow, and
# running it would only delay them (bench: at 14 sessions, delivered partials lagged 4 s).
STALE_PARTIAL_S = 2.0
DEFAULT_MAX_QUEUED_PARTIALS = 64
# Finals of one party waiting together are recognised as one decode of their audio joined
# with MERGE_GAP_S of silence between them, up to this much audio (Whisper's window is 30 s).
MERGE_MAX_AUDIO_S = 24.0
MERGE_GAP_S = 0.3
# Waiting speech of one party beyond which its oldest finals are dropped: that call is a
# minute behind (a replay far faster than real time, or a node far past its capacity).
MAX_QUEUED_FINAL_AUDIO_S = 60.0
# A joined decode rejected for these (not as silence) may hold pieces that are clear alone.
UNSURE_REJECTIONS = frozenset({"low_confidence", "hallucination"})
LATENCY_SAMPLES = 2000
# Exponential moving average weight for the service time.
EWMA_ALPHA = 0.2

Stream = tuple[str, str]
ResultCallback = Callable[[AsrJob, Recognition], None]
LevelCallback = Callable[[int], None]
LatencyCallback = Callable[[AsrJob, float], None]


class SupportsRecognize(Protocol):
    """What the pool needs of a recognizer (``engine.Recognizer`` or a test double)."""

    def recognize(
        self,
        audio: np.ndarray,
        *,
        language: str | None,
        final: bool,
        prompt: str | None = None,
        greedy: bool = False,
    ) -> Recognition:
        """Recognise one utterance, blocking; ``greedy``: beam 1 for a final too."""
        ...


def _always_ready(language: str | None) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A snapshot of the pool for metrics (all latencies in seconds).

    Attributes:
        queued_partials: Partial jobs waiting.
        queued_finals: Final jobs waiting.
        running: Jobs in a worker now.
        degrade_level: 0 normal, 1 partials every 2 s, 2 partials off.
        submitted: Jobs submitted since start.
        completed: Jobs whose result was delivered.
        coalesced: Partials replaced by a newer one or made moot by their final.
        dropped_overflow: Oldest partials dropped because the queue was full.
        dropped_degraded: Partials refused because partials are off (level 2).
        dropped_stale: Partials dropped unrun after waiting ``STALE_PARTIAL_S``.
        dropped_finals: Finals dropped because their party had over
            ``MAX_QUEUED_FINAL_AUDIO_S`` of speech waiting (delivered empty, ``overflow``).
        merged: Finals recognised together with the final before them (one decode).
        rerun_alone: Finals a joined decode gave no words, recognised again on their own.
        cancelled: Jobs dropped or discarded by ``cancel_session``.
        failed: Jobs whose recognition raised (delivered as empty, ``rejected="error"``).
        partial_latency_p50_s: Submission to result, partials.
        partial_latency_p95_s: Same, 95th percentile.
        final_latency_p50_s: Submission to result, finals.
        final_latency_p95_s: Same, 95th percentile.
        queue_wait_p95_s: Submission to start of work, all jobs.
        service_mean_s: Moving average of the time one recognition takes.
    """

    queued_partials: int
    queued_finals: int
    running: int
    degrade_level: int
    submitted: int
    completed: int
    coalesced: int
    dropped_overflow: int
    dropped_degraded: int
    dropped_stale: int
    dropped_finals: int
    merged: int
    rerun_alone: int
    cancelled: int
    failed: int
    partial_latency_p50_s: float | None
    partial_latency_p95_s: float | None
    final_latency_p50_s: float | None
    final_latency_p95_s: float | None
    queue_wait_p95_s: float | None
    service_mean_s: float


class AsrPool:
    """Runs ASR jobs from all sessions on one recognizer, fairly, in worker threads.

    Use as ``async with AsrPool(...) as pool`` (or ``await pool.start()`` /
    ``await pool.close()``); ``submit`` and ``cancel_session`` are plain calls made from
    the event loop thread, and ``on_result`` is called there too.

    Args:
        recognizer: The shared model (``engine.Recognizer``); its ``num_workers`` should be
            at least ``workers`` for calls to run in parallel.
        on_result: Called with each job and its recognition, in order per party.
        workers: Worker threads (parallel recognitions).
        max_queued_partials: Queue bound for partials; the oldest are dropped beyond it.
        max_queued_final_audio_s: Bound on one party's waiting finals, in seconds of audio;
            the oldest are dropped beyond it (delivered empty, ``rejected="overflow"``).
        merge_max_audio_s: Waiting finals of one party are recognised together up to this
            much audio; 0 turns merging off.
        greedy_when_behind: Decode a final with beam 1 when its party is behind (its
            finals joined, or it waited ``DEGRADE_OFF_WAIT_S``): about a third less compute
            per final, so a node past its capacity catches up (WER figures in
            bench/README.md, bench_capacity).
        clock: Monotonic clock, the one ``AsrJob.submitted_at_s`` was taken with.
        on_level: Called with the new degrade level each time it changes, after
            ``degrade_level`` and ``partial_interval_s()`` report it; possibly from inside
            ``submit`` or ``cancel_session``.
        on_latency: Called with each delivered job and its submission-to-result time,
            just before ``on_result``.

    A recognizer with a ``ready(language)`` method (``languages.Recognizers``) may have a
    language's model still loading: that language's jobs wait in the queue, without
    counting towards the degrade level, until ``wake`` is called.
    """

    def __init__(
        self,
        recognizer: SupportsRecognize,
        on_result: ResultCallback,
        *,
        workers: int = 2,
        max_queued_partials: int = DEFAULT_MAX_QUEUED_PARTIALS,
        max_queued_final_audio_s: float = MAX_QUEUED_FINAL_AUDIO_S,
        merge_max_audio_s: float = MERGE_MAX_AUDIO_S,
        greedy_when_behind: bool = False,
        clock: Callable[[], float] = time.monotonic,
        on_level: LevelCallback | None = None,
        on_latency: LatencyCallback | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._recognizer = recognizer
        self._ready: Callable[[str | None], bool] = getattr(recognizer, "ready", _always_ready)
        self._on_result = on_result
        self._workers = workers
        self._max_queued_partials = max_queued_partials
        self._max_queued_final_audio_s = max_queued_final_audio_s
        self._merge_max_audio_s = merge_max_audio_s
        self._greedy_when_behind = greedy_when_behind
        self._clock = clock
        self._on_level = on_level
        self._on_latency = on_latency
        # session -> speaker -> that party's queued jobs (in order); insertion order of
        # both dicts is the round-robin order.
        self._queues: OrderedDict[str, OrderedDict[str, deque[AsrJob]]] = OrderedDict()
        self._busy: set[Stream] = set()
        # session -> recognition seconds it used (fair share); forgotten once it is idle
        self._used_s: dict[str, float] = {}
        # One worker stays free of any one session, so that another call's final never
        # waits behind two long decodes of a call that fell behind.
        self._per_session_workers = max(1, workers - 1)
        self._running_per_session: dict[str, int] = {}
        self._running: dict[int, list[AsrJob]] = {}  # by id of the first job: its group
        self._discard: set[int] = set()
        self._wakeup = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._level = 0
        self._service_mean_s = 0.0
        self._counts = dict.fromkeys(
            (
                "submitted",
                "completed",
                "coalesced",
                "dropped_overflow",
                "dropped_degraded",
                "dropped_stale",
                "dropped_finals",
                "merged",
                "rerun_alone",
                "cancelled",
                "failed",
            ),
            0,
        )
        self._partial_latency_s: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._final_latency_s: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._queue_wait_s: deque[float] = deque(maxlen=LATENCY_SAMPLES)

    async def __aenter__(self) -> AsrPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the worker tasks and threads."""
        if self._tasks:
            return
        self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="asr")
        self._tasks = [
            asyncio.create_task(self._work(), name=f"asr.worker[{i}]") for i in range(self._workers)
        ]

    async def close(self) -> None:
        """Stop the workers; queued jobs are dropped, running ones finish in their thread."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    # -- commands -----------------------------------------------------------------------

    def submit(self, job: AsrJob) -> None:
        """Queue a job.

        A partial replaces a queued partial of the same segment, and is dropped if that
        segment's final is queued, its party has a backlog of finals, or partials are off
        (``degrade_level == 2``). A final removes queued partials of its segment and
        earlier ones; when its party has more than ``max_queued_final_audio_s`` of finals
        waiting, the oldest are dropped and delivered empty (``rejected="overflow"``) soon
        after. Never blocks.

        Args:
            job: The job; ``job.audio`` must not be modified afterwards.
        """
        self._counts["submitted"] += 1
        speakers = self._queues.setdefault(job.session_id, OrderedDict())
        queue = speakers.setdefault(job.speaker, deque())
        if job.final:
            # Its segment's partials, and any left of earlier segments, are moot now.
            kept = [j for j in queue if j.final or j.segment > job.segment]
            self._counts["coalesced"] += len(queue) - len(kept)
            queue.clear()
            queue.extend(kept)
            queue.append(job)
            self._bound_finals(queue)
        else:
            # A party with a backlog of finals is behind: its partial would come after
            # them, stale (a replay's own partials go, while the others keep theirs).
            if self._level >= 2 or sum(q.final for q in queue) > BACKLOG_JOBS:
                self._counts["dropped_degraded"] += 1
                self._prune(job.session_id, job.speaker)
                return
            for index, queued in enumerate(queue):
                if queued.segment != job.segment:
                    continue
                self._counts["coalesced"] += 1
                if not queued.final:
                    queue[index] = job  # keep the older job's place in line
                break
            else:
                queue.append(job)
                self._enforce_partial_bound()
        self._update_level()
        self._wakeup.set()

    def cancel_session(self, session_id: str, speaker: str | None = None) -> int:
        """Drop the session's queued jobs and discard results of its running ones.

        Args:
            session_id: The session that stopped being live.
            speaker: Only this party's jobs (their consent to transcripts was narrowed).

        Returns:
            The number of jobs dropped or discarded.
        """
        speakers = self._queues.get(session_id)
        dropped = 0
        if speakers is not None:
            for whose in [s for s in speakers if speaker is None or s == speaker]:
                dropped += len(speakers.pop(whose))
            if not speakers:
                del self._queues[session_id]
        for key, group in self._running.items():
            job = group[0]
            mine = job.session_id == session_id and (speaker is None or job.speaker == speaker)
            if mine and key not in self._discard:
                self._discard.add(key)
                dropped += len(group)
        self._counts["cancelled"] += dropped
        self._update_level()
        return dropped

    def wake(self) -> None:
        """A language's model became ready (or failed): its waiting jobs may run now."""
        self._update_level()
        self._wakeup.set()

    # -- queries ------------------------------------------------------------------------

    @property
    def degrade_level(self) -> int:
        """0 normal, 1 partials less often, 2 partials off."""
        return self._level

    def partial_interval_s(self) -> float | None:
        """How often a session should submit partials now; None means not at all."""
        return PARTIAL_INTERVAL_S.get(self._level)

    async def wait_idle(self, timeout_s: float, poll_s: float = 0.1) -> bool:
        """Waits until no job is queued or running (the last finals are in).

        Returns:
            False when `timeout_s` passed first.
        """
        deadline = time.monotonic() + timeout_s
        while self.queue_depth() or self._running:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(poll_s)
        return True

    def queue_depth(self) -> int:
        """Jobs waiting (not running)."""
        return sum(len(q) for speakers in self._queues.values() for q in speakers.values())

    def stats(self) -> PoolStats:
        """A snapshot of queue depth, counters and latency percentiles."""
        finals = sum(
            1 for speakers in self._queues.values() for q in speakers.values() for j in q if j.final
        )
        return PoolStats(
            queued_partials=self.queue_depth() - finals,
            queued_finals=finals,
            running=sum(len(group) for group in self._running.values()),
            degrade_level=self._level,
            partial_latency_p50_s=_percentile(self._partial_latency_s, 50),
            partial_latency_p95_s=_percentile(self._partial_latency_s, 95),
            final_latency_p50_s=_percentile(self._final_latency_s, 50),
            final_latency_p95_s=_percentile(self._final_latency_s, 95),
            queue_wait_p95_s=_percentile(self._queue_wait_s, 95),
            service_mean_s=self._service_mean_s,
            **self._counts,
        )

    # -- scheduling ---------------------------------------------------------------------

    def _enforce_partial_bound(self) -> None:
        partials = [j for speakers in self._queues.values() for q in speakers.values() for j in q]
        partials = [j for j in partials if not j.final]
        excess = len(partials) - self._max_queued_partials
        if excess <= 0:
            return
        for job in sorted(partials, key=lambda j: j.submitted_at_s)[:excess]:
            self._queues[job.session_id][job.speaker].remove(job)
            self._counts["dropped_overflow"] += 1

    def _bound_finals(self, queue: deque[AsrJob]) -> None:
        """Drops a party's oldest waiting finals beyond its audio bound (the newest stays)."""
        finals = [j for j in queue if j.final]
        waiting_s = sum(j.duration_s for j in finals)
        for oldest in finals[:-1]:
            if waiting_s <= self._max_queued_final_audio_s:
                break
            queue.remove(oldest)
            waiting_s -= oldest.duration_s
            self._counts["dropped_finals"] += 1
            log.warning(
                "recognition behind for %s: final segment %d dropped (%.0f s waiting)",
                oldest.stream,
                oldest.segment,
                waiting_s,
            )
            # Delivered from the loop, not from inside submit: the caller is mid-command.
            asyncio.get_running_loop().call_soon(self._deliver_dropped, oldest)

    def _deliver_dropped(self, job: AsrJob) -> None:
        dropped = Recognition(text="", duration_s=job.duration_s, rejected="overflow")
        try:
            self._on_result(job, dropped)
        except Exception:
            log.exception("on_result failed for %s segment %d", job.stream, job.segment)

    def _take_finals(self, queue: deque[AsrJob], first: AsrJob) -> list[AsrJob]:
        """`first` and the finals waiting right behind it in its party's queue, up to
        ``merge_max_audio_s`` of audio in all, in one language."""
        group = [first]
        audio_s = first.duration_s
        while queue and queue[0].final and queue[0].language == first.language:
            audio_s += MERGE_GAP_S + queue[0].duration_s
            if audio_s > self._merge_max_audio_s:
                break
            group.append(queue.popleft())
        self._counts["merged"] += len(group) - 1
        return group

    def _pick(self) -> list[AsrJob] | None:
        """Next work: a final (with the finals waiting behind it in the same party's
        queue), else a fresh partial; of the sessions that have one, the one that used the
        least recognition time so far, in round-robin order on ties.

        Counting time rather than jobs: a call replayed far faster than real time sends
        long joined decodes and would otherwise take most of the workers' time.
        """
        self._drop_stale_partials()
        floor_s = min((self._used_s.get(s, 0.0) for s in self._queues), default=0.0)
        for want_final in (True, False):
            best: tuple[float, str, str] | None = None
            for session_id, speakers in self._queues.items():
                # A session new to the queue starts level with the least served one.
                used_s = max(self._used_s.get(session_id, floor_s), floor_s)
                if best is not None and used_s >= best[0]:
                    continue
                if self._running_per_session.get(session_id, 0) >= self._per_session_workers:
                    continue
                for speaker, queue in speakers.items():
                    if not queue or (session_id, speaker) in self._busy:
                        continue
                    if queue[0].final is not want_final or not self._ready(queue[0].language):
                        continue
                    best = (used_s, session_id, speaker)
                    break
            if best is None:
                continue
            used_s, session_id, speaker = best
            self._used_s[session_id] = used_s
            speakers = self._queues[session_id]
            queue = speakers[speaker]
            job = queue.popleft()
            group = self._take_finals(queue, job) if job.final else [job]
            # Round-robin: this party and this session go to the back of the line.
            speakers.move_to_end(speaker)
            self._queues.move_to_end(session_id)
            self._prune(session_id, speaker)
            return group
        return None

    def _drop_stale_partials(self) -> None:
        now_s = self._clock()
        for session_id, speakers in list(self._queues.items()):
            for speaker, queue in list(speakers.items()):
                stale = [
                    j for j in queue if not j.final and now_s - j.submitted_at_s > STALE_PARTIAL_S
                ]
                for job in stale:
                    queue.remove(job)
                    self._counts["dropped_stale"] += 1
                self._prune(session_id, speaker)

    def _prune(self, session_id: str, speaker: str) -> None:
        speakers = self._queues.get(session_id)
        if speakers is None:
            return
        if speaker in speakers and not speakers[speaker]:
            del speakers[speaker]
        if not speakers:
            del self._queues[session_id]
            if not any(stream[0] == session_id for stream in self._busy):
                self._used_s.pop(session_id, None)

    def _update_level(self) -> None:
        """Sets the degrade level from what a job submitted now would wait.

        Sessions are served in turn, so a session with a backlog (a replay far faster than
        real time) holds up the others by one job, not by its backlog: each counts with at
        most one job, and the oldest wait is taken over sessions without a backlog. When
        every session has one, the count alone says the pool is overloaded. Jobs waiting for
        their language's model say nothing about this pool's load.
        """
        sessions = 0
        oldest_s: float | None = None
        for speakers in self._queues.values():
            ready = [j for q in speakers.values() for j in q if self._ready(j.language)]
            if not ready:
                continue
            sessions += 1
            if len(ready) <= BACKLOG_JOBS:
                head_s = min(j.submitted_at_s for j in ready)
                oldest_s = head_s if oldest_s is None else min(oldest_s, head_s)
        estimated_wait_s = sessions * self._service_mean_s / self._workers
        oldest_wait_s = 0.0 if oldest_s is None else self._clock() - oldest_s
        pressure_s = max(estimated_wait_s, oldest_wait_s)
        level = self._level
        if pressure_s >= DEGRADE_OFF_WAIT_S:
            level = 2
        elif pressure_s >= DEGRADE_SLOW_WAIT_S:
            level = max(level, 1)
        if level == 2 and pressure_s < DEGRADE_OFF_WAIT_S * DEGRADE_RECOVER_FACTOR:
            level = 1
        if level == 1 and pressure_s < DEGRADE_SLOW_WAIT_S * DEGRADE_RECOVER_FACTOR:
            level = 0
        if level != self._level:
            log.info(
                "ASR degrade level %d -> %d (%d queued, wait %.2f s)",
                self._level,
                level,
                self.queue_depth(),
                pressure_s,
            )
            self._level = level
            if self._on_level is not None:
                try:
                    self._on_level(level)
                except Exception:
                    log.exception("on_level failed for level %d", level)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            group = self._pick()
            if group is None:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            job = group[0]
            key = id(job)
            stream = job.stream
            self._busy.add(stream)
            self._running[key] = group
            session_id = job.session_id
            self._running_per_session[session_id] = self._running_per_session.get(session_id, 0) + 1
            started_s = self._clock()
            for member in group:
                self._queue_wait_s.append(max(0.0, started_s - member.submitted_at_s))
            try:
                results = await loop.run_in_executor(self._executor, self._recognize, group)
            finally:
                self._busy.discard(stream)
                self._running.pop(key, None)
                if self._running_per_session[session_id] > 1:
                    self._running_per_session[session_id] -= 1
                else:
                    del self._running_per_session[session_id]
                self._wakeup.set()  # this party's next job may be runnable now
            done_s = self._clock()
            if job.session_id in self._used_s:
                self._used_s[job.session_id] += done_s - started_s
            service_s = (done_s - started_s) / len(group)
            if self._service_mean_s == 0.0:
                self._service_mean_s = service_s
            else:
                self._service_mean_s += EWMA_ALPHA * (service_s - self._service_mean_s)
            self._update_level()
            if key in self._discard:
                self._discard.discard(key)
                continue
            for member, recognition in zip(group, results, strict=True):
                self._deliver(member, recognition, done_s)

    def _deliver(self, job: AsrJob, recognition: Recognition, done_s: float) -> None:
        latency_s = done_s - job.submitted_at_s
        (self._final_latency_s if job.final else self._partial_latency_s).append(latency_s)
        self._counts["completed"] += 1
        if self._on_latency is not None:
            try:
                self._on_latency(job, latency_s)
            except Exception:
                log.exception("on_latency failed for %s segment %d", job.stream, job.segment)
        try:
            self._on_result(job, recognition)
        except Exception:
            log.exception("on_result failed for %s segment %d", job.stream, job.segment)

    def _recognize(self, group: list[AsrJob]) -> list[Recognition]:
        """Recognises one job, or several finals of one party as one decode."""
        job = group[0]
        if len(group) == 1:
            audio = job.samples
        else:
            gap = np.zeros(round(MERGE_GAP_S * SAMPLE_RATE_HZ), dtype=np.float32)
            pieces: list[np.ndarray] = []
            for member in group:
                pieces += [member.samples, gap]
            audio = np.concatenate(pieces[:-1])
        # A party far behind (its finals joined, or waiting past the wait at which partials
        # go off) catches up with greedy decodes; asked only when wanted, so that
        # recognizers without the option still serve.
        behind = len(group) > 1 or self._clock() - job.submitted_at_s >= DEGRADE_OFF_WAIT_S
        greedy = {"greedy": True} if self._greedy_when_behind and job.final and behind else {}
        recognition = self._decode(audio, job, greedy)
        if recognition is None:  # a final must still reach the session: empty, "error"
            self._counts["failed"] += len(group)
            return [Recognition(text="", duration_s=m.duration_s, rejected="error") for m in group]
        parts = [recognition] if len(group) == 1 else recognition_parts(recognition, group)
        if len(group) > 1 and (recognition.words or recognition.rejected in UNSURE_REJECTIONS):
            # Whisper may end a joined decode's text before its last pieces (tiny.en on the
            # bundled `closed` call: two utterances joined, greedy, gave the first one's
            # words only), or be unsure of the whole joined decode where each piece alone
            # is clear: a piece left without words is recognised again on its own. A joined
            # decode heard as no speech at all is not tried again.
            for i, (member, part) in enumerate(zip(group, parts, strict=True)):
                if part.words:
                    continue
                self._counts["rerun_alone"] += 1
                alone = self._decode(member.samples, member, greedy)
                if alone is None:
                    self._counts["failed"] += 1
                    alone = Recognition(text="", duration_s=member.duration_s, rejected="error")
                parts[i] = alone
        for member, part in zip(group, parts, strict=True):
            if member.final and not part.words:
                log.debug(
                    "final %s/%s #%d recognised nothing (%s): %.2f s, %d in its decode%s",
                    member.session_id, member.speaker, member.segment, part.rejected,
                    member.duration_s, len(group), ", greedy" if greedy else "",
                )  # fmt: skip
        return parts

    def _decode(
        self, audio: np.ndarray, job: AsrJob, greedy: dict[str, bool]
    ) -> Recognition | None:
        """One recognizer call; None (logged) when it raised."""
        try:
            return self._recognizer.recognize(
                audio, language=job.language, final=job.final, prompt=job.prompt, **greedy
            )
        except Exception:
            log.exception("recognition failed for %s segment %d", job.stream, job.segment)
            return None


def recognition_parts(merged: Recognition, group: list[AsrJob]) -> list[Recognition]:
    """Splits the recognition of finals joined with ``MERGE_GAP_S`` back into one per
    final: each word goes to the piece its middle falls in (a gap's words to the nearer
    piece), with times made relative to that piece's start again."""
    bounds: list[tuple[float, float]] = []
    at_s = 0.0
    for job in group:
        bounds.append((at_s, at_s + job.duration_s))
        at_s += job.duration_s + MERGE_GAP_S
    words: list[list[Word]] = [[] for _ in group]
    for word in merged.words:
        middle_s = (word.start_s + word.end_s) / 2
        index = min(
            range(len(bounds)),
            key=lambda i: max(bounds[i][0] - middle_s, middle_s - bounds[i][1], 0.0),
        )
        offset_s, end_s = bounds[index]
        length_s = end_s - offset_s
        words[index].append(
            Word(
                word.w,
                round(min(max(word.start_s - offset_s, 0.0), length_s), 3),
                round(min(max(word.end_s - offset_s, 0.0), length_s), 3),
                word.probability,
            )
        )
    if merged.text and not merged.words:  # no word times to split by: all to the first
        return [replace(merged, duration_s=group[0].duration_s)] + [
            replace(merged, text="", duration_s=job.duration_s) for job in group[1:]
        ]
    return [
        replace(
            merged, text=" ".join(w.w for w in mine), words=tuple(mine), duration_s=job.duration_s
        )
        for job, mine in zip(group, words, strict=True)
    ]


def _percentile(samples: deque[float], q: float) -> float | None:
    if not samples:
        return None
    return float(np.percentile(np.fromiter(samples, dtype=np.float64), q))
