"""One BLAS thread for numpy: recognition has worker threads of its own.

numpy's OpenBLAS starts a thread per core and, after each matrix product, keeps it spinning
for a while in case more work comes. Each decode computes its mel spectrogram with such a
product in a recognition worker thread, so on a busy node that thread spun between
decodes: a third of a core of a 2-core node in a 40-call soak (seen with gdb: OpenBLAS's
`blas_thread_server`), taken from the decoders (bench/README.md). With one thread the
product runs in the worker that asked for it. threadpoolctl finds whichever BLAS numpy
loaded (OpenBLAS, MKL, BLIS) and sets it.
"""

from __future__ import annotations

import logging

log = logging.getLogger("sparring.blas")


def limit_blas_threads(threads: int) -> int:
    """Caps numpy's BLAS at `threads` threads from now on; returns how many BLAS libraries
    were capped (0: none loaded, or threadpoolctl missing)."""
    try:
        import numpy  # noqa: F401  (loads its BLAS, so that there is one to cap)
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:  # pragma: no cover - a core dependency
        log.warning("threadpoolctl is not installed: numpy's BLAS keeps its own threads")
        return 0
    threadpool_limits(limits=threads, user_api="blas")
    return sum(1 for lib in threadpool_info() if lib.get("user_api") == "blas")
