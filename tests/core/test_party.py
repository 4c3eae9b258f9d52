"""PartyStream: where a long run of speech is cut for recognition."""

from __future__ import annotations

from server.core.party import (
    HARD_MAX_UTTERANCE_FRAMES,
    PAUSE_CUT_AFTER_FRAMES,
    PAUSE_CUT_FRAMES,
    PRE_ROLL_FRAMES,
    SOFT_MAX_UTTERANCE_FRAMES,
    PartyStream,
    UtteranceAudio,
)
from server.core.vad import FRAME_BYTES, HANGOVER_FRAMES

VOICE = bytes([1]) * FRAME_BYTES
QUIET = bytes(FRAME_BYTES)


class MarkVad:
    """Voiced wherever the frame is not all zeros (the fixtures mark their frames)."""

    def is_voiced(self, frame: bytes) -> bool:
        return any(frame)


def finals_of(frames: list[bytes]) -> list[UtteranceAudio]:
    stream = PartyStream(MarkVad())
    stream.keep_audio = True
    stream.partial_every_frames = None
    out = []
    for frame in frames:
        out += [u for u in stream.feed(frame) if u.final]
    return out


def test_long_speech_is_cut_in_a_pause_not_at_a_lone_unvoiced_frame() -> None:
    # 16 s of speech with a one-frame dip every second (inside words), then a 90 ms pause.
    speech = ([VOICE] * 32 + [QUIET]) * 16
    pause_at = len(speech) - 1  # the last dip starts it
    frames = speech + [QUIET] * 2 + [VOICE] * 100
    finals = finals_of(frames)
    assert len(finals) == 1
    cut_frame = finals[0].audio_start_frame + len(finals[0].pcm) // FRAME_BYTES
    assert cut_frame == pause_at + 3  # after the pause, not at a dip past 15 s
    assert cut_frame - finals[0].start_frame >= SOFT_MAX_UTTERANCE_FRAMES
    # The next piece starts at the cut: no word of the first is heard twice.
    rest = finals_of(frames + [QUIET] * 40)[1]
    assert rest.audio_start_frame == cut_frame


def test_speech_without_a_pause_is_cut_at_the_hard_limit_with_overlap() -> None:
    frames = ([VOICE] * 32 + [QUIET]) * 30 + [QUIET] * 40
    finals = finals_of(frames)
    first, second = finals[0], finals[1]
    cut_frame = first.audio_start_frame + len(first.pcm) // FRAME_BYTES
    assert cut_frame - first.start_frame == HARD_MAX_UTTERANCE_FRAMES
    assert second.audio_start_frame == cut_frame - PRE_ROLL_FRAMES


def test_sentences_with_a_short_breath_between_get_a_final_each() -> None:
    # Two sentences and a breath shorter than the hangover, which bridges it (one run of
    # speech for the talk-time metrics): the first sentence's final need not wait for the
    # second's end.
    breath = [QUIET] * (HANGOVER_FRAMES - 2)
    first, second = [VOICE] * (PAUSE_CUT_AFTER_FRAMES + 10), [VOICE] * 60
    finals = finals_of(first + breath + second + [QUIET] * 40)
    assert len(finals) == 2
    cut_frame = finals[0].audio_start_frame + len(finals[0].pcm) // FRAME_BYTES
    assert cut_frame == len(first) + PAUSE_CUT_FRAMES  # as soon as the pause is that long
    assert finals[1].audio_start_frame == cut_frame  # nothing heard twice
    assert finals[1].start_frame == cut_frame


def test_a_short_utterance_is_not_cut_at_a_breath() -> None:
    breath = [QUIET] * (HANGOVER_FRAMES - 2)
    short = [VOICE] * (PAUSE_CUT_AFTER_FRAMES - 10)
    assert len(finals_of(short + breath + [VOICE] * 30 + [QUIET] * 40)) == 1
