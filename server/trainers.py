"""Trainers at the edge: signing in with the trainer key, watching calls, whispering.

Joins the pieces a trainer's connection needs (the key guard, the desk, the hub and the
dispatcher for calls on this node, the bus for calls on others) so that the WebSocket
adapter stays thin. Decides no audience: the core and the desk did.
"""

from __future__ import annotations

import logging
import math

from models.errors import (
    BadMessage,
    BadToken,
    Forbidden,
    NotAllowedNow,
    SlowDown,
    SparringError,
    UnknownSession,
)
from models.wire import RelayedWhisper, Whisper
from server.access import KeyGuard, same_secret
from server.bus import Bus
from server.core.hub import SessionHub
from server.desk import TrainerDesk
from server.dispatch import Dispatcher, Outbox

log = logging.getLogger("sparring.trainers")

MAX_WHISPER_CHARS = 200


class Trainers:
    """What a connection signed in with the trainer key may do.

    Args:
        key: The server's trainer key (never empty: the app generates one if none is set).
        desk: Every call's line and events, as trainers see them.
        hub: The calls hosted here.
        dispatch: Carries out a whisper to a call hosted here.
        bus: Relays a whisper to the node hosting a call elsewhere.
        guard: Slows down key guessing per address.
    """

    def __init__(
        self,
        key: str,
        desk: TrainerDesk,
        hub: SessionHub,
        dispatch: Dispatcher,
        bus: Bus,
        guard: KeyGuard | None = None,
    ) -> None:
        if not key:
            raise ValueError("a trainer key must not be empty")
        self._key = key
        self.desk = desk
        self._hub = hub
        self._dispatch = dispatch
        self._bus = bus
        self._guard = guard or KeyGuard()

    def check_key(self, key: str, address: str) -> None:
        """Checks a key sent in `hello`.

        Raises:
            SlowDown: too many wrong keys from `address` lately (the key is not looked at).
            BadToken: a wrong key.
        """
        wait_s = self._guard.wait_s(address)
        if wait_s > 0:
            raise SlowDown(f"too many wrong trainer keys; try again in {math.ceil(wait_s)} s")
        if not same_secret(key, self._key):
            self._guard.failed(address)
            raise BadToken("wrong trainer key")
        self._guard.succeeded(address)

    def seat(self, outbox: Outbox) -> None:
        """A signed-in trainer hears of the nodes now and whenever they change."""
        self.desk.sign_in(outbox)

    def leave(self, outbox: Outbox) -> None:
        self.desk.leave(outbox)

    def whisper(self, name: str, message: Whisper) -> None:
        """Sends a trainer's whisper to a call's rep, on this node or through the bus.

        Raises:
            BadMessage: no `session` named.
            UnknownSession: no node published that call.
            Forbidden: the call is private.
            NotAllowedNow: the call ended or was lost, or its node cannot be reached now.
        """
        session_id = message.session
        if session_id is None:
            raise BadMessage("a trainer's whisper names its call: add 'session'")
        session = self._hub.get(session_id)
        if session is not None:  # hosted here (ended ones answer bad_state)
            self._dispatch.carry_out(session, session.trainer_whisper(name, message.text))
            return
        line = self.desk.line(session_id)
        if line is None:
            raise UnknownSession(f"no call {session_id!r} is known here")
        if line.private:
            raise Forbidden("the rep and the customer did not both allow trainer view")
        if line.status in ("ended", "lost"):
            raise NotAllowedNow(f"this call is {line.status}")
        relayed = RelayedWhisper(session=session_id, text=message.text, name=name)
        if not self._bus.relay_whisper(relayed):
            raise NotAllowedNow("the node of this call cannot be reached now; try again")

    def apply_relayed(self, whisper: RelayedWhisper) -> None:
        """A whisper another node relayed for a call hosted here (the bus's `WhisperSink`)."""
        session = self._hub.sessions.get(whisper.session)
        text = whisper.text.strip()
        if session is None or not text or len(text) > MAX_WHISPER_CHARS:
            return
        try:
            self._dispatch.carry_out(session, session.trainer_whisper(whisper.name[:80], text))
        except SparringError as exc:  # ended or turned private on the way
            log.info("relayed whisper to %s not shown: %s", whisper.session, exc.message)
