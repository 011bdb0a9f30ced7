"""SIGINT, SIGTERM and SIGHUP end a round the same way: the cleanup of every `finally` runs.

Python turns only SIGINT into an exception (KeyboardInterrupt); SIGTERM, what `kill`, `docker stop` and job
schedulers send, and SIGHUP, a closed terminal, end the process at once by default, leaving the participant's
container, the keeper, the output volume and the view behind.  Inside `interruptible()` each of the three raises
Interrupted (a KeyboardInterrupt) once; a second signal during the cleanup is noted and waited out, a third
abandons the cleanup (what is left is removed by the next round: leftovers.py).  A signal ignored when the block
starts stays ignored (`nohup` ignores SIGHUP).
"""
from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

from common.core.signals import handling

SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


class Interrupted(KeyboardInterrupt):
    def __init__(self, signum: int):
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(self.name)

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise Interrupted (only where handlers can be set: the main
    thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum, frame):
        received.append(signum)
        if len(received) == 1:
            raise Interrupted(signum)
        if len(received) == 2:
            print(f"closed: {signal.Signals(signum).name} again: still cleaning up (once more abandons the "
                  f"cleanup; the next round removes what is left)", file=sys.stderr, flush=True)
            return
        raise Interrupted(signum)

    with handling([s for s in SIGNALS if signal.getsignal(s) is not signal.SIG_IGN], handler):
        yield
