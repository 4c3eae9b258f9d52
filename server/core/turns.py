"""Turn-taking between rep and customer on the joint timeline of 30 ms frames.

Owns talk time, monologues, overlaps, interruptions, response gaps and silence. Pure: fed
one decided frame of both parties at a time, in audio time; never reads a clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from server.core.vad import FRAME_S

FRAMES_PER_BUCKET = 33  # ~1 s buckets for the rolling talk window (33 x 30 ms = 0.99 s)
# A rep run survives a gap shorter than 300 ms (vad.HANGOVER_FRAMES). Speech labels never
# have such gaps (the VAD's hangover bridges them); attribution makes them, where a frame or
# two of the rep's own speech are taken for the customer's voice heard twice (a leak in the
# middle of an overlap), and an interruption must not fall apart on them.
RUN_GAP_FRAMES = 10
# A monologue starts on a rep run of 300 ms or more (dated from the run's start): single
# frames of the rep's voice in the customer's turn (attribution flicker on a stereo device,
# both voices 6 dB apart) otherwise started one, and the rep's next turn continued it
# (longest monologue 18.9 s for a true 10.1 s; bench/bench_rooms.py, stereo-6db).
MONOLOGUE_MIN_RUN_FRAMES = 10


@dataclass(frozen=True, slots=True)
class TurnSettings:
    """Thresholds of turn analysis; defaults cite ../shared/design/coaching.md."""

    window_s: float = 120.0  # rolling talk-share window
    monologue_pause_s: float = 1.5  # rep pauses shorter than this do not break a monologue
    customer_floor_s: float = 1.0  # customer speech this long takes the floor (ends a monologue)
    interruption_overlap_s: float = 0.5  # overlap needed before a rep start counts
    backchannel_max_s: float = 1.0  # rep runs shorter than this are backchannels ("yes", "mm")


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The rep started over the customer and kept going: an interruption."""

    at_s: float  # when the rep started
    overlap_s: float


@dataclass(frozen=True, slots=True)
class RepTurnStarted:
    """The rep took the floor after the customer; `gap_s` is the response gap."""

    at_s: float
    gap_s: float


TurnEvent = Interrupted | RepTurnStarted


class Turns:
    """Accumulates turn-taking measures frame by frame."""

    def __init__(self, settings: TurnSettings | None = None) -> None:
        self.settings = s = settings or TurnSettings()
        self._pause_frames = round(s.monologue_pause_s / FRAME_S)
        self._floor_frames = round(s.customer_floor_s / FRAME_S)
        self._overlap_frames = round(s.interruption_overlap_s / FRAME_S)
        self._backchannel_frames = round(s.backchannel_max_s / FRAME_S)
        self._window_buckets = max(1, round(s.window_s / (FRAMES_PER_BUCKET * FRAME_S)))

        self.frame = 0  # joint frames seen
        self.rep_frames = 0
        self.customer_frames = 0
        self._buckets: deque[list[int]] = deque()  # [rep_frames, customer_frames] per bucket
        self._window_rep = 0
        self._window_customer = 0

        self._rep_run = 0  # length of the current rep speech run, frames
        self._rep_run_start = 0  # where it began
        self._customer_run = 0
        self._rep_silent = 10**9  # frames since the rep last spoke
        self._last_speech = -1  # last frame anyone spoke
        self._mono_start: int | None = None
        self._mono_last: int = 0
        self.longest_monologue_frames = 0

        self._candidate_overlap = 0  # overlap frames of a rep run that began over the customer
        self._candidate_start: int | None = None
        self.interruptions: list[Interrupted] = []
        self.overlaps = 0
        self._overlap_run = 0

        self._customer_spoke_last_end: int | None = None  # customer turn awaiting the rep's reply
        self.gaps_s: list[float] = []

    def step(self, rep: bool, customer: bool) -> TurnEvent | None:
        """Feeds one 30 ms joint frame; returns the event it completes, if any."""
        j = self.frame
        self.frame = j + 1
        event: TurnEvent | None = None
        if not self._buckets or self._bucket_fill >= FRAMES_PER_BUCKET:
            self._buckets.append([0, 0])
            self._bucket_fill = 0
            if len(self._buckets) > self._window_buckets:
                old = self._buckets.popleft()
                self._window_rep -= old[0]
                self._window_customer -= old[1]
        self._bucket_fill += 1
        bucket = self._buckets[-1]

        if customer:
            self.customer_frames += 1
            bucket[1] += 1
            self._window_customer += 1
            self._customer_run += 1
            self._last_speech = j
            if self._customer_run == self._floor_frames:
                self._mono_start = None  # the customer took the floor
                self._rep_run_start = j  # a rep run going on restarts it from here, at most
        elif self._customer_run:
            if not (rep and self._rep_run):  # a reply can start on this very frame
                self._customer_spoke_last_end = j
            self._customer_run = 0

        if rep:
            self.rep_frames += 1
            bucket[0] += 1
            self._window_rep += 1
            self._last_speech = j
            if self._rep_run == 0:
                event = self._rep_started(j, customer)
                self._rep_run_start = j
            self._rep_run += 1
            self._rep_silent = 0
            if self._mono_start is None and self._rep_run >= MONOLOGUE_MIN_RUN_FRAMES:
                self._mono_start = self._rep_run_start
            if self._mono_start is not None:
                self._mono_last = j
                length = j + 1 - self._mono_start
                if length > self.longest_monologue_frames:
                    self.longest_monologue_frames = length
            if self._candidate_start is not None:
                if customer:
                    self._candidate_overlap += 1
                if (
                    self._rep_run >= self._backchannel_frames
                    and self._candidate_overlap >= self._overlap_frames
                ):
                    event = Interrupted(
                        at_s=round(self._candidate_start * FRAME_S, 3),
                        overlap_s=round(self._candidate_overlap * FRAME_S, 3),
                    )
                    self.interruptions.append(event)
                    self._candidate_start = None
        else:
            self._rep_silent += 1
            if self._rep_silent >= RUN_GAP_FRAMES:
                self._rep_run = 0
                self._candidate_start = None
            if self._rep_silent >= self._pause_frames:
                self._mono_start = None

        if rep and customer:
            self._overlap_run += 1
            if self._overlap_run == self._overlap_frames:
                self.overlaps += 1
        else:
            self._overlap_run = 0
        return event

    _bucket_fill = 0

    def _rep_started(self, j: int, customer: bool) -> TurnEvent | None:
        if customer:
            self._candidate_start = j
            self._candidate_overlap = 0
            self._customer_spoke_last_end = None
            return None
        if self._customer_spoke_last_end is not None:
            gap_s = round((j - self._customer_spoke_last_end) * FRAME_S, 3)
            self._customer_spoke_last_end = None
            self.gaps_s.append(gap_s)
            return RepTurnStarted(at_s=round(j * FRAME_S, 3), gap_s=gap_s)
        return None

    def pause(self) -> None:
        """The session stopped being live: open runs end here, nothing spans the pause."""
        self._rep_run = self._customer_run = self._overlap_run = 0
        self._candidate_start = None
        self._customer_spoke_last_end = None
        self._mono_start = None

    # --- queries ------------------------------------------------------------------------

    @property
    def at_s(self) -> float:
        return round(self.frame * FRAME_S, 3)

    def talk_share(self) -> tuple[float, float]:
        """Whole-call (rep, customer) shares of speech time; (0, 0) before anyone spoke."""
        return _shares(self.rep_frames, self.customer_frames)

    def window_share(self) -> tuple[float, float]:
        """(rep, customer) shares over the rolling window."""
        return _shares(self._window_rep, self._window_customer)

    @property
    def window_speech_s(self) -> float:
        return (self._window_rep + self._window_customer) * FRAME_S

    @property
    def current_monologue_s(self) -> float:
        if self._mono_start is None:
            return 0.0
        return round((self._mono_last + 1 - self._mono_start) * FRAME_S, 3)

    @property
    def longest_monologue_s(self) -> float:
        return round(self.longest_monologue_frames * FRAME_S, 3)

    @property
    def silence_s(self) -> float:
        """Time since anyone last spoke; 0 before the conversation started."""
        if self._last_speech < 0:
            return 0.0
        return round((self.frame - 1 - self._last_speech) * FRAME_S, 3)

    def mean_gap_s(self, last_n: int) -> float | None:
        if not self.gaps_s:
            return None
        recent = self.gaps_s[-last_n:]
        return round(sum(recent) / len(recent), 3)

    def interruptions_since(self, since_s: float) -> int:
        return sum(1 for i in self.interruptions if i.at_s >= since_s)


def _shares(rep: int, customer: int) -> tuple[float, float]:
    total = rep + customer
    if total == 0:
        return 0.0, 0.0
    rep_share = round(rep / total, 4)
    return rep_share, round(1.0 - rep_share, 4)
