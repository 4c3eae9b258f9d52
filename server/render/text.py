"""The report as plain text for the terminal (`sparring report ID`).

Pure: report, scorecard and names in, lines out. Verdicts read without colour: ✓/✗/– and
a word. Labels follow the call's language.
"""

from __future__ import annotations

from models.report import SessionReport, SharedReport
from models.scorecard import CriterionCard, Scorecard, Verdict, View
from server.core.scorecard import clock
from server.render.call import party_name
from server.render.words import (
    VERDICT_ICONS,
    VERDICT_WORDS,
    labels,
    language_of,
    no_recognition,
    status_word,
)

_INDENT = " " * 18  # under the criterion's label, past the verdict column


def report_text(
    report: SessionReport | SharedReport, scorecard: Scorecard | None, *, names: dict[str, str]
) -> str:
    """The report for a terminal: the scorecard, or the call's figures without one.

    Args:
        report: The report as the reader may see it.
        scorecard: The call's scorecard; None where the server sent none.
        names: Party names by role ("rep", "customer").

    Returns:
        Lines ending in a newline.
    """
    language = language_of(report.language)
    words = labels(language)
    if scorecard is not None:
        names = {"rep": scorecard.rep, "customer": scorecard.customer, **names}
    rep, customer = party_name("rep", names, language), party_name("customer", names, language)
    out = [
        report.title or words["practice_call"],
        f"{rep} {words['with']} {customer} · {words['duration']} {clock(report.duration_s)}"
        f" · {words['status']} {status_word(report.status, language)}",
    ]
    if report.erased:
        out.append(words["erased"])
    if isinstance(report, SessionReport) and report.recognition == "unavailable":
        out.append(no_recognition(report.language, report.recognition_install, language))
    if isinstance(report, SharedReport):
        out += ["", f"{words['withheld']}: {report.withheld}"]
    elif scorecard is not None:
        out += _scorecard_lines(scorecard, language)
    else:
        out += _figure_lines(report, names, language)
    return "\n".join(out) + "\n"


def _verdict(verdict: Verdict, language: str) -> str:
    return f"{VERDICT_ICONS[verdict]} {VERDICT_WORDS[language][verdict]}"


def _scorecard_lines(scorecard: Scorecard, language: str) -> list[str]:
    words = labels(language)
    head = f"{words['scorecard']} · {words['reflection']}: {words[f'reflection_{scorecard.reflection}']}"
    if scorecard.evaluators:
        head += f" · {words['evaluated_by']}: {', '.join(scorecard.evaluators)}"
    out = ["", head]
    for section in scorecard.sections:
        out += ["", section.title]
        for card in section.criteria:
            out += _card_lines(card, language)
    return out


def _card_lines(card: CriterionCard, language: str) -> list[str]:
    words = labels(language)
    shown = " · ".join(x for x in (card.value_text, card.target_text) if x)
    line = f"  {_verdict(card.verdict, language):<16}{card.label}"
    out = [f"{line}: {shown}" if shown else line]
    if card.evidence and not (card.value_text and card.evidence.startswith(card.value_text)):
        out.append(f"{_INDENT}{card.evidence}")
    if card.moments:
        out.append(f"{_INDENT}{words['moments']}: {', '.join(m.time for m in card.moments)}")
    views: list[tuple[View, str]] = []
    if card.self_view is not None:
        views.append((card.self_view, f" ({words['own_view'].lower()})"))
    views += [(v, "") for v in card.peer_views]
    for view, suffix in views:
        note = f" — {view.note}" if view.note else ""
        out.append(f"{_INDENT}{view.by}{suffix}: {_verdict(view.verdict, language)}{note}")
    return out


def _figure_lines(report: SessionReport, names: dict[str, str], language: str) -> list[str]:
    words = labels(language)
    rep, customer = party_name("rep", names, language), party_name("customer", names, language)
    gap = "—" if report.mean_response_gap_s is None else f"{report.mean_response_gap_s:.1f} s"
    out = [
        "",
        words["no_scorecard"],
        "",
        f"{words['talk_share']}: {rep} {report.talk.rep * 100:.0f}% · {customer} "
        f"{report.talk.customer * 100:.0f}%",
        f"{words['longest_monologue']}: {clock(report.longest_monologue_s)} · "
        f"{words['interruptions']}: {len(report.interruptions)} · {words['overlaps']}: "
        f"{report.overlaps} · {words['mean_response_gap']}: {gap}",
    ]
    lang = report.language_report
    if lang is not None:
        wpm = "—" if lang.wpm is None else f"{lang.wpm:.0f} wpm"
        out.append(
            f"{words['questions']}: {lang.questions.open} {words['open']}, "
            f"{lang.questions.closed} {words['closed']} · {words['summaries']}: "
            f"{lang.summaries} · {words['follow_ups']}: {lang.follow_ups} · "
            f"{words['pace']}: {wpm} · {words['fillers']}: {lang.fillers}"
        )
        for c in lang.checklist:
            at = f" ({clock(c.at)})" if c.done and c.at is not None else ""
            out.append(f"  {'✓' if c.done else '✗'} {c.label}{at}")
    out += ["", words["nudges"]]
    if not report.nudges:
        out.append(f"  {words['no_nudges']}")
    for n in sorted(report.nudges, key=lambda n: n.at):
        if n.rule == "manual":
            by = str(n.evidence.get("from", ""))
            kind = words["whisper_from"].format(by) if by else words["whisper"]
        else:
            kind = words["nudge"]
        out.append(f"  {clock(n.at):>5}  {kind}: {n.text}")
    return out
