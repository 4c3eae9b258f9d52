"""Calls kept through the real server, on SQLite and on the real PostgreSQL: reports and
scorecards after a restart, reflection after the call, erasure, export, people and history."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect

from client.stream import Participant, Trainer, create_session
from models.errors import StoreUnavailable
from models.wire import AudioFormat, Done, ErrorMessage, Groups, RepLink
from server.app import Server
from server.config import Config
from server.store import Store
from tests.conftest import _http_get
from tests.e2e.test_cli_report import sparring
from tests.waiting import recv, wait_message


def config_for(target, **more) -> Config:
    place = str(target.location)
    if target.kind == "sqlite":
        return Config(port=0, model="none", data_dir=place, **more)
    return Config(port=0, model="none", db=place, **more)


@contextlib.asynccontextmanager
async def serving(target, **more) -> AsyncIterator[Server]:
    async with Server(config_for(target, **more)) as srv:
        yield srv


async def get(srv: Server, path: str, token: str) -> tuple[int, bytes]:
    status, _, body = await _http_get(srv.http_url, path, {"Authorization": f"Bearer {token}"})
    return status, body


async def ask(srv: Server, payload: dict):
    async with connect(srv.ws_url) as ws:
        await ws.send(json.dumps(payload))
        return await recv(ws)


async def run_call(srv: Server, call_audio, stream_together, *, rep_token: str | None = None):
    """A short two-party call of the bundled pushy call, ended by the rep."""
    async with connect(srv.ws_url) as ws:
        create = {"type": "create", "title": "kept call"}
        if rep_token:
            create["rep_token"] = rep_token
        await ws.send(json.dumps(create))
        created = await recv(ws)
    assert not isinstance(created, ErrorMessage), created
    fmt = AudioFormat()
    rep_a, customer_a = call_audio("pushy", "rep"), call_audio("pushy", "customer")
    async with (
        Participant(srv.ws_url, created.tokens.rep, "Anna", fmt) as rep,
        Participant(srv.ws_url, created.tokens.customer, "Bob", fmt) as customer,
    ):
        await rep.consent()
        await customer.consent()
        await asyncio.wait_for(rep.live.wait(), 5)
        # The whole pushy call (2:39): the rep talks 79% of it, the longest monologue 78 s.
        await stream_together(rep, customer, rep_a.frames(), customer_a.frames(), 0)
        await rep.end()
        await asyncio.wait_for(rep.ended.wait(), 5)
    return created


async def kept(srv: Server, session: str) -> None:
    store = srv.app.store

    async def there() -> bool:
        try:
            stored = await store.run(Store.call, session)
        except Exception:
            return False
        return stored.scorecard is not None

    for _ in range(300):  # a deadline, not a timing claim: a loaded machine keeps calls later
        if await there():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"call {session} was not kept within 30 s")


async def test_a_kept_call_outlives_a_restart_with_its_scorecard_and_reflection(
    target, call_audio, stream_together
) -> None:
    async with serving(target) as srv:
        created = await run_call(srv, call_audio, stream_together)
        await kept(srv, created.session)
    tokens, session = created.tokens, created.session
    async with serving(target) as srv:  # a new process: nothing in memory
        status, body = await get(srv, f"/v1/sessions/{session}/report", tokens.rep)
        assert status == 200
        report = json.loads(body)
        assert report["scorecard"]["reflection"] == "pending"
        reflect = {"type": "evaluate", "session": session, "token": tokens.rep,
                   "ticks": {"talk_share": "good"}}  # fmt: skip
        assert await ask(srv, reflect) == Done(seq=1, request="evaluate", session=session)
        again = await ask(srv, {**reflect, "skip": True})
        assert isinstance(again, ErrorMessage) and again.code == "already_evaluated"
        status, body = await get(srv, f"/v1/sessions/{session}/report", tokens.rep)
        card = {
            c["id"]: c for s in json.loads(body)["scorecard"]["sections"] for c in s["criteria"]
        }
        assert card["talk_share"]["verdict"] == "needs_work"
        assert card["talk_share"]["self_view"]["verdict"] == "good"
        status, body = await get(srv, f"/v1/sessions/{session}/report", tokens.customer)
        assert status == 200 and "withheld" in json.loads(body)
        # Report links of a kept call: each opens its role's view, until the call is erased.
        links = {}
        for role in ("rep", "customer"):
            status, body = await get(
                srv, f"/v1/sessions/{session}/report-link", getattr(tokens, role)
            )
            assert status == 200
            links[role] = json.loads(body)["url"]
            assert f"link={role}." in links[role]
        status, _, body = await _http_get(srv.http_url, links["rep"])
        assert status == 200 and json.loads(body)["scorecard"]["reflection"] == "given"
        status, _, body = await _http_get(srv.http_url, links["customer"])
        assert status == 200 and "withheld" in json.loads(body)
        share = {"type": "share", "session": session, "token": tokens.rep}
        by_customer = await ask(srv, {**share, "token": tokens.customer})
        assert isinstance(by_customer, ErrorMessage) and by_customer.code == "forbidden"
        assert await ask(srv, share) == Done(seq=1, request="share", session=session)
        status, body = await get(srv, f"/v1/sessions/{session}/report", tokens.customer)
        assert json.loads(body)["scorecard"]["rep"] == "Anna", "the rep shared it"
        await ask(srv, {**share, "with_customer": False})
        status, body = await get(srv, f"/v1/sessions/{session}/report", tokens.customer)
        assert "withheld" in json.loads(body), "and took it back"
        status, body = await get(srv, f"/v1/sessions/{session}/export", tokens.customer)
        assert status == 200 and b"Anna" in body
        wrong = await ask(srv, {"type": "erase", "session": session, "token": "nope"})
        assert isinstance(wrong, ErrorMessage) and wrong.code == "bad_token"
        erased = await ask(srv, {"type": "erase", "session": session, "token": tokens.customer})
        assert erased == Done(seq=1, request="erase", session=session)
        for token in (tokens.rep, tokens.customer):
            status, _ = await get(srv, f"/v1/sessions/{session}/report", token)
            assert status == 404
        for url in links.values():
            status, _, _ = await _http_get(srv.http_url, url)
            assert status == 404, "an erased call opens no link"


async def test_trainer_adds_a_rep_whose_calls_build_a_history_of_recurring_issues(
    target, call_audio, stream_together
) -> None:
    async with serving(target) as srv, Trainer(srv.ws_url, srv.app.trainer_key, "Tom") as tom:
        await tom.send_json({"type": "create_group", "name": "Group B"})
        at = await wait_message(tom.messages, lambda m: isinstance(m, Groups))
        group = tom.messages[at].groups[0]
        await tom.send_json({"type": "add_rep", "group": group.id, "name": "Anna"})
        at = await wait_message(tom.messages, lambda m: isinstance(m, RepLink))
        link = tom.messages[at]
        assert link.url.endswith(f"/#rep={link.token}") and link.name == "Anna"
        for _ in range(3):
            created = await run_call(srv, call_audio, stream_together, rep_token=link.token)
            await kept(srv, created.session)
        status, body = await get(srv, "/v1/reps/me/history", link.token)
        assert status == 200
        history = json.loads(body)
        assert history["rep"]["name"] == "Anna" and len(history["calls"]) == 3
        recurring = {r["criterion"]: r for r in history["recurring"]}
        assert recurring["talk_share"]["missed"] == 3
        assert set(recurring["monologue"]["moments"]) <= set(recurring["monologue"]["sessions"])
        assert all(":" in t for ts in recurring["monologue"]["moments"].values() for t in ts)
        assert recurring["monologue"]["moments"], "where in each call the monologue ran long"
        assert history["labels"]["talk_share"]["nl"] == "Spreektijd"
        status, body = await get(srv, f"/v1/groups/{group.id}/history", srv.app.trainer_key)
        ranked = json.loads(body)["missed"]
        assert "talk_share" in [m["criterion"] for m in ranked[:8]]
        status, _ = await get(srv, f"/v1/groups/{group.id}/history", link.token)
        assert status == 404, "a rep token does not read the group"
        status, _ = await get(srv, f"/v1/reps/{link.rep}/history", link.token)
        assert status == 404, "nor another rep's history by id"
        status, body = await get(srv, "/v1/reps/me/export", link.token)
        assert status == 200 and created.session.encode() in body
        status, body = await get(srv, f"/v1/sessions/{created.session}/report", link.token)
        assert status == 200 and json.loads(body)["scorecard"]["rep"] == "Anna", "her own call"
        await tom.send_json({"type": "add_rep", "group": group.id, "name": "Bea"})
        at = await wait_message(
            tom.messages, lambda m: isinstance(m, RepLink) and m.name == "Bea", what="Bea"
        )
        status, _ = await get(srv, f"/v1/sessions/{created.session}/report", tom.messages[at].token)
        assert status == 404, "another rep's personal link reads nothing of Anna's calls"
        rc, out, err = await sparring("history", "--token", link.url, "--server", srv.http_url)
        assert rc == 0, err
        assert out.startswith("Anna · last 3 calls")
        assert "✗ Talk share: 3 of 3 calls" in out
        rc, out, _ = await sparring(
            "history", "--group", group.id, f"--token={srv.app.trainer_key}", "--server",
            srv.http_url, "--language", "nl",
        )  # fmt: skip
        assert rc == 0 and out.startswith("Group B · 2 reps · 3 calls")
        assert "Spreektijd: needed work in 3 of 3 calls, by 1 rep" in out
        rc, _, err = await sparring("history", "--token", "wrong", "--server", srv.http_url)
        assert rc == 1 and "no history" in err


async def test_unreachable_database_at_start_is_a_clear_error() -> None:
    url = "postgresql://nobody@127.0.0.1:1/none"
    with pytest.raises(StoreUnavailable) as info:
        async with Server(Config(port=0, model="none", db=url)):
            pass
    assert "127.0.0.1" in info.value.message or "reach" in info.value.message


async def test_people_need_a_store(call_audio) -> None:
    async with Server(Config(port=0, model="none")) as srv:
        async with Trainer(srv.ws_url, srv.app.trainer_key) as tom:
            await tom.send_json({"type": "list_groups"})
            at = await wait_message(tom.messages, lambda m: isinstance(m, ErrorMessage))
            assert tom.messages[at].code == "store_unavailable"
            assert "--data-dir" in tom.messages[at].message
        created = await create_session(srv.ws_url)
        assert created.session, "calls run as before, kept in memory only"


async def test_database_lost_during_a_call_coaching_goes_on_and_the_call_is_kept_later(
    target, call_audio, stream_together
) -> None:
    async with serving(target) as srv:
        target.cut_off()  # the database goes away mid-call
        try:
            created = await run_call(srv, call_audio, stream_together)
            outbox = srv.app.store.outbox
            for _ in range(100):  # the call waits in the outbox, not lost
                if outbox.pending:
                    break
                await asyncio.sleep(0.1)
            assert outbox.pending >= 1 and outbox.last_error is not None
        finally:
            target.restore()
        await kept(srv, created.session)  # written once the database is back
        status, body = await get(srv, f"/v1/sessions/{created.session}/report", created.tokens.rep)
        assert status == 200 and json.loads(body)["scorecard"] is not None
