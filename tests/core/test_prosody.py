"""Prosody: pitch estimation, pitch spread and level against the speaker's own baseline.

Speech fixtures are espeak-ng clips with a controlled pitch range (tests/data/prosody,
made by make.sh): the same sentence spoken flat (SSML range x-low) and lively (x-high).
Measured with this code (bench/bench_prosody.py): flat 1.0 st (male) and 1.2 st (female),
lively 5.5 st and 6.8 st; soft -11.7 dB and loud +10.0 dB against the lively male clip.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from server.core.prosody import (
    MIN_PITCHED_S,
    ProsodySnapshot,
    ProsodyTracker,
    VolumeIssue,
    estimate_f0_hz,
    is_monotone,
    semitones,
    volume_issue,
)
from server.core.vad import FRAME_BYTES, FRAME_S, FrameVad

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "prosody"
RATE_HZ = 16000

Clip = tuple[tuple[bytes, bool], ...]


@functools.cache
def clip(name: str) -> Clip:
    """A fixture clip as 30 ms frames with webrtcvad's raw verdict on each."""
    samples, rate = soundfile.read(DATA_DIR / f"{name}.flac", dtype="int16")
    assert rate == RATE_HZ
    pcm = samples.tobytes()
    vad = FrameVad()
    frames = (pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES))
    return tuple((frame, vad.is_voiced(frame)) for frame in frames)


def feed_clips(tracker: ProsodyTracker, names: list[str], start_s: float = 0.0) -> float:
    """Feeds clips back to back, in audio time; returns the time after the last frame."""
    at_s = start_s
    for name in names:
        for frame, voiced in clip(name):
            tracker.feed(frame, voiced, at_s)
            at_s += FRAME_S
    return at_s


def spread_of(name: str) -> float:
    tracker = ProsodyTracker()
    feed_clips(tracker, [name])
    spread = tracker.pitch_spread_st()
    assert spread is not None
    return spread


def harmonic_tone(f0_hz: float, n_samples: int = 640, seed: int = 0) -> np.ndarray:
    """A voice-like periodic signal: 8 harmonics falling 6 dB/octave, random phases."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / RATE_HZ
    x = np.zeros(n_samples)
    for k in range(1, 9):
        if k * f0_hz < RATE_HZ / 2:
            x += np.sin(2 * np.pi * k * f0_hz * t + rng.uniform(0, 2 * np.pi)) / k
    return (x / np.abs(x).max() * 10000).astype(np.int16)


# --- the estimator -------------------------------------------------------------------------


@pytest.mark.parametrize("f0_hz", [66.0, 85.0, 110.0, 147.5, 196.0, 240.0, 310.0, 395.0])
def test_estimate_f0_recovers_harmonic_tone_within_2_percent(f0_hz: float) -> None:
    for seed in range(3):
        estimate = estimate_f0_hz(harmonic_tone(f0_hz, seed=seed))
        assert estimate is not None
        assert estimate == pytest.approx(f0_hz, rel=0.02)


@pytest.mark.parametrize("f0_hz", [70.0, 130.0, 220.0, 380.0])
def test_estimate_f0_recovers_pure_tone_and_noisy_tone(f0_hz: float) -> None:
    t = np.arange(640) / RATE_HZ
    tone = 8000 * np.sin(2 * np.pi * f0_hz * t)
    noise = np.random.default_rng(1).normal(0, 800, 640)  # 17 dB SNR
    for x in (tone, tone + noise):
        estimate = estimate_f0_hz(x)
        assert estimate is not None
        assert estimate == pytest.approx(f0_hz, rel=0.02)


def test_estimate_f0_silence_and_noise_have_no_pitch() -> None:
    rng = np.random.default_rng(7)
    assert estimate_f0_hz(np.zeros(640)) is None
    for _ in range(200):
        assert estimate_f0_hz(rng.normal(0, 3000, 640)) is None


def test_estimate_f0_rejects_a_frame_too_short_for_fmin() -> None:
    with pytest.raises(ValueError, match="too short"):
        estimate_f0_hz(np.zeros(200))


def test_semitones_count_twelve_to_the_octave() -> None:
    assert semitones(220.0, 110.0) == pytest.approx(12.0)
    assert semitones(100.0, 200.0) == pytest.approx(-12.0)
    assert semitones(110.0 * 2 ** (3 / 12), 110.0) == pytest.approx(3.0)


# --- the tracker ---------------------------------------------------------------------------


def test_tracker_unvoiced_frames_never_produce_pitch() -> None:
    tracker = ProsodyTracker()
    at_s = 0.0
    for frame, _ in clip("lively_m"):
        tracker.feed(frame, False, at_s)  # speech, but the VAD said no
        at_s += FRAME_S
    snapshot = tracker.snapshot()
    assert snapshot.voiced_s == 0.0 and snapshot.pitched_s == 0.0
    assert snapshot.spread_st is None and snapshot.level_dbfs is None
    assert snapshot.baseline_spread_st is None and snapshot.baseline_level_dbfs is None


def test_tracker_silence_marked_voiced_produces_no_pitch() -> None:
    tracker = ProsodyTracker()
    rng = np.random.default_rng(3)
    for i in range(200):
        quiet = rng.integers(-2, 3, 480, dtype=np.int16).tobytes()  # dither, ~-80 dBFS
        noise = rng.normal(0, 2000, 480).astype(np.int16).tobytes()
        tracker.feed(quiet if i % 2 else noise, True, i * FRAME_S)
    snapshot = tracker.snapshot()
    assert snapshot.voiced_s == pytest.approx(6.0)
    assert snapshot.pitched_s == 0.0 and tracker.median_f0_hz() is None


def test_tracker_rejects_a_frame_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="expected 960"):
        ProsodyTracker().feed(bytes(100), True, 0.0)


def test_tracker_follows_the_voice_pitch() -> None:
    male, female = ProsodyTracker(), ProsodyTracker()
    feed_clips(male, ["lively_m"])
    feed_clips(female, ["lively_f"])
    # espeak-ng's en-us voice speaks around 100-120 Hz, its f3 variant around 240 Hz.
    assert 90 < (male.median_f0_hz() or 0) < 140
    assert 190 < (female.median_f0_hz() or 0) < 300


@pytest.mark.parametrize("voice", ["m", "f"])
def test_flat_speech_spreads_clearly_less_than_lively_speech(voice: str) -> None:
    flat, lively = spread_of(f"flat_{voice}"), spread_of(f"lively_{voice}")
    # Measured 1.0/1.2 st flat, 5.5/6.8 st lively: assert at roughly half the measured gap
    # from each side, and a ratio under the monotone rule's 0.6 with room to spare.
    assert flat < 2.0
    assert lively > 4.0
    assert flat < 0.35 * lively


# --- the monotone rule ---------------------------------------------------------------------

BASELINE_CLIPS = 6  # 6 x 10.4 s of VAD-voiced speech fills the 60 s baseline
WINDOW_CLIPS = 3  # 3 x 10.4 s fills the 30 s window


@pytest.mark.parametrize("voice", ["m", "f"])
def test_rep_who_turns_flat_is_monotone(voice: str) -> None:
    tracker = ProsodyTracker()
    at_s = feed_clips(tracker, [f"lively_{voice}"] * BASELINE_CLIPS)
    before = tracker.snapshot()
    assert before.baseline_complete
    assert not is_monotone(before)
    feed_clips(tracker, [f"flat_{voice}"] * WINDOW_CLIPS, start_s=at_s)
    after = tracker.snapshot()
    assert after.spread_st is not None and after.baseline_spread_st is not None
    assert after.spread_st < 0.35 * after.baseline_spread_st
    assert is_monotone(after)


@pytest.mark.parametrize("voice", ["m", "f"])
def test_rep_who_stays_lively_is_not_monotone(voice: str) -> None:
    tracker = ProsodyTracker()
    feed_clips(tracker, [f"lively_{voice}"] * (BASELINE_CLIPS + WINDOW_CLIPS))
    assert not is_monotone(tracker.snapshot())


def test_rep_flat_from_the_start_is_not_flagged_against_their_own_baseline() -> None:
    tracker = ProsodyTracker()
    feed_clips(tracker, ["flat_m"] * (BASELINE_CLIPS + WINDOW_CLIPS))
    snapshot = tracker.snapshot()
    assert snapshot.spread_st is not None and snapshot.spread_st < 2.0
    assert not is_monotone(snapshot)


def test_monotone_waits_for_a_complete_baseline() -> None:
    tracker = ProsodyTracker()
    at_s = feed_clips(tracker, ["lively_m"] * 2)
    feed_clips(tracker, ["flat_m"] * WINDOW_CLIPS, start_s=at_s)
    snapshot = tracker.snapshot()
    assert not snapshot.baseline_complete
    assert not is_monotone(snapshot)


def test_baseline_is_frozen_once_complete() -> None:
    tracker = ProsodyTracker()
    at_s = feed_clips(tracker, ["lively_m"] * BASELINE_CLIPS)
    baseline = tracker.baseline_spread_st
    feed_clips(tracker, ["flat_m"] * WINDOW_CLIPS, start_s=at_s)
    assert tracker.baseline_spread_st == baseline


def snap(
    spread_st: float | None = 1.0,
    baseline_spread_st: float | None = 6.0,
    pitched_s: float = 15.0,
    baseline_pitched_s: float = 30.0,
    baseline_complete: bool = True,
    level_dbfs: float | None = -30.0,
    baseline_level_dbfs: float | None = -30.0,
) -> ProsodySnapshot:
    return ProsodySnapshot(
        at_s=100.0,
        voiced_s=30.0,
        pitched_s=pitched_s,
        median_f0_hz=120.0,
        spread_st=spread_st,
        level_dbfs=level_dbfs,
        baseline_voiced_s=60.0,
        baseline_pitched_s=baseline_pitched_s,
        baseline_complete=baseline_complete,
        baseline_spread_st=baseline_spread_st,
        baseline_level_dbfs=baseline_level_dbfs,
    )


@pytest.mark.parametrize(
    ("snapshot", "expected"),
    [
        (snap(1.0, 6.0), True),  # lively baseline, flat now
        (snap(2.4, 6.0), True),  # just under the 2.5 st floor and 60% of baseline
        (snap(2.6, 6.0), False),  # over the absolute floor
        (snap(2.0, 3.0), False),  # 67% of a modest baseline: not clearly flatter
        (snap(1.0, 1.2), False),  # flat all along: no change against their own baseline
        (snap(1.0, 6.0, pitched_s=MIN_PITCHED_S - 1), False),  # too little speech now
        (snap(1.0, 6.0, baseline_pitched_s=MIN_PITCHED_S - 1), False),
        (snap(1.0, 6.0, baseline_complete=False), False),
        (snap(None, 6.0), False),
        (snap(1.0, None), False),
    ],
)
def test_is_monotone_table(snapshot: ProsodySnapshot, expected: bool) -> None:
    assert is_monotone(snapshot) is expected


# --- volume --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("then", "expected"),
    [("soft_m", VolumeIssue.SOFT), ("loud_m", VolumeIssue.LOUD), ("lively_m", None)],
)
def test_volume_against_the_baseline(then: str, expected: VolumeIssue | None) -> None:
    tracker = ProsodyTracker()
    at_s = feed_clips(tracker, ["lively_m"] * BASELINE_CLIPS)
    assert volume_issue(tracker.snapshot()) is None
    feed_clips(tracker, [then] * WINDOW_CLIPS, start_s=at_s)
    assert volume_issue(tracker.snapshot()) is expected


def test_fixture_levels_match_their_description() -> None:
    spec = json.loads((DATA_DIR / "clips.json").read_text())
    levels = {}
    for name in ("lively_m", "soft_m", "loud_m"):
        tracker = ProsodyTracker()
        feed_clips(tracker, [name])
        levels[name] = tracker.level_dbfs()
    for name in ("soft_m", "loud_m"):
        expected_db = spec[name]["peak_dbfs"] - spec["lively_m"]["peak_dbfs"]
        assert levels[name] - levels["lively_m"] == pytest.approx(expected_db, abs=0.5)


@pytest.mark.parametrize(
    ("level_dbfs", "expected"),
    [
        (-38.0, VolumeIssue.SOFT),
        (-37.9, None),
        (-22.0, VolumeIssue.LOUD),
        (-22.1, None),
        (None, None),
    ],
)
def test_volume_issue_table(level_dbfs: float | None, expected: VolumeIssue | None) -> None:
    assert volume_issue(snap(level_dbfs=level_dbfs, baseline_level_dbfs=-30.0)) is expected


def test_volume_issue_needs_enough_speech_and_a_complete_baseline() -> None:
    assert volume_issue(snap(level_dbfs=-45.0)) is VolumeIssue.SOFT
    assert volume_issue(snap(level_dbfs=-45.0, pitched_s=MIN_PITCHED_S - 1)) is None
    assert volume_issue(snap(level_dbfs=-45.0, baseline_complete=False)) is None


@pytest.mark.parametrize("window_s", [30.0, 1.0])
def test_tracker_batches_never_change_the_figures(window_s: float) -> None:
    # Pitch is estimated in batches, at the latest when queried: a tracker read after every
    # frame and one read once at the end hold the same pitches and levels, also where the
    # window ring (1 s here) wraps before a batch is full.
    read_often = ProsodyTracker(window_s=window_s, pitch_every_frames=2)
    read_once = ProsodyTracker(window_s=window_s, pitch_every_frames=2)
    at_s = 0.0
    for name in ("lively_m", "flat_f"):
        for frame, voiced in clip(name):
            read_often.feed(frame, voiced, at_s)
            read_often.pitch_spread_st()
            read_once.feed(frame, voiced, at_s)
            at_s += FRAME_S
    assert read_often.snapshot() == read_once.snapshot()
    assert read_once.snapshot().pitched_s > 0
