"""What became of one image in a round: a status and a one-line reason, decided in a fixed order.

  scored             its output passed the open division's validation and was scored
  timeout            still running at closed.timeout_seconds: killed and removed
  out_of_memory      killed by the kernel at closed.memory_mb
  output_too_large   its output folder reached closed.output_mb or closed.output_files
  failed             exited with a code other than 0 (the reason quotes the log's last line), or did not start
  invalid_output     a link or special file in its output, or files the cube's validation refused (its message)
  no_output          exited 0 without writing any file
  image_error        the image is not there, or its label org.dataperf.algorithm is missing or not a class
  scoring_error      our evaluator failed on its output (a bug of ours: reported, and the round goes on)
  runner_error       the Docker engine failed while running it
"""
from __future__ import annotations

from dataclasses import dataclass

from common.closed.limits import Limits
from common.core.errors import MAX_LISTED, DataPerfError, ValidationErrors
from common.untrusted.container_output import Extracted, last_line

STATUSES = ("scored", "timeout", "out_of_memory", "output_too_large", "failed", "invalid_output", "no_output",
            "image_error", "scoring_error", "runner_error")
FILL = 0.98                   # an output this close to its size limit filled it (tmpfs counts whole pages)
PAGE = 4096
REASON_WIDTH = 500            # characters of the first problem in a one-line reason


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str


def filled(extracted: Extracted, limits: Limits) -> bool:
    """Did the output reach its tmpfs limits?  Then writes failed inside the container with 'no space left'."""
    pages = extracted.bytes + PAGE * extracted.files
    # The tmpfs counts its own root and the files being written in its inodes, so "full" is near the limit.
    return extracted.files + extracted.folders >= FILL * limits.output_files or pages >= FILL * limits.output_bytes


def container_outcome(exit_code: int | None, timed_out: bool, oom_killed: bool, log_tail: str, limits: Limits,
                      extracted: Extracted | None, copy_problem: tuple[str, str] | None,
                      start_error: str | None = None) -> Outcome | None:
    """The failure of a finished container, or None when its output goes on to validation and scoring.

    copy_problem is (status, message) when copying the output out was refused."""
    if start_error:
        return Outcome("failed", start_error)
    if timed_out:
        return Outcome("timeout", f"still running after {limits.timeout_seconds} s: killed and removed")
    if oom_killed:
        return Outcome("out_of_memory", f"killed by the kernel at the memory limit of {limits.memory_mb} MB "
                                        f"(its /tmp and output count too)")
    if copy_problem and copy_problem[0] == "output_too_large":
        return Outcome("output_too_large", copy_problem[1])
    if extracted is not None and filled(extracted, limits):
        return Outcome("output_too_large", f"its output reached the limit of {limits.output_mb} MB or "
                                           f"{limits.output_files} files ({extracted.bytes:,} bytes in "
                                           f"{extracted.files} files, {extracted.folders} folders)")
    if exit_code != 0:
        last = last_line(log_tail)
        return Outcome("failed", f"exited with code {exit_code}" + (f": {last}" if last else ""))
    if copy_problem:
        return Outcome(*copy_problem)
    if extracted is None or extracted.files == 0:
        return Outcome("no_output", "exited 0 without writing any file to its output folder")
    return None


def refusal(error: DataPerfError) -> tuple[str, list[str], int]:
    """A refused output in one line, the first problem and how many more (`daemon-0.txt: file names must be ...
    (and 16 more)`), with the problems listed (at most MAX_LISTED) and their number, for the results."""
    parts = error.errors if isinstance(error, ValidationErrors) and error.errors else [error]
    total = error.total if isinstance(error, ValidationErrors) else 1
    listed = [str(part) for part in parts[:MAX_LISTED]]
    lines = listed[0].splitlines() or [type(error).__name__]
    first = lines[0] if len(lines[0]) <= REASON_WIDTH else lines[0][:REASON_WIDTH] + "…"
    return (f"{first} (and {total - 1} more)" if total > 1 else first), listed, total
