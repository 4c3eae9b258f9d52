"""Both parties on one audio clock: their streams, the joint timeline and turn-taking.

Pure. Each party's decided speech labels are joined frame by frame as far as both have
decided; a party that lags more than the bound counts as silent for what it missed, so
one stalled connection never stalls the other's coaching (protocol.md, Time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from models.playbook import Playbook
from models.wire import Role
from server.core.attribution import Attribution, Heard
from server.core.party import PartyStream, UtteranceAudio, VoiceDetector
from server.core.turns import Interrupted, Turns, TurnSettings
from server.core.vad import FRAME_MS, FRAME_S

# A party whose audio lags the other's by more than this counts as silent for what it
# missed (protocol.md, Time: 2 s of audio by default).
LAG_BOUND_FRAMES = 2000 // FRAME_MS
# Metrics and rules run about once per audio second.
TICK_MS = 1000


@dataclass(frozen=True, slots=True)
class Moment:
    """A point of the joint timeline where the coach has work: a tick or an interruption."""

    tick: bool
    interrupted: Interrupted | None


class Timeline:
    """The rep's and the customer's streams, aligned, and the turns they make."""

    def __init__(
        self,
        settings: TurnSettings,
        vad_factory: Callable[[], VoiceDetector],
        *,
        attribution: bool = True,
    ) -> None:
        self.parties = {
            Role.REP: PartyStream(vad_factory()),
            Role.CUSTOMER: PartyStream(vad_factory()),
        }
        self.turns = Turns(settings)
        # Whose voice each microphone carries (off: each microphone alone, as before).
        self.attribution = Attribution() if attribution else None

    @classmethod
    def for_playbook(
        cls,
        playbook: Playbook,
        vad_factory: Callable[[], VoiceDetector],
        *,
        attribution: bool = True,
    ) -> Timeline:
        """A timeline whose turn thresholds are the playbook's (rules that read turns)."""
        rules = playbook.rules
        settings = TurnSettings(
            window_s=rules.talk_ratio.window_s,
            monologue_pause_s=rules.monologue.pause_s,
            interruption_overlap_s=rules.interruption.min_overlap_s,
            backchannel_max_s=rules.interruption.backchannel_max_s,
        )
        return cls(settings, vad_factory, attribution=attribution)

    @property
    def at_s(self) -> float:
        """Session audio time: joint frames analysed while live."""
        return self.turns.at_s

    def feed(self, role: Role, pcm: bytes) -> list[UtteranceAudio]:
        """Takes 16 kHz PCM16 of one party; returns utterance audio due for recognition."""
        return self.parties[role].feed(pcm)

    def start(self) -> None:
        """The call went live: both clocks start at the current joint frame."""
        for party in self.parties.values():
            party.align(self.turns.frame)

    def pause(self) -> None:
        """The call stopped being live: what was not analysed yet is discarded."""
        self.turns.pause()
        for party in self.parties.values():
            party.align(self.turns.frame)

    def restart(self) -> None:
        """Erase: turn-taking starts over at audio time 0."""
        self.turns = Turns(self.turns.settings)
        if self.attribution is not None:
            self.attribution = Attribution()
        for party in self.parties.values():
            party.align(0)

    def close(self) -> None:
        """The call ended: the turns stay for the report; attribution's history and each
        party's audio, frames and second stage go."""
        self.attribution = None
        for party in self.parties.values():
            party.close()

    def heard_until_s(self, role: Role) -> float:
        """Session audio time up to which `role`'s audio arrived (at most `at_s`)."""
        frame = min(self.parties[role].heard_until, self.turns.frame)
        return round(frame * FRAME_S, 3)

    def resume(self, role: Role) -> None:
        """`role`'s audio comes again on a new connection (a rejoin): its clock catches up
        with the other party's, which went on in real time, so that what it sends now
        counts now (level with the joint timeline, it would stay at the lag bound and
        lose its frames to it)."""
        other = Role.CUSTOMER if role is Role.REP else Role.REP
        now = max(self.turns.frame, self.parties[other].heard_until)
        self.parties[role].resume(now)

    def flush(self) -> dict[Role, list[UtteranceAudio]]:
        """The streams ended: undecided frames count as silence; last utterances come out."""
        return {role: party.flush() for role, party in self.parties.items()}

    def advance(self, *, drain: bool = False) -> Iterator[Moment]:
        """Runs the joint timeline as far as both parties' decided labels allow.

        A generator: it stops at each tick and interruption, so that the caller reads the
        measures as they are at that moment (the same however the audio was chunked).

        Args:
            drain: Run to the end of what either party delivered (the call ends).
        """
        rep = self.parties[Role.REP]
        customer = self.parties[Role.CUSTOMER]
        turns = self.turns
        attribution = self.attribution
        own = Heard.OWN
        while True:
            j = turns.frame
            r = rep.peek(j)
            c = customer.peek(j)
            if r is None or c is None:
                lead = max(rep.decided_end, customer.decided_end)
                if j >= lead or (not drain and lead - j <= LAG_BOUND_FRAMES):
                    return
            r_speaks, c_speaks = bool(r), bool(c)
            if attribution is not None:
                r_frame = rep.frame() if r is not None else None
                c_frame = customer.frame() if c is not None else None
                r_ahead = rep.ahead() if r is not None else None
                c_ahead = customer.ahead() if c is not None else None
                if not drain and not attribution.settled(
                    r_speaks, c_speaks, r_frame, c_frame, r_ahead, c_ahead
                ):
                    lead = max(rep.decided_end, customer.decided_end)
                    if lead - j <= LAG_BOUND_FRAMES:
                        return  # the voice after a bridged pause is on its way
                heard = attribution.step(j, r_speaks, c_speaks, r_frame, c_frame, r_ahead, c_ahead)
                r_speaks, c_speaks = heard[0] is own, heard[1] is own
            if r is not None:
                rep.pop()
            if c is not None:
                customer.pop()
            event = turns.step(r_speaks, c_speaks)
            tick = (turns.frame * FRAME_MS) // TICK_MS != (j * FRAME_MS) // TICK_MS
            if tick or isinstance(event, Interrupted):
                yield Moment(tick, event if isinstance(event, Interrupted) else None)
