"""The registry of sessions and their join tokens.

Pure: token randomness is injected, so tests can fix it. Tokens are unguessable (192
bits), scoped to one session and one role; tokens of ended sessions read as expired.
"""

from __future__ import annotations

import enum
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from models.errors import BadToken, ServerBusy, TokenExpired
from models.playbook import Playbook
from models.wire import Create, RecognitionStatus, Role, RoleTokens
from server.core.party import PAUSE_CUT_FRAMES
from server.core.second_stage import VoiceConfirmer
from server.core.session import Outputs, Session
from server.core.vad import FRAME_S

# Ended sessions stay readable (reports, expired-token answers) up to this many.
KEEP_ENDED_SESSIONS = 1000


class EndReason(enum.Enum):
    """Why the hub ended a session on its own (`SessionHub.expire`)."""

    NEVER_JOINED = "never_joined"
    EVERYONE_LEFT = "everyone_left"
    IDLE = "call_idle"
    TOO_LONG = "call_too_long"


@dataclass(frozen=True, slots=True)
class Expiry:
    """When the hub ends sessions by itself (wall seconds; 0 turns that one off).

    A created link that nobody used, or a call everyone left without ending, would hold a
    slot of `max_sessions` and its tokens; the 992-sessions-in-0.67-s flood held them for an
    hour. A link is usually opened within minutes of being made; a reload or a network blip
    comes back within a minute (hence the shorter grace once someone was there).

    Attributes:
        never_joined_s: A session nobody ever joined, from its creation.
        everyone_left_s: A session everyone left, from the last one leaving.
        idle_s: A session whose connections sent nothing (no audio, no message).
        max_call_s: Any session, from its creation.
    """

    never_joined_s: float = 900.0
    everyone_left_s: float = 300.0
    idle_s: float = 1800.0
    max_call_s: float = 4 * 3600.0


def _token() -> str:
    """192 random bits, never starting with "-" (a command line would take it for an
    option: `sparring report ID --token -x…`)."""
    while (token := secrets.token_urlsafe(24)).startswith("-"):
        pass
    return token


def _session_id() -> str:
    return secrets.token_hex(8)


class SessionHub:
    """Creates sessions, resolves tokens to (session, role), forgets old ended sessions."""

    def __init__(
        self,
        playbooks: dict[str, Playbook],
        *,
        max_sessions: int = 1000,
        max_observers: int = 0,
        rejoin_grace_s: float = 0.0,
        make_token: Callable[[], str] = _token,
        make_session_id: Callable[[], str] = _session_id,
        node: str = "",
        expiry: Expiry | None = None,
    ) -> None:
        self.playbooks = playbooks
        # Ids and tokens start with "node." so that a load balancer can route a call's
        # connections to the node that holds its audio (docs/protocol.md, Many nodes).
        self.node = node
        self._prefix = f"{node}." if node else ""
        self.max_sessions = max_sessions
        self.max_observers = max_observers  # per call; 0: no cap
        self.rejoin_grace_s = rejoin_grace_s  # a dropped party may come back this long
        self.pause_cut_s: float | None = PAUSE_CUT_FRAMES * FRAME_S  # Session.set_pause_cut
        self.sessions: dict[str, Session] = {}
        self._ended: OrderedDict[str, Session] = OrderedDict()
        self._tokens: dict[str, tuple[str, Role]] = {}
        self._session_tokens: dict[str, RoleTokens] = {}
        self._make_token = make_token
        self._make_session_id = make_session_id
        self.expiry = expiry or Expiry()
        self._last_seen: dict[str, float] = {}  # session -> wall time someone was connected
        self._last_active: dict[str, float] = {}  # session -> wall time a client sent something
        self._joined: set[str] = set()  # sessions someone has joined
        # Which languages this node transcribes, now or once their model has loaded (English
        # at least); None: recognition is off.
        self.transcribes: Callable[[str], bool] | None = None
        # Prepares recognition of a language for a new call (an on-demand model starts
        # loading) and answers its status with the install that brings a missing one;
        # None: a language is "on" when `transcribes` says so, else "unavailable".
        self.prepare_recognition: Callable[[str], tuple[RecognitionStatus, str]] | None = None
        # The second voice stage for noisy microphones (Silero); None: webrtcvad alone.
        self.confirmer_factory: Callable[[], VoiceConfirmer] | None = None

    def create(
        self, msg: Create, *, default_language: str = "en", now: float = 0.0
    ) -> tuple[Session, RoleTokens]:
        """Starts a session from a `create` message.

        Raises:
            BadMessage: an unknown playbook name.
            ServerBusy: the server holds `max_sessions` open sessions.
        """
        from models.errors import BadMessage

        playbook = self.playbooks.get(msg.playbook)
        if playbook is None:
            known = ", ".join(sorted(self.playbooks))
            raise BadMessage(f"unknown playbook {msg.playbook!r}; known: {known}")
        if len(self.sessions) >= self.max_sessions:
            raise ServerBusy(f"this server holds its maximum of {self.max_sessions} sessions")
        session_id = self._prefix + self._make_session_id()
        language = msg.language if msg.language else default_language
        if language == "auto" and self.transcribes is not None and not self.transcribes("nl"):
            language = "en"  # English is all this node transcribes: "auto" can only mean it
        recognition, install = self._recognition_of(language)
        session = Session(
            session_id,
            title=msg.title,
            language=language,
            playbook=playbook,
            asr=recognition in ("on", "loading"),
            recognition=recognition,
            recognition_install=install,
            confirmer_factory=self.confirmer_factory,
            node=self.node,
            created_at=now,
        )
        session.roster.max_observers = self.max_observers
        session.roster.rejoin_grace_s = self.rejoin_grace_s
        session.set_pause_cut(self.pause_cut_s)
        prefix = self._prefix
        tokens = RoleTokens(
            rep=prefix + self._make_token(),
            customer=prefix + self._make_token(),
            observer=prefix + self._make_token(),
        )
        for role, token in (
            (Role.REP, tokens.rep),
            (Role.CUSTOMER, tokens.customer),
            (Role.OBSERVER, tokens.observer),
        ):
            self._tokens[token] = (session_id, role)
        self.sessions[session_id] = session
        self._session_tokens[session_id] = tokens
        self._last_seen[session_id] = now
        self._last_active[session_id] = now
        return session, tokens

    def _recognition_of(self, language: str) -> tuple[RecognitionStatus, str]:
        if self.transcribes is None:
            return "off", ""
        if self.prepare_recognition is not None:
            return self.prepare_recognition(language)
        return (
            ("on", "") if language == "auto" or self.transcribes(language) else ("unavailable", "")
        )

    def touch(self, session_id: str, now: float) -> None:
        """Someone of the session sent something at wall time `now` (it is not idle)."""
        if session_id in self.sessions:
            self._last_active[session_id] = now
            self._joined.add(session_id)

    def resolve(self, token: str) -> tuple[Session, Role]:
        """The session and role a join token opens.

        Raises:
            BadToken: no session knows the token.
            TokenExpired: the token's session has ended.
        """
        entry = self._tokens.get(token)
        if entry is None:
            raise BadToken("unknown join token")
        session_id, role = entry
        session = self.sessions.get(session_id)
        if session is None or session.is_ended:
            raise TokenExpired("this session has ended; ask for a new link")
        return session, role

    def tokens_of(self, session_id: str) -> RoleTokens | None:
        """The join tokens of a session this hub still holds (kept hashed with the call)."""
        return self._session_tokens.get(session_id)

    def lookup(self, token: str) -> tuple[Session, Role] | None:
        """The session (open or ended, while kept) and role of a join token, for what a
        participant may still do after the call (reflect, evaluate)."""
        entry = self._tokens.get(token)
        if entry is None:
            return None
        session = self.get(entry[0])
        return (session, entry[1]) if session is not None else None

    def get(self, session_id: str) -> Session | None:
        return self.sessions.get(session_id) or self._ended.get(session_id)

    def token_role(self, session_id: str, token: str) -> Role | None:
        """The role `token` holds in `session_id`, ended or not; None if it holds none."""
        entry = self._tokens.get(token)
        if entry is None or entry[0] != session_id:
            return None
        return entry[1]

    def expire(self, now: float) -> list[tuple[Session, Outputs, EndReason]]:
        """Ends sessions past one of the `Expiry` limits (wall time from the adapter).

        Returns:
            Each session ended, with what ending it produced (the report and final state
            for whoever is still connected, and for trainers) and why: the caller carries
            it out.
        """
        expired = []
        for session in list(self.sessions.values()):
            reason = self._expired(session, now)
            if reason is not None:
                out = session.abandon()
                self.retire(session)
                expired.append((session, out, reason))
        return expired

    def _expired(self, session: Session, now: float) -> EndReason | None:
        limits, sid = self.expiry, session.id
        if limits.max_call_s and now - session.created_at >= limits.max_call_s:
            return EndReason.TOO_LONG
        if session.roster.connected_ids():
            self._last_seen[sid] = now
            self._joined.add(sid)
            idle_s = now - self._last_active.get(sid, session.created_at)
            return EndReason.IDLE if limits.idle_s and idle_s >= limits.idle_s else None
        if sid not in self._joined:
            unused_s = now - session.created_at
            wanted = limits.never_joined_s
            return EndReason.NEVER_JOINED if wanted and unused_s >= wanted else None
        left_s = now - self._last_seen.get(sid, now)
        wanted = limits.everyone_left_s
        return EndReason.EVERYONE_LEFT if wanted and left_s >= wanted else None

    def retire(self, session: Session) -> None:
        """Moves an ended session to the bounded list of ended ones."""
        if self.sessions.pop(session.id, None) is None:
            return
        self._ended[session.id] = session
        self._last_seen.pop(session.id, None)
        self._last_active.pop(session.id, None)
        self._joined.discard(session.id)
        while len(self._ended) > KEEP_ENDED_SESSIONS:
            old_id, _ = self._ended.popitem(last=False)
            old_tokens = self._session_tokens.pop(old_id, None)
            if old_tokens is not None:  # its three, not a scan of every call's tokens
                for token in (old_tokens.rep, old_tokens.customer, old_tokens.observer):
                    self._tokens.pop(token, None)
