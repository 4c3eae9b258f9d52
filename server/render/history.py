"""A rep's progress and a group's, as text for the terminal (`sparring history`).

Reads the JSON of the history endpoints (server/history.py); pure.
"""

from __future__ import annotations

import time
from typing import Any

from server.core.scorecard import clock

_BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[float], low: float = 0.0, high: float = 1.0) -> str:
    """A row of block characters: one per value, scaled between low and high."""
    span = (high - low) or 1.0
    return "".join(_BARS[round(max(0.0, min(1.0, (v - low) / span)) * 8)] for v in values)


def _label(labels: dict[str, Any], criterion: str, language: str) -> str:
    names = labels.get(criterion)
    return str(names.get(language) or names.get("en")) if names else criterion


def _date(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def rep_history_text(history: dict[str, Any], language: str = "en") -> str:
    """The last calls, the key measures' trends and the recurring issues of one rep."""
    rep = history["rep"]
    lines = [f"{rep['name']} · last {len(history['calls'])} calls", ""]
    for call in history["calls"]:
        m = call.get("measures") or {}
        share = f"{round(m['talk_share_rep'] * 100)}% talk" if m else "not scored"
        monologue = f"monologue {clock(m['longest_monologue_s'])}" if m else ""
        lines.append(
            f"  {_date(call['created_at'])}  {call['title'] or '(untitled)'}  "
            f"{clock(call['duration_audio_s'])}  {share}  {monologue}".rstrip()
        )
    trend = [c["measures"] for c in history["trend"] if c.get("measures")]
    if trend:
        lines += ["", "Trends (oldest → newest)"]
        shares = [m["talk_share_rep"] for m in trend]
        monologues = [m["longest_monologue_s"] for m in trend]
        lines.append(f"  talk share        {sparkline(shares)}  {round(shares[-1] * 100)}% now")
        top = max(monologues) or 1.0
        lines.append(
            f"  longest monologue {sparkline(monologues, 0.0, top)}  {clock(monologues[-1])} now"
        )
    lines += ["", "Recurring issues (needed work in at least 3 of the last 5 calls)"]
    if not history["recurring"]:
        lines.append("  none")
    for issue in history["recurring"]:
        name = _label(history["labels"], issue["criterion"], language)
        calls = ", ".join(issue["sessions"])
        lines.append(f"  ✗ {name}: {issue['missed']} of {issue['of_calls']} calls ({calls})")
    return "\n".join(lines) + "\n"


def group_history_text(history: dict[str, Any], language: str = "en") -> str:
    """What a group as a whole keeps missing, most first, and its reps."""
    lines = [f"{history['name']} · {len(history['reps'])} reps · {len(history['calls'])} calls", ""]
    lines.append("What the group keeps missing")
    if not history["missed"]:
        lines.append("  nothing yet")
    for row in history["missed"]:
        name = _label(history["labels"], row["criterion"], language)
        lines.append(
            f"  {name}: needed work in {row['missed']} of {row['judged']} calls, "
            f"by {row['reps']} rep{'s' if row['reps'] != 1 else ''}"
        )
    lines += ["", "Reps"] + [f"  {r['name']}  ({r['id']})" for r in history["reps"]]
    return "\n".join(lines) + "\n"
