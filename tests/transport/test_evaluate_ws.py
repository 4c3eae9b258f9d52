"""Evaluations over real connections: the rep's reflection after the call by token, peers,
the trainer, and the scorecard in the report."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from client.stream import Trainer
from models.wire import Done, ErrorMessage
from tests.transport.test_ws import live_call
from tests.waiting import recv, wait_message


async def ask(server, payload: dict):
    async with connect(server.ws_url) as ws:
        await ws.send(json.dumps(payload))
        return await recv(ws)


async def test_rep_reflects_by_token_after_the_call_and_the_report_carries_the_scorecard(
    server, stream_together, http_get
) -> None:
    async with live_call(server, stream_together) as call:
        tokens, session = call.created.tokens, call.created.session
        await call.talk(0.0, 20.0)
        early = await ask(server, {"type": "evaluate", "token": tokens.rep, "skip": True})
        assert isinstance(early, ErrorMessage) and early.code == "bad_state"
        await call.rep.end()
        await asyncio.wait_for(call.rep.ended.wait(), 5)
    ticks = {"talk_share": "good", "listens": "good"}
    done = await ask(server, {"type": "evaluate", "token": tokens.rep, "ticks": ticks})
    assert done == Done(seq=1, request="evaluate", session=session)
    again = await ask(server, {"type": "evaluate", "token": tokens.rep, "skip": True})
    assert isinstance(again, ErrorMessage) and again.code == "already_evaluated"
    customer = await ask(server, {"type": "evaluate", "token": tokens.customer, "ticks": ticks})
    assert isinstance(customer, ErrorMessage) and customer.code == "forbidden"
    peer = {"type": "evaluate", "token": tokens.observer, "name": "Eva", "ticks": ticks}
    assert isinstance(await ask(server, peer), Done)

    async with Trainer(server.ws_url, server.app.trainer_key, "Tom") as tom:
        await tom.send_json(
            {"type": "evaluate", "session": session, "ticks": {"listens": "needs_work"},
             "notes": {"listens": "Two interruptions"}}
        )  # fmt: skip
        await wait_message(tom.messages, lambda m: isinstance(m, Done), what="the trainer's done")

    status, _, body = await http_get(f"/v1/sessions/{session}/report?token={tokens.rep}")
    assert status == 200
    scorecard = json.loads(body)["scorecard"]
    assert scorecard["reflection"] == "given" and scorecard["evaluators"] == ["Eva", "Tom"]
    cards = {c["id"]: c for s in scorecard["sections"] for c in s["criteria"]}
    assert cards["talk_share"]["self_view"]["verdict"] == "good"
    assert [v["by"] for v in cards["listens"]["peer_views"]] == ["Eva", "Tom"]
    status, _, page = await http_get(f"/v1/sessions/{session}/report?token={tokens.rep}&format=html")
    assert status == 200 and b"Two interruptions" in page and b"Talk share" in page


async def test_rep_shares_the_report_with_the_customer_in_memory(
    server, stream_together, http_get
) -> None:
    async with live_call(server, stream_together) as call:
        tokens, session = call.created.tokens, call.created.session
        await call.talk(0.0, 10.0)
        await call.rep.end()
        await asyncio.wait_for(call.rep.ended.wait(), 5)
    path = f"/v1/sessions/{session}/report?token={tokens.customer}"
    assert "withheld" in json.loads((await http_get(path))[2])
    done = await ask(server, {"type": "share", "session": session, "token": tokens.rep})
    assert isinstance(done, Done) and done.request == "share"
    assert "scorecard" in json.loads((await http_get(path))[2])
