"""Keeping ended calls: what a call leaves in the store, and what happens to it afterwards.

When a call ends, its report (with the scorecard), the views the customer and observers
may read, the consent ledger and the key measures are written to the store, once the
recognition still in flight for it has come back (the last words count). Evaluations,
erasures and shares that arrive later update what is kept. Never audio. The store's
outbox retries writes while the database is away; what it gives up on is logged and
counted, never dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

import msgspec

from models import codec
from models.errors import BadToken, NotAllowedNow, SparringError
from models.records import CallRecord, ParticipantName, Rep, StoredCall
from models.report import SessionReport, SharedReport
from models.scorecard import Evaluation, Scorecard
from models.wire import Role, RoleTokens
from server.core.hub import KEEP_ENDED_SESSIONS
from server.core.reports import party_names
from server.core.session import Session
from server.store import AsyncStore, Store, measures_from_report, verdicts_from_scorecard

log = logging.getLogger("sparring.archive")

# How long a call's pending recognition may take to come back before it is kept anyway.
SETTLE_MAX_S = 30.0
KEPT_IDS = 2 * KEEP_ENDED_SESSIONS


def _awaiting_words(session: Session) -> bool:
    return any(session.transcription.in_flight(role) for role in (Role.REP, Role.CUSTOMER))


class Archive:
    """Writes ended calls and their later changes to the store.

    Args:
        store: The server's store.
        tokens_of: The join tokens of a session (their hashes are kept for erasure).
        node: This node's name, kept with each call.
        clock: Wall time.
    """

    def __init__(
        self,
        store: AsyncStore,
        tokens_of: Callable[[str], RoleTokens | None],
        node: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._tokens_of = tokens_of
        self._node = node
        self._clock = clock
        self.owners: dict[str, Rep] = {}  # session -> the rep whose personal link started it
        # Calls kept, most recent last: as many as the hub holds ended, and more (a late
        # final or an evaluation of a call still in memory must find it here).
        self._kept: OrderedDict[str, None] = OrderedDict()
        self._ended_at: dict[str, float] = {}
        self._waiting: dict[str, asyncio.TimerHandle] = {}
        self._settling: dict[str, Session] = {}  # the calls `_waiting` waits for
        self._tasks: set[asyncio.Task[None]] = set()

    # --- calls ending -------------------------------------------------------------------

    def ended(self, session: Session) -> None:
        """A call ended (told again on each later output of it, e.g. a late final): it is
        kept once no recognition is in flight for it, or after `SETTLE_MAX_S` at most."""
        if session.id in self._kept:
            return
        self._ended_at.setdefault(session.id, self._clock())
        if not _awaiting_words(session):
            self._keep_now(session)
        elif session.id not in self._waiting:
            loop = asyncio.get_running_loop()
            self._waiting[session.id] = loop.call_later(SETTLE_MAX_S, self._keep_now, session)
            self._settling[session.id] = session

    def _keep_now(self, session: Session) -> None:
        waiting = self._waiting.pop(session.id, None)
        self._settling.pop(session.id, None)
        if waiting is not None:
            waiting.cancel()
        if session.id in self._kept:
            return
        self._kept[session.id] = None
        while len(self._kept) > KEPT_IDS:
            self._kept.popitem(last=False)
        ended_at = self._ended_at.pop(session.id, self._clock())
        self._spawn(self._keep(session, ended_at), f"archive[{session.id}]")

    async def _keep(self, session: Session, ended_at: float) -> None:
        tokens = self._tokens_of(session.id)
        if tokens is None:
            log.warning("call %s ended without tokens; not kept", session.id)
            return
        report = session.report()
        await self.store.save_call(self.record(session, report, tokens, ended_at))
        self.owners.pop(session.id, None)  # the store has it now (`owned_by` reads it there)
        await self._save_scorecard(session.id, report)

    def record(
        self, session: Session, report: SessionReport, tokens: RoleTokens, ended_at: float
    ) -> CallRecord:
        """What the store keeps of a call (the reports as each role may read them)."""
        rep_name, customer_name = party_names(session.roster)
        owner = self.owners.get(session.id)
        return CallRecord(
            session=session.id,
            node=self._node,
            title=session.title,
            language=session.language,
            playbook=session.playbook.name,
            created_at=session.created_at,
            ended_at=ended_at,
            duration_audio_s=report.duration_s,
            rep_id=owner.id if owner else None,
            group_id=owner.group_id if owner else None,
            participants=(
                ParticipantName(role=Role.REP, name=rep_name),
                ParticipantName(role=Role.CUSTOMER, name=customer_name),
            ),
            tokens=tokens,
            report=codec.encode(report),
            customer_view=codec.encode(session.report_for(Role.CUSTOMER)),
            observer_view=codec.encode(session.report_for(Role.OBSERVER)),
            consent=report.consent,
            measures=measures_from_report(report),
        )

    async def _save_scorecard(self, session_id: str, report: SessionReport) -> None:
        if report.scorecard is None:
            return
        verdicts = verdicts_from_scorecard(report.scorecard)
        await self.store.save_scorecard(session_id, codec.encode(report.scorecard), verdicts)

    # --- after the call -----------------------------------------------------------------

    async def evaluated(
        self, session: Session | None, session_id: str, evaluation: Evaluation
    ) -> None:
        """An evaluation arrived: kept with the call, and the scorecard made again.

        Args:
            session: The call, when this node still holds it in memory (its scorecard is
                rebuilt from it); None: only the evaluation is stored.
        """
        if session is not None and session.id not in self._kept:
            return  # it is written with the call when the call is kept
        await self.store.run(Store.save_evaluation, session_id, evaluation)
        if session is not None:
            await self._save_scorecard(session_id, session.report())

    async def erase(self, session: Session | None, session_id: str, token: str) -> None:
        """Erases what is kept of an ended call, by one of its join tokens.

        Raises:
            NotAllowedNow: the call is still running (withdraw with erase instead).
            BadToken: the token is not one of the call's.
        """
        if session is not None and not session.is_ended:
            raise NotAllowedNow("the call is still running: withdraw consent with erase instead")
        try:
            await self.store.run(Store.erase_call, session_id, token, at=self._clock())
        except BadToken:
            if session is None or session.id in self._kept:
                raise
        if session is not None:
            session.forget()

    async def stored_report_as(
        self, session_id: str, role: Role | None
    ) -> SessionReport | SharedReport | None:
        """A kept call's report as `role` (None: the trainer key) reads it; None for an
        unknown, erased or purged call."""
        try:
            stored = await self.store.run(Store.call, session_id)
        except SparringError:
            return None
        return view_for(stored, role)

    async def role_of(self, session_id: str, token: str) -> Role | None:
        """A join token's role in a kept call, or the rep's for their personal link; None
        for any other token."""
        try:
            return await self.store.run(Store.token_role, session_id, token)
        except BadToken:
            if await self.owned_by(session_id, token):
                return Role.REP
            return None
        except SparringError:
            return None

    async def owned_by(self, session_id: str, token: str) -> bool:
        """Whether `token` is the personal link of the rep whose call this is."""
        try:
            rep = await self.store.run(Store.rep_by_token, token)
        except SparringError:
            return False
        owner = self.owners.get(session_id)
        if owner is not None:
            return owner.id == rep.id
        try:
            stored = await self.store.run(Store.call, session_id)
        except SparringError:
            return False
        return stored.rep_id == rep.id

    async def share(
        self, session: Session | None, session_id: str, token: str, shared: bool
    ) -> None:
        """The rep lets the customer read the whole report of a kept call (or takes it back)."""
        try:
            await self.store.run(Store.share, session_id, token, shared, at=self._clock())
        except BadToken:
            if session is None or session.id in self._kept:
                raise
        if session is not None:
            session.shared_with_customer = shared

    # --- lifecycle ----------------------------------------------------------------------

    def _spawn(self, coro: object, name: str) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("keeping a call failed", exc_info=task.exception())

    async def drain(self, timeout_s: float = 10.0, *, settle: bool = False) -> None:
        """Waits for calls being kept (on shutdown), up to `timeout_s`; with `settle`, calls
        still waiting for recognition are kept now, with the words they have."""
        if settle:
            for session in list(self._settling.values()):
                self._keep_now(session)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)


def stored_view(
    store: Store, session_id: str, token: str | None
) -> SessionReport | SharedReport | None:
    """A kept call's report as a join token (None: the trainer key) may read it; None for
    an unknown, erased or purged call or a wrong token (one answer for all). Blocking."""
    try:
        role = None if token is None else store.token_role(session_id, token)
        stored = store.call(session_id)
    except SparringError:
        return None
    return view_for(stored, role)


def view_for(stored: StoredCall, role: Role | None) -> SessionReport | SharedReport | None:
    """What a role (None: the trainer key) reads of a kept call: the views the audience
    policy made when it ended, and the whole report for a customer the rep shared it with."""
    if role is Role.REP or (role is Role.CUSTOMER and stored.shared_at is not None):
        return decode_report(stored.report, stored.scorecard)
    if role is Role.CUSTOMER:
        return decode_report(stored.customer_view, None)
    return decode_report(stored.observer_view, stored.scorecard)


def decode_report(
    blob: bytes | None, scorecard: bytes | None
) -> SessionReport | SharedReport | None:
    """A stored report as served; a whole one carries the latest kept scorecard."""
    if blob is None:
        return None
    try:
        report = msgspec.json.decode(blob, type=SessionReport)
    except msgspec.ValidationError:
        return msgspec.json.decode(blob, type=SharedReport)
    if scorecard is not None:
        report = msgspec.structs.replace(
            report, scorecard=msgspec.json.decode(scorecard, type=Scorecard)
        )
    return report
