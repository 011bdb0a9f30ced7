"""Progress of long steps, on a terminal and in logs.

On a terminal it is a tqdm bar.  Anywhere else (a log file, CI, `mlcube run` through Docker) tqdm
prints nothing useful, so every `interval` seconds one line goes to stderr:

    retraining: 120/455 (26%), 35 s elapsed, about 1 min 38 s left

and a last line when the step ends, if any line was printed.  The total may change while the
step runs (a search that stops early only knows an upper bound): `set_total`.
The interval is DATAPERF_PROGRESS_SECONDS (default 10).
"""
from __future__ import annotations

import os
import sys
import time
from typing import IO, Iterable, Iterator

from tqdm import tqdm

DEFAULT_INTERVAL = 10.0


def interval_from_environment() -> float:
    try:
        return max(0.0, float(os.environ.get("DATAPERF_PROGRESS_SECONDS", DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class Progress:
    """done/total of one step; use as a context manager, call update() as work completes."""

    def __init__(self, label: str, total: int, interval: float | None = None, stream: IO[str] | None = None,
                 terminal: bool | None = None):
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.interval = interval_from_environment() if interval is None else interval
        if terminal is None:
            terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar = tqdm(total=total, desc=label, leave=False, file=self.stream) if terminal else None
        self.started = time.monotonic()
        self.last_line = self.started
        self.lines = 0

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close(finished=exc[0] is None)

    def set_total(self, total: int) -> None:
        self.total = total
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        self.heartbeat()

    def heartbeat(self) -> None:
        """A line if the last one is `interval` old: also while one long piece of work runs."""
        if self.bar is not None:
            self.bar.refresh()
            return
        now = time.monotonic()
        if now - self.last_line >= self.interval:
            self.last_line = now
            self._line(self.status(now))

    def status(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        percent = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        text = f"{self.label}: {self.done}/{self.total}{percent}, {duration(elapsed)} elapsed"
        if 0 < self.done < self.total:
            text += f", about {duration(elapsed / self.done * (self.total - self.done))} left"
        return text

    def close(self, finished: bool = True) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.lines and finished:
            self._line(f"{self.label}: {self.done}/{self.total} done in {duration(time.monotonic() - self.started)}")

    def _line(self, text: str) -> None:
        self.lines += 1
        print(text, file=self.stream, flush=True)


def tracked(items: Iterable, progress: str | Progress | None, total: int | None = None) -> Iterator:
    """Yield the items, counting each one once the caller is done with it.

    `progress` is a Progress to count in, or the label of a new one over `total` items (None: the
    items are only passed through).
    """
    if progress is None:
        yield from items
        return
    if isinstance(progress, Progress):
        for item in items:
            yield item
            progress.update()
        return
    if total is None:
        items = list(items)
        total = len(items)
    with Progress(progress, total) as own:
        for item in items:
            yield item
            own.update()
