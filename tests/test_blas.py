"""numpy's BLAS runs in the thread that calls it (server/blas.py)."""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits

from server.app import Server
from server.blas import limit_blas_threads
from server.config import Config


def blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_limit_blas_threads_caps_numpys_blas() -> None:
    with threadpool_limits(limits=None):  # puts the test process back as it was
        threadpool_limits(limits=2, user_api="blas")
        assert limit_blas_threads(1) >= 1
        assert blas_threads() and set(blas_threads()) == {1}


async def test_a_started_server_keeps_numpys_blas_to_one_thread() -> None:
    with threadpool_limits(limits=None):
        threadpool_limits(limits=2, user_api="blas")
        before = blas_threads()  # [2] on the 2-core machines this runs on
        async with Server(Config(port=0, model="none", blas_threads=None)):
            assert blas_threads() == before  # None: left as it was
        async with Server(Config(port=0, model="none")):
            assert set(blas_threads()) == {1}
