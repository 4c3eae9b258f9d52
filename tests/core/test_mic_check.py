"""The microphone check: what a microphone is good for, from 20 s of attributed frames."""

from __future__ import annotations

import pytest

from models.wire import Role
from server.core.attribution import MicStats
from server.core.mic_check import Verdict, text, verdict


def stats(
    own=400, leak=0, background=0, voice=-25.0, floor=-90.0, quiet=-90.0, talk_over=0.05
) -> MicStats:
    return MicStats(
        speech_frames=own + leak + background,
        own_frames=own,
        leak_frames=leak,
        background_frames=background,
        voice_dbfs=voice,
        floor_dbfs=floor,
        quiet_dbfs=quiet,
        talk_over_share=talk_over,
    )


@pytest.mark.parametrize(
    "mic, expected",
    [
        (stats(), Verdict("ok", True)),
        (stats(own=300, leak=200), Verdict("leak", True)),
        (stats(own=300, background=150), Verdict("background", True)),
        (stats(floor=-37.0), Verdict("noise", True)),  # 12 dB between voice and noise
        (stats(floor=-30.0), Verdict("noise", False)),  # 5 dB: talk time is not measurable
        (stats(voice=-55.0), Verdict("quiet", True)),
        # Babble 5 dB under the voice: never quieter than 6 dB under it, and "speaking"
        # through most of the other party's speech: talk time is not measurable.
        (stats(quiet=-31.0, talk_over=0.8), Verdict("noise", False)),
        # The same talk-over on a microphone with quiet moments: a party who talks over.
        (stats(quiet=-90.0, talk_over=0.8), Verdict("ok", True)),
        # Babble 10 dB under the voice is heard through little of the other's speech.
        (stats(quiet=-36.0, talk_over=0.2), Verdict("ok", True)),
        (stats(quiet=-31.0, talk_over=None), Verdict("ok", True)),
    ],
)
def test_mic_check_verdicts(mic: MicStats, expected: Verdict) -> None:
    assert verdict(mic, None) == expected


def test_mic_check_waits_for_speech_and_keeps_a_named_leak_until_clearly_gone() -> None:
    assert verdict(stats(own=10), None) is None
    leak = verdict(stats(own=300, leak=200), None)
    assert verdict(stats(own=400, leak=60), leak) == leak  # under the threshold, over half
    assert verdict(stats(own=400, leak=20), leak) == Verdict("ok", True)


def test_mic_check_holds_a_drowned_microphone_until_the_talk_over_halves() -> None:
    drowned = verdict(stats(quiet=-31.0, talk_over=0.6), None)
    assert drowned == Verdict("noise", False)
    assert verdict(stats(quiet=-31.0, talk_over=0.3), drowned) == drowned
    assert verdict(stats(quiet=-31.0, talk_over=0.2), drowned) == Verdict("ok", True)


def test_mic_check_texts_in_english_and_dutch() -> None:
    leak = Verdict("leak", True)
    assert text(leak, Role.CUSTOMER, True, "en").startswith("Your microphone also hears the rep")
    assert "microfoon van de klant" in text(leak, Role.CUSTOMER, False, "nl")
    paused = text(Verdict("noise", False), Role.REP, True, "nl")
    assert "spreektijdcijfers" in paused
