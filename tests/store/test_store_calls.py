"""Calls: stored, read back, scored, evaluated once per evaluator, erased by any of their
tokens (and by no other), exported as their participants may see them, purged when old."""

from __future__ import annotations

import msgspec
import pytest

from models.errors import AlreadyEvaluated, BadToken, CallErased, Forbidden, UnknownSession
from models.records import CriterionVerdict
from models.scorecard import Evaluation
from models.wire import Role
from server.store import Store
from tests.store.conftest import DAY_S, T0

VERDICTS = (
    CriterionVerdict(criterion="talk_share", verdict="good"),
    CriterionVerdict(criterion="open_questions", verdict="needs_work"),
    CriterionVerdict(criterion="voice", verdict="not_measured"),
)


def _peer(name: str = "Carla", note: str = "Good summary at 4:10") -> Evaluation:
    return Evaluation(
        by=name, role="observer", ticks={"lsd": "good"}, notes={"lsd": note}, at=T0 + 700
    )


def _self(skipped: bool = False) -> Evaluation:
    return Evaluation(by="Anna", role="rep", ticks={"lsd": "needs_work"}, skipped=skipped, at=T0)


def test_call_stored_and_read_back(store: Store, make_call):
    record = make_call("c1")
    assert store.save_call(record) is True
    got = store.call("c1")
    assert (got.session, got.title, got.language, got.playbook) == (
        "c1",
        "Discovery c1",
        "en",
        "default",
    )
    assert (got.created_at, got.ended_at, got.duration_audio_s) == (T0, T0 + 600, 600.0)
    assert got.participants == record.participants
    assert got.report == record.report
    assert got.customer_view == record.customer_view
    assert got.consent == record.consent
    assert got.measures == record.measures
    assert got.scorecard is None and got.verdicts == () and got.evaluations == ()


def test_call_saved_twice_is_kept_once(store: Store, make_call):
    assert store.save_call(make_call("c1")) is True
    assert store.save_call(make_call("c1")) is False
    assert store.call("c1").title == "Discovery c1"


def test_unknown_call_is_a_coded_error(store: Store):
    with pytest.raises(UnknownSession) as e:
        store.call("nope")
    assert e.value.code == "unknown_session"


def test_scorecard_written_later_and_replaced(store: Store, make_call):
    store.save_call(make_call("c1"))
    store.save_scorecard("c1", b'{"v":1}', VERDICTS, at=T0 + 601)
    store.save_scorecard("c1", b'{"v":2}', VERDICTS[:1], at=T0 + 602)
    got = store.call("c1")
    assert got.scorecard == b'{"v":2}'
    assert got.verdicts == VERDICTS[:1]


def test_scorecard_of_unknown_call_refused(store: Store):
    with pytest.raises(UnknownSession):
        store.save_scorecard("nope", b"{}", VERDICTS)


def test_evaluations_one_per_evaluator(store: Store, make_call):
    store.save_call(make_call("c1"))
    skip = _self(skipped=True)
    trainer = Evaluation(by="Tom", role="trainer", ticks={"voice": "good"}, at=T0 + 620)
    for evaluation in (skip, _peer("Carla"), _peer("Dirk"), trainer):
        store.save_evaluation("c1", evaluation)
    # In the order they were submitted (the trainer before the peers, here).
    assert store.call("c1").evaluations == (skip, trainer, _peer("Carla"), _peer("Dirk"))


@pytest.mark.parametrize(
    "second",
    [
        pytest.param(_peer("Carla", "again"), id="same-peer"),
        pytest.param(_peer(" carla "), id="same-peer-other-spelling"),
        pytest.param(_self(), id="self-twice"),
    ],
)
def test_second_evaluation_refused(store: Store, make_call, second: Evaluation):
    store.save_call(make_call("c1"))
    first = _self() if second.role == "rep" else _peer("Carla")
    store.save_evaluation("c1", first)
    with pytest.raises(AlreadyEvaluated) as e:
        store.save_evaluation("c1", second)
    assert e.value.code == "already_evaluated"
    assert store.call("c1").evaluations == (first,)


def test_second_self_reflection_refused_even_after_a_skip(store: Store, make_call):
    store.save_call(make_call("c1"))
    store.save_evaluation("c1", _self(skipped=True))
    with pytest.raises(AlreadyEvaluated, match="the rep already evaluated"):
        store.save_evaluation("c1", _self())


def test_evaluation_by_a_customer_forbidden(store: Store, make_call):
    store.save_call(make_call("c1"))
    customer = Evaluation(by="Bob", role="customer", ticks={"lsd": "good"})  # type: ignore[arg-type]
    with pytest.raises(Forbidden, match="a customer may not evaluate") as e:
        store.save_evaluation("c1", customer)
    assert e.value.code == "forbidden"
    assert store.call("c1").evaluations == ()


@pytest.mark.parametrize("role", [Role.REP, Role.CUSTOMER, Role.OBSERVER])
def test_token_role_after_the_call(store: Store, make_call, role: Role):
    store.save_call(make_call("c1"))
    assert store.token_role("c1", f"c1.{role.value}") is role


@pytest.mark.parametrize("role", [Role.REP, Role.CUSTOMER, Role.OBSERVER])
def test_erase_by_each_token_kind(store: Store, make_call, role: Role):
    store.save_call(make_call("c1"))
    store.save_scorecard("c1", b'{"s":1}', VERDICTS)
    store.save_evaluation("c1", _peer())
    proof = store.erase_call("c1", f"c1.{role.value}", at=T0 + DAY_S)
    assert (proof.session, proof.erased_at, proof.erased_by) == ("c1", T0 + DAY_S, role)
    assert store.erasure("c1") == proof
    with pytest.raises(CallErased) as e:
        store.call("c1")
    assert e.value.code == "call_erased"
    # Nothing of the call is left but the proof: no report, names, figures or evaluations.
    rows = store._run(
        lambda: {
            table: store._all(f"SELECT COUNT(*) FROM {table} WHERE call_id = ?", ("c1",))[0][0]
            for table in ("measures", "nudge_counts", "verdicts", "evaluations", "consent")
        }
    )
    assert rows == {"measures": 0, "nudge_counts": 0, "verdicts": 0, "evaluations": 0, "consent": 1}
    left = store._run(
        lambda: store._all(
            "SELECT title, participants, report, customer_view, observer_view, scorecard"
            " FROM calls WHERE id = ?",
            ("c1",),
        )
    )
    assert left == [("", "[]", None, None, None, None)]
    ledger = store._run(lambda: store._all("SELECT role, name, erase, wall_time FROM consent"))
    assert ledger == [(role.value, "", 1, T0 + DAY_S)]


@pytest.mark.parametrize("token", ["wrong", "c2.rep", "c2.customer", ""])
def test_erase_with_a_wrong_or_another_calls_token_refused(store: Store, make_call, token):
    store.save_call(make_call("c1"))
    store.save_call(make_call("c2"))
    with pytest.raises(BadToken) as e:
        store.erase_call("c1", token)
    assert e.value.code == "bad_token"
    assert store.call("c1").report is not None


def test_erase_unknown_call_answers_as_a_wrong_token(store: Store):
    with pytest.raises(BadToken):
        store.erase_call("nope", "nope.rep")


def test_erase_twice_says_erased(store: Store, make_call):
    store.save_call(make_call("c1"))
    store.erase_call("c1", "c1.customer", at=T0)
    with pytest.raises(CallErased):
        store.erase_call("c1", "c1.rep")
    with pytest.raises(CallErased):
        store.save_scorecard("c1", b"{}", VERDICTS)
    with pytest.raises(CallErased):
        store.save_evaluation("c1", _peer())
    with pytest.raises(CallErased):
        store.export_call("c1", "c1.rep")


def test_erased_call_leaves_the_history(store: Store, make_call):
    group = store.create_group("Team")
    rep = store.create_rep(group.id, "Anna").rep
    store.save_call(make_call("c1", rep_id=rep.id))
    store.save_call(make_call("c2", rep_id=rep.id, created_at=T0 + 1))
    store.erase_call("c1", "c1.rep")
    assert [c.session for c in store.rep_calls(rep.id)] == ["c2"]
    assert [c.session for c in store.group_calls(group.id)] == ["c2"]


def test_export_as_rep_holds_everything(store: Store, make_call):
    record = make_call("c1")
    store.save_call(record)
    store.save_scorecard("c1", b'{"score":7}', VERDICTS)
    store.save_evaluation("c1", _peer())
    doc = msgspec.json.decode(store.export_call("c1", "c1.rep", at=T0 + 5))
    assert doc["exported_at"] == T0 + 5 and doc["role"] == "rep" and doc["rep"] is None
    (call,) = doc["calls"]
    assert call["report"] == msgspec.json.decode(record.report)  # embedded, not re-encoded
    assert call["scorecard"] == {"score": 7}
    assert call["measures"]["nudges_by_rule"] == {"monologue": 1, "talk_ratio": 2}
    assert [v["criterion"] for v in call["verdicts"]] == ["open_questions", "talk_share", "voice"]
    assert call["evaluations"][0]["ticks"] == {"lsd": "good"}
    assert call["evaluations"][0]["notes"] == {"lsd": "Good summary at 4:10"}
    assert [c["name"] for c in call["consent"]] == ["Anna", "Bob"]


def test_export_as_customer_holds_their_view_only(store: Store, make_call):
    store.save_call(make_call("c1"))
    store.save_scorecard("c1", b'{"score":7}', VERDICTS)
    store.save_evaluation("c1", _peer())
    (call,) = msgspec.json.decode(store.export_call("c1", "c1.customer"))["calls"]
    assert call["report"] == {"session": "c1", "withheld": "coaching"}
    assert call["scorecard"] is None and call["measures"] is None
    assert call["verdicts"] == [] and call["evaluations"] == []


def test_export_as_observer_holds_their_view_and_peer_forms(store: Store, make_call):
    store.save_call(make_call("c1"))
    store.save_evaluation("c1", _peer())
    store.save_evaluation("c1", _self())
    (call,) = msgspec.json.decode(store.export_call("c1", "c1.observer"))["calls"]
    assert call["report"] == {"session": "c1", "withheld": "ledger"}
    assert [e["role"] for e in call["evaluations"]] == ["observer"]


def test_export_with_another_calls_token_refused(store: Store, make_call):
    store.save_call(make_call("c1"))
    store.save_call(make_call("c2"))
    with pytest.raises(BadToken):
        store.export_call("c1", "c2.rep")


def test_export_by_rep_token_holds_all_their_calls(store: Store, make_call):
    group = store.create_group("Team")
    anna, bob = store.create_rep(group.id, "Anna"), store.create_rep(group.id, "Bob")
    for i in range(3):
        store.save_call(make_call(f"a{i}", rep_id=anna.rep.id, created_at=T0 + i))
    store.save_call(make_call("b0", rep_id=bob.rep.id))
    doc = msgspec.json.decode(store.export_rep(anna.token))
    assert doc["rep"]["name"] == "Anna"
    assert [c["session"] for c in doc["calls"]] == ["a2", "a1", "a0"]
    with pytest.raises(BadToken):
        store.export_rep("rep_not_a_token")


def test_retention_purges_calls_before_the_cutoff(store: Store, make_call):
    for i, age_days in enumerate((100, 91, 89, 1)):
        store.save_call(make_call(f"c{i}", created_at=T0 - age_days * DAY_S))
    store.save_scorecard("c0", b"{}", VERDICTS)
    store.erase_call("c1", "c1.rep")  # erased calls go too
    assert store.purge_before(T0 - 90 * DAY_S) == 2
    for gone in ("c0", "c1"):
        with pytest.raises(UnknownSession):
            store.call(gone)
        with pytest.raises(BadToken):  # their tokens are forgotten with them
            store.token_role(gone, f"{gone}.rep")
    assert store.call("c2").session == "c2" and store.call("c3").session == "c3"
    assert store.purge_before(T0 - 90 * DAY_S) == 0
    orphans = store._run(lambda: store._all("SELECT COUNT(*) FROM verdicts")[0][0])
    assert orphans == 0
