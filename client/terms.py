"""The consent terms a command-line participant agrees to, and the scopes they grant.

The same terms as the participant page's consent screen (client/overlay/i18n.js), in
words for a terminal: what each scope allows, and what is never done.
"""

from __future__ import annotations

from models.errors import BadConsent
from models.wire import SCOPES, Scope

DEFAULT_SCOPES: tuple[str, ...] = (Scope.COACHING.value, Scope.TRANSCRIPT.value)

_MEANS = {
    Scope.COACHING.value: "when and how much each party talks, interruptions and pauses,"
    " analysed for the rep's nudges and report (required)",
    Scope.TRANSCRIPT.value: "speech-to-text of what you say, shown to the rep (and to the"
    " customer when they allow it too), kept in the report",
    Scope.TRAINER_VIEW.value: "a trainer or observer may follow the call live and read its"
    " report (only when rep and customer both allow it)",
}


def parse_scopes(value: str) -> tuple[str, ...]:
    """`"coaching,transcript"` -> ("coaching", "transcript").

    Raises:
        BadConsent: a scope the protocol does not know, or no `coaching`.
    """
    scopes = tuple(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise BadConsent(f"unknown scope {unknown[0]!r}; choose from {', '.join(SCOPES)}")
    if Scope.COACHING.value not in scopes:
        raise BadConsent("the coaching scope is required to take part")
    return scopes


def terms_text(scopes: tuple[str, ...], *, for_whom: str = "you") -> str:
    """The terms, with what `scopes` grant and what they leave out, as lines."""
    lines = [f"Consent terms ({for_whom}):"]
    for scope in SCOPES:
        mark = "yes" if scope in scopes else "no "
        lines.append(f"  [{mark}] {scope}: {_MEANS[scope]}")
    lines += [
        "  Raw audio is never stored; audio sent before everyone agrees is discarded.",
        "  Withdraw at any moment with Ctrl-C: analysis stops at once for everyone.",
    ]
    if Scope.TRAINER_VIEW.value not in scopes:
        lines.append("  Add trainer_view with --scopes coaching,transcript,trainer_view.")
    return "\n".join(lines) + "\n"
