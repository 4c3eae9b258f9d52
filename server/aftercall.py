"""What people do with a call once it ran, and the people themselves: evaluations, erasure,
groups and reps, history. The edge between the live connection and the store.

A call still held in memory is changed there and in the store; one known only to the store
(after a restart) is changed in the store. Without a store, only what is in memory exists
and people and history are not served.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec

from models import codec
from models.errors import (
    BadToken,
    Forbidden,
    NotAllowedNow,
    StoreUnavailable,
    UnknownSession,
)
from models.playbook import Playbook
from models.records import Rep
from models.report import SessionReport
from models.wire import Erase, Evaluate, GroupView, RepLink, RepView, Role, Share
from server.archive import Archive
from server.core.hub import SessionHub
from server.core.roster import Status
from server.core.scorecard import build_scorecard
from server.core.session import Session
from server.store import Store, verdicts_from_scorecard

NO_STORE = "this server keeps no history: start it with --data-dir or --db"


class AfterCall:
    """Evaluations, erasure and people, for the live connection.

    Args:
        hub: Calls this node holds in memory (open, and recently ended).
        archive: The store's side (None: the server keeps nothing beyond memory).
        base_url: Builds a rep's personal link from the request's base URL.
        clock: Wall time.
    """

    def __init__(
        self,
        hub: SessionHub,
        archive: Archive | None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._hub = hub
        self.archive = archive
        self._clock = clock

    # --- evaluations --------------------------------------------------------------------

    async def evaluate(self, session: Session, role: Role, name: str, msg: Evaluate) -> None:
        """An evaluation of a call held here (by a participant, a peer or a trainer)."""
        evaluation = session.evaluate(role, name, msg, self._clock())
        if self.archive is not None:
            await self.archive.evaluated(session, session.id, evaluation)

    async def evaluate_by_token(self, msg: Evaluate) -> str:
        """An evaluation sent with a join token, on a connection that joined nothing.

        Returns:
            The call's id.
        """
        found = self._hub.lookup(msg.token or "")
        if found is not None:
            session, role = found
            name = msg.name.strip() or (_party_name(session, role) if role is Role.REP else "")
            await self.evaluate(session, role, name, msg)
            return session.id
        if self.archive is None or not msg.session:
            raise BadToken("unknown join token")
        return await self._evaluate_stored(msg.session, msg)

    async def evaluate_as_trainer(self, session_id: str, name: str, msg: Evaluate) -> None:
        """A trainer's evaluation of a call held here or only in the store."""
        session = self._hub.get(session_id)
        if session is not None:
            await self.evaluate(session, Role.TRAINER, name, msg)
        elif self.archive is not None:
            await self._evaluate_stored(session_id, msg, Role.TRAINER, name)
        else:
            raise UnknownSession(f"no call {session_id!r} is kept here")

    async def _evaluate_stored(
        self, session_id: str, msg: Evaluate, role: Role | None = None, name: str = ""
    ) -> str:
        """A call only the store knows (this node restarted since): the same rules apply."""
        assert self.archive is not None
        store = self.archive.store
        if role is None:
            role = await store.run(Store.token_role, session_id, msg.token or "")
        stored = await store.run(Store.call, session_id)
        report = msgspec.json.decode(stored.report or b"{}", type=SessionReport)
        names = {p.role: p.name for p in stored.participants}
        playbook = self._playbook(stored.playbook)
        # Rebuild the call's evaluation state from what is kept, then apply the same checks.
        probe = Session(session_id, playbook=playbook, title=report.title, language=report.language)
        probe.roster.status = Status.ENDED
        probe.roster.ledger.extend(stored.consent)  # trainers: was trainer view granted?
        probe.evaluations.extend(stored.evaluations)
        name = name or msg.name.strip() or (names.get(Role.REP, "") if role is Role.REP else "")
        evaluation = probe.evaluate(role, name, msg, self._clock())
        await store.run(Store.save_evaluation, session_id, evaluation)
        scorecard = build_scorecard(
            report,
            playbook.form,
            [*stored.evaluations, evaluation],
            rep=names.get(Role.REP, "rep"),
            customer=names.get(Role.CUSTOMER, "customer"),
        )
        await store.save_scorecard(
            session_id, codec.encode(scorecard), verdicts_from_scorecard(scorecard)
        )
        return session_id

    def _playbook(self, name: str) -> Playbook:
        playbooks = self._hub.playbooks
        return next((p for p in playbooks.values() if p.name == name), playbooks["default"])

    # --- erasure ------------------------------------------------------------------------

    async def erase(self, msg: Erase) -> None:
        """Erases what is kept of an ended call, by one of its join tokens."""
        session = self._hub.get(msg.session)
        if session is not None and self._hub.token_role(msg.session, msg.token) is None:
            raise BadToken("that token is not one of this call's")
        if self.archive is not None:
            await self.archive.erase(session, msg.session, msg.token)
            return
        if session is None:
            raise BadToken("that token is not one of a call this server keeps")
        if not session.is_ended:
            raise NotAllowedNow("the call is still running: withdraw consent with erase instead")
        session.forget()

    async def share(self, msg: Share) -> None:
        """The rep lets the customer read the whole report (rep token), or takes it back."""
        session = self._hub.get(msg.session)
        if session is not None:
            role = self._hub.token_role(msg.session, msg.token)
            if role is None:
                raise BadToken("that token is not one of this call's")
            if role is not Role.REP:
                raise Forbidden("only the rep shares the report")
        if self.archive is not None:
            await self.archive.share(session, msg.session, msg.token, msg.with_customer)
            return
        if session is None:
            raise BadToken("that token is not one of a call this server keeps")
        session.shared_with_customer = msg.with_customer

    # --- people -------------------------------------------------------------------------

    def _store(self) -> Archive:
        if self.archive is None:
            raise StoreUnavailable(NO_STORE)
        return self.archive

    async def groups(self) -> tuple[GroupView, ...]:
        store = self._store().store
        groups = await store.run(Store.groups)
        views = []
        for group in groups:
            reps = await store.run(Store.reps, group.id)
            views.append(
                GroupView(
                    id=group.id,
                    name=group.name,
                    reps=tuple(RepView(id=r.id, name=r.name) for r in reps),
                )
            )
        return tuple(views)

    async def create_group(self, name: str) -> tuple[GroupView, ...]:
        await self._store().store.run(Store.create_group, name.strip(), at=self._clock())
        return await self.groups()

    async def add_rep(self, group: str, name: str, base_url: str) -> RepLink:
        new = await self._store().store.run(Store.create_rep, group, name.strip(), at=self._clock())
        return RepLink(
            rep=new.rep.id,
            name=new.rep.name,
            group=new.rep.group_id,
            token=new.token,
            url=f"{base_url}/#rep={new.token}",
        )

    async def rep_of(self, token: str) -> Rep:
        """The rep whose personal link a `create` carries."""
        return await self._store().store.run(Store.rep_by_token, token)

    def started_by(self, session: Session, rep: Rep) -> None:
        """The call was started from `rep`'s personal link: it lands in their history."""
        self._store().owners[session.id] = rep


def _party_name(session: Session, role: Role) -> str:
    return next((p.name for p in session.roster.participants.values() if p.role is role), "")
