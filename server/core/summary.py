"""The trainer's grid line of one call (`call`): who, in what state, and how it goes.

Built from what the session already keeps (the last metrics, the nudges, the checklist), so
a dashboard that connects late sees every call at once without replaying its events. A
private call's line says only that it exists: its id, node, status and age.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from models.wire import (
    CallStatus,
    CallSummary,
    Checklist,
    Metrics,
    Nudge,
    ParticipantView,
)

# A rule that fired this often in one call gets a warning badge on the dashboard.
WARN_AFTER_FIRINGS = 3
MANUAL = "manual"  # whispers are the trainer's own words, not a rule firing


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What a session knows of itself, as the summary reads it."""

    session: str
    node: str
    created_at: float  # wall seconds since the epoch, a value from the adapter
    status: CallStatus
    at_s: float
    title: str
    language: str
    participants: tuple[ParticipantView, ...]
    target_rep_share: float


def private_line(facts: CallFacts) -> CallSummary:
    """A call trainers may not look into: that it exists, and nothing else."""
    return CallSummary(
        session=facts.session,
        node=facts.node,
        private=True,
        status=facts.status,
        created_at=facts.created_at,
    )


def summarize(
    facts: CallFacts,
    metrics: Metrics | None,
    nudges: Sequence[Nudge],
    checklist: Checklist | None,
    whispers: tuple[str, ...],
) -> CallSummary:
    """The full grid line of a call whose parties allow trainer view."""
    fired = Counter(n.rule for n in nudges if n.rule != MANUAL)
    rule_nudges = [n for n in nudges if n.rule != MANUAL]
    items = checklist.items if checklist is not None else ()
    return CallSummary(
        session=facts.session,
        node=facts.node,
        status=facts.status,
        created_at=facts.created_at,
        at=round(facts.at_s, 2),
        title=facts.title,
        language=facts.language,
        participants=facts.participants,
        talk=metrics.talk if metrics is not None else None,
        talk_window=metrics.talk_window if metrics is not None else None,
        target_rep_share=facts.target_rep_share,
        last_nudge=rule_nudges[-1] if rule_nudges else None,
        checklist_done=sum(1 for item in items if item.done),
        checklist_total=len(items),
        warnings=tuple(sorted(rule for rule, n in fired.items() if n >= WARN_AFTER_FIRINGS)),
        whispers=whispers,
    )
