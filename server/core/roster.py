"""Who takes part in a session, what each agreed to, and whether the call may be analysed.

Pure. Owns the participants, their consent and connection (and the rejoin grace of a
party whose connection dropped), the consent ledger and the session status. Only rep and customer consent gates analysis: an observer sends no audio,
so their consent covers what they will see, not whether the call is analysed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.errors import BadAudioFormat, BadConsent, CallFull, NotAllowedNow, RoleTaken
from models.report import Absence, ConsentRecord
from models.wire import AudioFormat, Consent, ParticipantView, Role, Scope
from server.core.audio import AudioInput

PARTIES = (Role.REP, Role.CUSTOMER)


class Status(StrEnum):
    """created -> waiting -> live <-> paused -> ended (architecture.md, Consent)."""

    CREATED = "created"
    WAITING = "waiting"
    LIVE = "live"
    PAUSED = "paused"
    ENDED = "ended"


@dataclass(slots=True)
class Participant:
    id: str
    role: Role
    name: str
    connected: bool = True
    scopes: frozenset[Scope] | None = None  # None until consent is granted
    on_behalf: bool = False  # represented on the rep's stereo device
    audio: AudioInput | None = None
    # Dropped and may rejoin within the grace: still a party of the call, silent meanwhile.
    reconnecting: bool = False
    dropped_at: float = 0.0  # wall time of the drop (identifies it to the grace timer)
    dropped_at_s: float = 0.0  # session audio time of the drop

    @property
    def consented(self) -> bool:
        return self.scopes is not None and Scope.COACHING in self.scopes

    @property
    def reachable(self) -> bool:
        """Has a connection of its own that messages can go to."""
        return self.connected and not self.on_behalf

    def has(self, scope: Scope) -> bool:
        return self.scopes is not None and scope in self.scopes

    def view(self) -> ParticipantView:
        return ParticipantView(
            role=self.role,
            name=self.name,
            connected=self.connected,
            consented=self.consented,
            on_behalf=self.on_behalf,
            scopes=tuple(sorted(self.scopes or ())),
            reconnecting=self.reconnecting,
        )


@dataclass(frozen=True, slots=True)
class ScopeChange:
    """What one consent message changed for the party it concerns."""

    participant: Participant
    before: frozenset[Scope]
    after: frozenset[Scope]

    def lost(self, scope: Scope) -> bool:
        return scope in self.before and scope not in self.after


class Roster:
    """Participants of one session, their consent and the ledger that records it."""

    def __init__(
        self, session_id: str, max_observers: int = 0, rejoin_grace_s: float = 0.0
    ) -> None:
        self.session_id = session_id
        # A rep or customer whose connection drops stays in the call this long (0: leaves
        # at once); the adapter times it and calls `give_up`.
        self.rejoin_grace_s = rejoin_grace_s
        self.absences: list[Absence] = []
        # Every join and consent sends the participant list to everyone: with n observers
        # that is n² names per change, so the cap bounds it (0: no cap).
        self.max_observers = max_observers
        self.participants: dict[str, Participant] = {}
        self.ledger: list[ConsentRecord] = []
        self.status = Status.CREATED
        self._next = 0

    # --- queries ------------------------------------------------------------------------

    def party(self, role: Role) -> Participant | None:
        """The rep or customer in the call: connected, represented on the rep's device, or
        reconnecting within the grace."""
        for p in self.participants.values():
            if p.role is role and (p.connected or p.on_behalf or p.reconnecting):
                return p
        return None

    def connected_ids(self) -> list[str]:
        return [p.id for p in self.participants.values() if p.reachable]

    def reconnecting(self) -> list[Participant]:
        """Parties whose connection dropped and who may still rejoin."""
        return [p for p in self.participants.values() if p.reconnecting]

    def parties_grant(self, scope: Scope) -> bool:
        """Whether rep and customer are both in the call and both grant `scope` now."""
        rep, customer = self.party(Role.REP), self.party(Role.CUSTOMER)
        return rep is not None and customer is not None and rep.has(scope) and customer.has(scope)

    def granted_throughout(self, scope: Scope) -> bool:
        """Whether every grant rep and customer ever gave included `scope` (for what was kept)."""
        grants = [c for c in self.ledger if c.granted and c.role in PARTIES]
        roles = {c.role for c in grants}
        return roles == set(PARTIES) and all(scope in c.scopes for c in grants)

    def may_be_live(self) -> bool:
        """Rep and customer present (in person or on the rep's device) and consented."""
        rep, customer = self.party(Role.REP), self.party(Role.CUSTOMER)
        return (
            rep is not None
            and customer is not None
            and (rep.connected or rep.reconnecting)
            and rep.consented
            and customer.consented
        )

    def waiting_for(self) -> tuple[str, ...]:
        waiting: list[str] = []
        for role in PARTIES:
            p = self.party(role)
            if p is None:
                waiting.append(role.value)
            elif not p.consented:
                waiting.append(f"{role.value} consent")
        return tuple(waiting)

    # --- commands -----------------------------------------------------------------------

    def join(
        self,
        role: Role,
        name: str,
        audio: AudioFormat | None,
        at_s: float = 0.0,
        *,
        heard_until_s: float | None = None,
    ) -> Participant:
        """Adds a participant for a validated token of `role`.

        A rep or customer reconnecting within the grace takes their place back: same
        participant, consent kept (the terms of a call do not change while it runs), the
        time away recorded from its drop to `at_s` (session audio time).

        With a rejoin grace, a rep or customer whose earlier connection still looks open
        (a drop the server has not noticed yet: a Wi-Fi switch, a reload) takes the place
        over the same way; the caller tells that connection it was replaced and closes it.
        The time away runs from `heard_until_s`, where their audio stopped, to `at_s`.

        Raises:
            NotAllowedNow: the session has ended.
            RoleTaken: the customer is represented on the rep's device, or, without a
                rejoin grace, the rep or the customer is already connected.
            BadAudioFormat: stereo from anyone but the rep.
            CallFull: the call holds `max_observers` observers already.
        """
        if self.status is Status.ENDED:
            raise NotAllowedNow("this session has ended")
        if role is Role.OBSERVER and self.max_observers:
            watching = sum(1 for p in self.participants.values() if p.role is Role.OBSERVER)
            if watching >= self.max_observers:
                raise CallFull(f"this call has its maximum of {self.max_observers} observers")
        if audio is not None and audio.channels == 2 and role is not Role.REP:
            raise BadAudioFormat("only the rep may send stereo (left rep, right customer)")
        if role in PARTIES:
            existing = self.party(role)
            if existing is not None and existing.reconnecting:
                return self._rejoin(existing, audio, at_s)
            if existing is not None and self.may_take_over(existing):
                return self._take_over(existing, audio, at_s, heard_until_s)
            if existing is not None:
                how = "on the rep's device" if existing.on_behalf else "connected"
                raise RoleTaken(f"the {role.value} of this session is already {how}")
        if role is Role.OBSERVER:
            audio = None  # observers listen; they have no microphone in the analysis
        else:  # a returning party replaces its disconnected entry
            for pid, p in list(self.participants.items()):
                if p.role is role and not p.connected:
                    del self.participants[pid]
        p = self._add(role, name or role.value.capitalize())
        p.audio = AudioInput(audio) if audio is not None else None
        if self.status is Status.CREATED:
            self.status = Status.WAITING
        return p

    def _rejoin(self, p: Participant, audio: AudioFormat | None, at_s: float) -> Participant:
        p.connected, p.reconnecting = True, False
        p.audio = AudioInput(audio) if audio is not None else None
        self.absences.append(Absence(role=p.role, from_s=p.dropped_at_s, to_s=round(at_s, 3)))
        return p

    def may_take_over(self, p: Participant) -> bool:
        """Whether a new connection with `p`'s token takes over `p`'s open one: a rep or
        customer connected on a device of their own, in a call that keeps places (grace)."""
        return self.rejoin_grace_s > 0 and p.role in PARTIES and p.connected and not p.on_behalf

    def _take_over(
        self, p: Participant, audio: AudioFormat | None, at_s: float, heard_until_s: float | None
    ) -> Participant:
        p.audio = AudioInput(audio) if audio is not None else None
        from_s = at_s if heard_until_s is None else min(heard_until_s, at_s)
        if from_s < at_s:  # their audio had stopped: the gap is an absence, as for a drop
            self.absences.append(Absence(role=p.role, from_s=round(from_s, 3), to_s=round(at_s, 3)))
        return p

    def leave(
        self, pid: str, wall_time: float = 0.0, at_s: float = 0.0, *, rejoin: bool = True
    ) -> Participant | None:
        """Marks a participant gone; returns it, or None when nothing changed.

        With a rejoin grace, a rep or customer whose connection dropped (`wall_time`,
        `at_s`: when) is `reconnecting` instead: still a party, consent kept, until they
        come back (`join`) or the grace runs out (`give_up`).
        """
        p = self.participants.get(pid)
        if p is None or not p.connected or self.status is Status.ENDED:
            return None
        p.connected = False
        if rejoin and self.rejoin_grace_s > 0 and p.role in PARTIES and not p.on_behalf:
            p.reconnecting = True
            p.dropped_at, p.dropped_at_s = wall_time, round(at_s, 3)
            return p
        return self._gone(p)

    def give_up(self, pid: str, dropped_at: float) -> Participant | None:
        """The grace of the drop at `dropped_at` ran out: the party has left. Returns it, or
        None when it came back (or dropped again since) or the call ended."""
        p = self.participants.get(pid)
        if p is None or not p.reconnecting or p.dropped_at != dropped_at:
            return None
        if self.status is Status.ENDED:
            return None
        p.reconnecting = False
        self.absences.append(Absence(role=p.role, from_s=p.dropped_at_s))
        return self._gone(p)

    def _gone(self, p: Participant) -> Participant:
        pid = p.id
        p.scopes = None  # consent belongs to a connection; a returning party consents again
        if p.role is Role.OBSERVER:
            del self.participants[pid]
        if p.role is Role.REP:  # the stereo customer left with the rep's device
            for other in [o for o in self.participants.values() if o.on_behalf]:
                del self.participants[other.id]
        return p

    def consent(
        self,
        pid: str,
        msg: Consent,
        audio_time_s: float,
        wall_time: float,
        *,
        declared_by: str | None = None,
    ) -> ScopeChange:
        """Records a grant or withdrawal in the ledger.

        `declared_by` names who declared it on the participant's behalf (the uploader of a
        recording); the ledger says so, since the participant did not send it themselves.

        Raises:
            NotAllowedNow: the session has ended.
            BadConsent: a grant without `coaching`, or a proxy grant not from a stereo rep.
        """
        if self.status is Status.ENDED:
            raise NotAllowedNow("this session has ended")
        p = self.participants.get(pid)
        if p is None:  # an observer who sent `end` and then kept talking
            raise NotAllowedNow("you have left this call")
        target = p
        if msg.on_behalf_of == "customer":
            if p.role is not Role.REP or p.audio is None or p.audio.format.channels != 2:
                raise BadConsent(
                    "consent on behalf of the customer is only for a rep streaming stereo"
                )
            target = self._stereo_customer(msg.name)
        if msg.granted and Scope.COACHING not in msg.scopes:
            raise BadConsent("the coaching scope is required to take part")
        before = target.scopes or frozenset()
        target.scopes = frozenset(Scope(s) for s in msg.scopes) if msg.granted else None
        self.ledger.append(
            ConsentRecord(
                participant=target.id,
                role=target.role,
                name=target.name,
                granted=msg.granted,
                scopes=tuple(sorted(msg.scopes)) if msg.granted else (),
                on_behalf_of=msg.on_behalf_of,
                given_by=declared_by or p.name,
                audio_time_s=audio_time_s,
                wall_time=wall_time,
                erase=msg.erase,
                declared=declared_by is not None,
            )
        )
        return ScopeChange(target, before, target.scopes or frozenset())

    def end(self) -> list[str]:
        """Ends the session; returns the ids whose connections are to be closed."""
        ids = self.connected_ids()
        self.status = Status.ENDED
        for p in self.participants.values():
            if p.reconnecting:  # away when the call ended: never came back
                self.absences.append(Absence(role=p.role, from_s=p.dropped_at_s))
            p.connected = p.reconnecting = False
        return ids

    def _stereo_customer(self, name: str | None) -> Participant:
        existing = self.party(Role.CUSTOMER)
        if existing is not None and not existing.on_behalf:
            raise BadConsent("the customer is connected; they consent on their own device")
        if existing is None:
            if not name:
                raise BadConsent("consent on behalf of the customer needs the customer's name")
            existing = self._add(Role.CUSTOMER, name)
            existing.on_behalf = True
        elif name:
            existing.name = name
        return existing

    def _add(self, role: Role, name: str) -> Participant:
        self._next += 1
        pid = f"{self.session_id}/p{self._next}"
        p = self.participants[pid] = Participant(id=pid, role=role, name=name)
        return p
