"""Signal handlers for a block (common/core/signals.py): a forked pool's workers still die of SIGTERM while the
block's handler only sets a flag, and the previous handlers are back after the block."""
from __future__ import annotations

import multiprocessing
import signal
import threading
import time

from common.core.signals import handling


def _idle(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_a_pool_forked_inside_the_block_can_still_be_terminated():
    before = signal.getsignal(signal.SIGTERM)
    flag = threading.Event()
    with handling([signal.SIGTERM], lambda *_: flag.set()):
        pool = multiprocessing.get_context("fork").Pool(2)
        pool.apply_async(_idle, (30,))
        time.sleep(0.5)
        workers = list(pool._pool)
        started = time.monotonic()
        done = threading.Thread(target=pool.terminate, daemon=True)   # SIGTERM to each worker, then join
        done.start()
        done.join(20)
        assert not done.is_alive(), "Pool.terminate hung: the workers ignored SIGTERM"
        assert time.monotonic() - started < 20
        assert not any(w.is_alive() for w in workers)
        assert not flag.is_set()                   # the children's signals never reached this process's handler
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_handler_runs_in_the_process_that_installed_it():
    got = []
    with handling([signal.SIGUSR1], lambda signum, frame: got.append(signum)):
        signal.raise_signal(signal.SIGUSR1)
    assert got == [signal.SIGUSR1]
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
