"""Groups and reps (long-lived rep tokens kept as hashes), and the history queries: a rep's
last calls, recurring issues (needs work in ≥3 of the last 5 scored calls), the group's
most-missed criteria."""

from __future__ import annotations

import hashlib

import pytest

from models.errors import BadToken, UnknownGroup, UnknownRep
from models.records import CallMeasures, CriterionVerdict
from models.scorecard import Verdict
from server.store import Store
from tests.store.conftest import T0

GOOD, WORK, NOT = "good", "needs_work", "not_measured"


def _scored(store: Store, make_call, session: str, rep_id: str, at: float, **verdicts: Verdict):
    store.save_call(make_call(session, rep_id=rep_id, created_at=at))
    store.save_scorecard(
        session, b"{}", [CriterionVerdict(criterion=c, verdict=v) for c, v in verdicts.items()]
    )


def test_groups_and_reps(store: Store):
    team = store.create_group(" Team North ", at=T0)
    assert team.name == "Team North" and store.group(team.id) == team
    bob = store.create_rep(team.id, "Bob", at=T0 + 1).rep
    anna = store.create_rep(team.id, "Anna", at=T0 + 2).rep
    assert store.groups() == [team]
    assert store.reps(team.id) == [anna, bob]
    assert store.rep(anna.id) == anna and anna.group_id == team.id


def test_rep_token_shown_once_and_kept_as_a_hash(store: Store):
    team = store.create_group("Team")
    new = store.create_rep(team.id, "Anna")
    assert new.token.startswith("rep_") and len(new.token) >= 32
    assert store.rep_by_token(new.token) == new.rep
    stored = store._run(lambda: store._all("SELECT token_sha256 FROM reps")[0][0])
    assert stored == hashlib.sha256(new.token.encode()).hexdigest()


@pytest.mark.parametrize("token", ["", "rep_guess", "c1.rep"])
def test_unknown_rep_token_refused(store: Store, token: str):
    store.create_rep(store.create_group("Team").id, "Anna")
    with pytest.raises(BadToken) as e:
        store.rep_by_token(token)
    assert e.value.code == "bad_token"


def test_rep_token_of_another_rep_names_that_rep(store: Store):
    team = store.create_group("Team")
    anna, bob = store.create_rep(team.id, "Anna"), store.create_rep(team.id, "Bob")
    # The history page compares the id the token opens with the rep asked for.
    assert store.rep_by_token(bob.token).id != anna.rep.id


def test_renewed_rep_token_replaces_the_old(store: Store):
    new = store.create_rep(store.create_group("Team").id, "Anna")
    renewed = store.renew_rep_token(new.rep.id)
    assert renewed.rep == new.rep and renewed.token != new.token
    assert store.rep_by_token(renewed.token) == new.rep
    with pytest.raises(BadToken):
        store.rep_by_token(new.token)


def test_unknown_group_and_rep_are_coded_errors(store: Store):
    with pytest.raises(UnknownGroup) as g:
        store.create_rep("g_nope", "Anna")
    assert g.value.code == "unknown_group"
    for query in (store.rep, store.rep_calls, store.recurring_issues, store.renew_rep_token):
        with pytest.raises(UnknownRep) as r:
            query("r_nope")
        assert r.value.code == "unknown_rep"
    for query in (store.group, store.reps, store.group_calls, store.group_missed):
        with pytest.raises(UnknownGroup):
            query("g_nope")


def test_call_of_an_unknown_rep_refused(store: Store, make_call):
    with pytest.raises(UnknownRep):
        store.save_call(make_call("c1", rep_id="r_nope"))


def test_call_lands_in_the_reps_group(store: Store, make_call):
    team = store.create_group("Team")
    anna = store.create_rep(team.id, "Anna").rep
    store.save_call(make_call("c1", rep_id=anna.id))
    got = store.call("c1")
    assert (got.rep_id, got.group_id) == (anna.id, team.id)


def test_rep_calls_newest_first_with_measures(store: Store, make_call):
    team = store.create_group("Team")
    anna, bob = (store.create_rep(team.id, n).rep for n in ("Anna", "Bob"))
    for i in range(7):
        m = CallMeasures(
            talk_share_rep=0.5 + i / 100,
            longest_monologue_s=float(i),
            questions_open=i,
            questions_closed=0,
            interruptions=0,
            nudges_by_rule={"monologue": i} if i else {},
        )
        store.save_call(make_call(f"a{i}", rep_id=anna.id, created_at=T0 + i, measures=m))
    store.save_call(make_call("b0", rep_id=bob.id, created_at=T0 + 100))
    store.save_scorecard("a6", b"{}", [])
    last = store.rep_calls(anna.id, limit=3)
    assert [c.session for c in last] == ["a6", "a5", "a4"]
    assert [c.scored for c in last] == [True, False, False]
    assert last[0].measures is not None
    assert last[0].measures.questions_open == 6
    assert last[0].measures.nudges_by_rule == {"monologue": 6}
    assert len(store.group_calls(team.id)) == 8
    assert [c.session for c in store.group_calls(team.id, limit=2)] == ["b0", "a6"]


def test_recurring_issue_missed_in_three_of_the_last_five(store: Store, make_call):
    rep = store.create_rep(store.create_group("Team").id, "Anna").rep
    # Oldest first. "lsd" needs work in 4 old calls, then only in 2 of the last 5;
    # "questions" in 3 of the last 5; "voice" is never measured.
    rows = [
        dict(lsd=WORK, questions=GOOD, voice=NOT),
        dict(lsd=WORK, questions=GOOD, voice=NOT),
        dict(lsd=WORK, questions=WORK, voice=NOT),  # c2: last 5 start here
        dict(lsd=GOOD, questions=WORK, voice=NOT),
        dict(lsd=WORK, questions=GOOD, voice=NOT),
        dict(lsd=GOOD, questions=WORK, voice=NOT),
        dict(lsd=GOOD, questions=GOOD, voice=NOT),
    ]
    for i, verdicts in enumerate(rows):
        _scored(store, make_call, f"c{i}", rep.id, T0 + i, **verdicts)
    store.save_call(make_call("unscored", rep_id=rep.id, created_at=T0 + 99))  # does not count
    issues = store.recurring_issues(rep.id)
    assert [(i.criterion, i.missed, i.of_calls) for i in issues] == [("questions", 3, 5)]
    assert issues[0].sessions == ("c5", "c3", "c2")
    assert [i.criterion for i in store.recurring_issues(rep.id, last_calls=7)] == [
        "lsd",
        "questions",
    ]


def test_recurring_issues_need_three_calls(store: Store, make_call):
    rep = store.create_rep(store.create_group("Team").id, "Anna").rep
    for i in range(2):
        _scored(store, make_call, f"c{i}", rep.id, T0 + i, lsd=WORK)
    assert store.recurring_issues(rep.id) == []


def test_group_ranks_what_it_keeps_missing(store: Store, make_call):
    team, other = store.create_group("Team"), store.create_group("Other")
    anna, bob = (store.create_rep(team.id, n).rep for n in ("Anna", "Bob"))
    carla = store.create_rep(other.id, "Carla").rep
    _scored(store, make_call, "a0", anna.id, T0, lsd=WORK, questions=WORK, voice=NOT)
    _scored(store, make_call, "a1", anna.id, T0 + 1, lsd=WORK, questions=GOOD, voice=NOT)
    _scored(store, make_call, "b0", bob.id, T0 + 2, lsd=WORK, questions=WORK, voice=NOT)
    _scored(store, make_call, "b1", bob.id, T0 + 3, lsd=GOOD, questions=GOOD, voice=WORK)
    _scored(store, make_call, "x0", carla.id, T0, lsd=WORK, voice=WORK)  # another group
    ranking = store.group_missed(team.id)
    assert [(m.criterion, m.missed, m.judged, m.reps) for m in ranking] == [
        ("lsd", 3, 4, 2),
        ("questions", 2, 4, 2),
        ("voice", 1, 1, 1),
    ]
    assert [m.criterion for m in store.group_missed(team.id, since=T0 + 2)] == [
        "lsd",
        "questions",
        "voice",
    ]
    assert [(m.criterion, m.missed) for m in store.group_missed(team.id, since=T0 + 3)] == [
        ("voice", 1)
    ]
