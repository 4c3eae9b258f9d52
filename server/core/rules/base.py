"""What every rule shares: the measures it reads, the candidate it makes, its arming.

Pure. A rule looks at the current measures and says whether it wants to speak; whether it
is heard is the nudge policy's business (pacing.py). A rule that was heard stays quiet
until its measure has recovered (coaching.md, "How to nudge").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Generic, TypeVar

from models.playbook import RuleName
from models.wire import Severity
from server.core.prosody import ProsodySnapshot
from server.core.speech import SpeechCoach
from server.core.turns import Turns

Evidence = Mapping[str, float | int | str]
S = TypeVar("S")


class Needs(Enum):
    """What a rule reads besides turn-taking; without it the rule stays silent."""

    AUDIO = "audio"  # talk time and turns: always there while live
    SPEECH = "speech"  # final transcripts of the rep (a model and the rep's consent)
    PROSODY = "prosody"  # the rep's pitch and level


@dataclass(frozen=True, slots=True)
class Measures:
    """Everything rules read at one moment of audio time."""

    at_s: float
    language: str  # "en" or "nl": the language of nudge texts
    turns: Turns
    speech: SpeechCoach | None = None
    prosody: ProsodySnapshot | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rule that wants to speak now, with what the policy needs to weigh it."""

    rule: RuleName
    priority: int
    severity: Severity
    text: str
    evidence: dict[str, float | int | str] = field(default_factory=dict)
    waits_for_rep_text: bool = False
    linger_s: float = 0.0


@dataclass(slots=True)
class Armed:
    """Hysteresis written once: due while over the limit and armed; re-armed on recovery."""

    armed: bool = True

    def due(self, over: bool, recovered: bool) -> bool:
        if recovered:
            self.armed = True
        return self.armed and over

    def disarm(self) -> None:
        self.armed = False


_REGISTRY: dict[RuleName, type[Rule[Any]]] = {}


class Rule(Generic[S]):
    """One playbook rule. Subclasses set `name` and implement `evaluate`.

    Attributes:
        name: The rule's name; also its playbook table (`[rules.<name>]`).
        needs: What it reads besides turns (without it, it is not asked).
        waits_for_rep_text: The rep's utterance being recognised could satisfy it, so the
            policy holds it until that text is in (with a bound).
        linger_s: How long after its condition ended it may still be heard (it refers to
            something that just ended, like a monologue).
    """

    name: ClassVar[RuleName]
    needs: ClassVar[Needs] = Needs.AUDIO
    waits_for_rep_text: ClassVar[bool] = False
    linger_s: ClassVar[float] = 0.0

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            _REGISTRY[cls.name] = cls

    def __init__(self, settings: S) -> None:
        self.s = settings
        self.gate = Armed()

    def evaluate(self, m: Measures) -> Evidence | None:
        """The evidence if the rule wants to speak now, else None."""
        raise NotImplementedError

    def fired(self, candidate: Candidate, m: Measures) -> None:
        """The nudge was shown: stay quiet until the measure recovers."""
        self.gate.disarm()

    def muted(self, m: Measures) -> None:
        """The rule was not asked: its inputs could not be trusted (an unreliable
        microphone). What happened meanwhile is no news when they can be again."""

    def candidate(self, evidence: Evidence, language: str) -> Candidate:
        s: Any = self.s
        return Candidate(
            rule=self.name,
            priority=s.priority,
            severity=s.severity,
            text=s.text.get(language).format_map(evidence),
            evidence=dict(evidence),
            waits_for_rep_text=self.waits_for_rep_text,
            linger_s=self.linger_s,
        )


def registered() -> dict[RuleName, type[Rule[Any]]]:
    """Every rule class, by name (the modules defining them must be imported)."""
    return dict(_REGISTRY)
