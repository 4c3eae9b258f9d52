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


@given(st.lists(st.booleans(), max_size=400))
def test_smoother_labels_every_frame_once(flags: list[bool]) -> None:
    assert len(smooth(flags)) == len(flags)


@given(st.lists(st.booleans(), max_size=400))
def test_smoother_never_invents_speech_from_silence(flags: list[bool]) -> None:
    labels = smooth(flags)
    # Every speech label is a voiced frame or sits inside a bridged pause.
    if not any(flags):
        assert not any(labels)
    assert sum(labels) >= sum(1 for f, l in zip(flags, labels) if f and l)
