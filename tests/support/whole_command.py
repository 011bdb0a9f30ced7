"""Whole commands as the benchmarks time them: a fresh process, from its start to its exit.

    seconds(command)                     wall time of one run (process start to exit)
    phases(command, spans)               where one run's time goes: each span is a function of the suite
                                         ("module:Class.method"), timed from inside the process by a wrapper
                                         put in place as its module is imported (so the timing does not import
                                         anything early); the figures are from the process's start
    import_times(command)                the costliest imports of one run (python -X importtime)

A command is a list of arguments starting with a Python interpreter and a script or `-m module` (the benchmarks
run `python -m common CUBE evaluate ...`, which is what the `dataperf` script runs).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Runs in the measured process before the command: wraps the named functions when their modules are imported and
# writes, at exit, each span's calls as (start, end) on the monotonic clock (time.perf_counter is CLOCK_MONOTONIC on
# Linux, the same clock in every process); only the main process records (forked workers inherit the wrappers).
_DRIVER = r'''
import atexit, functools, importlib.abc, json, os, runpy, sys, time
STARTED = time.perf_counter()
SPANS = json.loads(os.environ.pop("WHOLE_COMMAND_SPANS"))
OUT = os.environ.pop("WHOLE_COMMAND_OUT")
MAIN = os.getpid()
calls = {label: [] for label in SPANS}
by_module = {}
for label, target in SPANS.items():
    module, name = target.split(":")
    by_module.setdefault(module, []).append((label, name.split(".")))

def wrap(label, function):
    @functools.wraps(function)
    def timed(*args, **kwargs):
        begun = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            if os.getpid() == MAIN:
                calls[label].append((begun, time.perf_counter()))
    return timed

def patch(module):
    for label, path in by_module.pop(module.__name__, []):
        owner = module
        for part in path[:-1]:
            owner = getattr(owner, part)
        raw = vars(owner).get(path[-1]) if isinstance(owner, type) else None
        if isinstance(raw, (classmethod, staticmethod)):
            setattr(owner, path[-1], type(raw)(wrap(label, raw.__func__)))
        else:
            setattr(owner, path[-1], wrap(label, getattr(owner, path[-1])))

class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in by_module:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module
        def exec_module(module):
            execute(module)
            patch(module)
        spec.loader.exec_module = exec_module
        return spec

import importlib.util
sys.meta_path.insert(0, Hook())

def save():
    if os.getpid() == MAIN:
        with open(OUT, "w") as handle:
            json.dump({"started": STARTED, "exit": time.perf_counter(), "calls": calls}, handle)
atexit.register(save)
args = sys.argv[1:]
if args[0] == "-m":
    sys.argv = [args[1], *args[2:]]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)
else:
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
'''


def seconds(command: list[str], cwd: Path | None = None, env: dict | None = None) -> float:
    """Wall time of one run, process start to exit; a failed run ends the benchmark with its output."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed


def phases(command: list[str], spans: dict[str, str]) -> dict:
    """One run of `command` with the functions of `spans` (label -> "module:qualified.name") timed inside it.
    Returns {"total": seconds, "interpreter": seconds to the first line of Python, "exit": seconds from the
    last line to the process's end, "spans": label -> (calls, seconds in them, first start, last end)}, all
    times in seconds from the process's start."""
    python, *rest = command
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "spans.json"
        env = {**os.environ, "WHOLE_COMMAND_SPANS": json.dumps(spans), "WHOLE_COMMAND_OUT": str(out)}
        started = time.perf_counter()
        done = subprocess.run([python, "-c", _DRIVER, *rest], capture_output=True, text=True, env=env)
        ended = time.perf_counter()
        if done.returncode != 0:
            sys.exit(f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        record = json.loads(out.read_text())
    result = {"total": ended - started, "interpreter": record["started"] - started,
              "exit": ended - record["exit"], "spans": {}}
    for label, calls in record["calls"].items():
        if calls:
            result["spans"][label] = (len(calls), sum(end - begin for begin, end in calls),
                                      calls[0][0] - started, calls[-1][1] - started)
    return result


def print_phases(result: dict, indent: str = "  ") -> None:
    print(f"{indent}{'process start to exit':<44} {result['total']:6.2f} s")
    print(f"{indent}{'interpreter start (to the first line)':<44} {result['interpreter']:6.2f} s")
    for label, (calls, inside, first, last) in result["spans"].items():
        print(f"{indent}{label:<44} {inside:6.2f} s  ({calls} call{'s' * (calls != 1)}, "
              f"from {first:5.2f} s to {last:5.2f} s)")
    print(f"{indent}{'after the last line (exit, workers)':<44} {result['exit']:6.2f} s")


def import_times(command: list[str], top: int = 8) -> tuple[float, list[tuple[float, str]]]:
    """(seconds of all imports, the `top` costliest top-level imports) of one run, by python -X importtime."""
    python, *rest = command
    done = subprocess.run([python, "-X", "importtime", *rest], capture_output=True, text=True)
    entries = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            if not name.startswith("  "):   # top level: nested imports are inside their parent's figure
                entries.append((int(parts[1]) / 1e6, name.strip()))
    return sum(s for s, _ in entries), sorted(entries, reverse=True)[:top]


def print_imports(command: list[str], top: int = 8, indent: str = "  ") -> None:
    total, entries = import_times(command, top)
    print(f"{indent}imports, python -X importtime (one run; cumulative seconds, top level): {total:.2f} s in all")
    for secs, name in entries:
        print(f"{indent}  {secs:6.3f}  {name}")


def alternate(sides: dict, repeats: int) -> dict[str, list]:
    """Each side (a callable returning (result, seconds)) run `repeats` times in turn; the samples by label."""
    samples = {label: [] for label in sides}
    for _ in range(max(1, repeats)):
        for label, side in sides.items():
            samples[label].append(side())
            print(f"  {label}: {samples[label][-1][1]:.2f} s", flush=True)
    return samples


def print_ratios(samples: dict[str, list], ours: str, goal: float, reference: str) -> bool:
    """Best and median of each side, the command's ratio to each original side against `goal`; whether every
    side's result equals the first result of `reference`."""
    expected = samples[reference][0][0]
    identical = all(result == expected for runs in samples.values() for result, _ in runs)
    figures = {label: (min(s for _, s in runs), statistics.median(s for _, s in runs))
               for label, runs in samples.items()}
    ours_best, ours_median = figures[ours]
    for label, (best, median) in figures.items():
        line = f"{label:<36} best {best:6.2f} s, median {median:6.2f} s"
        if label.startswith("original"):
            ratio = ours_median / median
            line += (f"; the command / this: {ours_best / best:.3f} (best), {ratio:.3f} (median): goal <= {goal} "
                     f"{'met' if ratio <= goal else 'NOT met'}")
        print(line)
    return identical
