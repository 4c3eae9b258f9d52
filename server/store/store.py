"""The store: calls, scorecards, evaluations, groups and reps, on SQLite or PostgreSQL.

Synchronous and blocking: the server reaches it through `AsyncStore` (one worker thread).
One code path for both databases; `dialect.py` holds their few differences. Never audio.
Takes no clock where a test needs control: times are arguments (None: now).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from models.errors import (
    AlreadyEvaluated,
    BadToken,
    CallErased,
    Forbidden,
    SparringError,
    UnknownGroup,
    UnknownRep,
    UnknownSession,
)
from models.records import (
    CallRecord,
    CriterionVerdict,
    ErasureProof,
    Group,
    HistoryRow,
    MissedCriterion,
    NewRep,
    RecurringIssue,
    Rep,
    StoredCall,
)
from models.scorecard import Evaluation
from models.wire import Role
from server.store import export, queries
from server.store.dialect import SQLITE_BUSY_TIMEOUT_S, Dialect, dialect_for
from server.store.migrate import migrate
from server.store.tokens import new_id, new_rep_token, token_hash

T = TypeVar("T")

# "A criterion missed in at least 3 of the last 5 calls" (issue 10, item 6).
RECURRING_LAST_CALLS = 5
RECURRING_MIN_MISSED = 3
# Self-reflection (rep), peer (observer token), trainer: a customer evaluates nobody.
EVALUATOR_ROLES = ("rep", "observer", "trainer")


def _now(at: float | None) -> float:
    return time.time() if at is None else at


class Store:
    """One database, opened and migrated. Build it with `Store.open`.

    Thread-safe by a lock (calls are serialized); `AsyncStore` runs it on one thread.
    Every method raises `StoreUnavailable` when the database cannot be reached; the next
    call opens a new connection.
    """

    def __init__(self, db: Dialect) -> None:
        self._db = db
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls, target: str | Path | None = None, *, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S
    ) -> Store:
        """Connects and applies pending migrations.

        Args:
            target: a postgresql:// URL, or the SQLite data directory (None: the default,
                $XDG_DATA_HOME/sparring); the directory and file are created when missing.
            busy_timeout_s: how long SQLite waits for another writer before a write fails.

        Raises:
            StoreUnavailable: the database cannot be reached, created or migrated.
        """
        store = cls(dialect_for(target, busy_timeout_s))
        try:
            store._run(lambda: None)  # connects
            with store._lock:
                store._translated(lambda: migrate(store._db))
        except BaseException:
            store.close()
            raise
        return store

    @property
    def description(self) -> str:
        """Which database this is, without a password: for logs and the startup line."""
        return self._db.describe()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- plumbing ------------------------------------------------------------------

    def _translated(self, work: Callable[[], T], conflict: SparringError | None = None) -> T:
        try:
            return work()
        except SparringError:
            raise
        except Exception as exc:
            lost = self._db.unavailable(exc)
            if lost is not None:
                raise lost from exc
            if conflict is not None and self._db.is_conflict(exc):
                raise conflict from exc
            raise

    def _run(self, work: Callable[[], T], conflict: SparringError | None = None) -> T:
        """Runs `work` in one transaction, with the driver's errors made coded errors."""

        def in_transaction() -> T:
            with self._db.transaction():
                return work()

        with self._lock:
            return self._translated(in_transaction, conflict)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        return self._db.execute(sql, params).fetchone()

    def schema_version(self) -> int:
        return self._run(lambda: self._all("SELECT MAX(version) FROM schema_version")[0][0])

    def applied_migrations(self) -> list[int]:
        """Every version recorded in schema_version, in order (each appears once)."""
        rows = self._run(lambda: self._all("SELECT version FROM schema_version ORDER BY version"))
        return [r[0] for r in rows]

    def migrate(self) -> list[int]:
        """Applies pending migrations again (done by `open`); returns those applied now."""
        with self._lock:
            return self._translated(lambda: migrate(self._db))

    # -- groups and reps -----------------------------------------------------------

    def create_group(self, name: str, *, at: float | None = None) -> Group:
        group = Group(id=new_id("g"), name=name.strip(), created_at=_now(at))
        self._run(
            lambda: self._db.execute(
                "INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)",
                (group.id, group.name, group.created_at),
            )
        )
        return group

    def groups(self) -> list[Group]:
        rows = self._run(lambda: self._all("SELECT id, name, created_at FROM groups ORDER BY name"))
        return [Group(id=r[0], name=r[1], created_at=r[2]) for r in rows]

    def group(self, group_id: str) -> Group:
        """Raises: UnknownGroup."""
        return self._run(lambda: self._group(group_id))

    def _group(self, group_id: str) -> Group:
        row = self._one("SELECT id, name, created_at FROM groups WHERE id = ?", (group_id,))
        if row is None:
            raise UnknownGroup(f"no group {group_id!r}")
        return Group(id=row[0], name=row[1], created_at=row[2])

    def create_rep(self, group_id: str, name: str, *, at: float | None = None) -> NewRep:
        """Adds a rep to a group and makes their long-lived token.

        Returns:
            The rep and their token: the only time the token is seen; only its hash is kept.

        Raises:
            UnknownGroup: no such group.
        """
        rep = Rep(id=new_id("r"), group_id=group_id, name=name.strip(), created_at=_now(at))
        token = new_rep_token()

        def work() -> None:
            self._group(group_id)
            self._db.execute(
                "INSERT INTO reps (id, group_id, name, token_sha256, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (rep.id, rep.group_id, rep.name, token_hash(token), rep.created_at),
            )

        self._run(work)
        return NewRep(rep=rep, token=token)

    def renew_rep_token(self, rep_id: str) -> NewRep:
        """A new token for a rep whose link was lost or leaked; the old one stops working.

        Raises:
            UnknownRep: no such rep.
        """
        token = new_rep_token()

        def work() -> Rep:
            rep = self._rep(rep_id)
            self._db.execute(
                "UPDATE reps SET token_sha256 = ? WHERE id = ?", (token_hash(token), rep_id)
            )
            return rep

        return NewRep(rep=self._run(work), token=token)

    def reps(self, group_id: str) -> list[Rep]:
        """Raises: UnknownGroup."""

        def work() -> list[Rep]:
            self._group(group_id)
            return [
                queries.rep_from_row(r)
                for r in self._all(
                    f"SELECT {queries.REP_COLUMNS} FROM reps WHERE group_id = ? ORDER BY name",
                    (group_id,),
                )
            ]

        return self._run(work)

    def rep(self, rep_id: str) -> Rep:
        """Raises: UnknownRep."""
        return self._run(lambda: self._rep(rep_id))

    def _rep(self, rep_id: str) -> Rep:
        row = self._one(f"SELECT {queries.REP_COLUMNS} FROM reps WHERE id = ?", (rep_id,))
        if row is None:
            raise UnknownRep(f"no rep {rep_id!r}")
        return queries.rep_from_row(row)

    def rep_by_token(self, token: str) -> Rep:
        """The rep a long-lived rep token belongs to.

        Raises:
            BadToken: no rep holds this token (never one, or renewed since).
        """
        return self._run(lambda: self._rep_by_token(token))

    def _rep_by_token(self, token: str) -> Rep:
        row = self._one(
            f"SELECT {queries.REP_COLUMNS} FROM reps WHERE token_sha256 = ?", (token_hash(token),)
        )
        if row is None:
            raise BadToken("unknown rep token")
        return queries.rep_from_row(row)

    # -- calls ---------------------------------------------------------------------

    def save_call(self, record: CallRecord) -> bool:
        """Stores an ended call, its token hashes, consent ledger and measures.

        Idempotent: a call already stored is left as it is (a retried write that had in fact
        reached the database).

        Returns:
            True when stored now, False when it was already there.

        Raises:
            UnknownRep: `record.rep_id` names no rep.
        """

        def work() -> bool:
            if self._one("SELECT 1 FROM calls WHERE id = ?", (record.session,)):
                return False
            group_id = record.group_id
            if record.rep_id is not None:
                group_id = group_id or self._rep(record.rep_id).group_id
            queries.insert_call(self._db, record, group_id)
            return True

        return self._run(work)

    def save_scorecard(
        self,
        session: str,
        scorecard: bytes,
        verdicts: Sequence[CriterionVerdict],
        *,
        at: float | None = None,
    ) -> None:
        """Stores (or replaces) a call's scorecard and its per-criterion verdicts.

        Raises:
            UnknownSession: no such call stored (or purged).
            CallErased: the call was erased.
        """
        scored_at = _now(at)

        def work() -> None:
            self._live_call(session)
            self._db.execute(
                "UPDATE calls SET scorecard = ?, scored_at = ? WHERE id = ?",
                (scorecard, scored_at, session),
            )
            self._db.execute("DELETE FROM verdicts WHERE call_id = ?", (session,))
            for v in verdicts:
                self._db.execute(
                    "INSERT INTO verdicts (call_id, criterion, verdict) VALUES (?, ?, ?)",
                    (session, v.criterion, v.verdict),
                )

        self._run(work)

    def save_evaluation(self, session: str, evaluation: Evaluation) -> None:
        """Stores a self-reflection (or its skip), a peer's or a trainer's evaluation.

        Raises:
            Forbidden: an evaluation by a role that evaluates nobody (a customer).
            AlreadyEvaluated: this evaluator already evaluated this call.
            UnknownSession: no such call stored.
            CallErased: the call was erased.
        """
        if evaluation.role not in EVALUATOR_ROLES:
            raise Forbidden(f"a {evaluation.role} may not evaluate a call")
        key = queries.evaluator_key(evaluation)
        who = "the rep" if key == "self" else evaluation.by
        refused = AlreadyEvaluated(f"{who} already evaluated call {session}")

        def work() -> None:
            self._live_call(session)
            if self._one(
                "SELECT 1 FROM evaluations WHERE call_id = ? AND evaluator = ?", (session, key)
            ):
                raise refused
            queries.insert_evaluation(self._db, session, evaluation)

        self._run(work, conflict=refused)  # two submissions racing: the second is refused

    def _live_call(self, session: str) -> None:
        row = self._one("SELECT erased_at FROM calls WHERE id = ?", (session,))
        if row is None:
            raise UnknownSession(f"no stored call {session!r}")
        if row[0] is not None:
            raise CallErased(f"call {session} was erased")

    def call(self, session: str) -> StoredCall:
        """Everything stored of a call.

        Raises:
            UnknownSession: no such call stored (never, or purged by retention).
            CallErased: the call was erased; only the proof is left (`erasure`).
        """

        def work() -> StoredCall:
            self._live_call(session)
            return queries.read_call(self._db, session)

        return self._run(work)

    def erasure(self, session: str) -> ErasureProof | None:
        """The proof that a call was erased; None when it was not (or is unknown)."""
        row = self._run(
            lambda: self._one(
                "SELECT erased_at, erased_by FROM calls WHERE id = ? AND erased_at IS NOT NULL",
                (session,),
            )
        )
        if row is None:
            return None
        return ErasureProof(session=session, erased_at=row[0], erased_by=Role(row[1]))

    def token_role(self, session: str, token: str) -> Role:
        """The role a join token held in a stored call (to serve its report after the call).

        Raises:
            BadToken: the token is not one of this call's (unknown, or another call's).
            CallErased: the call was erased.
        """
        return self._run(lambda: self._token_role(session, token))

    def _token_role(self, session: str, token: str) -> Role:
        row = self._one(
            "SELECT t.role, c.erased_at FROM call_tokens t JOIN calls c ON c.id = t.call_id"
            " WHERE t.token_sha256 = ? AND t.call_id = ?",
            (token_hash(token), session),
        )
        # One answer for an unknown call and a wrong token, so ids cannot be probed.
        if row is None:
            raise BadToken(f"no stored call {session!r} for this token")
        if row[1] is not None:
            raise CallErased(f"call {session} was erased")
        return Role(row[0])

    def erase_call(self, session: str, token: str, *, at: float | None = None) -> ErasureProof:
        """Erases a call at the request of any of its participants, at any time after it.

        Deletes the report, views, scorecard, evaluations, measures, verdicts, names and the
        consent ledger; keeps one ledger row and the call's id as proof (who, when).

        Args:
            session: the call.
            token: any of the call's join tokens (rep, customer or observer).
            at: when (None: now).

        Raises:
            BadToken: not one of this call's tokens.
            CallErased: already erased.
        """
        erased_at = _now(at)

        def work() -> ErasureProof:
            role = self._token_role(session, token)
            queries.erase(self._db, session, role, erased_at)
            return ErasureProof(session=session, erased_at=erased_at, erased_by=role)

        return self._run(work)

    def share(self, session: str, token: str, shared: bool, *, at: float | None = None) -> None:
        """The rep lets the customer read the whole report (or takes it back).

        Raises:
            BadToken: not one of this call's tokens.
            Forbidden: a token other than the rep's.
            CallErased: the call was erased.
        """
        shared_at = _now(at) if shared else None

        def work() -> None:
            if self._token_role(session, token) is not Role.REP:
                raise Forbidden("only the rep shares the report")
            self._db.execute("UPDATE calls SET shared_at = ? WHERE id = ?", (shared_at, session))

        self._run(work)

    def purge_before(self, cutoff: float) -> int:
        """Deletes every call created before `cutoff` (Unix time), erased ones included.

        The app runs it at start and daily with now − `--retention-days`.

        Returns:
            How many calls were deleted.
        """
        return self._run(
            lambda: self._db.execute("DELETE FROM calls WHERE created_at < ?", (cutoff,)).rowcount
        )

    # -- history -------------------------------------------------------------------

    def rep_calls(self, rep_id: str, limit: int = 10) -> list[HistoryRow]:
        """A rep's last `limit` calls, newest first, with their measures (for trends).

        Raises:
            UnknownRep: no such rep.
        """

        def work() -> list[HistoryRow]:
            self._rep(rep_id)
            return queries.summaries(self._db, "rep_id", rep_id, limit)

        return self._run(work)

    def group_calls(self, group_id: str, limit: int | None = None) -> list[HistoryRow]:
        """A group's calls, newest first.

        Raises:
            UnknownGroup: no such group.
        """

        def work() -> list[HistoryRow]:
            self._group(group_id)
            return queries.summaries(self._db, "group_id", group_id, limit)

        return self._run(work)

    def recurring_issues(
        self,
        rep_id: str,
        last_calls: int = RECURRING_LAST_CALLS,
        min_missed: int = RECURRING_MIN_MISSED,
    ) -> list[RecurringIssue]:
        """Criteria that needed work in at least `min_missed` of the rep's last scored calls.

        Only calls with a scorecard count: a call still waiting for one says nothing yet.
        Most missed first.

        Raises:
            UnknownRep: no such rep.
        """

        def work() -> list[RecurringIssue]:
            self._rep(rep_id)
            return queries.recurring(self._db, rep_id, last_calls, min_missed)

        return self._run(work)

    def group_missed(self, group_id: str, *, since: float | None = None) -> list[MissedCriterion]:
        """What the group keeps missing: criteria by the number of calls that needed work.

        Args:
            group_id: the group.
            since: only calls created at or after this Unix time (None: all kept).

        Raises:
            UnknownGroup: no such group.
        """

        def work() -> list[MissedCriterion]:
            self._group(group_id)
            return queries.group_missed(self._db, group_id, since)

        return self._run(work)

    # -- a participant's own data --------------------------------------------------

    def export_call(self, session: str, token: str, *, at: float | None = None) -> bytes:
        """A participant's own data of one call, as JSON: what their role may see of it.

        The rep gets the whole call; a customer their view and the ledger; an observer
        their view, the ledger and the peer evaluations made with the observer token.

        Raises:
            BadToken: not one of this call's tokens.
            CallErased: the call was erased.
        """

        def work() -> bytes:
            role = self._token_role(session, token)
            stored = queries.read_call(self._db, session)
            return export.for_role([stored], role, _now(at))

        return self._run(work)

    def export_rep(self, token: str, *, at: float | None = None) -> bytes:
        """All of a rep's calls, as JSON, for their long-lived token.

        Raises:
            BadToken: no rep holds this token.
        """

        def work() -> bytes:
            rep = self._rep_by_token(token)
            ids = [
                r[0]
                for r in self._all(
                    "SELECT id FROM calls WHERE rep_id = ? AND erased_at IS NULL"
                    " ORDER BY created_at DESC, id DESC",
                    (rep.id,),
                )
            ]
            calls = [queries.read_call(self._db, i) for i in ids]
            return export.for_role(calls, Role.REP, _now(at), rep=rep)

        return self._run(work)
