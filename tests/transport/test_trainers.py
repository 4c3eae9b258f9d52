"""Trainers over real connections: sign-in with the key, watching calls, whispering.

A real server on port 0, real participants streaming a bundled call; the trainer is
`client.stream.Trainer`, what the dashboard does.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from client.stream import Participant, Trainer, create_session
from models.wire import (
    AudioFormat,
    CallSummary,
    Cluster,
    Done,
    ErrorMessage,
    Metrics,
    Nudge,
    Role,
    State,
    Welcome,
)
from server import access
from tests.transport.test_ws import closed_with, live_call
from tests.waiting import recv, wait_for, wait_message


def errors(trainer: Trainer) -> list[ErrorMessage]:
    return trainer.of_type(ErrorMessage)


async def next_error(trainer: Trainer, since: int) -> ErrorMessage:
    at = await wait_message(trainer.messages, lambda m: isinstance(m, ErrorMessage), since)
    return trainer.messages[at]


async def try_key(server, key: str) -> tuple[ErrorMessage | Welcome, int | None]:
    async with connect(server.ws_url) as ws:
        await ws.send(json.dumps({"type": "hello", "trainer_key": key, "name": "Eve"}))
        first = await recv(ws)
        return first, await closed_with(ws) if isinstance(first, ErrorMessage) else None


async def test_trainer_signs_in_with_the_key_and_hears_of_the_nodes(server) -> None:
    async with Trainer(server.ws_url, server.app.trainer_key, "Tom") as tom:
        await wait_for(lambda: len(tom.messages) >= 2, what="welcome and cluster")
        welcome, cluster = tom.messages[:2]
        assert welcome == Welcome(seq=1, session="*", role=Role.TRAINER, name="Tom", node="local")
        assert isinstance(cluster, Cluster) and cluster.mqtt == "off"


async def test_trainer_wrong_key_is_refused_and_repeated_failures_slow_down(server) -> None:
    for _ in range(access.FREE_TRIES):
        error, code = await try_key(server, "guess")
        assert isinstance(error, ErrorMessage) and error.code == "bad_token" and code == 1008
    error, code = await try_key(server, server.app.trainer_key)  # right, but too soon
    assert isinstance(error, ErrorMessage) and error.code == "slow_down" and code == 1008
    assert "try again in" in error.message


async def test_trainer_watches_the_grid_a_call_in_detail_and_whispers_to_its_rep(
    server, stream_together
) -> None:
    async with (
        live_call(server, stream_together) as call,
        Trainer(server.ws_url, server.app.trainer_key, "Tom") as tom,
    ):
        session = call.created.session
        call.start_talking()
        await tom.watch("*", events="summary")
        await wait_message(
            tom.messages,
            lambda m: isinstance(m, CallSummary) and m.session == session and m.talk is not None,
            what="the call's line with its talk share",
        )
        line = [m for m in tom.of_type(CallSummary) if m.session == session][-1]
        assert not line.private and line.status == "live" and line.title == "call"
        assert {p.name for p in line.participants} == {"Anna", "Bob"}
        assert not tom.of_type(Metrics), "the grid gets lines, not every event"

        mark = len(tom.messages)
        await tom.watch(session)
        await wait_message(
            tom.messages, lambda m: isinstance(m, State) and m.session == session, mark
        )
        await wait_message(
            tom.messages, lambda m: isinstance(m, Metrics) and m.session == session, mark,
            what="live metrics of the watched call",
        )  # fmt: skip

        await tom.whisper(session, "Ask about their budget")
        await wait_message(
            tom.messages, lambda m: isinstance(m, Done) and m.request == "whisper",
            what="the whisper's done",
        )  # fmt: skip
        at = await wait_message(
            call.rep.messages, lambda m: isinstance(m, Nudge) and m.rule == "manual"
        )
        whisper = call.rep.messages[at]
        assert whisper.text == "Ask about their budget" and whisper.session == session
        assert whisper.evidence == {"from": "Tom", "by": "trainer"}
        # A state change that reaches the customer after the whisper would have.
        async with Participant(server.ws_url, call.created.tokens.observer, "Olga"):
            await wait_message(
                call.customer.messages,
                lambda m: isinstance(m, State) and len(m.participants) == 3,
                what="the customer's state after the whisper",
            )
        assert not call.customer.of_type(Nudge), "the customer never sees a whisper"
        await call.stop_talking()
        assert errors(tom) == []


async def test_trainer_sees_nothing_of_a_private_call_but_its_line(
    server, stream_together
) -> None:
    created = await create_session(server.ws_url, "private one")
    fmt = AudioFormat()
    async with (
        Trainer(server.ws_url, server.app.trainer_key) as tom,
        Participant(server.ws_url, created.tokens.rep, "Anna", fmt) as rep,
        Participant(
            server.ws_url, created.tokens.customer, "Bob", fmt, scopes=("coaching", "transcript")
        ) as customer,
    ):
        await tom.watch("*")  # everything it may see
        await rep.consent()
        await customer.consent()
        await asyncio.wait_for(rep.live.wait(), 5)
        silence = (b"\x00\x00" * 1600 for _ in range(40))
        voice = (b"\x10\x00" * 1600 for _ in range(40))
        await stream_together(rep, customer, voice, silence, 0.0)
        await wait_for(lambda: rep.of_type(Metrics), what="the rep's own metrics")
        mark = len(tom.messages)
        await tom.watch(created.session)
        refused = await next_error(tom, mark)
        assert refused.code == "forbidden" and "trainer view" in refused.message
        await tom.whisper(created.session, "hello")
        assert (await next_error(tom, mark + 1)).code == "forbidden"
        about = tom.about(created.session)
        assert about and all(isinstance(m, CallSummary) and m.private for m in about)
        assert about[-1] == CallSummary(
            seq=about[-1].seq, session=created.session, private=True, status="live",
            created_at=about[-1].created_at,
        )  # fmt: skip
        assert not rep.of_type(Nudge) or all(n.rule != "manual" for n in rep.of_type(Nudge))


@pytest.mark.parametrize(
    ("whisper", "code"),
    [
        ({"type": "whisper", "session": "nope", "text": "hi"}, "unknown_session"),
        ({"type": "whisper", "text": "hi"}, "bad_message"),
        ({"type": "watch", "session": "nope"}, "unknown_session"),
        ({"type": "consent", "granted": True}, "forbidden"),
    ],
    ids=["unknown-call", "no-session", "watch-unknown", "consent"],
)
async def test_trainer_bad_requests_get_their_code_and_keep_the_connection(
    server, whisper, code
) -> None:
    async with Trainer(server.ws_url, server.app.trainer_key) as tom:
        await tom.send_json(whisper)
        assert (await next_error(tom, 0)).code == code
        await tom.send_audio(b"\x00\x00" * 10)
        assert (await next_error(tom, len(tom.messages))).code == "forbidden"
        assert not tom.closed.is_set()


async def test_trainer_whisper_to_an_ended_call_is_bad_state(server, stream_together) -> None:
    async with Trainer(server.ws_url, server.app.trainer_key) as tom:
        async with live_call(server, stream_together) as call:
            session = call.created.session
            await call.talk(0.0, 3.0)
            await call.rep.end()
            await asyncio.wait_for(call.rep.ended.wait(), 5)
        await tom.whisper(session, "too late")
        error = await next_error(tom, 0)
        assert error.code == "bad_state" and "ended" in error.message


async def test_whisper_from_a_customer_token_is_forbidden(server, stream_together) -> None:
    async with live_call(server, stream_together) as call:
        await call.customer.send_json({"type": "whisper", "text": "psst"})
        at = await wait_message(call.customer.messages, lambda m: isinstance(m, ErrorMessage))
        assert call.customer.messages[at].code == "forbidden"
        assert not [n for n in call.rep.of_type(Nudge) if n.rule == "manual"]


async def test_trainer_detail_pictures_of_a_running_call_follow_trainer_view(
    server, stream_together, http_get
) -> None:
    import xml.etree.ElementTree as ET

    async with live_call(server, stream_together) as call:
        session, tokens = call.created.session, call.created.tokens
        await call.talk(0.0, 20.0)
        key = server.app.trainer_key
        for which in ("timeline", "talk"):
            status, headers, body = await http_get(f"/v1/sessions/{session}/{which}.svg?token={key}")
            assert status == 200 and headers["content-type"].startswith("image/svg+xml")
            assert ET.fromstring(body).tag.endswith("svg")
        status, _, _ = await http_get(f"/v1/sessions/{session}/timeline.svg?token={tokens.customer}")
        assert status == 404, "the customer never reads the rep's figures"
        call.customer.scopes = ("coaching",)  # the customer narrows their consent
        await call.customer.consent(granted=True)
        await wait_for(
            lambda: not server.app.hub.get(session).roster.parties_grant("trainer_view"),
            what="the customer's narrowed consent",
        )
        status, _, _ = await http_get(f"/v1/sessions/{session}/timeline.svg?token={key}")
        assert status == 404, "no trainer view, no pictures"
