"""SpeechSmoother: raw voiced flags in, decided labels out, each frame exactly once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.core.vad import HANGOVER_FRAMES, MIN_SPEECH_FRAMES, SpeechSmoother


def smooth(flags: list[bool]) -> list[bool]:
    smoother = SpeechSmoother()
    out: list[bool] = []
    for flag in flags:
        label, count = smoother.push(flag)
        out.extend([label] * count)
    label, count = smoother.flush()
    out.extend([label] * count)
    return out


def test_smoother_drops_blips_shorter_than_min_speech() -> None:
    flags = [False] * 5 + [True] * (MIN_SPEECH_FRAMES - 1) + [False] * 20
    assert smooth(flags) == [False] * len(flags)


def test_smoother_bridges_pauses_shorter_than_hangover() -> None:
    gap = HANGOVER_FRAMES - 1
    flags = [True] * 10 + [False] * gap + [True] * 10 + [False] * 20
    assert smooth(flags) == [True] * (20 + gap) + [False] * 20


def test_smoother_ends_speech_at_the_start_of_a_long_pause() -> None:
    flags = [True] * 10 + [False] * HANGOVER_FRAMES + [True] * 5
    assert smooth(flags) == [True] * 10 + [False] * HANGOVER_FRAMES + [True] * 5


def runs(flags: list[bool], value: bool) -> list[tuple[int, int]]:
    """The maximal runs of `value` in `flags`, as [start, end) index pairs."""
    found, start = [], None
    for i, flag in enumerate([*flags, not value]):
        if flag == value and start is None:
            start = i
        elif flag != value and start is not None:
            found.append((start, i))
            start = None
    return found


def expand(stretches: list[tuple[bool, int]]) -> list[bool]:
    return [flag for flag, n in stretches for _ in range(n)]


# Stretches of voiced and unvoiced frames around the thresholds (plain random booleans
# rarely make a pause as long as the hangover).
STRETCHES = st.lists(
    st.tuples(st.booleans(), st.integers(1, 2 * HANGOVER_FRAMES)), max_size=40
).map(expand)


@given(st.lists(st.booleans(), max_size=400))
def test_smoother_labels_every_frame_once(flags: list[bool]) -> None:
    assert len(smooth(flags)) == len(flags)


@given(STRETCHES)
def test_smoother_never_invents_speech_from_silence(flags: list[bool]) -> None:
    """Talk share and the rules count speech labels: a pause may only count as speech when
    it is shorter than the hangover and speech resumes after it."""
    labels = smooth(flags)
    for start, end in runs(flags, False):
        bridged = start > 0 and end < len(flags) and end - start < HANGOVER_FRAMES
        if not bridged:
            assert not any(labels[start:end]), (start, end)


@given(STRETCHES)
def test_smoother_keeps_every_voiced_run_of_min_speech(flags: list[bool]) -> None:
    """Speech is never lost: a voiced run as long as the minimum is speech from its first
    frame (the start of an utterance is not clipped)."""
    labels = smooth(flags)
    for start, end in runs(flags, True):
        if end - start >= MIN_SPEECH_FRAMES:
            assert all(labels[start:end]), (start, end)
