"""The session core without sockets: consent gate, liveness, replay invariance, lag bound."""

from __future__ import annotations

import gc
import tracemalloc
from importlib import resources

import msgspec
import pytest

from client.stream import read_audio
from models.errors import BadAudio, BadAudioFormat, BadConsent, Forbidden, NotAllowedNow, RoleTaken
from models.playbook import default_playbook
from models.report import SessionReport, SharedReport
from models.wire import AudioFormat, Consent, Metrics, Nudge, Role, State
from server.core.session import Session
from tests.core.harness import SILENCE, SPEECH, ScriptedVad, make_session


def test_session_audio_before_consent_is_dropped_and_counted() -> None:
    h = make_session(live=False)
    h.play([(10, True, True)])
    assert h.session.turns.frame == 0  # nothing analysed
    assert not any(isinstance(m, (Metrics, Nudge)) for m in h.sent())
    assert h.session.dropped_before_consent_s == pytest.approx(20.0, abs=0.1)  # both parties


def test_session_is_live_only_when_rep_and_customer_consented() -> None:
    h = make_session(live=False)
    h.session.consent(h.rep, Consent(granted=True), 0.0)
    assert not h.session.is_live
    assert h.session.roster.waiting_for() == ("customer consent",)
    h.session.consent(h.customer, Consent(granted=True), 0.0)
    assert h.session.is_live


def test_session_observer_never_gates_analysis() -> None:
    # An observer sends no audio: joining, never consenting, withdrawing or leaving does
    # not pause the call (their consent covers what they see, not whether it is analysed).
    h = make_session()
    observer, _ = h.session.join(Role.OBSERVER, "Trainer", None)
    assert h.session.is_live and h.session.roster.waiting_for() == ()
    h.session.consent(observer, Consent(granted=True), 0.0)
    assert h.session.is_live
    out = h.session.consent(observer, Consent(granted=False), 1.0)
    assert h.session.is_live and not out.cancel_asr
    h.session.leave(observer, 2.0)
    assert h.session.is_live


def test_session_withdrawal_stops_analysis_at_once() -> None:
    h = make_session()
    h.play([(5, True, False)])
    frames = h.session.turns.frame
    out = h.session.consent(h.customer, Consent(granted=False), 1.0)
    assert out.cancel_asr and not h.session.is_live
    states = [m for _, m in out.sends if isinstance(m, State)]
    assert {pid for pid, m in out.sends if isinstance(m, State)} == {h.rep, h.customer}
    assert all(not s.live for s in states)
    before = len(h.outputs)
    h.play([(30, True, True)])
    assert h.session.turns.frame == frames
    assert not any(isinstance(m, (Metrics, Nudge)) for o in h.outputs[before:] for _, m in o.sends)


def test_session_consent_ledger_records_grants_and_withdrawals() -> None:
    h = make_session()
    h.play([(3, True, False)])
    h.session.consent(h.customer, Consent(granted=False), 1234.5)
    ledger = h.session.report().consent
    assert [(c.role, c.granted) for c in ledger] == [
        (Role.REP, True),
        (Role.CUSTOMER, True),
        (Role.CUSTOMER, False),
    ]
    assert ledger[-1].wall_time == 1234.5 and ledger[-1].audio_time_s > 2.9


def test_session_erase_deletes_analysis_but_keeps_the_ledger() -> None:
    h = make_session()
    h.play([(60, True, False)])
    h.session.consent(h.rep, Consent(granted=False, erase=True), 1.0)
    report = h.session.report()
    assert report.erased and report.nudges == () and report.duration_s == 0
    assert report.consent[-1].erase


def test_session_second_rep_is_refused() -> None:
    h = make_session()
    with pytest.raises(RoleTaken):
        h.session.join(Role.REP, "Eve", AudioFormat())


def test_session_rep_leaving_pauses_and_can_return() -> None:
    h = make_session()
    h.play([(2, True, False)])
    h.session.leave(h.rep, 0.0)
    assert h.session.status == "paused"
    rep, _ = h.session.join(Role.REP, "Anna", AudioFormat())
    h.session.consent(rep, Consent(granted=True), 0.0)
    assert h.session.is_live


def test_session_ends_when_everyone_leaves() -> None:
    h = make_session()
    h.session.leave(h.rep, 0.0)
    out = h.session.leave(h.customer, 0.0)
    assert h.session.is_ended and out.sends == []


def test_session_odd_byte_length_is_bad_audio() -> None:
    h = make_session()
    with pytest.raises(BadAudio, match="odd byte length 4411"):
        h.session.feed_audio(h.rep, b"\x00" * 4411)


def test_session_stereo_needs_proxy_consent_for_the_customer() -> None:
    session = Session("s2", playbook=default_playbook())
    rep, _ = session.join(Role.REP, "Anna", AudioFormat(channels=2))
    session.consent(rep, Consent(granted=True), 0.0)
    assert not session.is_live
    with pytest.raises(BadConsent):
        session.consent(rep, Consent(granted=True, on_behalf_of="customer"), 0.0)  # no name
    session.consent(rep, Consent(granted=True, on_behalf_of="customer", name="Bob"), 0.0)
    assert session.is_live
    record = session.report().consent[-1]
    assert record.role is Role.CUSTOMER and record.on_behalf_of == "customer"
    assert record.given_by == "Anna" and record.name == "Bob"
    with pytest.raises(RoleTaken):
        session.join(Role.CUSTOMER, "Bob again", AudioFormat())


def test_session_stereo_only_for_the_rep() -> None:
    session = Session("s3", playbook=default_playbook())
    with pytest.raises(BadAudioFormat):
        session.join(Role.CUSTOMER, "Bob", AudioFormat(channels=2))


def test_session_stalled_party_counts_as_silent_past_the_lag_bound() -> None:
    h = make_session()
    for _ in range(200):  # 6 s of rep speech, nothing from the customer
        h.session.feed_audio(h.rep, SPEECH)
    # Analysis went on to within the 2 s bound (plus the smoother's undecided frames).
    assert h.session.turns.frame >= 200 - 67 - 12
    for _ in range(200):  # the customer's late audio for the missed time is dropped
        h.session.feed_audio(h.customer, SPEECH)
    assert h.session.turns.customer_frames < 80


def test_session_nothing_is_sent_to_the_customer_but_state() -> None:
    h = make_session()
    h.play([(70, True, False), (2, False, False)])
    kinds = {type(m).__name__ for m in h.sent(h.customer)}
    assert kinds <= {"State"}
    assert any(isinstance(m, Metrics) for m in h.sent(h.rep))


def _feed_call(name: str, chunk_s: float) -> list[bytes]:
    """Streams a bundled call through a real-VAD session; returns every message, encoded."""
    calls = resources.files("client").joinpath("calls")
    with (
        resources.as_file(calls / f"{name}.rep.flac") as rep_path,
        resources.as_file(calls / f"{name}.customer.flac") as customer_path,
    ):
        rep_audio, customer_audio = read_audio(rep_path), read_audio(customer_path)
    session = Session("replay", playbook=default_playbook())
    rep, _ = session.join(Role.REP, "Anna", rep_audio.format())
    customer, _ = session.join(Role.CUSTOMER, "Bob", customer_audio.format())
    session.consent(rep, Consent(granted=True), 0.0)
    session.consent(customer, Consent(granted=True), 0.0)
    out: list[bytes] = []
    for a, b in zip(rep_audio.frames(chunk_s), customer_audio.frames(chunk_s), strict=True):
        for o in (session.feed_audio(rep, a), session.feed_audio(customer, b)):
            out.extend(msgspec.json.encode(m) + pid.encode() for pid, m in o.sends)
    for pid, m in session.end(rep, 0.0).sends:
        out.append(msgspec.json.encode(m) + pid.encode())
    return out


def test_session_replay_in_other_chunking_gives_identical_outputs() -> None:
    # Audio time, not arrival time: 100 ms frames (live) and 1 s frames (10x faster
    # with the same per-message overhead) must give the same metrics and nudges.
    live = _feed_call("pushy", 0.1)
    fast = _feed_call("pushy", 1.0)
    assert live == fast
    assert any(b'"type":"nudge"' in m for m in live)


def _rep_only_session(clips: list[str]) -> list[Nudge]:
    """The rep reads prosody clips one after the other; the customer listens in silence."""
    import numpy as np

    session = Session("prosody", playbook=default_playbook())
    rep, _ = session.join(Role.REP, "Anna", AudioFormat())
    customer, _ = session.join(Role.CUSTOMER, "Bob", AudioFormat())
    session.consent(rep, Consent(granted=True), 0.0)
    session.consent(customer, Consent(granted=True), 0.0)
    pause = np.zeros(8000, dtype=np.int16)  # 0.5 s between clips
    pcm = np.concatenate(
        [np.concatenate([read_audio(f"tests/data/prosody/{c}.flac").samples, pause]) for c in clips]
    )
    silence = bytes(3200)
    nudges = []
    for i in range(0, len(pcm), 1600):
        for o in (
            session.feed_audio(rep, pcm[i : i + 1600].tobytes()),
            session.feed_audio(customer, silence),
        ):
            nudges.extend(m for _, m in o.sends if isinstance(m, Nudge))
    return nudges


def test_session_monotone_after_a_lively_start_is_nudged() -> None:
    nudges = _rep_only_session(["lively_m"] * 6 + ["flat_m"] * 4)
    monotone = [n for n in nudges if n.rule == "monotone"]
    assert len(monotone) == 1 and monotone[0].text == "Vary your tone"
    assert monotone[0].evidence["spread_st"] < monotone[0].evidence["baseline_st"]


def test_session_lively_rep_is_not_called_monotone() -> None:
    nudges = _rep_only_session(["lively_m"] * 10)
    assert not any(n.rule in ("monotone", "volume") for n in nudges)


def test_session_rep_dropping_to_a_whisper_is_asked_to_speak_up() -> None:
    nudges = _rep_only_session(["lively_m"] * 6 + ["soft_m"] * 3)
    volume = [n for n in nudges if n.rule == "volume"]
    assert volume and volume[0].text == "Speak up a little"


def test_hub_ends_sessions_nobody_joined_or_everyone_left() -> None:
    from models.wire import Create
    from server.core.hub import EndReason, Expiry, SessionHub

    expiry = Expiry(never_joined_s=900.0, everyone_left_s=300.0, idle_s=0.0, max_call_s=0.0)
    hub = SessionHub({"default": default_playbook()}, expiry=expiry)
    unused, tokens = hub.create(Create(), now=0.0)
    used, _ = hub.create(Create(), now=0.0)
    rep, _ = used.join(Role.REP, "Anna", AudioFormat())
    assert hub.expire(now=899.0) == []
    ((ended, out, why),) = hub.expire(now=900.0)
    assert ended is unused and out.closes == [] and why is EndReason.NEVER_JOINED
    assert unused.is_ended and hub.get(unused.id) is unused  # the report stays readable
    with pytest.raises(Exception, match="ended"):
        hub.resolve(tokens.rep)
    assert hub.expire(now=10_000.0) == []  # someone is still connected to the other
    used.leave(rep, 10_000.0)
    assert hub.expire(now=10_299.0) == []  # the grace after everyone left: 5 minutes
    ((ended, _, why),) = hub.expire(now=10_300.0)
    assert ended is used and why is EndReason.EVERYONE_LEFT


def test_hub_ends_idle_calls_and_calls_past_their_length() -> None:
    from models.wire import Create
    from server.core.hub import EndReason, Expiry, SessionHub

    expiry = Expiry(never_joined_s=0.0, everyone_left_s=0.0, idle_s=600.0, max_call_s=3600.0)
    hub = SessionHub({"default": default_playbook()}, expiry=expiry)
    idle, _ = hub.create(Create(), now=0.0)
    busy, _ = hub.create(Create(), now=0.0)
    idle.join(Role.REP, "Anna", AudioFormat())
    rep, _ = busy.join(Role.REP, "Anna", AudioFormat())
    hub.touch(busy.id, 500.0)
    ((ended, out, why),) = hub.expire(now=600.0)
    assert (ended, why) == (idle, EndReason.IDLE) and out.closes  # connected: told and closed
    for now in range(1000, 3600, 500):
        hub.touch(busy.id, float(now))
        assert hub.expire(now=float(now)) == []
    ((ended, _, why),) = hub.expire(now=3600.0)
    assert (ended, why) == (busy, EndReason.TOO_LONG)


def test_hub_forgets_the_oldest_ended_call_and_only_its_tokens(monkeypatch) -> None:
    from models.errors import BadToken, TokenExpired
    from models.wire import Create
    from server.core import hub as hub_module
    from server.core.hub import Expiry, SessionHub

    monkeypatch.setattr(hub_module, "KEEP_ENDED_SESSIONS", 2)
    expiry = Expiry(never_joined_s=60.0, everyone_left_s=0.0, idle_s=0.0, max_call_s=0.0)
    hub = SessionHub({"default": default_playbook()}, expiry=expiry)
    calls = [hub.create(Create(), now=float(i)) for i in range(3)]
    live, live_tokens = hub.create(Create(), now=1000.0)
    assert len(hub.expire(now=100.0)) == 3  # the three unused calls end, oldest first
    (oldest, old_tokens), *kept = calls
    assert hub.get(oldest.id) is None and hub.tokens_of(oldest.id) is None
    for token in (old_tokens.rep, old_tokens.customer, old_tokens.observer):
        assert hub.lookup(token) is None
        with pytest.raises(BadToken):
            hub.resolve(token)
    for session, tokens in kept:  # still readable: their reports, "this call has ended"
        assert hub.get(session.id) is session and hub.lookup(tokens.rep) == (session, Role.REP)
        with pytest.raises(TokenExpired):
            hub.resolve(tokens.customer)
    assert hub.resolve(live_tokens.observer) == (live, Role.OBSERVER)


def test_hub_ids_and_tokens_name_the_node_for_load_balancers() -> None:
    from models.wire import Create
    from server.core.hub import SessionHub

    hub = SessionHub({"default": default_playbook()}, node="n2")
    session, tokens = hub.create(Create(), now=5.0)
    assert session.id.startswith("n2.") and session.node == "n2" and session.created_at == 5.0
    for token in (tokens.rep, tokens.customer, tokens.observer):
        assert token.startswith("n2.") and len(token) > 30
        assert hub.resolve(token)[0] is session
    assert session.summary().node == "n2"


def test_session_erase_starts_clean() -> None:
    # After an erase, session time restarts at 0: nothing of the erased call (cooldowns,
    # armed flags, the last nudge) may delay or shape the first nudge of what follows.
    h = make_session()
    pushy = [(13, True, False), (0.8, False, False), (5, False, True), (0.8, False, False)]
    h.play(pushy * 10)  # about 200 s: talk_ratio fired
    first = [n.rule for n in h.nudges()]
    assert "talk_ratio" in first
    h.session.consent(h.rep, Consent(granted=False, erase=True), 1.0)
    h.session.consent(h.rep, Consent(granted=True), 2.0)
    assert h.session.is_live and h.session.at_s == 0
    mark = len(h.outputs)
    h.play(pushy * 5)
    after = [
        m for o in h.outputs[mark:] for pid, m in o.sends if pid == h.rep and isinstance(m, Nudge)
    ]
    f = make_session()  # the same speech in a brand-new session
    f.play(pushy * 5)
    assert [(n.rule, n.at) for n in after] == [(n.rule, n.at) for n in f.nudges()]
    assert after and after[0].rule == "talk_ratio" and after[0].at < 60


def test_session_stereo_rep_with_a_connected_customer_feeds_only_the_rep() -> None:
    # A real customer speaks through their own microphone: the rep's right channel must
    # not count as the customer's speech (nor inject audio as their words).
    session = Session("s4", playbook=default_playbook(), vad_factory=ScriptedVad, asr=True)
    rep, _ = session.join(Role.REP, "Anna", AudioFormat(channels=2))
    customer, _ = session.join(Role.CUSTOMER, "Bob", AudioFormat())
    scopes = ("coaching", "transcript")
    session.consent(rep, Consent(granted=True, scopes=scopes), 0.0)
    session.consent(customer, Consent(granted=True, scopes=scopes), 0.0)
    silent_rep_loud_right = (b"\x00\x00" + b"\x01\x01") * (len(SPEECH) // 2)
    jobs = []
    for _ in range(round(60 * 100 / 3)):  # 60 s: the customer's own microphone is silent
        jobs += session.feed_audio(rep, silent_rep_loud_right).asr_jobs
        jobs += session.feed_audio(customer, SILENCE).asr_jobs
    assert session.turns.customer_frames == 0 and session.turns.rep_frames == 0
    assert not [j for j in jobs if j.speaker == "customer"]


def test_session_whisper_from_an_observer_who_agreed() -> None:
    h = make_session()
    observer, _ = h.session.join(Role.OBSERVER, "Trainer", None)
    with pytest.raises(NotAllowedNow):
        h.session.whisper(observer, "Ask about their budget")
    with pytest.raises(Forbidden):
        h.session.whisper(h.customer, "psst")
    h.session.consent(observer, Consent(granted=True), 0.0)
    out = h.session.whisper(observer, "Ask about their budget")
    (sent,) = out.sends
    assert sent[0] == h.rep and isinstance(sent[1], Nudge) and sent[1].evidence["from"] == "Trainer"
    assert out.publish == []


def test_session_reports_follow_the_audience_policy() -> None:
    h = make_session(scopes=("coaching", "transcript"))  # no trainer_view
    h.play([(70, True, False), (2, False, False)])
    h.session.end(h.rep, 0.0)
    full = h.session.report_for(Role.REP)
    assert isinstance(full, SessionReport) and full.nudges
    for role in (Role.CUSTOMER, Role.OBSERVER, None):
        shared = h.session.report_for(role)
        assert isinstance(shared, SharedReport) and shared.withheld
        assert not hasattr(shared, "nudges") and len(shared.consent) == 2


def _memory_held_by_a_call(*, ended: bool) -> tuple[int, Session]:
    """Bytes a call of two minutes holds (traced allocations still alive), ended or live."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        h = make_session(asr=True)
        h.play([(4.0, True, False), (1.0, False, False), (4.0, False, True)] * 13)
        if ended:
            h.session.end(h.rep, 0.0)
        session = h.session
        del h  # its outputs are the test's, not the call's
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return held, session


def test_an_ended_call_lets_go_of_its_audio_analysis_and_keeps_its_report() -> None:
    # A node keeps up to a thousand ended calls for their reports and evaluations.
    _memory_held_by_a_call(ended=True)  # what the first call of a process loads, once
    live_b, live = _memory_held_by_a_call(ended=False)
    ended_b, ended = _memory_held_by_a_call(ended=True)
    assert ended_b < live_b / 4, (ended_b, live_b)  # 0.07 of 0.46 MB; 0.32 before
    report = ended.report()
    assert report.status == "ended" and report.duration_s == pytest.approx(117, abs=1)
    assert report.talk.rep == pytest.approx(live.report().talk.rep, abs=0.01)
    assert report.rep_speech_s == pytest.approx(52, abs=1)


def test_an_ended_48_khz_call_still_checks_audio_that_was_in_flight() -> None:
    session = Session("s48", playbook=default_playbook())
    rep, _ = session.join(Role.REP, "Anna", AudioFormat(rate=48000))
    customer, _ = session.join(Role.CUSTOMER, "Bob", AudioFormat(rate=48000))
    for pid in (rep, customer):
        session.consent(pid, Consent(granted=True), 0.0)
    for _ in range(20):  # 2 s, resampled to 16 kHz
        session.feed_audio(rep, bytes(9600))
        session.feed_audio(customer, bytes(9600))
    session.end(rep, 0.0)
    assert session.report().duration_s == pytest.approx(2.0, abs=0.1)
    late = session.feed_audio(customer, bytes(9600))  # sent before the close reached them
    assert late.sends == [] and late.asr_jobs == []
    with pytest.raises(BadAudio, match="odd byte length"):
        session.feed_audio(customer, bytes(9601))
