"""The trainer desk: what the trainers signed in on this node see of every call.

It listens to the bus (this node's events and, with MQTT, every other node's), keeps each
call's grid line (`call`) and a bounded backlog of its events, so that a dashboard opened
mid-call sees what happened so far, and forwards each event to the trainers watching. It
decides no audience: the core published only what trainers may see, and a call turned
private is forgotten here at once. No sockets: a trainer is an `Outbox`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import msgspec

from models.errors import Forbidden, UnknownSession
from models.wire import (
    ALL_SESSIONS,
    CallSummary,
    Checklist,
    Cluster,
    Form,
    Metrics,
    NodeView,
    ServerMessage,
    State,
)
from server.bus import LinkState
from server.dispatch import Outbox

# Events kept per call for a trainer who opens it mid-way (finals, nudges, audio checks).
BACKLOG_EVENTS = 500
# Ended and lost calls stay on the grid this long (wall seconds), then are forgotten.
KEEP_ENDED_S = 3600.0
# Calls tracked at most (every node's); the oldest ended ones go first.
MAX_CALLS = 5000
_DONE = frozenset({"ended", "lost"})


@dataclass(slots=True)
class _Call:
    """What the desk keeps of one call."""

    line: CallSummary | None = None
    state: State | None = None
    metrics: Metrics | None = None
    checklist: Checklist | None = None
    form: Form | None = None
    backlog: deque[ServerMessage] = field(default_factory=lambda: deque(maxlen=BACKLOG_EVENTS))
    done_at: float | None = None  # wall time it ended or was lost, by this desk's clock


@dataclass(slots=True)
class _Seat:
    """A signed-in trainer: which calls it watches, and how much of them."""

    outbox: Outbox
    everything: bool = False  # watch "*" with events "all"
    grid: bool = False  # watch "*" (either kind): every call's line
    calls: set[str] = field(default_factory=set)  # calls watched in detail


class TrainerDesk:
    """Calls as trainers see them, across nodes; the bus's `Listener`.

    Args:
        node: This node's name (it is always online to itself).
        clock: Wall time, for how long ended calls stay on the grid.
    """

    def __init__(self, node: str, *, clock: Callable[[], float] = time.time) -> None:
        self.node = node
        self._clock = clock
        self.calls: dict[str, _Call] = {}
        self._seats: dict[int, _Seat] = {}
        self.link: LinkState = "off"
        self.nodes: dict[str, bool] = {node: True}

    # --- the bus ------------------------------------------------------------------------

    def on_event(self, session_id: str, message: ServerMessage) -> None:
        """Keeps and forwards one event the core published for trainers."""
        call = self.calls.get(session_id)
        if call is None:
            if len(self.calls) >= MAX_CALLS:
                self._forget_oldest()
            call = self.calls[session_id] = _Call()
        if isinstance(message, CallSummary):
            self._on_line(session_id, call, message)
            return
        if call.line is not None and call.line.private:
            return  # published before it turned private, arriving late: not for trainers
        if isinstance(message, State):
            call.state = message
        elif isinstance(message, Metrics):
            call.metrics = message
        elif isinstance(message, Checklist):
            call.checklist = message
        elif isinstance(message, Form):
            call.form = message
        else:
            call.backlog.append(message)
        for seat in self._seats.values():
            if seat.everything or session_id in seat.calls:
                seat.outbox.enqueue(message)

    def _on_line(self, session_id: str, call: _Call, line: CallSummary) -> None:
        if line.node and line.node not in self.nodes:
            self.nodes[line.node] = True
            self._tell_cluster()
        if line.private:  # nothing of it stays here, and detail watchers lose it
            call.state = call.metrics = call.checklist = call.form = None
            call.backlog.clear()
        if line.status in _DONE and call.done_at is None:
            call.done_at = self._clock()
        call.line = line
        for seat in self._seats.values():
            if seat.grid or session_id in seat.calls:
                seat.outbox.enqueue(line)
            if line.private:
                seat.calls.discard(session_id)

    def on_link(self, state: LinkState) -> None:
        """The link to other nodes changed: every trainer is told (the page says why)."""
        if state != self.link:
            self.link = state
            self._tell_cluster()

    def on_node(self, node: str, online: bool) -> None:
        """A node came or went; the calls of a node gone offline are lost."""
        if node == self.node:
            return
        if self.nodes.get(node) != online:
            self.nodes[node] = online
            self._tell_cluster()
        if online:
            return
        for session_id, call in self.calls.items():
            line = call.line
            if line is not None and line.node == node and line.status not in _DONE:
                self._on_line(session_id, call, msgspec.structs.replace(line, status="lost"))

    # --- trainers -----------------------------------------------------------------------

    def sign_in(self, outbox: Outbox) -> None:
        """A trainer signed in: it hears about the nodes now and whenever they change."""
        self._seats[id(outbox)] = _Seat(outbox)
        outbox.enqueue(self.cluster())

    def leave(self, outbox: Outbox) -> None:
        self._seats.pop(id(outbox), None)

    def watch(self, outbox: Outbox, session_id: str, *, everything: bool = True) -> None:
        """Starts sending a call's events (or every call's) to a trainer, after what is kept.

        Raises:
            UnknownSession: no node published a call with that id (or it was forgotten).
            Forbidden: the call is private: its parties did not both allow trainer view.
        """
        seat = self._seats[id(outbox)]
        if session_id == ALL_SESSIONS:
            seat.grid = True
            seat.everything = seat.everything or everything
            for line in self._lines():
                outbox.enqueue(line)
            return
        call = self.calls.get(session_id)
        if call is None or call.line is None:
            raise UnknownSession(f"no call {session_id!r} is known here")
        if call.line.private:
            raise Forbidden("the rep and the customer did not both allow trainer view")
        seat.calls.add(session_id)
        kept = (call.line, call.state, call.form, call.checklist, call.metrics, *call.backlog)
        for message in kept:
            if message is not None:
                outbox.enqueue(message)

    def unwatch(self, outbox: Outbox, session_id: str) -> None:
        seat = self._seats[id(outbox)]
        if session_id == ALL_SESSIONS:
            seat.grid = seat.everything = False
        else:
            seat.calls.discard(session_id)

    def line(self, session_id: str) -> CallSummary | None:
        """The last grid line of a call on any node, if one was heard."""
        call = self.calls.get(session_id)
        return call.line if call is not None else None

    def cluster(self) -> Cluster:
        nodes = tuple(NodeView(node=n, online=up) for n, up in sorted(self.nodes.items()))
        return Cluster(mqtt=self.link, nodes=nodes)

    def expire(self) -> int:
        """Forgets calls ended or lost more than `KEEP_ENDED_S` ago; returns how many."""
        cutoff = self._clock() - KEEP_ENDED_S
        old = [sid for sid, c in self.calls.items() if c.done_at is not None and c.done_at < cutoff]
        for session_id in old:
            del self.calls[session_id]
        return len(old)

    # --- internals ----------------------------------------------------------------------

    def _lines(self) -> Iterator[CallSummary]:
        lines = [c.line for c in self.calls.values() if c.line is not None]
        return iter(sorted(lines, key=lambda line: line.created_at))

    def _tell_cluster(self) -> None:
        cluster = self.cluster()
        for seat in self._seats.values():
            seat.outbox.enqueue(cluster)

    def _forget_oldest(self) -> None:
        done = [(c.done_at, sid) for sid, c in self.calls.items() if c.done_at is not None]
        victim = min(done)[1] if done else next(iter(self.calls))
        del self.calls[victim]
