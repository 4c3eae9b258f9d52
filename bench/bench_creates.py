"""How many `create`s a second one client address gets before it is slowed (issue 12).

Runs an embedded server with the default limits and creates calls from one address as fast
as it can for 10 s, each on its own connection, as a hostile page or script would.
Usage: `python -m bench.bench_creates`.
"""

from __future__ import annotations

import asyncio
import json
import time

from websockets.asyncio.client import connect

from server.app import Server
from server.config import Config

RUN_S = 10.0


async def main() -> None:
    config = Config(port=0, model="none")
    async with Server(config) as srv:
        created: list[float] = []
        refused = 0
        first_refusal: tuple[float, str] | None = None
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < RUN_S:
            async with connect(srv.ws_url, compression=None) as ws:
                await ws.send(json.dumps({"type": "create"}))
                answer = json.loads(await ws.recv())
            at = time.perf_counter() - t0
            if answer["type"] == "created":
                created.append(at)
            else:
                refused += 1
                first_refusal = first_refusal or (at, answer["message"])
        burst = config.create_burst
        print(f"created {len(created)}, refused {refused} in {RUN_S:g} s")
        if len(created) >= burst:
            print(f"first {burst} in {created[burst - 1]:.3f} s ({burst / created[burst - 1]:.0f}/s)")
        print(f"first refusal at {first_refusal}")
        print("later creates at", [round(t, 2) for t in created[burst:]])


if __name__ == "__main__":
    asyncio.run(main())
