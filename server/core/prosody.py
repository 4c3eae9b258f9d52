"""Intonation and volume of one speaker from audio alone: pitch spread and speech level.

Pure and streaming: fed 30 ms PCM16 frames with the VAD's verdict, it keeps the pitch and
level of the speaker's voiced frames and compares the last 30 s with the speaker's own
first minute. No I/O, no clock (time is the caller's audio time); numpy only.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from server.core.vad import FRAME_BYTES, FRAME_S, FRAME_SAMPLES, RATE_HZ

# Pitch search range: 65 Hz is below most low male voices (vocal fry aside), 400 Hz above
# most raised female voices; a wider range costs lags and invites octave errors. Not 60:
# 60 Hz mains hum under jfk.flac read as a run of "60 Hz" pitch frames.
F0_MIN_HZ = 65.0
F0_MAX_HZ = 400.0
# Pitch is estimated on 40 ms (the current 30 ms frame plus the last 10 ms of the frame
# before): at the longest lag (247 samples, 65 Hz) YIN still integrates over 393 samples
# (25 ms, 1.6 periods).
PITCH_WINDOW_SAMPLES = 640
# YIN's threshold on the cumulative-mean-normalised difference: a frame is periodic when
# some lag in range dips below it. At 0.2, 48-70% of VAD-voiced frames get a pitch on the
# espeak-ng fixtures and 36-50% on the real clips (the rest are consonants and pauses);
# 0.3 pitched ~20% more frames but widened jfk.flac's spread from 6.2 to 7.9 st with
# doubtful frames; 0.1 dropped a third of the frames for no change in the spreads. White
# noise never passes (test_prosody.py).
YIN_THRESHOLD = 0.2
# Frames quieter than this carry no pitch: the rest of the estimator would happily find a
# period in a dither pattern or mains hum. -60 dBFS is 30-40 dB under the speech measured
# (-21 to -31 dBFS) and 18 dB under the soft fixture (-42 dBFS).
MIN_PITCH_LEVEL_DBFS = -60.0
# Pitch is estimated in batches of this many frames (or at the next query): a frame costs
# half of what it did alone (bench_prosody.py). Holds at most 80 KB of samples.
SETTLE_FRAMES = 64

# coaching.md: "spread of the rep's pitch (semitones) over 30 s of voiced speech".
WINDOW_S = 30.0
# coaching.md: "against the rep's own first minutes": the first 60 s of voiced speech.
BASELINE_S = 60.0
# Spread = the 10th-to-90th percentile range of the pitch in semitones. Percentiles, not
# the standard deviation: an octave error (12 st) on a few percent of frames would blow up
# a std but leaves p10..p90 where it was; and it reads as "the band the voice moves in".
SPREAD_LOW_PERCENTILE = 10.0
SPREAD_HIGH_PERCENTILE = 90.0

# Monotone rule defaults (is_monotone), from bench/bench_prosody.py --real. Spreads over
# ~10 s of speech: espeak-ng SSML range x-low (flat) 1.0 st male / 1.2 st female, medium
# (espeak's default) 3.4 / 4.4, x-high (lively) 5.5 / 6.8; real single-speaker recordings
# in ../shared/audio 4.8 to 11.6 st. Successive 10 s windows of one real reader vary by
# about +-7% (7.7 to 8.9 st), so a drop to under 60% of the baseline is a real change, AND
# the window must be under an absolute 2.5 st, below every real recording measured, so a
# lively speaker who merely calms down from 9 st to 5 st is not called monotone.
MONOTONE_RATIO = 0.6
MONOTONE_FLOOR_ST = 2.5
# Pitched speech needed on each side before judging: 10 s is 333 pitched frames, so p10
# and p90 each rest on some 33 frames rather than a handful.
MIN_PITCHED_S = 10.0

# Volume rule defaults (volume_issue): 8 dB is a clearly audible change (~1.7x in
# perceived loudness) and well beyond the ~2 dB that the level of one real reader drifts
# between 10 s windows (multilingual.mp3). The rule is relative because the absolute level
# depends on the microphone and its gain.
SOFT_DB = -8.0
LOUD_DB = 8.0

# Full-scale reference for dBFS: RMS of a full-scale square wave (a full-scale sine reads
# -3.0 dBFS).
_FULL_SCALE = 32768.0
_NO_AUDIO_DBFS = -120.0


class VolumeIssue(StrEnum):
    """What `volume_issue` found wrong with the speaker's level."""

    SOFT = "soft"
    LOUD = "loud"


def semitones(f0_hz: float | np.ndarray, ref_hz: float) -> float | np.ndarray:
    """Pitch in semitones above `ref_hz` (negative below): 12 per octave.

    Semitones, not hertz, because perceived pitch movement is logarithmic: a 20 Hz swing is
    large for a 90 Hz voice and small for a 250 Hz one, while 3 st means the same to both.
    """
    return 12.0 * np.log2(np.asarray(f0_hz, dtype=np.float64) / ref_hz)


def level_dbfs(frame: np.ndarray) -> float:
    """RMS level of PCM16-scaled samples in dB relative to full scale.

    Args:
        frame: samples on the int16 scale (int16 or float).

    Returns:
        The level; -120.0 for digital silence.
    """
    x = np.asarray(frame, dtype=np.float32)
    power = float(np.dot(x, x)) / max(1, x.size)
    if power <= 0.0:
        return _NO_AUDIO_DBFS
    return 10.0 * math.log10(power / (_FULL_SCALE * _FULL_SCALE))


@functools.cache
def _lags(lag_max: int) -> np.ndarray:
    return np.arange(1, lag_max + 1, dtype=np.float64)


def estimate_f0_hz(
    frame: np.ndarray,
    rate_hz: int = RATE_HZ,
    fmin_hz: float = F0_MIN_HZ,
    fmax_hz: float = F0_MAX_HZ,
    threshold: float = YIN_THRESHOLD,
) -> float | None:
    """Fundamental frequency of one short frame, or None when it is not periodic.

    One row of `estimate_f0_batch_hz`, which says how.

    Raises:
        ValueError: the frame is too short for `fmin_hz`.
    """
    f0 = float(
        estimate_f0_batch_hz(np.asarray(frame)[None, :], rate_hz, fmin_hz, fmax_hz, threshold)[0]
    )
    return None if math.isnan(f0) else f0


def estimate_f0_batch_hz(
    frames: np.ndarray,
    rate_hz: int = RATE_HZ,
    fmin_hz: float = F0_MIN_HZ,
    fmax_hz: float = F0_MAX_HZ,
    threshold: float = YIN_THRESHOLD,
) -> np.ndarray:
    """Fundamental frequency of each row of `frames` (NaN where it is not periodic).

    YIN (de Cheveigné and Kawahara 2002), vectorised over frames: the difference function
    comes from one cross-correlation and two running sums, d(t) = e(0) + e(t) - 2 r(t), over
    an integration window of `frame length - rate_hz / fmin_hz` samples. The first lag whose
    cumulative-mean-normalised difference dips under `threshold`, followed down to its
    minimum (the first dip, not the deepest, avoids sub-octave errors), wins, refined to a
    fraction of a sample with a parabola. Rows go through numpy together: one frame at a time,
    numpy's call overhead was most of the cost.

    Args:
        frames: (n, samples) on any scale; rows need more than `rate_hz / fmin_hz` samples.
        rate_hz: sample rate.
        fmin_hz: lowest pitch searched.
        fmax_hz: highest pitch searched.
        threshold: YIN's aperiodicity threshold (0..1; lower is stricter).

    Returns:
        (n,) pitches in hertz; NaN for silence, noise and unvoiced sounds.

    Raises:
        ValueError: the frames are too short for `fmin_hz`.
    """
    x = np.asarray(frames, dtype=np.float64)
    rows, n = x.shape
    lag_max = int(math.ceil(rate_hz / fmin_hz))
    lag_min = max(2, int(math.floor(rate_hz / fmax_hz)))
    width = n - lag_max
    if width < lag_min:
        raise ValueError(f"frame of {n} samples is too short for fmin_hz={fmin_hz} at {rate_hz} Hz")
    f0 = np.full(rows, np.nan)
    if rows == 0:
        return f0
    # r[t] = sum x[j] x[j + t], j < width, t = 0..lag_max: a circular correlation over the
    # n samples never wraps for these lags (j + t < n). The difference function ignores a
    # DC offset, so there is no mean to remove.
    spectrum = np.fft.rfft(x, n)
    head = np.fft.rfft(x[:, :width], n)
    r = np.fft.irfft(np.conj(head) * spectrum, n)[:, : lag_max + 1]
    squares = np.zeros((rows, n + 1))
    np.cumsum(x * x, axis=1, out=squares[:, 1:])
    energy = squares[:, width : width + lag_max + 1] - squares[:, : lag_max + 1]  # e(t)
    diff = energy[:, :1] + energy - 2.0 * r
    running = np.cumsum(diff[:, 1:], axis=1)
    running[running <= 0.0] = 1e-12
    cmnd = diff[:, 1:] * _lags(lag_max) / running  # cmnd[:, k] is lag k + 1
    dips = cmnd[:, lag_min - 1 :] < threshold
    found = dips.any(axis=1) & (energy[:, 0] > 0.0)
    if not found.any():
        return f0
    which = np.flatnonzero(found)
    cmnd = cmnd[which]
    first = dips[which].argmax(axis=1) + lag_min - 1
    # Down to the dip's minimum: the first k from `first` on where cmnd stops falling.
    last = lag_max - 1
    columns = np.arange(last)
    stops = (cmnd[:, 1:] >= cmnd[:, :-1]) & (columns >= first[:, None])
    k = np.where(stops.any(axis=1), stops.argmax(axis=1), last)
    inside = k < last  # else still falling at the longest lag: the period lies beyond fmin_hz
    which, cmnd, k = which[inside], cmnd[inside], k[inside]
    at = np.arange(k.size)
    left, mid, right = cmnd[at, k - 1], cmnd[at, k], cmnd[at, k + 1]
    curvature = left - 2.0 * mid + right
    shift = np.where(
        curvature > 0.0, 0.5 * (left - right) / np.where(curvature > 0.0, curvature, 1.0), 0.0
    )
    pitch = rate_hz / (k + 1 + shift)
    pitch[(pitch < fmin_hz) | (pitch > fmax_hz)] = np.nan
    f0[which] = pitch
    return f0


@dataclass(frozen=True, slots=True)
class ProsodySnapshot:
    """The speaker's intonation and level now and at the start, for the rules.

    Windows count the speaker's voiced speech (frames the VAD marked voiced), not wall
    time: "the last 30 s" is the last 30 s that the speaker spoke.
    """

    at_s: float  # audio time of the last frame fed
    voiced_s: float  # VAD-voiced speech in the window (at most the window)
    pitched_s: float  # of which frames with a pitch
    median_f0_hz: float | None
    spread_st: float | None  # p10..p90 pitch range in semitones over the window
    level_dbfs: float | None  # median level of the window's pitched frames
    baseline_voiced_s: float  # VAD-voiced speech in the baseline so far
    baseline_pitched_s: float
    baseline_complete: bool  # the baseline holds its full `BASELINE_S` of voiced speech
    baseline_spread_st: float | None
    baseline_level_dbfs: float | None


def _spread_st(f0_hz: np.ndarray) -> float | None:
    if f0_hz.size < 2:
        return None
    low, high = np.percentile(np.log2(f0_hz), (SPREAD_LOW_PERCENTILE, SPREAD_HIGH_PERCENTILE))
    return float(12.0 * (high - low))


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if values.size else None


class ProsodyTracker:
    """Pitch and level of one speaker's voiced frames: the recent window and the baseline.

    Call `feed` with every 30 ms frame of the speaker in order (voiced or not: unvoiced
    frames cost nothing but keep the pitch window's 10 ms of history contiguous). Only
    frames marked voiced are analysed and counted. Query at any time.
    """

    __slots__ = (
        "_window_frames",
        "_baseline_frames",
        "_f0",
        "_level",
        "_n_voiced",
        "_baseline_f0",
        "_baseline_level",
        "_n_baseline",
        "_baseline_cache",
        "_tail",
        "_next_at_s",
        "_at_s",
        "_pitch_every",
        "_skip",
        "_windows",
        "_slots",
        "_levels",
    )

    def __init__(
        self,
        window_s: float = WINDOW_S,
        baseline_s: float = BASELINE_S,
        pitch_every_frames: int = 1,
    ) -> None:
        """Creates an empty tracker.

        Args:
            window_s: seconds of voiced speech in the recent window.
            baseline_s: seconds of the speaker's first voiced speech that form the baseline.
            pitch_every_frames: estimate pitch (and take the level) on every n-th voiced
                frame only (1 = all): a cost knob for crowded servers. Pitched seconds
                are then counted as n frames each, so `min_pitched_s` keeps its meaning.
        """
        if pitch_every_frames < 1:
            raise ValueError(f"pitch_every_frames must be >= 1, got {pitch_every_frames}")
        self._window_frames = max(1, round(window_s / FRAME_S))
        self._baseline_frames = max(1, round(baseline_s / FRAME_S))
        # Per voiced frame: pitch in Hz (NaN when unpitched) and level in dBFS; rings.
        self._f0 = np.full(self._window_frames, np.nan)
        self._level = np.full(self._window_frames, np.nan)
        self._n_voiced = 0
        self._baseline_f0 = np.full(self._baseline_frames, np.nan)
        self._baseline_level = np.full(self._baseline_frames, np.nan)
        self._n_baseline = 0
        self._baseline_cache: tuple[float | None, float | None] | None = None
        self._tail = bytes(FRAME_BYTES)  # the previous frame: its last 10 ms extend the window
        self._next_at_s: float | None = None
        self._at_s = 0.0
        self._pitch_every = pitch_every_frames
        self._skip = 0
        # Frames whose pitch is not estimated yet (`_settle`): their 40 ms of samples, their
        # voiced-frame counts and baseline slots (-1: none), and their levels.
        self._windows: list[bytes] = []
        self._slots: list[tuple[int, int]] = []
        self._levels: list[float] = []

    def feed(
        self, frame_pcm: bytes, voiced: bool, at_s: float, frame_dbfs: float | None = None
    ) -> None:
        """Takes the speaker's next 30 ms frame.

        Args:
            frame_pcm: 480 samples of 16 kHz PCM16 (960 bytes).
            voiced: the VAD's verdict on this frame; unvoiced frames are not analysed.
            at_s: audio time of the frame's start. A gap since the previous frame
                (dropped audio) drops the 10 ms of history instead of splicing across it.
            frame_dbfs: the frame's RMS level, where the caller has it already.

        Raises:
            ValueError: the frame is not 960 bytes.
        """
        if len(frame_pcm) != FRAME_BYTES:
            raise ValueError(f"frame of {len(frame_pcm)} bytes; expected {FRAME_BYTES}")
        contiguous = self._next_at_s is not None and abs(at_s - self._next_at_s) < 1e-3
        self._next_at_s = at_s + FRAME_S
        self._at_s = at_s
        tail = self._tail
        self._tail = frame_pcm
        if not voiced:
            return
        level = (
            frame_dbfs
            if frame_dbfs is not None
            else level_dbfs(np.frombuffer(frame_pcm, dtype=np.int16))
        )
        n = self._n_voiced
        if self._slots and n - self._slots[0][0] >= self._window_frames:
            self._settle()  # this frame takes the ring slot of the oldest waiting one
        self._n_voiced += 1
        baseline = -1
        if self._n_baseline < self._baseline_frames:
            baseline = self._n_baseline
            self._n_baseline += 1
        self._skip -= 1
        if level >= MIN_PITCH_LEVEL_DBFS and self._skip <= 0:
            self._skip = self._pitch_every
            history = PITCH_WINDOW_SAMPLES - FRAME_SAMPLES
            before = tail[-2 * history :] if contiguous else bytes(2 * history)
            self._windows.append(before + frame_pcm)
            self._slots.append((n, baseline))
            self._levels.append(level)
            if len(self._windows) >= SETTLE_FRAMES:
                self._settle()
            return
        i = n % self._window_frames
        self._f0[i] = self._level[i] = math.nan
        if baseline >= 0:
            self._baseline_f0[baseline] = self._baseline_level[baseline] = math.nan

    def _settle(self) -> None:
        """Estimates the pitch of the frames fed since the last time, all in one batch."""
        if not self._windows:
            return
        samples = np.frombuffer(b"".join(self._windows), dtype=np.int16)
        f0 = estimate_f0_batch_hz(samples.reshape(len(self._windows), PITCH_WINDOW_SAMPLES))
        # Level of pitched frames only: vowels carry the voice's loudness, whereas pauses
        # the VAD bridged and soft consonants would pull a median down with speech rate.
        levels = np.where(np.isnan(f0), np.nan, self._levels)
        slots = np.array(self._slots)
        ring = slots[:, 0] % self._window_frames
        self._f0[ring] = f0
        self._level[ring] = levels
        baseline = slots[:, 1] >= 0
        self._baseline_f0[slots[baseline, 1]] = f0[baseline]
        self._baseline_level[slots[baseline, 1]] = levels[baseline]
        self._windows.clear()
        self._slots.clear()
        self._levels.clear()

    def _recent(self, ring: np.ndarray, window_s: float | None) -> np.ndarray:
        """The ring's values of the last `window_s` of voiced speech, NaNs dropped."""
        self._settle()
        n = min(self._n_voiced, self._window_frames)
        if window_s is not None:
            n = min(n, max(0, round(window_s / FRAME_S)))
        if n == 0:
            return ring[:0]
        end = self._n_voiced % self._window_frames
        start = end - n
        values = ring[start:end] if start >= 0 else np.concatenate((ring[start:], ring[:end]))
        kept: np.ndarray = values[~np.isnan(values)]
        return kept

    def pitch_spread_st(self, window_s: float | None = None) -> float | None:
        """Pitch spread (p10..p90, semitones) over the last `window_s` of voiced speech.

        Args:
            window_s: at most the tracker's window; None for the whole window.

        Returns:
            The spread, or None with fewer than two pitched frames.
        """
        return _spread_st(self._recent(self._f0, window_s))

    def median_f0_hz(self, window_s: float | None = None) -> float | None:
        """Median pitch over the last `window_s` of voiced speech, or None."""
        return _median(self._recent(self._f0, window_s))

    def level_dbfs(self, window_s: float | None = None) -> float | None:
        """Median level (dBFS) of the pitched frames in the last `window_s` of voiced speech."""
        return _median(self._recent(self._level, window_s))

    def _baseline(self) -> tuple[float | None, float | None]:
        self._settle()
        if self._baseline_cache is not None:
            return self._baseline_cache
        f0 = self._baseline_f0[: self._n_baseline]
        level = self._baseline_level[: self._n_baseline]
        result = (_spread_st(f0[~np.isnan(f0)]), _median(level[~np.isnan(level)]))
        if self._n_baseline == self._baseline_frames:
            self._baseline_cache = result  # frozen from now on
        return result

    @property
    def baseline_spread_st(self) -> float | None:
        """Pitch spread over the speaker's first `baseline_s` of voiced speech (so far)."""
        return self._baseline()[0]

    @property
    def baseline_level_dbfs(self) -> float | None:
        """Median level of the pitched frames in the baseline (so far)."""
        return self._baseline()[1]

    @property
    def voiced_s(self) -> float:
        """All voiced speech fed so far."""
        return round(self._n_voiced * FRAME_S, 3)

    def snapshot(self) -> ProsodySnapshot:
        """The current window and baseline, computed now (~0.1 ms; call it per rule tick)."""
        self._settle()
        f0 = self._recent(self._f0, None)
        baseline_f0 = self._baseline_f0[: self._n_baseline]
        baseline_spread, baseline_level = self._baseline()
        return ProsodySnapshot(
            at_s=self._at_s,
            voiced_s=round(min(self._n_voiced, self._window_frames) * FRAME_S, 3),
            pitched_s=round(f0.size * FRAME_S * self._pitch_every, 3),
            median_f0_hz=_median(f0),
            spread_st=_spread_st(f0),
            level_dbfs=self.level_dbfs(),
            baseline_voiced_s=round(self._n_baseline * FRAME_S, 3),
            baseline_pitched_s=round(
                int(np.count_nonzero(~np.isnan(baseline_f0))) * FRAME_S * self._pitch_every, 3
            ),
            baseline_complete=self._n_baseline == self._baseline_frames,
            baseline_spread_st=baseline_spread,
            baseline_level_dbfs=baseline_level,
        )


def is_monotone(
    snapshot: ProsodySnapshot,
    ratio: float = MONOTONE_RATIO,
    floor_st: float = MONOTONE_FLOOR_ST,
    min_pitched_s: float = MIN_PITCHED_S,
) -> bool:
    """Whether the speaker's recent pitch is clearly flat against their own baseline.

    Needs a complete baseline (before that the window overlaps it and compares the speaker
    with themselves) and `min_pitched_s` of pitched speech in both. A speaker who is flat
    from the start is never flagged: the rule is relative by design (coaching.md).

    Args:
        snapshot: from `ProsodyTracker.snapshot`.
        ratio: the window's spread must be under this share of the baseline's...
        floor_st: ...and under this absolute spread.
        min_pitched_s: pitched speech needed in the window and in the baseline.

    Returns:
        True when both conditions hold.
    """
    if not _comparable(snapshot, min_pitched_s):
        return False
    if snapshot.spread_st is None or snapshot.baseline_spread_st is None:
        return False
    return snapshot.spread_st < min(ratio * snapshot.baseline_spread_st, floor_st)


def _comparable(snapshot: ProsodySnapshot, min_pitched_s: float) -> bool:
    """Enough pitched speech in a complete baseline and in the window to compare them."""
    return (
        snapshot.baseline_complete
        and snapshot.pitched_s >= min_pitched_s
        and snapshot.baseline_pitched_s >= min_pitched_s
    )


def volume_issue(
    snapshot: ProsodySnapshot,
    soft_db: float = SOFT_DB,
    loud_db: float = LOUD_DB,
    min_pitched_s: float = MIN_PITCHED_S,
) -> VolumeIssue | None:
    """Whether the speaker is now much softer or louder than their own baseline.

    Needs a complete baseline, as `is_monotone` does: while the baseline fills, it takes
    in the very frames the window holds, so a change would be measured against itself.

    Args:
        snapshot: from `ProsodyTracker.snapshot`.
        soft_db: level change (dB, negative) at or under which the speaker is too soft.
        loud_db: level change (dB, positive) at or over which the speaker is too loud.
        min_pitched_s: pitched speech needed in the window and in the baseline.

    Returns:
        `VolumeIssue.SOFT`, `VolumeIssue.LOUD` or None.
    """
    if not _comparable(snapshot, min_pitched_s):
        return None
    if snapshot.level_dbfs is None or snapshot.baseline_level_dbfs is None:
        return None
    change_db = snapshot.level_dbfs - snapshot.baseline_level_dbfs
    if change_db <= soft_db:
        return VolumeIssue.SOFT
    if change_db >= loud_db:
        return VolumeIssue.LOUD
    return None
