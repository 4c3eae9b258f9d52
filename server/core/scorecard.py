"""The evaluation form applied to a call's report: a verdict per criterion, with evidence.

Pure: a function of the report (what the analysis kept), the form, the names and the
people's evaluations, so the same scorecard comes out live, from a stored report, or after
a peer's ticks arrive a day later. Talk-time criteria are not judged on a microphone the
analysis found unreliable (say so instead of scoring it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import msgspec

from models.form import Criterion, Metric, Section, Step
from models.report import SessionReport
from models.scorecard import (
    CriterionCard,
    Evaluation,
    Moment,
    Scorecard,
    SectionCard,
    Verdict,
    View,
)
from models.wire import Nudge

MAX_MOMENTS = 12
# Figures that rest on who spoke when: not scored where a microphone could not tell.
_TALK_TIME = frozenset({Metric.REP_TALK_SHARE, Metric.LONGEST_MONOLOGUE_S, Metric.INTERRUPTIONS})

_WORDS = {
    "en": {
        "at_most": "at most {}",
        "at_least": "at least {}",
        "between": "{} to {}",
        "fired": "nudged {} times",
        "covered": "covered at {} by the {}",
        "not_covered": "not covered",
        "found": "heard",
        "not_found": "not heard",
        "no_text": "needs the transcript of the rep (recognition off or not consented)",
        "no_audio": "no speech was analysed",
        "no_questions": "the rep asked no questions",
        "unreliable": "a microphone was unreliable during the call: talk time not scored",
        "judged": "a person judges this",
        "rep": "rep",
        "customer": "customer",
    },
    "nl": {
        "at_most": "hoogstens {}",
        "at_least": "minstens {}",
        "between": "{} tot {}",
        "fired": "{} keer genudged",
        "covered": "besproken op {} door de {}",
        "not_covered": "niet besproken",
        "found": "gehoord",
        "not_found": "niet gehoord",
        "no_text": "vraagt het transcript van de verkoper (herkenning uit of geen toestemming)",
        "no_audio": "er is geen spraak geanalyseerd",
        "no_questions": "de verkoper stelde geen vragen",
        "unreliable": "een microfoon was onbetrouwbaar tijdens het gesprek: spreektijd niet gescoord",
        "judged": "een persoon beoordeelt dit",
        "rep": "verkoper",
        "customer": "klant",
    },
}


def clock(seconds: float) -> str:
    """m:ss, as people read call times."""
    total = max(0, round(seconds))
    return f"{total // 60}:{total % 60:02d}"


def build_scorecard(
    report: SessionReport,
    form: Sequence[Section],
    evaluations: Sequence[Evaluation] = (),
    *,
    rep: str,
    customer: str,
) -> Scorecard:
    """The scorecard of one call.

    Args:
        report: The full report of the call (`Session.report()` or a stored one).
        form: The playbook's evaluation form.
        evaluations: The rep's self-reflection and peers' and trainers' ticks.
        rep: The rep's name; customer: the customer's name.
    """
    language = "nl" if report.language == "nl" else "en"
    words = _WORDS[language]
    sections = tuple(
        SectionCard(
            id=section.id,
            title=section.title.get(language),
            criteria=tuple(
                _card(c, report, evaluations, language, words) for c in section.criteria
            ),
        )
        for section in form
    )
    reflections = [e for e in evaluations if e.role == "rep"]
    reflection: Literal["given", "skipped", "pending"] = "pending"
    if reflections:
        reflection = "skipped" if reflections[-1].skipped else "given"
    return Scorecard(
        session=report.session,
        title=report.title,
        language=language,
        rep=rep,
        customer=customer,
        duration_s=report.duration_s,
        duration=clock(report.duration_s),
        sections=sections,
        reflection=reflection,
        evaluators=tuple(dict.fromkeys(e.by for e in evaluations if e.role != "rep")),
    )


def _card(
    c: Criterion,
    report: SessionReport,
    evaluations: Sequence[Evaluation],
    language: str,
    words: dict[str, str],
) -> CriterionCard:
    card = CriterionCard(
        id=c.id,
        label=c.label.get(language),
        verdict="not_measured",
        judged=c.judged,
        evidence=words["judged"] if c.judged else "",
        self_view=_self_view(c.id, evaluations),
        peer_views=tuple(
            View(by=e.by, role=e.role, verdict=e.ticks[c.id], note=e.notes.get(c.id, ""))
            for e in evaluations
            if e.role != "rep" and c.id in e.ticks
        ),
    )
    if c.judged:
        return card
    if report.duration_s <= 0:
        return _replace(card, evidence=words["no_audio"])
    if c.metric is not None:
        return _metric_card(card, c, report, words)
    if c.rule is not None:
        fired = [n for n in report.nudges if n.rule == c.rule]
        verdict: Verdict = "good" if len(fired) <= c.max_fires else "needs_work"
        return _replace(
            card,
            verdict=verdict,
            value=float(len(fired)),
            value_text=words["fired"].format(len(fired)),
            target_text=words["at_most"].format(c.max_fires),
            evidence=f"{words['fired'].format(len(fired))} ({words['at_most'].format(c.max_fires)})",
            moments=_moments(fired, lambda n: n.text),
        )
    lr = report.language_report
    if lr is None:
        return _replace(card, evidence=words["no_text"])
    if c.checklist is not None:
        entry = next((e for e in lr.checklist if e.id == c.checklist), None)
        if entry is None or not entry.done:
            return _replace(card, verdict="needs_work", evidence=words["not_covered"])
        at_s = entry.at or 0.0
        who = words.get(entry.speaker or "", entry.speaker or "")
        return _replace(
            card,
            verdict="good",
            evidence=words["covered"].format(clock(at_s), who),
            moments=(Moment(at_s=at_s, time=clock(at_s), what=entry.label),),
        )
    assert c.step is not None
    done = {Step.OPENING: lr.opening, Step.CLOSING_SUMMARY: lr.closing_summary}.get(
        c.step, lr.next_step
    )
    return _replace(
        card,
        verdict="good" if done else "needs_work",
        evidence=words["found"] if done else words["not_found"],
    )


def _metric_card(
    card: CriterionCard, c: Criterion, report: SessionReport, words: dict[str, str]
) -> CriterionCard:
    assert c.metric is not None
    metric = Metric(c.metric)
    if metric in _TALK_TIME and any(not a.reliable for a in report.audio_checks):
        return _replace(card, evidence=words["unreliable"])
    value = measure(metric, report)
    if value is None:
        asked_nothing = metric is Metric.OPEN_QUESTION_SHARE and report.language_report is not None
        return _replace(card, evidence=words["no_questions" if asked_nothing else "no_text"])
    good = (c.min is None or value >= c.min) and (c.max is None or value <= c.max)
    if c.min is not None and c.max is not None:
        target = words["between"].format(_show(metric, c.min), _show(metric, c.max))
    elif c.max is not None:
        target = words["at_most"].format(_show(metric, c.max))
    else:
        target = words["at_least"].format(_show(metric, c.min or 0.0))
    shown = _show(metric, value)
    return _replace(
        card,
        verdict="good" if good else "needs_work",
        value=round(value, 4),
        value_text=shown,
        target_text=target,
        evidence=f"{shown} ({target})",
        moments=_metric_moments(metric, report),
    )


def measure(metric: Metric, report: SessionReport) -> float | None:
    """A figure of the call; None where the call holds nothing to measure it on."""
    speech_s = report.rep_speech_s + report.customer_speech_s
    if metric is Metric.REP_TALK_SHARE:
        return report.talk.rep if speech_s > 0 else None
    if metric is Metric.LONGEST_MONOLOGUE_S:
        return report.longest_monologue_s
    if metric is Metric.INTERRUPTIONS:
        return float(len(report.interruptions))
    if metric is Metric.MEAN_RESPONSE_GAP_S:
        return report.mean_response_gap_s
    lr = report.language_report
    if lr is None:
        return None
    asked = lr.questions.open + lr.questions.closed
    by_metric: dict[Metric, float | None] = {
        Metric.OPEN_QUESTIONS: float(lr.questions.open),
        Metric.OPEN_QUESTION_SHARE: lr.questions.open / asked if asked else None,
        Metric.WHY_QUESTIONS: float(lr.why_questions),
        Metric.QUESTIONS_PER_10_MIN: lr.questions_per_10_min,
        Metric.SUMMARIES: float(lr.summaries),
        Metric.FOLLOW_UPS: float(lr.follow_ups),
        Metric.WPM: lr.wpm,
        Metric.FILLER_SHARE: lr.filler_share,
    }
    return by_metric[metric]


def _show(metric: Metric, value: float) -> str:
    if metric in (Metric.REP_TALK_SHARE, Metric.OPEN_QUESTION_SHARE, Metric.FILLER_SHARE):
        return f"{round(value * 100)}%"
    if metric in (Metric.LONGEST_MONOLOGUE_S, Metric.MEAN_RESPONSE_GAP_S):
        return clock(value) if value >= 10 else f"{value:.1f} s"
    if metric is Metric.WPM:
        return f"{round(value)} wpm"
    if metric is Metric.QUESTIONS_PER_10_MIN:
        return f"{value:.1f}"
    return str(round(value))


_METRIC_RULES = {
    Metric.REP_TALK_SHARE: "talk_ratio",
    Metric.LONGEST_MONOLOGUE_S: "monologue",
    Metric.WPM: "pace",
    Metric.FILLER_SHARE: "fillers",
    Metric.SUMMARIES: "summarize",
    Metric.MEAN_RESPONSE_GAP_S: "patience",
}


def _metric_moments(metric: Metric, report: SessionReport) -> tuple[Moment, ...]:
    if metric is Metric.INTERRUPTIONS:
        return tuple(
            Moment(at_s=i.at_s, time=clock(i.at_s), what="")
            for i in report.interruptions[:MAX_MOMENTS]
        )
    rep_finals = [t for t in report.transcript if t.speaker == "rep" and t.final]
    if metric is Metric.WHY_QUESTIONS:
        picked = [t for t in rep_finals if t.tip]
    elif metric in (Metric.OPEN_QUESTIONS, Metric.OPEN_QUESTION_SHARE):
        picked = [t for t in rep_finals if t.question == "open"]
    elif metric is Metric.QUESTIONS_PER_10_MIN:
        picked = [t for t in rep_finals if t.question is not None]
    else:
        rule = _METRIC_RULES.get(metric)
        return _moments([n for n in report.nudges if n.rule == rule], lambda n: n.text)
    return tuple(
        Moment(at_s=t.start, time=clock(t.start), what=t.text) for t in picked[:MAX_MOMENTS]
    )


def _moments(nudges: Sequence[Nudge], what: Callable[[Nudge], str]) -> tuple[Moment, ...]:
    return tuple(Moment(at_s=n.at, time=clock(n.at), what=what(n)) for n in nudges[:MAX_MOMENTS])


def _self_view(criterion: str, evaluations: Sequence[Evaluation]) -> View | None:
    for e in reversed(evaluations):
        if e.role == "rep" and not e.skipped and criterion in e.ticks:
            return View(
                by=e.by, role="rep", verdict=e.ticks[criterion], note=e.notes.get(criterion, "")
            )
    return None


def _replace(card: CriterionCard, **changes: object) -> CriterionCard:
    return msgspec.structs.replace(card, **changes)
