"""A dashboard with 30 calls at 8 events a second each: every event arrives, in order.

The events enter through the node's real bus (as the core or MQTT would publish them) and
leave through the real desk and a real WebSocket to a trainer watching every call; a live
call on the same node streams speech throughout and must carry on untouched.
"""

from __future__ import annotations

import asyncio

import msgspec

from client.stream import Trainer
from models.wire import CallSummary, Metrics, Nudge, TalkShare, Transcript
from tests.transport.test_ws import bystander  # noqa: F401  (a fixture)
from tests.waiting import wait_for

CALLS = 30
EVENTS_PER_S = 8
SECONDS = 3


def events_of(session: str, second: int) -> list:
    share = TalkShare(rep=0.6, customer=0.4)
    at = float(second)
    return [
        CallSummary(session=session, status="live", created_at=0.0, at=at, talk=share),
        Metrics(
            at=at, talk=share, talk_window=share, longest_monologue_s=at, current_monologue_s=0.0,
            interruptions=0, overlaps=0, mean_response_gap_s=None, silence_s=0.0, session=session,
        ),  # fmt: skip
        *[
            Transcript(
                speaker="rep" if n % 2 else "customer", segment=second * 10 + n, text=f"w{n}",
                final=True, start=at, end=at + 0.1, session=session,
            )  # fmt: skip
            for n in range(EVENTS_PER_S - 3)
        ],
        Nudge(id=f"{session}-{second}", rule="pace", text="Slow down", severity="info", at=at,
              session=session),  # fmt: skip
    ]


async def test_dashboard_takes_30_calls_at_8_events_a_second(server, bystander) -> None:  # noqa: F811
    bus = server.app.bus
    sessions = [f"load{n:02d}" for n in range(CALLS)]
    async with Trainer(server.ws_url, server.app.trainer_key) as tom:
        await tom.watch("*")
        await wait_for(lambda: len(tom.messages) >= 2, what="welcome and cluster")
        for second in range(SECONDS):
            for session in sessions:  # each second, every call's 8 events, spread out
                for message in events_of(session, second):
                    bus.publish(session, message)
                await asyncio.sleep(1.0 / CALLS)
        total = CALLS * EVENTS_PER_S * SECONDS
        await wait_for(
            lambda: sum(1 for m in tom.messages if getattr(m, "session", "").startswith("load"))
            >= total,
            timeout_s=20,
            what=f"all {total} events on the dashboard",
        )
        seqs = [m.seq for m in tom.messages]
        assert seqs == list(range(1, len(seqs) + 1)), "nothing lost on the way"
        for session in sessions:  # each call's events whole and in their order
            got = tom.about(session)
            expected = [m for s in range(SECONDS) for m in events_of(session, s)]
            assert len(got) == len(expected)
            assert [msgspec.structs.replace(g, seq=0) for g in got] == expected
        await bystander.assert_untouched()
