"""What the page and the pictures read off a report: names, speech spans, transcript anchors.

Pure: functions of a report. Speech spans come from final transcripts (start/end per
speaker); a report without a transcript has none.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.report import SessionReport, SharedReport
from models.wire import Transcript
from server.render.words import labels

PARTIES = ("rep", "customer")

Span = tuple[float, float]


def names_of(report: SessionReport | SharedReport) -> dict[str, str]:
    """Each party's name from the consent ledger (the latest one given), by role."""
    names: dict[str, str] = {}
    for record in report.consent:
        if record.role.value in PARTIES and record.name:
            names[record.role.value] = record.name
    return names


def party_name(role: str, names: dict[str, str], language: str) -> str:
    """A party's name; the role's word where the name is unknown."""
    return names.get(role) or labels(language).get(role, role)


def ordered_transcript(report: SessionReport | SharedReport) -> list[Transcript]:
    """The final lines in time order (the report keeps them in the order they were
    recognised, which puts a slow recognition after a quick one)."""
    return sorted(
        (t for t in report.transcript if t.final),
        key=lambda t: (t.start, t.end, t.speaker),
    )


def anchors(lines: Sequence[Transcript]) -> list[str]:
    """One HTML id per line, by time: `t84.7-rep` (unique even where two lines start at once)."""
    ids: list[str] = []
    seen: set[str] = set()
    for t in lines:
        base = f"t{t.start:.1f}-{t.speaker}"
        anchor, n = base, 1
        while anchor in seen:
            n += 1
            anchor = f"{base}-{n}"
        seen.add(anchor)
        ids.append(anchor)
    return ids


def line_at(lines: Sequence[Transcript], at_s: float) -> int | None:
    """The index of the line a moment at `at_s` belongs to: the latest line started by
    then (a nudge comes during or just after what it is about), else the first; None
    without lines."""
    if not lines:
        return None
    best = 0
    for i, t in enumerate(lines):
        if t.start <= at_s + 0.05:  # a moment taken from a line's start lands on that line
            best = i
        else:
            break
    return best


def speech_spans(report: SessionReport | SharedReport) -> dict[str, list[Span]]:
    """Who spoke when, per party, from the final transcripts' start and end, merged."""
    spans: dict[str, list[Span]] = {party: [] for party in PARTIES}
    for t in ordered_transcript(report):
        if t.speaker in spans and t.end > t.start:
            spans[t.speaker].append((t.start, t.end))
    return {party: _merge(found) for party, found in spans.items()}


def overlap_spans(spans: dict[str, list[Span]]) -> list[Span]:
    """Where both parties spoke at once."""
    found: list[Span] = []
    for a_start, a_end in spans.get("rep", []):
        for b_start, b_end in spans.get("customer", []):
            start, end = max(a_start, b_start), min(a_end, b_end)
            if end > start:
                found.append((start, end))
    return sorted(found)


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def cumulative_share(spans: dict[str, list[Span]]) -> list[tuple[float, float]]:
    """The rep's share of all speech so far, at each start and end of a span: (time, share).

    Empty until someone has spoken. Overlapping speech counts for both, as talk time does.
    """
    points = sorted({t for party in PARTIES for span in spans.get(party, []) for t in span})
    curve: list[tuple[float, float]] = []
    for at_s in points:
        rep = _spoken(spans.get("rep", []), at_s)
        customer = _spoken(spans.get("customer", []), at_s)
        if rep + customer > 0:
            curve.append((at_s, rep / (rep + customer)))
    return curve


def _spoken(spans: list[Span], until_s: float) -> float:
    return sum(max(0.0, min(end, until_s) - start) for start, end in spans if start < until_s)
