"""The terminal report (`sparring report`), on real reports of the bundled calls."""

from __future__ import annotations

import msgspec

from models.report import SharedReport
from server.render import names_of, report_text
from tests.render.calls import call_report, call_scorecard

NAMES = {"rep": "Anna", "customer": "Bob"}


def test_report_text_lists_every_criterion_with_mark_word_and_value_beside_target() -> None:
    scorecard = call_scorecard("pushy")
    text = report_text(call_report("pushy"), scorecard, names=NAMES)
    marks = {"good": "✓ good", "needs_work": "✗ needs work", "not_measured": "– not measured"}
    for section in scorecard.sections:
        assert f"\n{section.title}\n" in text
    for card in scorecard.criteria():
        line = next(x for x in text.splitlines() if x.strip().endswith(card.label) or f"{card.label}:" in x)
        assert marks[card.verdict] in line, line
        if card.value_text and card.target_text:
            assert line.endswith(f"{card.label}: {card.value_text} · {card.target_text}")
    assert "  ✗ needs work    Talk share: 79% · at most 60%" in text
    assert "Anna (own view): ✓ good — I let Bob talk" in text
    assert "Tom: ✗ needs work — Too much <b>pitch</b>" in text  # a terminal shows it as typed
    assert "covered at 0:22 by the rep" in text  # evidence that says more than the value
    assert "Self-reflection: given" in text


def test_report_text_of_a_dutch_call_is_in_dutch() -> None:
    text = report_text(call_report("nl_good"), call_scorecard("nl_good"), names=NAMES)
    assert "Scorekaart" in text and "✓ goed" in text and "Spreektijd: " in text
    assert "hoogstens 60%" in text and "needs work" not in text and "afgelopen" in text


def test_report_text_without_scorecard_prints_the_figures_and_nudges() -> None:
    report = call_report("pushy")
    text = report_text(report, None, names=names_of(report))
    assert "No scorecard yet" in text and "Talk share: Anna 79% · Bob 21%" in text
    assert "interruptions: 2" in text and "  0:50  whisper from Tom: Ask what <that> costs them" in text
    lines = [x for x in text.splitlines() if x.startswith("   ") and ("nudge:" in x or "whisper" in x)]
    assert len(lines) == len(report.nudges)


def test_report_text_of_a_shared_report_says_what_is_withheld() -> None:
    full = call_report("good")
    shared = SharedReport(
        session=full.session, title="", language="en", status="ended", duration_s=full.duration_s,
        consent=full.consent, withheld="The rep's coaching is theirs.",
    )  # fmt: skip
    text = report_text(shared, None, names=names_of(shared))
    assert "Withheld: The rep's coaching is theirs." in text and "%" not in text
    assert "Anna with Bob" in text


def test_report_text_says_a_call_was_erased() -> None:
    report = msgspec.structs.replace(call_report("good"), erased=True)
    assert "erased" in report_text(report, None, names=NAMES)
