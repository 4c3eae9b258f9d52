"""End to end on the bundled practice calls (client/calls): two real clients stream both
tracks through a real server at 30x real time, in lockstep (the `stream_together` fixture),
and the coaching must match ground truth.

Time is audio time (protocol.md), so the speed changes nothing but the wall clock.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from client.stream import Participant, create_session
from models.wire import ErrorMessage, Metrics, Nudge, Report, State
from tests.waiting import wait_for

CALLS_DIR = Path(__file__).resolve().parents[2] / "client" / "calls"

SPEED = 30.0  # x real time: the longest call (pushy, 159 s) takes about 5 s
TALK_SHARE_TOLERANCE = 0.02  # 2 percentage points
COACHING_RULES = ("talk_ratio", "monologue", "interruption")


async def run_call(call_audio, stream_call, name: str, language: str):
    """Streams one bundled call through the server; returns what the rep got and the report."""
    rep_a, customer_a = call_audio(name, "rep"), call_audio(name, "customer")
    rep, customer, report = await stream_call(
        rep_a, customer_a, name, speed=SPEED, language=language
    )
    for party in (rep, customer):
        assert not party.of_type(ErrorMessage), party.of_type(ErrorMessage)
        assert len(party.of_type(Report)) == 1
        # Live from consent to the end without a pause.
        states = party.of_type(State)
        first_live = next(i for i, s in enumerate(states) if s.live)
        assert all(s.live for s in states[first_live:-1])
        assert states[-1].status == "ended" and not states[-1].live
    assert not customer.of_type(Metrics) and not customer.of_type(Nudge)
    return rep, report


# One row per call: what coaching it must get and must never get (coaching.md rules).
CASES = [
    # name, language, nudges that must fire, nudges that must not
    ("good", "en", (), COACHING_RULES),
    ("nl_good", "nl", (), COACHING_RULES),
    ("pushy", "en", COACHING_RULES, ()),
    ("nl_pushy", "nl", COACHING_RULES, ()),
    ("fillers", "en", (), ()),  # talk share and interruptions only
]


@pytest.mark.parametrize(
    ("name", "language", "must_fire", "must_not_fire"), CASES, ids=[c[0] for c in CASES]
)
async def test_calls_coaching_matches_ground_truth(
    call_audio, stream_call, name, language, must_fire, must_not_fire
):
    truth = json.loads((CALLS_DIR / f"{name}.json").read_text())
    rep, report = await run_call(call_audio, stream_call, name, language)

    # Talk shares within 2 percentage points, in the report and in the last metrics.
    expected = truth["talk_share"]
    assert report["talk"]["rep"] == pytest.approx(expected["rep"], abs=TALK_SHARE_TOLERANCE)
    assert report["talk"]["customer"] == pytest.approx(
        expected["customer"], abs=TALK_SHARE_TOLERANCE
    )
    metrics = rep.of_type(Metrics)
    assert metrics[-1].talk.rep == pytest.approx(expected["rep"], abs=TALK_SHARE_TOLERANCE)
    assert report["duration_s"] == pytest.approx(truth["duration_s"], abs=0.5)
    assert report["dropped_before_consent_s"] == 0.0
    ats = [m.at for m in metrics]
    assert ats == sorted(ats) and ats[0] == pytest.approx(1.0, abs=0.05)

    # Interruptions: as many as the ground truth, each near its scripted start.
    found = [i["at_s"] for i in report["interruptions"]]
    assert len(found) == len(truth["interruptions"])
    for at_s, expected_at in zip(found, truth["interruptions"], strict=True):
        assert at_s == pytest.approx(expected_at, abs=0.3)
    assert metrics[-1].interruptions == len(truth["interruptions"])

    # Nudges: the rep saw the right ones, and the report keeps exactly what was shown.
    fired = {n.rule for n in rep.of_type(Nudge)}
    for rule in must_fire:
        assert rule in fired, f"{name}: no {rule} nudge (got {sorted(fired)})"
    for rule in must_not_fire:
        assert rule not in fired, f"{name}: unexpected {rule} nudge"
    assert [n["id"] for n in report["nudges"]] == [n.id for n in rep.of_type(Nudge)]


@pytest.mark.parametrize("rate_hz", [8000, 44100, 48000])
async def test_calls_other_sample_rates_are_resampled(
    server, http_get, call_audio, stream_together, rate_hz
):
    """Browsers capture at 44.1 or 48 kHz and phones at 8 kHz: the server resamples."""
    import numpy as np
    import soxr

    from client.stream import Audio

    truth = json.loads((CALLS_DIR / "good.json").read_text())
    rep16, customer16 = call_audio("good", "rep"), call_audio("good", "customer")
    rep_a = Audio(soxr.resample(rep16.samples, 16000, rate_hz).astype(np.int16), rate_hz)
    created = await create_session(server.ws_url, f"rate {rate_hz}")
    async with (
        Participant(server.ws_url, created.tokens.rep, "Anna", rep_a.format()) as rep,
        Participant(server.ws_url, created.tokens.customer, "Bob", customer16.format()) as customer,
    ):
        await rep.consent()
        await customer.consent()
        await asyncio.wait_for(rep.live.wait(), 5)
        await stream_together(rep, customer, rep_a.frames(), customer16.frames(), SPEED)
        sent = rep_a.samples.nbytes + customer16.samples.nbytes
        await wait_for(lambda: server.app.stats.audio_bytes >= sent, what="all audio received")
        await rep.end()
        await asyncio.wait_for(rep.ended.wait(), 5)
    report = server.app.hub.get(created.session).report()
    assert report.talk.rep == pytest.approx(truth["talk_share"]["rep"], abs=TALK_SHARE_TOLERANCE)
    assert report.duration_s == pytest.approx(truth["duration_s"], abs=0.5)


async def test_calls_single_device_stereo_at_48k(server, call_audio, stream_together):
    """One laptop for both: left channel the rep, right the customer, consent on behalf."""
    import numpy as np
    import soxr

    from client.stream import Audio

    truth = json.loads((CALLS_DIR / "pushy.json").read_text())
    stereo16 = np.stack(
        [call_audio("pushy", "rep").samples, call_audio("pushy", "customer").samples], axis=1
    )
    stereo = Audio(soxr.resample(stereo16, 16000, 48000).astype(np.int16), 48000)
    created = await create_session(server.ws_url, "stereo")
    async with Participant(server.ws_url, created.tokens.rep, "Anna", stereo.format()) as rep:
        await rep.consent()
        await rep.consent(on_behalf_of="customer", name="Bob")
        await asyncio.wait_for(rep.live.wait(), 5)
        await rep.stream(stereo.frames(), speed=SPEED)
        await wait_for(
            lambda: server.app.stats.audio_bytes >= stereo.samples.nbytes,
            what="all audio received",
        )
        await rep.end()
        await asyncio.wait_for(rep.ended.wait(), 5)
    report = server.app.hub.get(created.session).report()
    assert report.talk.rep == pytest.approx(truth["talk_share"]["rep"], abs=TALK_SHARE_TOLERANCE)
    assert len(report.interruptions) == len(truth["interruptions"])
    assert {n.rule for n in rep.of_type(Nudge)} >= set(COACHING_RULES)
    proxy = [c for c in report.consent if c.on_behalf_of == "customer"]
    assert proxy and proxy[0].name == "Bob" and proxy[0].given_by == "Anna"
