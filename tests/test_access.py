"""The trainer key: `create` and the HTTP report check it in constant time, and any string a
client sends is an answer, never an internal error."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect

from models import codec
from models.wire import Created, ErrorMessage, ServerMessage
from server.access import FREE_TRIES, MAX_WAIT_S, KeyGuard, same_secret
from server.app import Server
from server.config import Config

TRAINER_KEY = "tr4iner-key"
MISSES = ["wrong", TRAINER_KEY[:-1], TRAINER_KEY + "x", "tr4iner-kéy", "", "🔑" * 40]


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """A server with a trainer key (replaces the shared fixture in this module)."""
    async with Server(Config(port=0, model="none", trainer_key=TRAINER_KEY)) as srv:
        yield srv


def test_same_secret():
    assert same_secret(TRAINER_KEY, TRAINER_KEY)
    assert same_secret("kéy🔑", "kéy🔑")
    for miss in MISSES:
        assert not same_secret(miss, TRAINER_KEY), miss


async def create_with(server: Server, **key: str) -> ServerMessage:
    async with connect(server.ws_url, compression=None) as ws:
        await ws.send(json.dumps({"type": "create", "title": "keyed", **key}))
        return codec.decode_server(await ws.recv())


async def test_access_create_checks_the_trainer_key(server):
    assert isinstance(await create_with(server, key=TRAINER_KEY), Created)
    assert isinstance(await create_with(server), Created)  # as before: no key is taken
    for miss in MISSES:
        answer = await create_with(server, key=miss)
        assert isinstance(answer, ErrorMessage), miss
        assert answer.code == "bad_token", miss


async def test_access_report_takes_the_trainer_key(server, http_get):
    created = await create_with(server, key=TRAINER_KEY)
    assert isinstance(created, Created)
    path = f"/v1/sessions/{created.session}/report"
    status, _, body = await http_get(path, {"Authorization": f"Bearer {TRAINER_KEY}"})
    assert status == 200 and json.loads(body)["session"] == created.session
    status, _, _ = await http_get(f"{path}?token={TRAINER_KEY}")
    assert status == 200
    answers = set()
    for miss in ("wrong", "tr4iner-ke", "tr4iner-k%C3%A9y", "%F0%9F%94%91", "tr4iner-k%E9y", ""):
        status, _, body = await http_get(f"{path}?token={miss}")
        assert status == 404, miss
        answers.add(body)
    assert len(answers) == 1


def test_key_guard_lets_a_few_wrong_keys_through_then_doubles_the_wait() -> None:
    now = [0.0]
    guard = KeyGuard(clock=lambda: now[0])
    for _ in range(FREE_TRIES):
        assert guard.wait_s("10.0.0.1") == 0.0
        guard.failed("10.0.0.1")
    assert guard.wait_s("10.0.0.1") == 1.0
    assert guard.wait_s("10.0.0.2") == 0.0, "per address"
    now[0] += 1.0
    assert guard.wait_s("10.0.0.1") == 0.0
    guard.failed("10.0.0.1")
    assert guard.wait_s("10.0.0.1") == 2.0
    for _ in range(30):
        guard.failed("10.0.0.1")
    assert guard.wait_s("10.0.0.1") == MAX_WAIT_S
    guard.succeeded("10.0.0.1")
    assert guard.wait_s("10.0.0.1") == 0.0
