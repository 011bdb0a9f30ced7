"""Signal handlers for a block of code, which forked processes do not inherit in effect.

A handler installed in a process is copied into every process it forks: a process pool's workers, cleanlab's
multiprocessing.Pool.  A pool that stops its workers with SIGTERM (Pool.terminate) then waits forever for workers
whose SIGTERM only sets a flag or raises in code that is not running.  `handling` installs a handler for the block
that, in any process other than the one that installed it, restores the default action and sends the signal
again; after the block the previous handlers are back (a command run inside another program, a test, leaves
nothing behind).
"""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator


@contextmanager
def handling(signals: Iterable[int], handler: Callable[[int, object], object]) -> Iterator[None]:
    """Within the block, `handler(signum, frame)` for each of `signals` in this process (main thread only)."""
    owner = os.getpid()

    def in_owner_only(signum, frame):
        if os.getpid() != owner:       # a forked child: die as if no handler had been installed
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return None
        return handler(signum, frame)

    previous = {}
    try:
        for signum in signals:
            previous[signum] = signal.signal(signum, in_owner_only)
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
