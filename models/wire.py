"""Protocol v1 wire messages: small frozen structs, tagged on `type`.

Client-to-server and server-to-client messages of ../docs/protocol.md. Unknown fields are
ignored on decode so that newer clients keep working (extend, never break).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import msgspec

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 * 1024
SUPPORTED_RATES_HZ = (8000, 16000, 44100, 48000)


class Role(StrEnum):
    REP = "rep"
    CUSTOMER = "customer"
    OBSERVER = "observer"
    TRAINER = "trainer"  # signed in with the server's trainer key; never a session participant


class Scope(StrEnum):
    """What a participant's consent covers (protocol.md, `consent`)."""

    COACHING = "coaching"  # required: the call is analysed and coached
    TRANSCRIPT = "transcript"  # what this party says is transcribed and shown
    TRAINER_VIEW = "trainer_view"  # observers and trainers may see the analysis


SCOPES = tuple(s.value for s in Scope)


class Severity(StrEnum):
    INFO = "info"
    WARN = "warn"


Language = Literal["en", "nl", "auto"]

# Whether a call's speech is recognised (docs/protocol.md, Languages): "on"; "loading" (its
# language's model loads for the first call of that language: transcripts follow); "unavailable"
# (this server has no model for the language; `recognition_install` names what brings one);
# "off" (the server runs without recognition).
RecognitionStatus = Literal["on", "loading", "unavailable", "off"]


class _Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every wire message."""


# --- client to server -------------------------------------------------------------------


class AudioFormat(msgspec.Struct, frozen=True, kw_only=True):
    format: Literal["pcm_s16le"] = "pcm_s16le"
    rate: int = 16000
    channels: int = 1

    def __post_init__(self) -> None:
        if self.rate not in SUPPORTED_RATES_HZ:
            allowed = ", ".join(str(r) for r in SUPPORTED_RATES_HZ)
            raise ValueError(f"rate must be one of {allowed}, got {self.rate}")
        if self.channels not in (1, 2):
            raise ValueError(f"channels must be 1 or 2, got {self.channels}")

    @property
    def bytes_per_frame(self) -> int:
        """Bytes of one sample frame (all channels)."""
        return 2 * self.channels


class Create(_Message, frozen=True, kw_only=True, tag="create"):
    title: str = ""
    language: Language = "en"
    playbook: str = "default"
    key: str | None = None
    rep_token: str | None = None  # a rep's personal link: the call lands in their history


class Hello(_Message, frozen=True, kw_only=True, tag="hello"):
    token: str | None = None
    trainer_key: str | None = None
    name: str = ""
    client: str = ""
    audio: AudioFormat | None = None

    def __post_init__(self) -> None:
        if (self.token is None) == (self.trainer_key is None):
            raise ValueError("hello needs exactly one of token or trainer_key")
        if len(self.name) > 80:
            raise ValueError(f"name must be at most 80 characters, got {len(self.name)}")


class Consent(_Message, frozen=True, kw_only=True, tag="consent"):
    granted: bool
    scopes: tuple[str, ...] = ("coaching",)
    on_behalf_of: Literal["customer"] | None = None
    name: str | None = None
    erase: bool = False

    def __post_init__(self) -> None:
        unknown = [s for s in self.scopes if s not in SCOPES]
        if unknown:
            raise ValueError(f"unknown consent scope {unknown[0]!r}; known: {', '.join(SCOPES)}")


class End(_Message, frozen=True, kw_only=True, tag="end"):
    pass


class Whisper(_Message, frozen=True, kw_only=True, tag="whisper"):
    text: str
    session: str | None = None  # a trainer names the call; an observer's is their own

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("whisper text must not be empty")
        if len(self.text) > 200:
            raise ValueError(f"whisper text must be at most 200 characters, got {len(self.text)}")


ALL_SESSIONS = "*"


class Watch(_Message, frozen=True, kw_only=True, tag="watch"):
    """A trainer asks for the events of one call, or of every call it may see (`"*"`)."""

    session: str
    events: Literal["all", "summary"] = "all"  # "summary": only the grid lines (`call`)

    def __post_init__(self) -> None:
        if not self.session or len(self.session) > 100:
            raise ValueError("session must be a call id or '*'")


class Unwatch(_Message, frozen=True, kw_only=True, tag="unwatch"):
    session: str


VerdictName = Literal["good", "needs_work", "not_measured"]


class Evaluate(_Message, frozen=True, kw_only=True, tag="evaluate"):
    """Ticks on the call's evaluation form (issue 10): the rep's self-reflection after the
    call (rep token; `skip` records a skipped one), a peer's (observer token, live or
    after), or a trainer's (on a trainer connection, naming `session`)."""

    token: str | None = None
    session: str | None = None
    name: str = ""  # a peer's name when sent with the shared observer token
    ticks: dict[str, VerdictName] = {}
    notes: dict[str, str] = {}
    skip: bool = False

    def __post_init__(self) -> None:
        if len(self.name) > 80:
            raise ValueError("name must be at most 80 characters")
        if len(self.ticks) > 100 or len(self.notes) > 100:
            raise ValueError("at most 100 criteria")
        for note in self.notes.values():
            if len(note) > 500:
                raise ValueError("a note must be at most 500 characters")


class Erase(_Message, frozen=True, kw_only=True, tag="erase"):
    """Deletes what is kept of an ended call, by any of its join tokens."""

    session: str
    token: str


class Share(_Message, frozen=True, kw_only=True, tag="share"):
    """The rep lets the customer read the call's report (rep token)."""

    session: str
    token: str
    with_customer: bool = True


class CreateGroup(_Message, frozen=True, kw_only=True, tag="create_group"):
    """A trainer starts a training group (trainer connections only)."""

    name: str

    def __post_init__(self) -> None:
        if not self.name.strip() or len(self.name) > 80:
            raise ValueError("a group name must be 1 to 80 characters")


class AddRep(_Message, frozen=True, kw_only=True, tag="add_rep"):
    """A trainer adds a rep to a group; the answer carries the rep's personal link."""

    group: str
    name: str

    def __post_init__(self) -> None:
        if not self.name.strip() or len(self.name) > 80:
            raise ValueError("a rep's name must be 1 to 80 characters")


class ListGroups(_Message, frozen=True, kw_only=True, tag="list_groups"):
    pass


ClientMessage = (
    Create
    | Hello
    | Consent
    | End
    | Whisper
    | Watch
    | Unwatch
    | Evaluate
    | Erase
    | Share
    | CreateGroup
    | AddRep
    | ListGroups
)
CLIENT_TYPES = frozenset(
    {
        "create",
        "hello",
        "consent",
        "end",
        "whisper",
        "watch",
        "unwatch",
        "evaluate",
        "erase",
        "share",
        "create_group",
        "add_rep",
        "list_groups",
    }
)


class RelayedWhisper(msgspec.Struct, frozen=True, kw_only=True):
    """A trainer's whisper on its way to the node that hosts the call (MQTT)."""

    session: str
    text: str
    name: str


# --- server to client -------------------------------------------------------------------


class _ServerMessage(_Message, frozen=True, kw_only=True):
    seq: int = 0


class RoleTokens(msgspec.Struct, frozen=True, kw_only=True):
    rep: str
    customer: str
    observer: str


class Created(_ServerMessage, frozen=True, kw_only=True, tag="created"):
    session: str
    tokens: RoleTokens
    join_urls: RoleTokens
    retention_days: int | None = None  # how long the call is kept after it ends; None: not kept


class Welcome(_ServerMessage, frozen=True, kw_only=True, tag="welcome"):
    """Sent right after a successful `hello` (an extension of v1)."""

    session: str  # "*" for a trainer
    role: Role
    name: str
    protocol: int = PROTOCOL_VERSION
    node: str = ""  # the node that answered (trainers: see docs/protocol.md, Many nodes)
    retention_days: int | None = None  # how long the call is kept after it ends; None: not kept


class ParticipantView(msgspec.Struct, frozen=True, kw_only=True):
    role: Role
    name: str
    connected: bool
    consented: bool
    on_behalf: bool = False
    scopes: tuple[str, ...] = ()
    # The connection dropped and may come back within the rejoin grace (`connected` false):
    # the call goes on meanwhile, the party counting as silent.
    reconnecting: bool = False


class State(_ServerMessage, frozen=True, kw_only=True, tag="state"):
    session: str
    live: bool
    status: Literal["waiting", "live", "paused", "ended"]
    waiting_for: tuple[str, ...]
    participants: tuple[ParticipantView, ...]
    dropped_before_consent_s: float
    title: str = ""
    language: str = "en"
    recognition: RecognitionStatus = "on"
    recognition_install: str = ""  # e.g. "pip install 'sparring[nl]'", when unavailable


class Nudge(_ServerMessage, frozen=True, kw_only=True, tag="nudge"):
    id: str
    rule: str
    text: str
    severity: Severity
    at: float
    evidence: dict[str, float | int | str] = {}
    show_s: float | None = None  # how long the overlay shows it (playbook pacing.toast_s)
    session: str = ""  # the call it belongs to (set by the session core on every event)


class Word(msgspec.Struct, frozen=True, kw_only=True):
    w: str
    start: float
    end: float


class Transcript(_ServerMessage, frozen=True, kw_only=True, tag="transcript"):
    speaker: Literal["rep", "customer"]
    segment: int
    text: str
    final: bool
    start: float
    end: float
    words: tuple[Word, ...] = ()
    question: Literal["open", "closed"] | None = None  # rep finals: the question's kind
    tip: str | None = None  # e.g. the rephrasing tip for a "why" question
    summary: bool = False  # rep finals: a summary of what the customer said (LSD)
    session: str = ""


class ChecklistEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    label: str
    done: bool
    at: float | None = None
    speaker: str | None = None


class Checklist(_ServerMessage, frozen=True, kw_only=True, tag="checklist"):
    """The playbook's topics and which were covered (an extension of v1)."""

    items: tuple[ChecklistEntry, ...]
    session: str = ""


class TalkShare(msgspec.Struct, frozen=True, kw_only=True):
    rep: float
    customer: float


class QuestionCounts(msgspec.Struct, frozen=True, kw_only=True):
    open: int = 0
    closed: int = 0


class Metrics(_ServerMessage, frozen=True, kw_only=True, tag="metrics"):
    at: float
    talk: TalkShare
    talk_window: TalkShare
    longest_monologue_s: float
    current_monologue_s: float
    interruptions: int
    overlaps: int
    mean_response_gap_s: float | None
    silence_s: float
    questions: QuestionCounts = QuestionCounts()
    wpm: float | None = None
    fillers: int = 0
    session: str = ""


class AudioCheck(_ServerMessage, frozen=True, kw_only=True, tag="audio_check"):
    """What the server hears on one party's microphone (an extension of v1).

    Sent when the verdict for that microphone changes, to that party, the rep and observers
    who may see the analysis. `issue` is the worst problem now: `ok`; `leak` (the microphone
    also hears the other party: a shared room or a laptop speaker); `noise` (steady noise,
    music or keyboard masks the voice); `background` (another conversation nearby);
    `quiet` (the voice is too soft to measure). `reliable` is False while talk-time figures
    cannot rest on this microphone: nudges that would rest on it are held back.
    """

    speaker: Literal["rep", "customer"]
    issue: Literal["ok", "leak", "noise", "background", "quiet"]
    reliable: bool
    text: str  # plain words in the session's language, for the page
    at: float
    session: str = ""


class Report(_ServerMessage, frozen=True, kw_only=True, tag="report"):
    session: str
    url: str


CallStatus = Literal["waiting", "live", "paused", "ended", "lost"]


class CallSummary(_ServerMessage, frozen=True, kw_only=True, tag="call"):
    """One line of the trainer's grid (docs/protocol.md, Trainers).

    A private call (rep and customer did not both grant `trainer_view`) carries only
    `session`, `node`, `status` and `created_at`.
    """

    session: str
    node: str = ""
    private: bool = False
    status: CallStatus
    created_at: float  # wall time, seconds since the epoch
    at: float = 0.0  # audio time analysed
    title: str = ""
    language: str = "en"
    participants: tuple[ParticipantView, ...] = ()
    talk: TalkShare | None = None
    talk_window: TalkShare | None = None
    target_rep_share: float | None = None
    last_nudge: Nudge | None = None
    checklist_done: int = 0
    checklist_total: int = 0
    warnings: tuple[str, ...] = ()  # rules that fired 3 times or more
    whispers: tuple[str, ...] = ()  # the playbook's quick lines, in the call's language


class NodeView(msgspec.Struct, frozen=True, kw_only=True):
    node: str
    online: bool


class Cluster(_ServerMessage, frozen=True, kw_only=True, tag="cluster"):
    """The nodes a trainer's dashboard hears of, and whether the bus between them is up."""

    mqtt: Literal["connected", "reconnecting", "off"]
    nodes: tuple[NodeView, ...] = ()


class NodePresence(msgspec.Struct, frozen=True, kw_only=True):
    """A node's retained presence on MQTT (`sparring/v1/nodes/{node}`)."""

    node: str
    online: bool
    at: float = 0.0


class CriterionView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    label: str
    hint: str = ""
    judged: bool = False  # only a person can judge it (nothing measured decides it)


class FormSection(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    criteria: tuple[CriterionView, ...]


class Form(_ServerMessage, frozen=True, kw_only=True, tag="form"):
    """The call's evaluation form, for the rep's reflection and peers' ticks (never the
    customer)."""

    sections: tuple[FormSection, ...]
    session: str = ""


class Done(_ServerMessage, frozen=True, kw_only=True, tag="done"):
    """The answer to a request that has no other visible result (a whisper, `evaluate`,
    `erase`, `share`), so that a page can tell its own request's success."""

    request: Literal["whisper", "evaluate", "erase", "share"]
    session: str


class RepView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str


class GroupView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    reps: tuple[RepView, ...] = ()


class Groups(_ServerMessage, frozen=True, kw_only=True, tag="groups"):
    """The trainer's groups and their reps (answer to `list_groups` and `create_group`)."""

    groups: tuple[GroupView, ...]


class RepLink(_ServerMessage, frozen=True, kw_only=True, tag="rep_link"):
    """A rep's personal link, shown once: it starts their calls and opens their history."""

    rep: str
    name: str
    group: str
    token: str
    url: str


class ErrorMessage(_ServerMessage, frozen=True, kw_only=True, tag="error"):
    code: str
    message: str


ServerMessage = (
    Created
    | Welcome
    | State
    | Nudge
    | Transcript
    | Metrics
    | Report
    | ErrorMessage
    | Checklist
    | AudioCheck
    | CallSummary
    | Cluster
    | Done
    | Form
    | Groups
    | RepLink
)
