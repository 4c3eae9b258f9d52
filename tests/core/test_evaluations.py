"""Evaluations on the form: who may tick it when, once each, and the scorecard they join."""

from __future__ import annotations

import pytest

from models.errors import AlreadyEvaluated, BadMessage, Forbidden, NotAllowedNow
from models.wire import AudioFormat, Consent, Evaluate, Role
from tests.core.harness import make_session

WATCHED = ("coaching", "transcript", "trainer_view")


def test_rep_reflects_after_the_call_and_the_scorecard_puts_it_beside_the_measures() -> None:
    h = make_session(scopes=WATCHED)
    h.play([(70.0, True, False), (5.0, False, True)])
    with pytest.raises(NotAllowedNow):
        h.session.evaluate(Role.REP, "Anna", Evaluate(ticks={"talk_share": "good"}), 1.0)
    assert h.session.report().scorecard is None, "no scorecard while the call runs"
    h.session.end(h.rep, 2.0)
    h.session.evaluate(Role.REP, "Anna", Evaluate(ticks={"talk_share": "good"}), 3.0)
    scorecard = h.session.report().scorecard
    assert scorecard is not None and scorecard.reflection == "given"
    share = next(c for c in scorecard.criteria() if c.id == "talk_share")
    assert share.verdict == "needs_work" and share.self_view.verdict == "good"
    assert scorecard.rep == "Anna" and scorecard.customer == "Bob"
    with pytest.raises(AlreadyEvaluated):
        h.session.evaluate(Role.REP, "Anna", Evaluate(skip=True), 4.0)


def test_peers_tick_live_once_each_and_the_customer_never() -> None:
    h = make_session(scopes=WATCHED)
    observer, _ = h.session.join(Role.OBSERVER, "Eva", None)
    h.session.consent(observer, Consent(granted=True), 1.0)
    note = {"listens": "Let Bob finish his sentences"}
    h.session.evaluate(
        Role.OBSERVER, "Eva", Evaluate(ticks={"listens": "needs_work"}, notes=note), 1.0
    )
    with pytest.raises(AlreadyEvaluated):
        h.session.evaluate(Role.OBSERVER, " eva ", Evaluate(ticks={"listens": "good"}), 2.0)
    h.session.evaluate(Role.OBSERVER, "Sam", Evaluate(ticks={"listens": "good"}), 2.0)
    with pytest.raises(Forbidden):
        h.session.evaluate(Role.CUSTOMER, "Bob", Evaluate(ticks={"listens": "good"}), 2.0)
    with pytest.raises(BadMessage):
        h.session.evaluate(Role.OBSERVER, "Kim", Evaluate(ticks={"charisma": "good"}), 2.0)
    h.session.end(h.rep, 3.0)
    listens = next(c for c in h.session.report().scorecard.criteria() if c.id == "listens")
    assert [(v.by, v.verdict, v.note) for v in listens.peer_views] == [
        ("Eva", "needs_work", "Let Bob finish his sentences"),
        ("Sam", "good", ""),
    ]


def test_a_trainer_evaluates_only_calls_open_to_trainers() -> None:
    private = make_session(scopes=("coaching",))
    with pytest.raises(Forbidden):
        private.session.evaluate(Role.TRAINER, "Tom", Evaluate(ticks={"listens": "good"}), 1.0)
    watched = make_session(scopes=WATCHED)
    watched.session.evaluate(Role.TRAINER, "Tom", Evaluate(ticks={"listens": "good"}), 1.0)
    assert watched.session.evaluations[0].role == "trainer"


def test_a_skipped_reflection_is_recorded() -> None:
    h = make_session(scopes=WATCHED)
    h.play([(5.0, True, False)])
    h.session.end(h.rep, 1.0)
    h.session.evaluate(Role.REP, "Anna", Evaluate(skip=True, ticks={"listens": "good"}), 2.0)
    (evaluation,) = h.session.evaluations
    assert evaluation.skipped and evaluation.ticks == {}
    assert h.session.report().scorecard.reflection == "skipped"


def test_erase_deletes_the_evaluations_too() -> None:
    h = make_session(scopes=WATCHED)
    observer, _ = h.session.join(Role.OBSERVER, "Eva", AudioFormat())
    h.session.evaluate(Role.OBSERVER, "Eva", Evaluate(ticks={"listens": "good"}), 1.0)
    h.session.consent(h.rep, Consent(granted=False, erase=True), 2.0)
    assert h.session.evaluations == []
