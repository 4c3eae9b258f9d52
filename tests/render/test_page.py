"""The printable report page, on real reports of the bundled calls (see tests/render/calls.py)."""

from __future__ import annotations

import re

import msgspec
import pytest

from models.report import ConsentRecord, SharedReport
from models.scorecard import Evaluation
from models.wire import AudioCheck, Role
from server.core.scorecard import build_scorecard
from server.render import names_of, report_page, talk_target_of
from server.render.words import VERDICT_ICONS, VERDICT_WORDS
from tests.render.calls import EVALUATIONS, FORM, call_report, call_scorecard

NAMES = {"rep": "Anna", "customer": "Bob"}


def page_of(name: str) -> str:
    return report_page(call_report(name), call_scorecard(name), names=NAMES)


def row(page: str, criterion: str) -> str:
    start = page.index(f'<tr class="criterion" id="c-{criterion}">')
    return page[start : page.index("</tr>", start)]


def anchor_ids(page: str) -> list[str]:
    return re.findall(r'<p class="line [a-z]+" id="([^"]+)"', page)


@pytest.mark.parametrize("name", ["good", "pushy", "nl_good"])
def test_report_page_shows_every_criterion_with_verdict_and_value_beside_target(name: str) -> None:
    page = page_of(name)
    scorecard = call_scorecard(name)
    language = scorecard.language
    for card in scorecard.criteria():
        shown = row(page, card.id)
        assert card.label.replace('"', "&quot;") in shown
        verdict = f"{VERDICT_ICONS[card.verdict]} {VERDICT_WORDS[language][card.verdict]}"
        assert verdict in shown, (card.id, shown)
        if card.value_text and card.target_text:
            assert f"{card.value_text} · {card.target_text}" in shown
    assert [s.title for s in scorecard.sections] == re.findall(r"<h3>([^<]+)</h3>", page)[
        : len(scorecard.sections)
    ]


def test_report_page_puts_a_talk_share_value_beside_its_target() -> None:
    shown = row(page_of("pushy"), "talk_share")
    assert "79% · at most 60%" in shown and "✗ needs work" in shown


@pytest.mark.parametrize("name", ["good", "pushy"])
def test_report_page_moments_link_to_transcript_lines(name: str) -> None:
    page = page_of(name)
    ids = set(anchor_ids(page))
    moments = re.findall(r'<a class="moment" href="#([^"]+)"', page)
    assert moments, "the scorecard has moments"
    assert set(moments) <= ids
    # Every in-page link (moments, nudge times, timeline markers) lands on a line.
    assert set(re.findall(r'href="#([^"]+)"', page)) <= ids
    for card in call_scorecard(name).criteria():
        assert len(re.findall(r'class="moment"', row(page, card.id))) == len(card.moments)


def test_report_page_moment_jumps_to_the_line_spoken_then() -> None:
    # The question-rate moments are the rep's questions: each link lands on that question.
    page = page_of("pushy")
    card = next(c for c in call_scorecard("pushy").criteria() if c.id == "question_rate")
    assert card.moments
    for moment in card.moments:
        href = re.search(rf'href="#([^"]+)"[^>]*>{moment.time}</a>', row(page, "question_rate"))
        assert href is not None, moment
        line = page[page.index(f'id="{href.group(1)}"') :]
        assert float(re.search(r'data-start="([0-9.]+)"', line).group(1)) == pytest.approx(
            moment.at_s, abs=0.01
        )
        assert "closed question" in line[: line.index("</p>")]


def test_report_page_transcript_is_in_time_order_with_names() -> None:
    report = call_report("good")
    shuffled = msgspec.structs.replace(report, transcript=tuple(reversed(report.transcript)))
    page = report_page(shuffled, call_scorecard("good"), names=NAMES)
    starts = [float(s) for s in re.findall(r'data-start="([0-9.]+)"', page)]
    assert len(starts) == len([t for t in report.transcript if t.final]) > 10
    assert starts == sorted(starts)
    speakers = re.findall(r'</a> <b>([^<]+)</b>', page)
    assert set(speakers) == {"Anna", "Bob"}
    assert "<b>rep</b>" not in page and "<b>customer</b>" not in page
    assert "0:04" in page and "4.9s" not in page  # m:ss, not seconds


def test_report_page_shows_views_side_by_side_by_name_and_the_reflection() -> None:
    page = page_of("good")
    shown = row(page, "talk_share")
    assert "✓ good</span> <b>Anna</b>" in shown and "I let Bob talk" in shown
    assert "✗ needs work</span> <b>Tom</b>" in shown
    assert "Too much &lt;b&gt;pitch&lt;/b&gt;" in shown
    assert 'class="reflection given">given' in page and "Evaluated by: Tom" in page
    skipped = build_scorecard(
        call_report("good"), FORM, [Evaluation(by="Anna", role="rep", skipped=True)],
        rep="Anna", customer="Bob",
    )  # fmt: skip
    assert 'class="reflection skipped">skipped' in report_page(call_report("good"), skipped, names=NAMES)
    pending = build_scorecard(call_report("good"), FORM, rep="Anna", customer="Bob")
    assert 'class="reflection pending">pending' in report_page(call_report("good"), pending, names=NAMES)


def test_report_page_lists_nudges_and_whispers_apart_in_time_order() -> None:
    page = page_of("pushy")
    table = page[page.index("<h2>Nudges and whispers</h2>") : page.index("<h2>Transcript</h2>")]
    whispers = re.findall(r'<tr class="whisper">.*?</tr>', table)
    assert len(whispers) == 1 and "whisper from Tom" in whispers[0]
    assert "Ask what &lt;that&gt; costs them" in whispers[0]
    nudges = re.findall(r'<tr class="nudge">', table)
    assert len(nudges) == len(call_report("pushy").nudges) - 1
    times = re.findall(r'<tr class="(?:nudge|whisper)"><td><a class="time" href="#[^"]+">(\d+:\d\d)</a>', table)
    assert times == sorted(times, key=lambda t: int(t.split(":")[0]) * 60 + int(t.split(":")[1]))


def test_report_page_of_a_dutch_call_is_in_dutch() -> None:
    page = page_of("nl_good")
    assert '<html lang="nl">' in page
    for word in ("Scorekaart", "Zelfreflectie", "Toestemmingen", "Tijdlijn", "doel: hoogstens 60%"):
        assert word in page, word
    assert "✓ goed" in page and "needs work" not in page and "Consent ledger" not in page
    assert "hoogstens 60%" in row(page, "talk_share")


def test_report_page_is_self_contained_and_printable() -> None:
    page = page_of("good")
    assert page.startswith("<!doctype html>") and '<html lang="en">' in page
    assert "@media print" in page
    for external in ("<script", "<link", "src=", "url(http", "@import"):
        assert external not in page
    assert page.count("<svg") == 2


def test_report_page_header_has_names_date_and_duration() -> None:
    report = call_report("good")
    dated = msgspec.structs.replace(
        report,
        title="Discovery call",
        consent=tuple(msgspec.structs.replace(c, wall_time=1_750_000_000.0) for c in report.consent),
    )
    page = report_page(dated, call_scorecard("good"), names=NAMES)
    header = page[page.index("<header>") : page.index("</header>")]
    assert "Discovery call" in header and "Anna (rep) with Bob (customer)" in header
    assert "2025-06-15" in header and f"duration {call_scorecard('good').duration}" in header


def test_report_page_escapes_what_people_typed() -> None:
    report = call_report("good")
    evil = "<script>alert(1)</script>"
    consent = (
        *report.consent,
        ConsentRecord(
            participant="call/p3", role=Role.OBSERVER, name='<img src=x onerror="1">',
            granted=True, scopes=("coaching",), on_behalf_of=None, given_by="x",
            audio_time_s=1.0, wall_time=0.0,
        ),
    )  # fmt: skip
    hostile = msgspec.structs.replace(report, title=evil, consent=consent)
    scorecard = build_scorecard(hostile, FORM, EVALUATIONS, rep=evil, customer="<b>Bob</b>")
    page = report_page(hostile, scorecard, names={"rep": evil, "customer": "<b>Bob</b>"})
    assert "<script>" not in page and "<img" not in page and "<b>Bob</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;Bob&lt;/b&gt;" in page


def test_report_page_shows_the_consent_ledger_and_microphone_notes() -> None:
    report = call_report("good")
    check = AudioCheck(
        speaker="customer", issue="leak", reliable=False, at=12.0,
        text="it also hears the rep: use headphones",
    )  # fmt: skip
    page = report_page(msgspec.structs.replace(report, audio_checks=(check,)), None, names=NAMES)
    ledger = page[page.index("<h2>Consent ledger</h2>") :]
    assert ledger.count("<td>granted</td>") == len(report.consent)
    assert "<td>Anna</td><td>rep</td>" in ledger and "<td>Bob</td><td>customer</td>" in ledger
    assert "0:12 · Bob&#x27;s microphone: it also hears the rep: use headphones" in page


def test_report_page_without_scorecard_shows_the_figures() -> None:
    page = report_page(call_report("pushy"), None, names=names_of(call_report("pushy")))
    assert "No scorecard yet" in page and "Talk share: Anna 79% · Bob 21%" in page
    assert "✔ Budget" in page and page.count("<svg") == 2


def test_report_page_of_a_shared_report_says_what_is_withheld_and_shows_no_figures() -> None:
    full = call_report("good")
    shared = SharedReport(
        session=full.session, title="Call with <Bob>", language=full.language, status=full.status,
        duration_s=full.duration_s, consent=full.consent,
        transcript=tuple(msgspec.structs.replace(t, question=None, tip=None) for t in full.transcript),
        withheld="The rep's coaching is theirs: figures, nudges and scores are not shown here.",
    )  # fmt: skip
    page = report_page(shared, None, names=names_of(shared))
    body = page[page.index("<body>") :]
    assert "The rep&#x27;s coaching is theirs" in page and "Withheld" in page
    assert "Call with &lt;Bob&gt;" in page
    for figure in ("%", "<svg", "Scorecard", "Nudges", "Talk share", "closed question"):
        assert figure not in body, figure
    assert "Consent ledger" in page and len(anchor_ids(page)) == len(full.transcript)
    no_text = msgspec.structs.replace(shared, transcript=())
    assert "Transcript" not in report_page(no_text, None, names=names_of(shared))


def test_talk_target_of_the_default_form_is_its_talk_share_maximum() -> None:
    assert talk_target_of(FORM) == 0.6
    assert talk_target_of(()) is None
