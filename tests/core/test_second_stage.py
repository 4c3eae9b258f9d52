"""The second voice stage's schedule: spot checks, confirming where Silero disagrees, and
handing back to webrtcvad. A fake confirmer stands in for Silero (no model)."""

from __future__ import annotations

import pytest

from models.playbook import default_playbook
from models.wire import AudioFormat, Consent, Role
from server.core.party import FrameInfo, PartyStream
from server.core.second_stage import (
    CONFIRM_FRAMES,
    HOLD_BATCHES,
    LOUD_MARGIN_DB,
    SPOT_EVERY_BATCHES,
    SPOT_MAX_EVERY_BATCHES,
    SecondStage,
)
from server.core.session import Session
from server.core.vad import FRAME_BYTES
from tests.core.harness import ScriptedVad

# What each 30 ms frame holds, by its first byte: webrtcvad (ScriptedVad) voices every
# non-zero frame; the fake Silero hears voice only in VOICE frames.
VOICE, CLICK, MUMBLE = 1, 2, 3  # MUMBLE: Silero is unsure (0.3)
OWN_DBFS = -25.0


class FakeSilero:
    """Speech probability by the frame's first byte; counts what it was asked."""

    def __init__(self) -> None:
        self.batches = 0
        self.resets = 0

    def probabilities(self, pcm: bytes) -> list[float]:
        assert len(pcm) == CONFIRM_FRAMES * FRAME_BYTES
        self.batches += 1
        kinds = [pcm[i * FRAME_BYTES] for i in range(CONFIRM_FRAMES)]
        return [0.9 if k == VOICE else 0.3 if k == MUMBLE else 0.0 for k in kinds]

    def reset(self) -> None:
        self.resets += 1


def frame(kind: int, level_dbfs: float = OWN_DBFS) -> FrameInfo:
    return FrameInfo(bytes([kind]) * FRAME_BYTES, level_dbfs, kind != 0)


def batch(kind: int, level_dbfs: float = OWN_DBFS) -> list[FrameInfo]:
    return [frame(kind, level_dbfs)] * CONFIRM_FRAMES


def stage() -> tuple[SecondStage, FakeSilero]:
    fake = FakeSilero()
    s = SecondStage(fake)
    s.own_dbfs = OWN_DBFS
    return s, fake


def watch(s: SecondStage, frames: list[FrameInfo]) -> None:
    for f in frames:
        s.watch(f)


def test_second_stage_spot_checks_a_clean_microphone_ever_more_rarely() -> None:
    s, fake = stage()
    watch(s, batch(VOICE))
    assert fake.batches == 1  # the first loud batch is checked at once
    checked_at = []
    for n in range(1, 200):
        before = fake.batches
        watch(s, batch(VOICE))
        if fake.batches > before:
            checked_at.append(n)
    spacing = [b - a for a, b in zip(checked_at, checked_at[1:], strict=False)]
    assert spacing[0] == SPOT_EVERY_BATCHES
    assert max(spacing) == SPOT_MAX_EVERY_BATCHES == spacing[-1]
    assert spacing == sorted(spacing)
    assert not s.confirming and s.contradicted_batches == 0
    assert fake.batches <= 200 / SPOT_MAX_EVERY_BATCHES + 10


def test_second_stage_spot_checks_only_batches_loud_enough_to_be_the_party() -> None:
    s, fake = stage()
    quiet = OWN_DBFS - LOUD_MARGIN_DB - 3
    for _ in range(10):
        watch(s, batch(CLICK, quiet))  # leaked voice, background: attribution's business
        watch(s, batch(0, -100.0))  # silence
    assert fake.batches == 0 and not s.confirming


def test_second_stage_before_the_voice_level_is_known_checks_anything_audible() -> None:
    s, fake = stage()
    s.own_dbfs = None
    watch(s, batch(CLICK, -70.0))  # below any voice: not worth a check
    assert fake.batches == 0
    watch(s, batch(CLICK, -40.0))
    assert fake.batches == 1 and s.confirming


def test_second_stage_confirms_once_silero_contradicts_webrtcvad_on_loud_frames() -> None:
    s, fake = stage()
    watch(s, batch(VOICE))
    assert not s.confirming
    for _ in range(SPOT_EVERY_BATCHES - 1):
        watch(s, batch(CLICK))  # not due yet: webrtcvad decides alone
    assert fake.batches == 1 and not s.confirming
    watch(s, batch(CLICK))
    assert s.confirming and s.contradicted_batches == 1
    assert fake.resets >= 2  # each spot check, and confirming, start afresh


@pytest.mark.parametrize(
    "frames",
    [
        [frame(MUMBLE)] * CONFIRM_FRAMES,  # Silero unsure (0.3): the soft end of a word
        [frame(VOICE), *[frame(CLICK)] * (CONFIRM_FRAMES - 1)],  # some voice among clicks
        [frame(CLICK), *[frame(0, -100.0)] * (CONFIRM_FRAMES - 1)],  # one loud frame only
    ],
    ids=["unsure", "some voice", "one frame"],
)
def test_second_stage_no_contradiction_without_clear_evidence(frames: list[FrameInfo]) -> None:
    s, fake = stage()
    watch(s, frames)
    assert not s.confirming and s.contradicted_batches == 0


def test_second_stage_confirming_listens_to_every_other_batch_and_inherits_between() -> None:
    s, fake = stage()
    watch(s, batch(CLICK))
    assert s.confirming
    runs = fake.batches
    # Listened to: voice at the end; the next batch inherits "voice": webrtcvad's word.
    assert s.confirm(batch(VOICE)) == [0.9] * CONFIRM_FRAMES
    assert s.confirm(batch(CLICK)) == [1.0] * CONFIRM_FRAMES
    # Listened to: clicks; the next inherits "no voice", even for what is voice.
    assert s.confirm(batch(CLICK)) == [0.0] * CONFIRM_FRAMES
    assert s.confirm(batch(VOICE)) == [0.0] * CONFIRM_FRAMES
    assert fake.batches == runs + 2
    # A batch nobody voiced costs nothing and does not count as one listened to.
    assert s.confirm(batch(0, -100.0)) == [0.0] * CONFIRM_FRAMES
    assert fake.batches == runs + 2
    s.confirm(batch(VOICE))
    assert fake.batches == runs + 3


def test_second_stage_hands_back_to_webrtcvad_after_20_s_without_contradiction() -> None:
    s, _ = stage()
    watch(s, batch(CLICK))
    for _ in range(HOLD_BATCHES - 2):
        s.confirm(batch(VOICE))
    s.confirm(batch(CLICK))  # listened to (clicks): the hold starts over
    assert s.contradicted_batches == 2
    assert s.confirming
    for _ in range(HOLD_BATCHES - 1):
        s.confirm(batch(VOICE))
    assert s.confirming
    s.confirm(batch(VOICE))
    assert not s.confirming
    # Spot checks are close together again: a returning keyboard is found quickly.
    assert s.spot_every_batches == SPOT_EVERY_BATCHES


def labels(stream: PartyStream, first: int, n: int) -> list[bool | None]:
    out = []
    for j in range(first, first + n):
        out.append(stream.peek(j))
        if out[-1] is not None:
            stream.pop()
    return out


def test_party_stream_keyboard_clicks_stop_counting_as_speech_once_silero_confirms() -> None:
    fake = FakeSilero()
    stream = PartyStream(ScriptedVad())
    stream.second_stage = SecondStage(fake)
    stream.second_stage.own_dbfs = -50.0  # the fake frames' level (constant bytes) is loud
    click = bytes([CLICK]) * FRAME_BYTES
    voice = bytes([VOICE]) * FRAME_BYTES
    # Clicks: webrtcvad decides alone until the first spot check contradicts it ...
    stream.feed(click * CONFIRM_FRAMES)
    assert stream.second_stage.confirming
    assert labels(stream, 0, CONFIRM_FRAMES) == [True] * CONFIRM_FRAMES
    # ... then clicks are silence, and voice is still speech.
    n = 4 * CONFIRM_FRAMES
    stream.feed(click * n + voice * n)
    assert labels(stream, CONFIRM_FRAMES, n) == [False] * n
    assert labels(stream, CONFIRM_FRAMES + n, n) == [True] * n
    # Labels come a batch at a time: what is short of one waits for Silero.
    stream.feed(voice * 5)
    assert stream.decided_end == CONFIRM_FRAMES + 2 * n


def test_session_silero_takes_over_only_the_microphone_with_a_keyboard() -> None:
    session = Session(
        "s1",
        playbook=default_playbook(),
        vad_factory=ScriptedVad,
        confirmer_factory=FakeSilero,
    )
    rep, _ = session.join(Role.REP, "Anna", AudioFormat())
    customer, _ = session.join(Role.CUSTOMER, "Bob", AudioFormat())
    for pid in (rep, customer):
        session.consent(pid, Consent(granted=True, scopes=("coaching",)), 0.0)
    voice = bytes([VOICE]) * FRAME_BYTES
    click = bytes([CLICK]) * FRAME_BYTES  # webrtcvad voices it, Silero does not
    silence = bytes(FRAME_BYTES)
    # The rep talks while the customer types; then the customer talks; then again.
    for seconds, rep_frame, customer_frame in ((10, voice, click), (5, silence, voice)) * 2:
        for _ in range(round(seconds / 0.03)):
            session.feed_audio(rep, rep_frame)
            session.feed_audio(customer, customer_frame)
    rep_stage = session.timeline.parties[Role.REP].second_stage
    customer_stage = session.timeline.parties[Role.CUSTOMER].second_stage
    session.end(rep, 0.0)  # the stages decide the last frames, then the ended call drops them
    assert rep_stage is not None and customer_stage is not None
    assert customer_stage.confirming and customer_stage.contradicted_batches > 0
    assert not rep_stage.confirming and rep_stage.contradicted_batches == 0
    assert rep_stage.own_dbfs is not None  # attribution's voice level reaches it
    assert rep_stage.batches_run < 0.15 * 30 / 0.48  # spot checks only
    assert session.report().talk.rep == pytest.approx(20 / 30, abs=0.03)
