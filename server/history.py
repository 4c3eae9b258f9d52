"""A rep's progress and a group's: the read-only answers of the people endpoints.

`GET /v1/reps/me/history` (a rep token), `/v1/reps/{rep}/history` and
`/v1/groups/{group}/history` (the trainer key), and the exports of a participant's own data.
Recurring issues are criteria that needed work in at least 3 of the rep's last 5 calls.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from models.errors import SparringError
from models.playbook import Playbook
from models.records import HistoryRow, MissedCriterion, RecurringIssue
from models.scorecard import Scorecard
from models.texts import Texts
from server.access import same_secret
from server.archive import Archive
from server.store import Store

LAST_CALLS = 10
TREND_CALLS = 50


class RepInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    group: str


class Recurring(msgspec.Struct, frozen=True, kw_only=True):
    """A criterion the rep keeps missing, and where in each call (m:ss of its moments)."""

    criterion: str
    missed: int
    of_calls: int
    sessions: tuple[str, ...]  # newest first
    moments: dict[str, tuple[str, ...]] = {}  # session -> the scorecard's moments, m:ss


class RepHistory(msgspec.Struct, frozen=True, kw_only=True):
    rep: RepInfo
    calls: tuple[HistoryRow, ...]  # the last ones, newest first
    trend: tuple[HistoryRow, ...]  # up to 50, oldest first, for the key measures' lines
    recurring: tuple[Recurring, ...]
    labels: dict[str, Texts]  # criterion id -> its name in English and Dutch


class GroupHistory(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    reps: tuple[RepInfo, ...]
    missed: tuple[MissedCriterion, ...]  # what the group keeps missing, most first
    calls: tuple[HistoryRow, ...]
    labels: dict[str, Texts]


class History:
    """People's history for the HTTP routes; None answers are 404s (ids are not probed).

    Args:
        archive: The kept calls (a callable: the store opens when the server starts).
        trainer_key: Reads every rep's and group's history.
        playbook: Whose form names the criteria.
    """

    def __init__(
        self, archive: Callable[[], Archive | None], trainer_key: str, playbook: Playbook
    ) -> None:
        self._archive = archive
        self._key = trainer_key
        self._labels = {c.id: c.label for s in playbook.form for c in s.criteria}

    def _store(self) -> Archive | None:
        return self._archive()

    def _trainer(self, token: str) -> bool:
        return bool(token) and same_secret(token, self._key)

    async def rep_history(self, token: str, rep_id: str | None = None) -> bytes | None:
        """The rep's own history (rep token), or any rep's for the trainer key."""
        archive = self._store()
        if archive is None:
            return None
        store = archive.store
        try:
            if rep_id is None:
                rep = await store.run(Store.rep_by_token, token)
            elif self._trainer(token):
                rep = await store.run(Store.rep, rep_id)
            else:
                return None
            calls = await store.run(Store.rep_calls, rep.id, TREND_CALLS)
            recurring = await store.run(Store.recurring_issues, rep.id)
        except SparringError:
            return None
        history = RepHistory(
            rep=RepInfo(id=rep.id, name=rep.name, group=rep.group_id),
            calls=tuple(calls[:LAST_CALLS]),
            trend=tuple(reversed(calls)),
            recurring=tuple([await self._with_moments(archive, issue) for issue in recurring]),
            labels=self._labels,
        )
        return msgspec.json.encode(history)

    async def _with_moments(self, archive: Archive, issue: RecurringIssue) -> Recurring:
        """Where each call missed the criterion: the moments its scorecard points at."""
        moments: dict[str, tuple[str, ...]] = {}
        for session in issue.sessions:
            try:
                stored = await archive.store.run(Store.call, session)
            except SparringError:
                continue
            if stored.scorecard is None:
                continue
            scorecard = msgspec.json.decode(stored.scorecard, type=Scorecard)
            card = next((c for c in scorecard.criteria() if c.id == issue.criterion), None)
            if card is not None and card.moments:
                moments[session] = tuple(m.time for m in card.moments)
        return Recurring(
            criterion=issue.criterion,
            missed=issue.missed,
            of_calls=issue.of_calls,
            sessions=issue.sessions,
            moments=moments,
        )

    async def group_history(self, token: str, group_id: str) -> bytes | None:
        archive = self._store()
        if archive is None or not self._trainer(token):
            return None
        store = archive.store
        try:
            group = await store.run(Store.group, group_id)
            reps = await store.run(Store.reps, group_id)
            missed = await store.run(Store.group_missed, group_id)
            calls = await store.run(Store.group_calls, group_id, TREND_CALLS)
        except SparringError:
            return None
        history = GroupHistory(
            id=group.id,
            name=group.name,
            reps=tuple(RepInfo(id=r.id, name=r.name, group=r.group_id) for r in reps),
            missed=tuple(missed),
            calls=tuple(calls),
            labels=self._labels,
        )
        return msgspec.json.encode(history)

    async def export_call(self, session_id: str, token: str) -> bytes | None:
        """What a participant's join token may see of a kept call, as JSON."""
        archive = self._store()
        if archive is None:
            return None
        try:
            return await archive.store.run(Store.export_call, session_id, token)
        except SparringError:
            return None

    async def export_rep(self, token: str) -> bytes | None:
        """Everything kept of a rep's calls, for their rep token."""
        archive = self._store()
        if archive is None:
            return None
        try:
            return await archive.store.run(Store.export_rep, token)
        except SparringError:
            return None
