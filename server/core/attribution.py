"""Whose voice is it: cross-talk, background talk and noise on each party's microphone.

Pure. Each party's microphone also hears the other party (a shared room, a laptop speaker
playing the video call), other pairs practising nearby, and noise. Per joint frame, where
a microphone's VAD says "speech", this decides whether it is that party speaking:

- **leak**: both microphones carry voice, one much louder, and the quieter one holds a
  delayed copy of the louder (normalised cross-correlation at a lag of 0-20 ms): one voice
  heard twice, not an overlap;
- **background**: the voice is far below the party's own voice level, learned during the
  call (another pair, a colleague behind them, steady noise the VAD took for speech).

Real overlaps (two voices, each loudest on its own microphone, uncorrelated) stay overlaps.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from server.core.party import SILENCE_DBFS, FrameInfo
from server.core.vad import FRAME_SAMPLES

# A voice this far (dB) below the party's own voice level is not theirs. Levels are power
# means over the last 20 speech frames (600 ms); for one talker they stay within 4-6 dB
# below their median (espeak and recorded voices alike), while a neighbouring pair 10 dB
# down lies well under it.
OWN_MARGIN_DB = 6.0
SMOOTH_FRAMES = 20
# The 600 ms mean holds a voice for about 450 ms after it stopped; where babble or noise
# goes on at the same level, that tail would count as the party's speech (and overlap the
# reply). Where the last 150 ms are far below the own level and down at the level of what
# this microphone carries besides the party (its background frames, once 1 s of them was
# heard), the voice has ended. Without such a background (a clean microphone), soft word
# endings are the party's own.
SHORT_FRAMES = 5
SHORT_MARGIN_DB = 9.0
SHORT_OVER_BACKGROUND_DB = 3.0
BACKGROUND_MIN_FRAMES = 33
# The own-voice level is learned from the party's own frames (all voiced frames until it is
# first known), the last minute of them: their own voice is the loudest thing on their
# microphone, so it is the median of the levels within 10 dB of the loudest (98th
# percentile). Babble or noise heard before the party's first word does not hold it down
# once they speak. It applies once 3 s of speech were heard, and is renewed every 10 frames.
BASELINE_FRAMES = 2000
BASELINE_MIN_FRAMES = 100
BASELINE_EVERY_FRAMES = 10
TOP_PERCENTILE = 98.0
TOP_RANGE_DB = 10.0
# A frame this quiet holds nobody's voice (the VAD's own hangover, digital silence).
NO_VOICE_DBFS = -65.0
NO_VOICE_BELOW_OWN_DB = 35.0
# One voice heard twice: the quieter microphone is at least this much quieter ...
LEAK_MIN_GAP_DB = 3.0
# ... and correlates with the louder one at a lag of up to 20 ms (sound travels ~7 m;
# a laptop's speaker-to-microphone path adds a few ms).
LEAK_MAX_LAG_SAMPLES = 320
LEAK_ON_CORRELATION = 0.6
LEAK_OFF_CORRELATION = 0.45  # hysteresis: a leak stays a leak until the copy is gone
# A leak found, its track follows the lags within 0.5 ms of its peak: a head turning moves
# a path by a few centimetres (a sample is 2 cm of sound at 16 kHz).
LEAK_BAND_SAMPLES = 8
# Where the copy leaves those lags, the last 8 frames are searched again over every lag
# (0.7 ** 8: what came before them weighs 6 %).
REPLAY_FRAMES = 8
# A bridged pause is judged by the first voiced frames after it (up to 3), found within one
# hangover (vad.HANGOVER_FRAMES) and the frames that confirm speech after it.
BRIDGE_LOOKAHEAD_FRAMES = 14
ENDING_FRAMES = 3
# Correlation is accumulated over the frames of one direction (memory 0.7 per frame: about
# 100 ms) and starts afresh after 150 ms without a both-voiced frame.
TRACK_MEMORY = 0.7
TRACK_GAP_FRAMES = 5
# What each party's microphone heard per frame is kept this long (for recognition cuts).
HISTORY_FRAMES = 1500  # 45 s: longer than the longest utterance sent to recognition
# The microphone check looks at the last 20 s (speech frames, and all levels for the floor).
CHECK_FRAMES = 667
# Its quiet level is the 10th percentile of every frame's level over those 20 s: the quietest
# moments a microphone has (between words, while the other party speaks); and it says how
# much of the other party's speech this one was heard speaking through, once the other spoke
# for 2 s of the window.
QUIET_PERCENTILE = 10.0
TALK_OVER_MIN_FRAMES = 67


class Heard(IntEnum):
    """What a microphone carried in one frame, as attributed."""

    SILENCE = 0
    OWN = 1  # the party speaking
    LEAK = 2  # the other party's voice, heard twice
    BACKGROUND = 3  # far below the party's own voice: other people, noise


class _Microphone:
    """One party's microphone: own-voice level, recent levels, what each frame held."""

    __slots__ = (
        "own_levels",
        "recent",
        "recent_sum",
        "short_sum",
        "baseline_dbfs",
        "_since_baseline",
        "background_levels",
        "background_dbfs",
        "_since_background",
        "voice_ended",
        "history",
        "history_base",
        "prev",
        "window",
        "counts",
        "levels",
        "all_levels",
        "held_dbfs",
        "joint",
        "other_own",
        "talked_over",
        "counted_at_dbfs",
        "last",
        "track",
    )

    def __init__(self) -> None:
        self.own_levels = Ring(BASELINE_FRAMES)
        self.recent: deque[float] = deque(maxlen=SMOOTH_FRAMES)  # linear powers
        self.recent_sum = 0.0
        self.short_sum = 0.0  # of the last SHORT_FRAMES in `recent`
        self.baseline_dbfs: float | None = None
        self._since_baseline = 0
        self.background_levels = Ring(CHECK_FRAMES)
        self.background_dbfs: float | None = None  # what the VAD took for speech far below
        self._since_background = 0
        self.voice_ended = False  # the short level fell to the background (see `ended`)
        self.history: deque[Heard] = deque(maxlen=HISTORY_FRAMES)
        self.history_base = 0  # joint frame of history[0]
        self.prev: bytes | None = None  # the previous frame's samples (for lags)
        self.window: deque[Heard] = deque()  # what speech frames held, last CHECK_FRAMES
        self.counts = [0, 0, 0, 0]  # per Heard, over `window`
        # Read at each microphone check only (every 2 s): deques take a push for less.
        self.levels: deque[float] = deque(maxlen=CHECK_FRAMES)  # levels of unvoiced frames
        self.all_levels: deque[float] = deque(maxlen=CHECK_FRAMES)  # levels of every frame
        self.held_dbfs: float | None = None  # this frame's smoothed level, where it was voice
        # Per joint frame: 1 where the other party was speaking, 2 where this one was too.
        self.joint: deque[int] = deque()
        self.other_own = 0  # frames of `joint` where the other party was speaking
        self.talked_over = 0  # ... and this party too
        self.counted_at_dbfs: float | None = None  # the own level they were counted under
        self.last = Heard.OWN  # what its last voiced speech frame held
        self.track = _Track()  # correlation with the other microphone, while this one is louder

    def hear(self, level_dbfs: float) -> tuple[float, float]:
        """Takes a speech frame's level; returns the power means (dBFS) of the recent speech
        frames: the last `SMOOTH_FRAMES` and the last `SHORT_FRAMES`."""
        power = 10.0 ** (level_dbfs / 10.0)
        recent = self.recent
        if len(recent) == SMOOTH_FRAMES:
            self.recent_sum -= recent[0]
        if len(recent) >= SHORT_FRAMES:
            self.short_sum -= recent[-SHORT_FRAMES]
        recent.append(power)
        self.recent_sum += power
        self.short_sum += power
        return _dbfs(self.recent_sum / len(recent)), _dbfs(
            self.short_sum / min(len(recent), SHORT_FRAMES)
        )

    def silent(self, frame: FrameInfo | None) -> bool:
        """Whether this microphone holds nobody's voice in `frame` (False when unknown)."""
        return frame is not None and frame.level_dbfs < self.silent_below_dbfs()

    def silent_below_dbfs(self) -> float:
        """Frames under this hold no voice of anyone, whatever the VAD said."""
        if self.baseline_dbfs is None:
            return NO_VOICE_DBFS
        return max(NO_VOICE_DBFS, self.baseline_dbfs - NO_VOICE_BELOW_OWN_DB)

    def ended_by_other(
        self,
        frame: FrameInfo | None,
        ahead: Sequence[FrameInfo] | None,
        other_ahead: Sequence[FrameInfo] | None,
    ) -> bool | None:
        """Whether `frame`, a pause the smoother bridged, ends in the other party's voice;
        None while the frames that tell have not all arrived.

        The smoother bridges a pause under 300 ms inside speech; where what ends it on this
        microphone is the other party's reply heard twice (its own microphone louder by a
        leak's gap), the pause was the turn change, not this party's speech. A stereo device
        with both voices 6 dB apart lost 5 s a call to such pauses (bench_rooms, stereo-6db).
        """
        if frame is None or ahead is None or other_ahead is None:
            return False
        quiet = self.silent_below_dbfs()
        if frame.voiced and frame.level_dbfs >= quiet:
            return False
        for k in range(1, BRIDGE_LOOKAHEAD_FRAMES):
            if k >= len(ahead):
                return None
            if ahead[k].voiced and ahead[k].level_dbfs >= quiet:
                voice = range(k, k + ENDING_FRAMES)
                if len(ahead) < voice.stop or len(other_ahead) < voice.stop:
                    return None
                here = _mean_dbfs([ahead[i].level_dbfs for i in voice])
                there = _mean_dbfs([other_ahead[i].level_dbfs for i in voice])
                return other_ahead[k].voiced and there - here >= LEAK_MIN_GAP_DB
        return False

    def ended(self, level_dbfs: float, short_dbfs: float, baseline_dbfs: float) -> bool:
        """Whether the last few frames are back down at the background: the voice ended.

        Once ended, it stays ended until a frame is back near the own level (the
        background's louder syllables do not restart it).
        """
        if self.voice_ended:
            self.voice_ended = level_dbfs < baseline_dbfs - OWN_MARGIN_DB
        else:
            self.voice_ended = (
                short_dbfs < baseline_dbfs - SHORT_MARGIN_DB
                and self.background_dbfs is not None
                and short_dbfs < self.background_dbfs + SHORT_OVER_BACKGROUND_DB
            )
        return self.voice_ended

    def background(self, smoothed_dbfs: float) -> None:
        """Takes the smoothed level of a voiced frame found far below the own voice."""
        self.background_levels.append(smoothed_dbfs)
        self._since_background += 1
        if (
            len(self.background_levels) >= BACKGROUND_MIN_FRAMES
            and self._since_background >= BASELINE_EVERY_FRAMES
        ):
            self.background_dbfs = median(self.background_levels.values())
            self._since_background = 0

    def learn(self, smoothed_dbfs: float) -> None:
        """Takes the smoothed level of a voiced frame found to be the party's own."""
        self.own_levels.append(smoothed_dbfs)
        self._since_baseline += 1
        if (
            len(self.own_levels) >= BASELINE_MIN_FRAMES
            and self._since_baseline >= BASELINE_EVERY_FRAMES
        ):
            self.baseline_dbfs = own_level_dbfs(self.own_levels.values())
            self._since_baseline = 0
            if self.counted_at_dbfs is None or (
                abs(self.baseline_dbfs - self.counted_at_dbfs) >= OWN_MARGIN_DB
            ):
                self._relearn(self.baseline_dbfs)

    def _relearn(self, baseline_dbfs: float) -> None:
        """The own level was first learned, or moved by a margin or more (babble taken for
        the party's voice before they spoke): what was counted under the old one is redone.

        Levels far below the new one were background all along (they give the background
        level at once); how this party talked over the other is counted afresh.
        """
        self.counted_at_dbfs = baseline_dbfs
        below = baseline_dbfs - OWN_MARGIN_DB
        levels = self.own_levels.oldest_first()
        self.background_levels.extend(levels[levels < below])
        self.own_levels.clear()
        self.own_levels.extend(levels[levels >= below])
        if len(self.background_levels) >= BACKGROUND_MIN_FRAMES:
            self.background_dbfs = median(self.background_levels.values())
        self.joint.clear()
        self.other_own = self.talked_over = 0

    def record(self, frame: int, heard: Heard, other: Heard, info: FrameInfo | None) -> None:
        if not self.history or frame != self.history_base + len(self.history):
            self.history.clear()
            self.history_base = frame
        elif len(self.history) == self.history.maxlen:
            self.history_base += 1
        self.history.append(heard)
        if info is not None:
            self.all_levels.append(
                self.held_dbfs if self.held_dbfs is not None else info.level_dbfs
            )
            if not info.voiced:
                self.levels.append(info.level_dbfs)  # what the microphone carries between words
        both = 0 if other is not Heard.OWN else 2 if heard is Heard.OWN else 1
        self.joint.append(both)
        self.other_own += both > 0
        self.talked_over += both == 2
        if len(self.joint) > CHECK_FRAMES:
            gone = self.joint.popleft()
            self.other_own -= gone > 0
            self.talked_over -= gone == 2
        if heard is not Heard.SILENCE:
            self.window.append(heard)
            self.counts[heard] += 1
            if len(self.window) > CHECK_FRAMES:
                self.counts[self.window.popleft()] -= 1

    def stats(self) -> MicStats:
        # The noise floor: the median level between words (unknown, so silent, with too few).
        floor = median(_array(self.levels)) if len(self.levels) >= 33 else SILENCE_DBFS
        return MicStats(
            speech_frames=len(self.window),
            own_frames=self.counts[Heard.OWN],
            leak_frames=self.counts[Heard.LEAK],
            background_frames=self.counts[Heard.BACKGROUND],
            voice_dbfs=self.baseline_dbfs,
            floor_dbfs=floor,
            quiet_dbfs=(
                percentile(_array(self.all_levels), QUIET_PERCENTILE)
                if self.all_levels
                else SILENCE_DBFS
            ),
            talk_over_share=(
                self.talked_over / self.other_own
                if self.other_own >= TALK_OVER_MIN_FRAMES
                else None
            ),
        )


@dataclass(frozen=True, slots=True)
class MicStats:
    """What one microphone carried over the last 20 s, for the microphone check."""

    speech_frames: int  # frames its VAD called speech
    own_frames: int
    leak_frames: int
    background_frames: int
    voice_dbfs: float | None  # the party's own voice level, once learned
    floor_dbfs: float  # the median level of unvoiced frames: the noise between words
    quiet_dbfs: float  # the 10th percentile of all frame levels: its quietest moments
    # The share of the other party's speech frames in which this party was heard speaking
    # too (None before the other spoke for 2 s of the window).
    talk_over_share: float | None


class Attribution:
    """Attributes each joint frame's voice to the party who is speaking."""

    def __init__(self) -> None:
        self.rep = _Microphone()
        self.customer = _Microphone()
        self._leak_from_rep = False  # the customer's microphone carries the rep's voice
        self._leak_from_customer = False

    def settled(
        self,
        rep: bool,
        customer: bool,
        rep_frame: FrameInfo | None,
        customer_frame: FrameInfo | None,
        rep_ahead: Sequence[FrameInfo] | None,
        customer_ahead: Sequence[FrameInfo] | None,
    ) -> bool:
        """Whether `step` can judge this frame from what arrived: a bridged pause waits for
        the voice that ended it on both microphones (at most `BRIDGE_LOOKAHEAD_FRAMES` +
        `ENDING_FRAMES`), so that how the audio was chunked never changes the verdict."""
        return not (
            rep and self.rep.ended_by_other(rep_frame, rep_ahead, customer_ahead) is None
        ) and not (
            customer
            and self.customer.ended_by_other(customer_frame, customer_ahead, rep_ahead) is None
        )

    def step(
        self,
        frame: int,
        rep: bool,
        customer: bool,
        rep_frame: FrameInfo | None,
        customer_frame: FrameInfo | None,
        rep_ahead: Sequence[FrameInfo] | None = None,
        customer_ahead: Sequence[FrameInfo] | None = None,
    ) -> tuple[Heard, Heard]:
        """What each microphone carried in joint frame `frame`.

        Args:
            frame: The joint frame index.
            rep, customer: The parties' decided speech labels (VAD and smoothing).
            rep_frame, customer_frame: The frames themselves (None for a lagging party).
            rep_ahead, customer_ahead: Each microphone's frames from `frame` on, as far as
                they arrived (decided or not): what ends a pause the smoother bridged.
        """
        r_heard = c_heard = Heard.SILENCE
        if rep and customer and rep_frame is not None and customer_frame is not None:
            gap_db = rep_frame.level_dbfs - customer_frame.level_dbfs
            if gap_db >= LEAK_MIN_GAP_DB:
                self._leak_from_rep = self._copied(
                    frame, self.rep, rep_frame, customer_frame, self._leak_from_rep
                )
                self._leak_from_customer = False
            elif -gap_db >= LEAK_MIN_GAP_DB:
                self._leak_from_customer = self._copied(
                    frame, self.customer, customer_frame, rep_frame, self._leak_from_customer
                )
                self._leak_from_rep = False
            else:
                self._leak_from_rep = self._leak_from_customer = False
        else:
            self._leak_from_rep = self._leak_from_customer = False
        self.rep.held_dbfs = self.customer.held_dbfs = None
        if rep:
            r_heard = self._judge(
                self.rep, rep_frame, self._leak_from_customer, self.customer.silent(customer_frame)
            )
            if r_heard is Heard.OWN and self.rep.ended_by_other(
                rep_frame, rep_ahead, customer_ahead
            ):
                r_heard = Heard.SILENCE
        if customer:
            c_heard = self._judge(
                self.customer, customer_frame, self._leak_from_rep, self.rep.silent(rep_frame)
            )
            if c_heard is Heard.OWN and self.customer.ended_by_other(
                customer_frame, customer_ahead, rep_ahead
            ):
                c_heard = Heard.SILENCE
        self.rep.prev = rep_frame.pcm if rep_frame is not None else None
        self.customer.prev = customer_frame.pcm if customer_frame is not None else None
        self.rep.record(frame, r_heard, c_heard, rep_frame)
        self.customer.record(frame, c_heard, r_heard, customer_frame)
        return r_heard, c_heard

    def _judge(
        self, mic: _Microphone, frame: FrameInfo | None, leaked: bool, other_silent: bool
    ) -> Heard:
        if leaked:
            mic.last = Heard.LEAK  # a pause bridged after it is still the other's voice
            return Heard.LEAK
        if frame is None or not frame.voiced or frame.level_dbfs < mic.silent_below_dbfs():
            return mic.last  # a pause bridged inside speech belongs to the speech around it
        baseline = mic.baseline_dbfs
        if (
            mic.last is Heard.LEAK
            and other_silent
            and baseline is not None
            and frame.level_dbfs < baseline - OWN_MARGIN_DB
        ):
            # The tail of the other's voice after their own microphone fell silent (the copy
            # arrives late, with the room's echo): still the leak, not this party. Judged
            # by its level, such a frame takes the 600 ms mean of this party's last words
            # for its own, and the pause bridged after it becomes theirs too.
            return Heard.LEAK
        smoothed, short = mic.hear(frame.level_dbfs)
        mic.held_dbfs = smoothed
        if baseline is not None and (
            mic.ended(frame.level_dbfs, short, baseline) | (smoothed < baseline - OWN_MARGIN_DB)
        ):
            mic.last = Heard.BACKGROUND
            mic.background(smoothed)
        else:
            mic.last = Heard.OWN
            mic.learn(smoothed)
        return mic.last

    def _copied(
        self, frame: int, louder: _Microphone, loud: FrameInfo, quiet: FrameInfo, was: bool
    ) -> bool:
        """Whether the quieter frame is a delayed copy of the louder microphone's sound.

        The cross-correlation is accumulated over the last few frames of this direction: a
        leak keeps one lag (one sound path), two voices do not, so a short memory separates
        them far better than one 30 ms frame can.
        """
        if frame - louder.track.last_frame > TRACK_GAP_FRAMES:
            louder.track = _Track()
        track = louder.track
        rho, lag = track.update(louder.prev, loud.pcm, quiet.pcm, frame)
        threshold = LEAK_OFF_CORRELATION if was else LEAK_ON_CORRELATION
        if rho < threshold and track.lags is not None:
            rho, lag = track.widen()  # the copy left the lags followed: where is it now?
        copied = rho >= threshold
        if copied and track.lags is None:
            track.follow(lag)
        return copied

    def heard(self, speaker_is_rep: bool, start_frame: int, n_frames: int) -> list[Heard]:
        """What one microphone carried over joint frames [start, start + n) (SILENCE if unknown)."""
        mic = self.rep if speaker_is_rep else self.customer
        out = []
        for j in range(start_frame, start_frame + n_frames):
            k = j - mic.history_base
            out.append(mic.history[k] if 0 <= k < len(mic.history) else Heard.SILENCE)
        return out


def _mean_dbfs(levels_dbfs: list[float]) -> float:
    return _dbfs(sum(10.0 ** (x / 10.0) for x in levels_dbfs) / len(levels_dbfs))


def _dbfs(power: float) -> float:
    return 10.0 * math.log10(max(power, 1e-10))


class Ring:
    """The last `size` values pushed (float64), for statistics that need no order (medians,
    percentiles): they read the storage itself, where a deque was copied into an array for
    every one (a third of attribution's numpy time)."""

    __slots__ = ("_values", "_size", "_n", "_next")

    def __init__(self, size: int) -> None:
        self._values = np.empty(size, dtype=np.float64)
        self._size = size
        self._n = 0
        self._next = 0

    def __len__(self) -> int:
        return self._n

    def append(self, value: float) -> None:
        self._values[self._next] = value
        self._next = (self._next + 1) % self._size
        if self._n < self._size:
            self._n += 1

    def extend(self, values: np.ndarray) -> None:
        for value in values.tolist():
            self.append(value)

    def clear(self) -> None:
        self._n = self._next = 0

    def values(self) -> np.ndarray:
        """The values held, in no particular order (a view: read it before the next push)."""
        return self._values[: self._n]

    def oldest_first(self) -> np.ndarray:
        """The values held, oldest first (a copy)."""
        if self._n < self._size:
            return self._values[: self._n].copy()
        return np.concatenate((self._values[self._next :], self._values[: self._next]))


def _array(values: deque[float]) -> np.ndarray:
    return np.fromiter(values, dtype=np.float64, count=len(values))


def median(levels: np.ndarray) -> float:
    """np.median of `levels`, the same to the last bit, in a third of the time (it runs every
    10 frames of background)."""
    half = len(levels) // 2
    if len(levels) % 2:
        return float(np.partition(levels, half)[half])
    levels = np.partition(levels, (half - 1, half))
    return float((levels[half - 1] + levels[half]) / 2)


def own_level_dbfs(levels_dbfs: np.ndarray) -> float:
    """The party's own voice level from the smoothed levels of their voiced frames.

    Their own voice is the loudest thing on their microphone: the median of the levels
    within `TOP_RANGE_DB` of the loudest (a high percentile, so that a moment of shouting
    or a bang does not set it) leaves out the babble, noise and quieter talk the VAD also
    called speech, however much of it there was.
    """
    # One sort instead of np.percentile and np.median (a sixth of the time; it runs every
    # 10 speech frames): the same linear interpolation, the same values to the last bit.
    levels = np.sort(levels_dbfs)
    n = len(levels)
    top = _interpolate(levels, (n - 1) * (TOP_PERCENTILE / 100.0))
    first = int(np.searchsorted(levels, top - TOP_RANGE_DB, side="left"))
    middle = first + (n - first) // 2
    if (n - first) % 2:
        return float(levels[middle])
    return float((levels[middle - 1] + levels[middle]) / 2)


def percentile(values: np.ndarray, q: float) -> float:
    """np.percentile(values, q), the same to the last bit, at a fifth of the cost: one
    partition (it runs at every microphone check)."""
    n = len(values)
    position = (n - 1) * (q / 100.0)
    below = int(position)
    return _interpolate(np.partition(values, (below, min(below + 1, n - 1))), position)


def _interpolate(levels: np.ndarray, position: float) -> float:
    """numpy's linear percentile at fractional index `position` of `levels`, which hold
    their sorted values at least at its two neighbours."""
    below = int(position)
    fraction = position - below
    a, b = float(levels[below]), float(levels[min(below + 1, len(levels) - 1)])
    return b - (b - a) * (1.0 - fraction) if fraction >= 0.5 else a + (b - a) * fraction


class _Track:
    """Cross-correlation of one microphone pair, accumulated with a short memory.

    Every lag is searched until a leak is found; from then on only the lags around its peak
    (`LEAK_BAND_SAMPLES`): one sound path keeps one delay, and following it costs a tenth.
    """

    __slots__ = ("dots", "windows", "energy", "last_frame", "lags", "recent")

    def __init__(self) -> None:
        self.dots: np.ndarray | None = None
        self.windows: np.ndarray | None = None
        self.energy = 0.0
        self.last_frame = -1
        self.lags: tuple[int, int] | None = None  # the lag indexes followed, [start, stop)
        # The last frames added (the louder one's previous, the louder, the quieter), to
        # search every lag again with the memory that a search of every lag would have had.
        self.recent: deque[tuple[bytes | None, bytes, bytes]] = deque(maxlen=REPLAY_FRAMES)

    def update(
        self, prev_loud: bytes | None, loud: bytes, quiet: bytes, frame: int
    ) -> tuple[float, int]:
        """Adds one frame; returns the peak normalised correlation over the lags followed
        (0-20 ms until `follow`) and the lag index where it is (`LEAK_MAX_LAG_SAMPLES` - the
        delay in samples)."""
        self.recent.append((prev_loud, loud, quiet))
        self.last_frame = frame
        return self._add(prev_loud, loud, quiet)

    def follow(self, lag: int) -> None:
        """From now on, only the lags within `LEAK_BAND_SAMPLES` of `lag` (a lag index)."""
        start = max(0, lag - LEAK_BAND_SAMPLES)
        stop = min(LEAK_MAX_LAG_SAMPLES + 1, lag + LEAK_BAND_SAMPLES + 1)
        if self.dots is not None and self.windows is not None:
            self.dots = self.dots[start:stop].copy()
            self.windows = self.windows[start:stop].copy()
        self.lags = (start, stop)

    def widen(self) -> tuple[float, int]:
        """Every lag again: the recent frames are added afresh over all of them (the memory
        before them weighs under a tenth). Returns what `update` returns, for the last."""
        self.dots = self.windows = None
        self.energy = 0.0
        self.lags = None
        result = (0.0, 0)
        for prev_loud, loud, quiet in self.recent:
            result = self._add(prev_loud, loud, quiet)
        return result

    def _add(self, prev_loud: bytes | None, loud: bytes, quiet: bytes) -> tuple[float, int]:
        y = np.frombuffer(quiet, dtype="<i2").astype(np.float32)
        head = prev_loud[-2 * LEAK_MAX_LAG_SAMPLES :] if prev_loud is not None else _SILENT_HEAD
        x = np.frombuffer(head + loud, dtype="<i2").astype(np.float32)
        start, stop = self.lags or (0, LEAK_MAX_LAG_SAMPLES + 1)
        x = x[start : stop - 1 + FRAME_SAMPLES]
        dots = np.correlate(x, y, mode="valid")
        # The energy of x under each lag's window: differences of its running sum (float32
        # sums, float64 differences; the window at the first lag starts from an empty sum).
        sums = np.cumsum(x * x)
        windows = sums[FRAME_SAMPLES - 1 :].astype(np.float64)
        windows[1:] -= sums[:-FRAME_SAMPLES]
        energy = float(np.dot(y, y))
        if self.dots is None or self.windows is None:
            self.dots, self.windows, self.energy = dots, windows, energy
        else:
            self.dots = TRACK_MEMORY * self.dots + dots
            self.windows = TRACK_MEMORY * self.windows + windows
            self.energy = TRACK_MEMORY * self.energy + energy
        if self.energy <= 0.0:
            return 0.0, start
        rho = self.dots / np.sqrt(np.maximum(self.windows * self.energy, 1e-9))
        peak = int(rho.argmax())
        return float(rho[peak]), start + peak


_SILENT_HEAD = bytes(2 * LEAK_MAX_LAG_SAMPLES)
