"""The trainer desk: grid lines, a call's kept events, private calls, lost nodes."""

from __future__ import annotations

import pytest

from models.errors import Forbidden, UnknownSession
from models.wire import (
    CallSummary,
    Cluster,
    Metrics,
    Nudge,
    ServerMessage,
    State,
    TalkShare,
    Transcript,
)
from server import desk as desk_module
from server.desk import TrainerDesk


class Screen:
    """A trainer's connection: what it was sent, in order."""

    def __init__(self) -> None:
        self.got: list[ServerMessage] = []

    def enqueue(self, message: ServerMessage, arrived_at: float = 0.0) -> None:
        self.got.append(message)

    def close_soon(self, code: int = 1000) -> None:
        pass

    def kinds(self) -> list[str]:
        return [str(m.__struct_config__.tag) for m in self.got]


def line(session: str, *, node: str = "n1", private: bool = False, status="live", t=0.0):
    return CallSummary(session=session, node=node, private=private, status=status, created_at=t)


def state(session: str) -> State:
    return State(
        session=session, live=True, status="live", waiting_for=(), participants=(),
        dropped_before_consent_s=0.0,
    )  # fmt: skip


def metrics(at: float) -> Metrics:
    share = TalkShare(rep=0.5, customer=0.5)
    return Metrics(
        at=at, talk=share, talk_window=share, longest_monologue_s=0.0, current_monologue_s=0.0,
        interruptions=0, overlaps=0, mean_response_gap_s=None, silence_s=0.0,
    )  # fmt: skip


def final(session: str, n: int) -> Transcript:
    return Transcript(
        speaker="rep", segment=n, text=f"words {n}", final=True, start=n, end=n + 1,
        session=session,
    )  # fmt: skip


@pytest.fixture
def now() -> list[float]:
    return [1000.0]


@pytest.fixture
def desk(now) -> TrainerDesk:
    return TrainerDesk("n1", clock=lambda: now[0])


def seated(desk: TrainerDesk) -> Screen:
    screen = Screen()
    desk.sign_in(screen)
    assert screen.got == [Cluster(mqtt="off", nodes=desk.cluster().nodes)]
    screen.got.clear()
    return screen


def test_desk_grid_shows_every_call_then_follows_changes(desk) -> None:
    desk.on_event("a", line("a", t=2.0))
    desk.on_event("b", line("b", private=True, t=1.0))
    grid = seated(desk)
    desk.watch(grid, "*", everything=False)
    assert [m.session for m in grid.got] == ["b", "a"], "oldest first"
    desk.on_event("a", metrics(3.0))
    desk.on_event("a", line("a", status="paused", t=2.0))
    assert grid.kinds() == ["call", "call", "call"], "a summary watcher gets lines only"


def test_desk_detail_replays_what_was_kept_then_goes_live(desk) -> None:
    desk.on_event("a", state("a"))
    desk.on_event("a", line("a"))
    for n in range(desk_module.BACKLOG_EVENTS + 5):
        desk.on_event("a", final("a", n))
    desk.on_event("a", metrics(1.0))
    desk.on_event("a", metrics(2.0))
    screen = seated(desk)
    desk.watch(screen, "a")
    assert screen.kinds()[:3] == ["call", "state", "metrics"]
    assert screen.got[2].at == 2.0, "the latest metrics only"
    finals = [m for m in screen.got if isinstance(m, Transcript)]
    assert len(finals) == desk_module.BACKLOG_EVENTS and finals[-1].segment == 504
    screen.got.clear()
    nudge = Nudge(id="x", rule="pace", text="Slow down", severity="info", at=3.0, session="a")
    desk.on_event("a", nudge)
    desk.on_event("other", final("other", 1))
    assert screen.got == [nudge], "events of the watched call only"


def test_desk_refuses_a_private_or_unknown_call(desk) -> None:
    desk.on_event("p", line("p", private=True))
    screen = seated(desk)
    with pytest.raises(Forbidden):
        desk.watch(screen, "p")
    with pytest.raises(UnknownSession):
        desk.watch(screen, "nope")
    assert screen.got == []


def test_desk_forgets_a_call_that_turns_private_and_stops_its_watchers(desk) -> None:
    desk.on_event("a", line("a"))
    desk.on_event("a", final("a", 1))
    screen = seated(desk)
    desk.watch(screen, "a")
    screen.got.clear()
    desk.on_event("a", line("a", private=True))
    assert screen.got == [line("a", private=True)], "the watcher sees why it stops"
    desk.on_event("a", final("a", 2))  # published before the change, arriving late
    assert screen.got == [line("a", private=True)]
    with pytest.raises(Forbidden):
        desk.watch(screen, "a")
    desk.on_event("a", line("a"))  # trainer view granted again: nothing old comes back
    desk.watch(screen, "a")
    assert not [m for m in screen.got if isinstance(m, Transcript)]


def test_desk_marks_the_calls_of_an_offline_node_lost(desk) -> None:
    desk.on_event("a", line("a", node="n2"))
    desk.on_event("b", line("b", node="n2", status="ended"))
    desk.on_event("c", line("c", node="n1"))
    grid = seated(desk)
    desk.watch(grid, "*", everything=False)
    grid.got.clear()
    desk.on_node("n2", False)
    assert desk.line("a").status == "lost"
    assert desk.line("b").status == "ended" and desk.line("c").status == "live"
    cluster, lost = grid.got
    assert isinstance(cluster, Cluster) and {n.node: n.online for n in cluster.nodes} == {
        "n1": True,
        "n2": False,
    }
    assert lost == line("a", node="n2", status="lost")


def test_desk_tells_trainers_when_the_link_changes(desk) -> None:
    screen = seated(desk)
    desk.on_link("reconnecting")
    desk.on_link("reconnecting")
    assert screen.got == [Cluster(mqtt="reconnecting", nodes=desk.cluster().nodes)]


def test_desk_forgets_ended_calls_after_an_hour(desk, now) -> None:
    desk.on_event("a", line("a", status="ended"))
    desk.on_event("b", line("b"))
    now[0] += desk_module.KEEP_ENDED_S - 1
    assert desk.expire() == 0
    now[0] += 2
    assert desk.expire() == 1
    assert desk.line("a") is None and desk.line("b") is not None


def test_desk_unwatch_stops_events(desk) -> None:
    desk.on_event("a", line("a"))
    screen = seated(desk)
    desk.watch(screen, "a")
    desk.unwatch(screen, "a")
    screen.got.clear()
    desk.on_event("a", final("a", 1))
    desk.watch(screen, "*", everything=False)
    assert screen.kinds() == ["call"], "the first thing it gets after unwatching is the grid"
