"""The key figures of a call, taken from its report, for trends and rankings.

Pure: reads a `SessionReport` the core made; decides nothing about what was good.
"""

from __future__ import annotations

from collections import Counter

from models.records import CallMeasures
from models.report import SessionReport


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
