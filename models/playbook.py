"""The playbook: a trainer's evaluation form as machine-readable rules and texts.

Schema and validation only; `server/core/rules.py` applies it. Loaded from TOML; every
error names the offending key (and its line where it can be found) and the problem.
"""

from __future__ import annotations

import re
import string
import tomllib
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import ClassVar

import msgspec

from models.errors import BadPlaybook
from models.form import Section
from models.texts import LANGUAGES, Texts
from models.wire import Severity


def _share(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a share between 0 and 1, got {value}")


def _positive(name: str, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")


class PhraseLists(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Phrases and synonyms per language (matched on whole words, case-insensitive)."""

    en: tuple[str, ...] = ()
    nl: tuple[str, ...] = ()

    def get(self, language: str) -> tuple[str, ...]:
        return self.nl if language == "nl" else self.en


class Pacing(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How often nudges may appear (coaching.md, "How to nudge": Rhema study)."""

    warmup_s: float = 45.0
    min_gap_s: float = 20.0
    rule_cooldown_s: float = 90.0
    # A rule of higher priority than the last nudge may speak this soon after it, so that
    # "pause and ask a question" is not lost behind "slow down" (docs/coaching-policy.md).
    priority_gap_s: float = 5.0
    toast_s: float = 8.0  # how long the overlay shows a nudge

    def __post_init__(self) -> None:
        for name in ("warmup_s", "min_gap_s", "rule_cooldown_s", "priority_gap_s", "toast_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


class RuleName(StrEnum):
    """The playbook's rules: each is a `[rules.<name>]` table and a class in server/core/rules/."""

    TALK_RATIO = "talk_ratio"
    MONOLOGUE = "monologue"
    INTERRUPTION = "interruption"
    PATIENCE = "patience"
    DEAD_AIR = "dead_air"
    OPEN_QUESTION = "open_question"
    SUMMARIZE = "summarize"
    PACE = "pace"
    FILLERS = "fillers"
    TOPICS = "topics"
    MONOTONE = "monotone"
    VOLUME = "volume"


class _Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True
    priority: int = 5  # higher goes first when several rules want to speak
    severity: Severity = Severity.INFO
    text: Texts
    # The evidence fields the rule's text may use as {placeholders}.
    placeholders: ClassVar[frozenset[str]] = frozenset()


class TalkRatioRule(_Rule, frozen=True, kw_only=True):
    """Rep share of speech time; won deals average 43:57, conversion drops above 65% (Gong)."""

    placeholders: ClassVar[frozenset[str]] = frozenset({"rep_pct", "customer_pct", "window_s"})

    priority: int = 6
    severity: Severity = Severity.WARN

    threshold: float = 0.65
    recover_below: float = 0.60
    window_s: float = 120.0
    min_window_speech_s: float = 30.0
    text: Texts = Texts(
        en="You have talked {rep_pct}% — let them talk",
        nl="Je hebt {rep_pct}% gepraat — laat de klant aan het woord",
    )

    def __post_init__(self) -> None:
        _share("threshold", self.threshold)
        _share("recover_below", self.recover_below)
        if self.recover_below > self.threshold:
            raise ValueError("recover_below must not exceed threshold")
        _positive("window_s", self.window_s)


class MonologueRule(_Rule, frozen=True, kw_only=True):
    """Longest rep monologue; won meetings stay under about 76 s (one vendor's study)."""

    placeholders: ClassVar[frozenset[str]] = frozenset({"monologue_s"})

    priority: int = 7
    severity: Severity = Severity.WARN

    threshold_s: float = 60.0
    pause_s: float = 1.5
    text: Texts = Texts(
        en="Talking for {monologue_s}s — pause and ask a question",
        nl="Je praat al {monologue_s}s — pauzeer en stel een vraag",
    )

    def __post_init__(self) -> None:
        _positive("threshold_s", self.threshold_s)
        _positive("pause_s", self.pause_s)


class InterruptionRule(_Rule, frozen=True, kw_only=True):
    """Rep starting over the customer; backchannels under 1 s are not interruptions."""

    placeholders: ClassVar[frozenset[str]] = frozenset({"count", "window_s"})

    priority: int = 8
    severity: Severity = Severity.WARN

    count: int = 2
    window_s: float = 180.0
    min_overlap_s: float = 0.5
    backchannel_max_s: float = 1.0
    text: Texts = Texts(
        en="Let them finish — {count} interruptions",
        nl="Laat de klant uitpraten — {count} keer onderbroken",
    )

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("count must be >= 1")
        _positive("window_s", self.window_s)


class PatienceRule(_Rule, frozen=True, kw_only=True):
    """Response gap after the customer; top reps pause about 1.5 s vs 0.3 s (Gong)."""

    placeholders: ClassVar[frozenset[str]] = frozenset({"gap_ms", "gap_s"})

    priority: int = 3
    severity: Severity = Severity.INFO

    threshold_s: float = 0.4
    last_n: int = 5
    text: Texts = Texts(
        en="Pause before you answer (gap {gap_ms} ms)",
        nl="Neem even de tijd voor je antwoordt ({gap_ms} ms)",
    )

    def __post_init__(self) -> None:
        if self.last_n < 1:
            raise ValueError("last_n must be >= 1")


class DeadAirRule(_Rule, frozen=True, kw_only=True):
    """Nobody speaks; a 1 s silence already feels long, 6 s is dead air."""

    placeholders: ClassVar[frozenset[str]] = frozenset({"silence_s"})

    priority: int = 4
    severity: Severity = Severity.INFO

    threshold_s: float = 6.0
    text: Texts = Texts(
        en="Silence for {silence_s}s — ask an open question",
        nl="Al {silence_s}s stilte — stel een open vraag",
    )

    def __post_init__(self) -> None:
        _positive("threshold_s", self.threshold_s)


class OpenQuestionRule(_Rule, frozen=True, kw_only=True):
    """Closed questions in a row, or no open question for a while (11-14 questions per call, Gong)."""

    placeholders: ClassVar[frozenset[str]] = frozenset({"closed_in_a_row", "since_open_s"})

    priority: int = 5
    severity: Severity = Severity.INFO
    closed_in_a_row: int = 3
    no_open_for_s: float = 180.0  # of rep speech time
    text: Texts = Texts(
        en="Ask an open question — what, how, tell me…",
        nl="Stel een open vraag — wat, hoe, vertel eens…",
    )
    why_tip: Texts = Texts(
        en="Try “What led to…” instead of “why”",
        nl="Probeer “Hoe komt het dat…” in plaats van “waarom”",
    )

    def __post_init__(self) -> None:
        if self.closed_in_a_row < 1:
            raise ValueError("closed_in_a_row must be >= 1")
        _positive("no_open_for_s", self.no_open_for_s)


class SummarizeRule(_Rule, frozen=True, kw_only=True):
    """LSD: Luisteren, Samenvatten, Doorvragen; summarize after a minute of customer speech."""

    placeholders: ClassVar[frozenset[str]] = frozenset({"customer_speech_s"})

    priority: int = 4
    severity: Severity = Severity.INFO
    customer_speech_s: float = 60.0
    text: Texts = Texts(
        en="Summarize what you heard",
        nl="Vat samen wat je hoorde",
    )

    def __post_init__(self) -> None:
        _positive("customer_speech_s", self.customer_speech_s)


class PaceRule(_Rule, frozen=True, kw_only=True):
    """Rep words per minute over the last 30 s of rep speech; 130-175 wpm band (Read.ai)."""

    placeholders: ClassVar[frozenset[str]] = frozenset({"wpm"})

    priority: int = 5
    severity: Severity = Severity.INFO
    max_wpm: float = 175.0
    recover_below_wpm: float = 165.0
    window_s: float = 30.0
    min_speech_s: float = 15.0
    text: Texts = Texts(
        en="Slow down — {wpm} words a minute",
        nl="Praat rustiger — {wpm} woorden per minuut",
    )

    def __post_init__(self) -> None:
        _positive("max_wpm", self.max_wpm)
        if self.recover_below_wpm > self.max_wpm:
            raise ValueError("recover_below_wpm must not exceed max_wpm")


class FillersRule(_Rule, frozen=True, kw_only=True):
    """Filler clusters; single fillers are noise, clusters matter (under 4% of words, Read.ai)."""

    placeholders: ClassVar[frozenset[str]] = frozenset({"count", "share_pct"})

    priority: int = 2
    severity: Severity = Severity.INFO
    cluster: int = 3
    cluster_window_s: float = 20.0
    max_share: float = 0.04
    text: Texts = Texts(
        en="Fewer fillers — a short pause works better",
        nl="Minder stopwoordjes — een korte pauze werkt beter",
    )

    def __post_init__(self) -> None:
        if self.cluster < 1:
            raise ValueError("cluster must be >= 1")
        _share("max_share", self.max_share)


class TopicsRule(_Rule, frozen=True, kw_only=True):
    """Checklist items still open near the end of the call (smart checklists, Balto)."""

    placeholders: ClassVar[frozenset[str]] = frozenset({"item"})

    priority: int = 6
    severity: Severity = Severity.INFO
    remind_after_s: float = 480.0  # audio time from which open items are "near the end"
    text: Texts = Texts(
        en="Not discussed yet: {item}",
        nl="Nog niet besproken: {item}",
    )


class MonotoneRule(_Rule, frozen=True, kw_only=True):
    """Flat pitch against the rep's own first minutes; on the phone the voice carries all."""

    placeholders: ClassVar[frozenset[str]] = frozenset({"spread_st", "baseline_st"})

    priority: int = 3
    severity: Severity = Severity.INFO
    ratio: float = 0.6
    text: Texts = Texts(
        en="Vary your tone",
        nl="Varieer je intonatie",
    )


class VolumeRule(_Rule, frozen=True, kw_only=True):
    """Too soft or too loud against the rep's own baseline level."""

    placeholders: ClassVar[frozenset[str]] = frozenset({"direction", "delta_db"})

    priority: int = 3
    severity: Severity = Severity.INFO
    soft_db: float = -8.0
    loud_db: float = 8.0
    text: Texts = Texts(
        en="Speak {direction}",
        nl="Praat {direction}",
    )


class ChecklistItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One topic a rep should cover; ticked when a phrase is heard from either party."""

    id: str
    label: Texts
    phrases: PhraseLists

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9_]{1,40}", self.id):
            raise ValueError(
                f"checklist id must be lowercase letters, digits or _, got {self.id!r}"
            )


class QuickWhisper(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A line a trainer often whispers to a rep: one click on the dashboard's detail view."""

    text: Texts

    def __post_init__(self) -> None:
        for language in LANGUAGES:
            line = self.text.get(language)
            if not line.strip() or len(line) > 200:
                raise ValueError(f"text.{language} must be 1 to 200 characters, got {len(line)}")


class Rules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    talk_ratio: TalkRatioRule = TalkRatioRule()
    monologue: MonologueRule = MonologueRule()
    interruption: InterruptionRule = InterruptionRule()
    patience: PatienceRule = PatienceRule()
    dead_air: DeadAirRule = DeadAirRule()
    open_question: OpenQuestionRule = OpenQuestionRule()
    summarize: SummarizeRule = SummarizeRule()
    pace: PaceRule = PaceRule()
    fillers: FillersRule = FillersRule()
    topics: TopicsRule = TopicsRule()
    monotone: MonotoneRule = MonotoneRule()
    volume: VolumeRule = VolumeRule()


class Playbook(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str = "Default"
    description: str = ""
    pacing: Pacing = Pacing()
    rules: Rules = Rules()
    checklist: tuple[ChecklistItem, ...] = ()
    whispers: tuple[QuickWhisper, ...] = ()
    form: tuple[Section, ...] = ()  # the evaluation form the scorecard follows

    def __post_init__(self) -> None:
        self._check_form()
        if len(self.whispers) > 12:
            raise ValueError(f"whispers: at most 12 quick lines, got {len(self.whispers)}")
        ids = [item.id for item in self.checklist]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"checklist ids must be unique; repeated: {', '.join(duplicates)}")
        for rule_name in Rules.__struct_fields__:
            rule = getattr(self.rules, rule_name)
            fields = rule.placeholders
            for language in LANGUAGES:
                text = rule.text.get(language)
                for _, field, _, _ in string.Formatter().parse(text):
                    if field and field not in fields:
                        raise ValueError(
                            f"rules.{rule_name}.text.{language}: unknown placeholder "
                            f"{{{field}}}; known: {', '.join(sorted(fields))}"
                        )


    def _check_form(self) -> None:
        """Every name a criterion refers to must exist: a rule, a checklist item."""
        sections = [section.id for section in self.form]
        criteria = [c.id for section in self.form for c in section.criteria]
        for kind, ids in (("section", sections), ("criterion", criteria)):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"form: {kind} ids must be unique; repeated: {', '.join(repeated)}")
        rules = {r.value for r in RuleName}
        topics = {item.id for item in self.checklist}
        for i, section in enumerate(self.form):
            for j, c in enumerate(section.criteria):
                where = f"form[{i}].criteria[{j}]"
                if c.rule is not None and c.rule not in rules:
                    raise ValueError(
                        f"{where}.rule: unknown rule {c.rule!r}; known: {', '.join(sorted(rules))}"
                    )
                if c.checklist is not None and c.checklist not in topics:
                    known = ", ".join(sorted(topics)) or "none"
                    raise ValueError(
                        f"{where}.checklist: unknown checklist item {c.checklist!r}; known: {known}"
                    )


def parse_playbook(text: str, source: str = "<playbook>") -> Playbook:
    """Parses and validates a TOML playbook.

    Raises:
        BadPlaybook: with the source, line where known, the key path and the problem.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadPlaybook(f"{source}: {exc}") from None
    try:
        return msgspec.convert(data, Playbook)
    except msgspec.ValidationError as exc:
        message = str(exc)
        suffix = re.search(r"at `\$\.([^`]+)`", message)
        prefix = re.match(r"^((?:rules|pacing|checklist|whispers|form)[\w.\[\]]*): ", message)
        where = ""
        if suffix or prefix:
            path = (suffix or prefix).group(1)  # type: ignore[union-attr]
            line = _line_of(text, path)
            where = f" (line {line}, {path})" if line else f" ({path})"
            if suffix:
                message = message[: suffix.start()].rstrip(" -")
            else:
                message = message[prefix.end() :]  # type: ignore[union-attr]
        raise BadPlaybook(f"{source}{where}: {message}") from None


def load_playbook(path: str | Path) -> Playbook:
    """Loads a playbook file; see `parse_playbook`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadPlaybook(f"cannot read playbook {p}: {exc.strerror}") from None
    return parse_playbook(text, source=str(p))


def default_playbook() -> Playbook:
    """The playbook shipped with the server (server/playbooks/default.toml)."""
    text = resources.files("server").joinpath("playbooks/default.toml").read_text("utf-8")
    return parse_playbook(text, source="default.toml")


def _line_of(text: str, path: str) -> int | None:
    """Best-effort line of a key path such as `rules.pace.max_wpm` or `checklist[1].label`.

    Returns the line of the deepest table or key that lies on the path.
    """
    target = _path_parts(path)
    best: tuple[int, int] | None = None  # (depth matched, line)
    table: list[tuple[str, int | None]] = []
    array_counts: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line.startswith("[["):
            name = line.strip("[] ")
            for nested in [k for k in array_counts if k.startswith(name + ".")]:
                del array_counts[nested]  # a new [[form]] starts its [[form.criteria]] at 0
            array_counts[name] = array_counts.get(name, -1) + 1
            parts = name.split(".")
            table = [
                (part, array_counts.get(".".join(parts[: i + 1]))) for i, part in enumerate(parts)
            ]
            here = table
        elif line.startswith("["):
            table = [(part.strip(), None) for part in line.strip("[] ").split(".")]
            here = table
        elif "=" in line:
            key = line.split("=", 1)[0].strip().strip('"')
            here = table + [(part.strip(), None) for part in key.split(".")]
        else:
            continue
        depth = 0
        for have, want in zip(here, target, strict=False):
            if have != want:
                break
            depth += 1
        if depth == len(here) and depth and (best is None or depth > best[0]):
            best = (depth, number)
    return best[1] if best else None


def _path_parts(path: str) -> list[tuple[str, int | None]]:
    parts: list[tuple[str, int | None]] = []
    for part in path.split("."):
        match = re.fullmatch(r"([^\[]+)\[(\d+)\]", part)
        parts.append((match.group(1), int(match.group(2))) if match else (part, None))
    return parts
