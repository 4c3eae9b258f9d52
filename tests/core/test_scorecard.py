"""The scorecard: the default form applied to the bundled calls (real audio, scripted words)."""

from __future__ import annotations

import functools

import msgspec
import pytest

from models.form import Criterion, Metric, Section
from models.playbook import default_playbook
from models.scorecard import Evaluation, Scorecard
from models.texts import Texts
from models.wire import AudioCheck
from server.core.scorecard import build_scorecard, clock
from tests.core.test_language_calls import run_call

FORM = default_playbook().form


@functools.cache
def report(name: str):
    session, _, _ = run_call(name)
    return session.report()


def card(scorecard: Scorecard, criterion: str):
    return next(c for c in scorecard.criteria() if c.id == criterion)


def test_scorecard_follows_every_criterion_of_the_form_with_names_and_m_ss() -> None:
    sc = build_scorecard(report("good"), FORM, rep="Anna", customer="Bram")
    assert [s.id for s in sc.sections] == [s.id for s in FORM]
    assert len(sc.criteria()) == sum(len(s.criteria) for s in FORM)
    assert sc.rep == "Anna" and sc.customer == "Bram" and sc.reflection == "pending"
    assert sc.duration == clock(sc.duration_s) and ":" in sc.duration
    share = card(sc, "talk_share")
    assert share.label == "Talk share" and share.value_text.endswith("%")
    assert share.target_text == "at most 60%"
    assert card(sc, "listens").judged and card(sc, "listens").verdict == "not_measured"


def test_scorecard_tells_a_pushy_call_from_a_good_one() -> None:
    good = build_scorecard(report("good"), FORM, rep="Anna", customer="Bram")
    pushy = build_scorecard(report("pushy"), FORM, rep="Anna", customer="Bram")
    assert card(good, "talk_share").verdict == "good"
    assert card(pushy, "talk_share").verdict == "needs_work"
    assert card(pushy, "monologue").verdict == "needs_work"
    assert card(pushy, "monologue").moments, "the monologue nudges are the moments"
    interruptions = card(pushy, "interruptions")
    assert len(interruptions.moments) == int(interruptions.value or 0)
    for c in pushy.criteria():
        for moment in c.moments:
            assert moment.time == clock(moment.at_s)


def test_scorecard_of_a_dutch_call_is_in_dutch() -> None:
    sc = build_scorecard(report("nl_good"), FORM, rep="Anna", customer="Bram")
    assert sc.sections[0].title == "Gespreksstructuur"
    assert card(sc, "talk_share").label == "Spreektijd"
    assert card(sc, "talk_share").target_text == "hoogstens 60%"


def test_scorecard_checklist_criteria_point_at_the_moment_covered() -> None:
    sc = build_scorecard(report("good"), FORM, rep="Anna", customer="Bram")
    covered = [c for c in sc.criteria() if c.id in ("budget", "decision_maker", "timing")]
    assert any(c.verdict == "good" for c in covered)
    for c in covered:
        if c.verdict == "good":
            assert len(c.moments) == 1 and c.moments[0].time in c.evidence


def test_scorecard_without_text_says_why_instead_of_scoring() -> None:
    plain = msgspec.structs.replace(report("good"), language_report=None)
    sc = build_scorecard(plain, FORM, rep="Anna", customer="Bram")
    assert card(sc, "open_questions").verdict == "not_measured"
    assert "transcript" in card(sc, "open_questions").evidence
    assert card(sc, "talk_share").verdict == "good", "talk time needs no words"


def test_scorecard_does_not_score_talk_time_on_an_unreliable_microphone() -> None:
    check = AudioCheck(speaker="customer", issue="noise", reliable=False, text="", at=3.0)
    noisy = msgspec.structs.replace(report("pushy"), audio_checks=(check,))
    sc = build_scorecard(noisy, FORM, rep="Anna", customer="Bram")
    assert card(sc, "talk_share").verdict == "not_measured"
    assert "unreliable" in card(sc, "talk_share").evidence


def test_scorecard_puts_self_and_peer_views_beside_the_measured_one() -> None:
    views = [
        Evaluation(by="Anna", role="rep", ticks={"talk_share": "good", "listens": "good"}),
        Evaluation(
            by="Tom",
            role="trainer",
            ticks={"listens": "needs_work"},
            notes={"listens": "You cut in twice"},
        ),  # fmt: skip
        Evaluation(by="Eva", role="observer", ticks={"listens": "good"}),
    ]
    sc = build_scorecard(report("pushy"), FORM, views, rep="Anna", customer="Bram")
    share = card(sc, "talk_share")
    assert share.verdict == "needs_work" and share.self_view.verdict == "good"
    listens = card(sc, "listens")
    assert [(v.by, v.verdict, v.note) for v in listens.peer_views] == [
        ("Tom", "needs_work", "You cut in twice"),
        ("Eva", "good", ""),
    ]
    assert sc.reflection == "given" and sc.evaluators == ("Tom", "Eva")
    skipped = build_scorecard(
        report("pushy"), FORM, [Evaluation(by="Anna", role="rep", skipped=True)],
        rep="Anna", customer="Bram",
    )  # fmt: skip
    assert skipped.reflection == "skipped" and card(skipped, "talk_share").self_view is None


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        (Criterion(id="x", label=Texts(en="X", nl="X"), metric=Metric.WPM, min=100, max=200), "100 wpm to 200 wpm"),
        (Criterion(id="x", label=Texts(en="X", nl="X"), rule="pace", max_fires=1), "at most 1"),
    ],
)  # fmt: skip
def test_scorecard_states_the_target_of_a_trainers_own_criteria(criterion, expected) -> None:
    form = (Section(id="own", title=Texts(en="Own", nl="Eigen"), criteria=(criterion,)),)
    sc = build_scorecard(report("good"), form, rep="Anna", customer="Bram")
    assert sc.criteria()[0].target_text == expected


def test_scorecard_says_no_questions_were_asked_rather_than_blaming_the_transcript() -> None:
    from models.wire import QuestionCounts

    base = report("good")
    silent = msgspec.structs.replace(
        base,
        language_report=msgspec.structs.replace(
            base.language_report, questions=QuestionCounts(open=0, closed=0)
        ),
    )
    sc = build_scorecard(silent, FORM, rep="Anna", customer="Bram")
    assert card(sc, "open_questions").evidence == "the rep asked no questions"
