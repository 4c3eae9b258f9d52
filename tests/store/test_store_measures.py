"""The key measures of a call come from the report the core made (a real session here);
its verdicts from the scorecard."""

from __future__ import annotations

from pathlib import Path

from client.stream import read_audio
from models.playbook import default_playbook
from models.report import InterruptionRecord, SessionReport
from models.scorecard import CriterionCard, Scorecard, SectionCard, View
from models.wire import Consent, Nudge, Role, Severity, TalkShare
from server.core.session import Session
from server.store import measures_from_report, verdicts_from_scorecard

CALLS_DIR = Path(__file__).resolve().parents[2] / "client" / "calls"


def test_measures_from_a_real_report():
    rep_audio = read_audio(CALLS_DIR / "pushy.rep.flac")
    customer_audio = read_audio(CALLS_DIR / "pushy.customer.flac")
    s = Session("m1", playbook=default_playbook())
    rep, _ = s.join(Role.REP, "Anna", rep_audio.format())
    customer, _ = s.join(Role.CUSTOMER, "Bob", customer_audio.format())
    s.consent(rep, Consent(granted=True), 0.0)
    s.consent(customer, Consent(granted=True), 0.0)
    for a, b in zip(rep_audio.frames(0.1), customer_audio.frames(0.1), strict=False):
        s.feed_audio(rep, a)
        s.feed_audio(customer, b)
    s.end(rep, 0.0)
    report = s.report_for(Role.REP)
    m = measures_from_report(report)
    assert m.talk_share_rep == report.talk.rep and 0 < m.talk_share_rep < 1
    assert m.longest_monologue_s == report.longest_monologue_s
    assert m.interruptions == len(report.interruptions)
    assert sum(m.nudges_by_rule.values()) == len(report.nudges)
    assert (m.questions_open, m.questions_closed) == (0, 0)  # no recognition, no questions


def test_nudges_counted_by_rule():
    def nudge(i: int, rule: str) -> Nudge:
        return Nudge(id=f"n{i}", rule=rule, text="", severity=Severity.INFO, at=float(i))

    report = SessionReport(
        session="s",
        title="",
        language="en",
        status="ended",
        duration_s=60.0,
        talk=TalkShare(rep=0.7, customer=0.3),
        rep_speech_s=30.0,
        customer_speech_s=13.0,
        longest_monologue_s=20.0,
        interruptions=(InterruptionRecord(at_s=3.0, overlap_s=0.5),),
        overlaps=1,
        response_gaps_s=(),
        mean_response_gap_s=None,
        nudges=(nudge(1, "monologue"), nudge(2, "talk_ratio"), nudge(3, "monologue")),
        transcript=(),
        consent=(),
        dropped_before_consent_s=0.0,
    )
    m = measures_from_report(report)
    assert m.nudges_by_rule == {"monologue": 2, "talk_ratio": 1}
    assert (m.talk_share_rep, m.interruptions) == (0.7, 1)


def test_verdicts_from_a_scorecard_prefer_measured_then_trainer():
    def card(cid: str, verdict: str, *views: View) -> CriterionCard:
        return CriterionCard(
            id=cid, label=cid, verdict=verdict, judged=verdict == "not_measured", peer_views=views
        )

    peer = View(by="Carla", role="observer", verdict="good")
    trainer = View(by="Tom", role="trainer", verdict="needs_work")
    scorecard = Scorecard(
        session="s",
        title="",
        language="en",
        rep="Anna",
        customer="Bob",
        duration_s=60.0,
        duration="1:00",
        sections=(
            SectionCard(
                id="balance",
                title="Balance",
                criteria=(
                    card("talk", "needs_work", peer),
                    card("lsd", "not_measured", peer, trainer),
                ),
            ),
            SectionCard(
                id="voice",
                title="Voice",
                criteria=(card("pace", "not_measured", peer), card("tone", "not_measured")),
            ),
        ),
    )
    assert [(v.criterion, v.verdict) for v in verdicts_from_scorecard(scorecard)] == [
        ("talk", "needs_work"),  # measured: the views do not change it
        ("lsd", "needs_work"),  # the trainer's view before a peer's
        ("pace", "good"),
        ("tone", "not_measured"),
    ]
