"""The trainer's grid line of a call (`call`): what it shows, and that a private call shows nothing."""

from __future__ import annotations

import msgspec
import pytest

from models.errors import Forbidden, NotAllowedNow
from models.wire import CallSummary, Consent, Metrics, Nudge, Role
from server.core import summary
from tests.core.harness import make_session

WATCHED = ("coaching", "transcript", "trainer_view")


def published_lines(harness) -> list[CallSummary]:
    return [m for o in harness.outputs for m in o.publish if isinstance(m, CallSummary)]


def test_summary_of_a_call_without_trainer_view_is_one_private_line() -> None:
    h = make_session(scopes=("coaching", "transcript"))
    h.play([(50.0, True, False)])  # the rep talks on: metrics and a talk-ratio nudge
    lines = published_lines(h)
    assert lines, "a private call still tells trainers that it exists"
    for line in lines:
        assert line.private and line.session == "s1"
        assert line == CallSummary(
            session="s1", private=True, status=line.status, created_at=0.0
        ), "nothing but id, node, status and age"
    published = {type(m).__name__ for o in h.outputs for m in o.publish}
    assert published == {"CallSummary"}


def test_summary_of_a_watched_call_follows_metrics_nudges_and_checklist() -> None:
    h = make_session(scopes=WATCHED)
    h.play([(80.0, True, False), (5.0, False, True)])
    line = published_lines(h)[-1]
    assert not line.private and line.status == "live"
    names = {p.role: p.name for p in line.participants}
    assert names == {Role.REP: "Anna", Role.CUSTOMER: "Bob"}
    assert line.talk is not None and line.talk.rep > 0.9
    metrics = [m for m in h.sent(h.rep) if isinstance(m, Metrics)]
    assert line.talk_window == metrics[-1].talk_window
    nudges = h.nudges()
    assert nudges and line.last_nudge == nudges[-1]
    assert line.checklist_total == len(h.session.playbook.checklist) and line.checklist_done == 0
    assert line.target_rep_share == h.session.playbook.rules.talk_ratio.threshold
    assert line.whispers[0] == "Ask an open question"
    assert line.at == pytest.approx(85.0, abs=0.1)


def test_summary_turns_private_when_a_party_withdraws_trainer_view() -> None:
    h = make_session(scopes=WATCHED)
    h.play([(5.0, True, False)])
    assert not published_lines(h)[-1].private
    h.outputs.append(
        h.session.consent(h.customer, Consent(granted=True, scopes=("coaching",)), 1.0)
    )
    assert published_lines(h)[-1].private
    before = len(h.outputs)
    h.play([(5.0, True, False)])
    assert not [m for o in h.outputs[before:] for m in o.publish], "nothing more reaches trainers"


def test_summary_warns_about_a_rule_that_keeps_firing() -> None:
    def nudge(rule: str, n: int) -> Nudge:
        return Nudge(id=f"n{n}", rule=rule, text="x", severity="info", at=float(n))

    facts = summary.CallFacts(
        session="s", node="n1", created_at=1.0, status="live", at_s=10.0, title="",
        language="en", participants=(), target_rep_share=0.65,
    )  # fmt: skip
    fired = [nudge("talk_ratio", i) for i in range(3)] + [nudge("pace", 4), nudge("manual", 5)]
    line = summary.summarize(facts, None, fired, None, ())
    assert line.warnings == ("talk_ratio",)
    assert line.last_nudge == fired[3], "a whisper is not the last rule nudge"
    assert line.node == "n1" and line.talk is None


def test_summary_of_a_dutch_call_offers_dutch_quick_whispers() -> None:
    h = make_session(scopes=WATCHED)
    h.session.language = "nl"
    assert h.session.summary().whispers[0] == "Stel een open vraag"


def test_trainer_whisper_reaches_the_rep_alone_marked_as_the_trainers() -> None:
    h = make_session(scopes=WATCHED)
    out = h.session.trainer_whisper("Tom", "Ask about their budget")
    assert [pid for pid, _ in out.sends] == [h.rep]
    ((_, nudge),) = out.sends
    assert isinstance(nudge, Nudge) and nudge.rule == "manual" and nudge.session == "s1"
    assert nudge.evidence == {"from": "Tom", "by": "trainer"}
    assert not out.publish, "a whisper is the rep's, not the dashboard's"


def test_trainer_whisper_to_a_private_or_ended_call_is_refused() -> None:
    h = make_session(scopes=("coaching",))
    with pytest.raises(Forbidden):
        h.session.trainer_whisper("Tom", "hi")
    h.session.end(h.rep, 2.0)
    with pytest.raises(NotAllowedNow):
        h.session.trainer_whisper("Tom", "hi")


def test_every_event_carries_its_session() -> None:
    h = make_session(scopes=WATCHED)
    h.play([(80.0, True, False)])
    for message in h.sent():
        session = getattr(message, "session", None)
        assert session == "s1", msgspec.structs.asdict(message)
