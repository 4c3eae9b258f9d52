"""What the history queries read of a call: key figures from its report, verdicts from its
scorecard.

Pure: reads what the core made; decides nothing about what was good.
"""

from __future__ import annotations

from collections import Counter

from models.records import CallMeasures, CriterionVerdict
from models.report import SessionReport
from models.scorecard import Scorecard


def measures_from_report(report: SessionReport) -> CallMeasures:
    """Talk share, longest monologue, questions, interruptions and nudges by rule.

    Questions count only with recognition (a report without a language part has none).
    """
    questions = report.language_report.questions if report.language_report else None
    return CallMeasures(
        talk_share_rep=report.talk.rep,
        longest_monologue_s=report.longest_monologue_s,
        questions_open=questions.open if questions else 0,
        questions_closed=questions.closed if questions else 0,
        interruptions=len(report.interruptions),
        nudges_by_rule=dict(Counter(n.rule for n in report.nudges)),
    )


def verdicts_from_scorecard(scorecard: Scorecard) -> list[CriterionVerdict]:
    """One verdict per criterion, for recurring issues and the group's ranking.

    The measured verdict where there is one; for a criterion only a person judges, the
    trainer's view, else the first peer's. The rep's own view never counts here: a
    recurring issue is what others saw.
    """
    out = []
    for card in scorecard.criteria():
        verdict = card.verdict
        if verdict == "not_measured":
            views = sorted(card.peer_views, key=lambda v: v.role != "trainer")
            if views:
                verdict = views[0].verdict
        out.append(CriterionVerdict(criterion=card.id, verdict=verdict))
    return out
