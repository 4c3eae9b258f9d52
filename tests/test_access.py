"""The trainer key: `create` and the HTTP report check it in constant time, and any string a
client sends is an answer, never an internal error. Report links: signed, short-lived, for
one role's view of one call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect

from models import codec
from models.wire import Created, ErrorMessage, Role, ServerMessage
from server.access import FREE_TRIES, MAX_WAIT_S, REPORT_LINK_S, KeyGuard, ReportLinks, same_secret
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


async def test_access_report_link_for_the_trainer_key_reads_as_the_trainer(server, http_get):
    created = await create_with(server, key=TRAINER_KEY)
    assert isinstance(created, Created)
    path = f"/v1/sessions/{created.session}/report-link"
    status, _, body = await http_get(path, {"Authorization": f"Bearer {TRAINER_KEY}"})
    assert status == 200
    url = json.loads(body)["url"]
    assert url.split("link=", 1)[1].startswith("trainer.") and TRAINER_KEY not in url
    status, _, body = await http_get(url)
    assert status == 200 and json.loads(body)["session"] == created.session
    status, _, _ = await http_get(path, {"Authorization": f"Bearer {TRAINER_KEY}x"})
    assert status == 404


def test_report_links_open_the_role_they_were_made_for() -> None:
    links = ReportLinks(secret=b"k" * 32, clock=lambda: 100.0)
    for role in Role:
        link = links.make("n1.abc", role)
        assert links.reader("n1.abc", link) is role
        assert links.reader("n1.abd", link) is None, "another call"
    assert links.make("s", Role.REP) == links.make("s", Role.REP), "no state: the same inputs"
    other = ReportLinks(secret=b"j" * 32, clock=lambda: 100.0)
    assert other.reader("n1.abc", links.make("n1.abc", Role.REP)) is None, "another process"


def test_report_links_expire() -> None:
    now = [50.2]
    links = ReportLinks(clock=lambda: now[0])
    link = links.make("s", Role.CUSTOMER)
    now[0] = 51.0 + REPORT_LINK_S - 0.001
    assert links.reader("s", link) is Role.CUSTOMER
    now[0] = 51.0 + REPORT_LINK_S
    assert links.reader("s", link) is None


def test_report_links_altered_or_made_up_are_refused() -> None:
    links = ReportLinks(clock=lambda: 0.0)
    role, expires_at, mac = links.make("s", Role.CUSTOMER).split(".")
    assert role == "customer" and int(expires_at) == REPORT_LINK_S
    for made_up in [
        f"rep.{expires_at}.{mac}",
        f"{role}.{int(expires_at) + 1}.{mac}",
        f"{role}.{expires_at}.{mac[::-1]}",
        f"{role}.{expires_at}.{mac}=",
        f"{role}.0{expires_at}.{mac}",
        f"{role}.{expires_at}",
        f"{role}..{mac}",
        f"Customer.{expires_at}.{mac}",
        "",
        "🔑" * 50,
        "." * 5000,
    ]:
        assert links.reader("s", made_up) is None, made_up


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
