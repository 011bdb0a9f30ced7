"""Which cubes exist: every installed package registered in the entry-point group `dataperf.cubes`.

A cube registers itself in its distribution's metadata (pyproject.toml):

    [project.entry-points."dataperf.cubes"]
    my_cube = "my_cube:CUBE"

The suite's own four cubes are registered the same way, so common/ names none of them.  An entry whose package is
not installed (a cube image holds one cube of the four) is left out.  Loading a cube imports only its light
__init__ (the contract record); its tasks are imported when they run.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache

from common.core.errors import DataPerfError
from common.cubes.contract import Cube, Ref

GROUP = "dataperf.cubes"


@lru_cache(maxsize=1)
def _entries() -> dict[str, str]:
    """name -> 'module:attribute' of every registered cube whose package is importable."""
    from importlib.metadata import entry_points
    found = {}
    for entry in entry_points(group=GROUP):
        top = entry.value.partition(":")[0].split(".")[0]
        if entry.name not in found and importlib.util.find_spec(top) is not None:
            found[entry.name] = entry.value
    return found


def names() -> tuple[str, ...]:
    """The registered cubes, sorted by name."""
    return tuple(sorted(_entries()))


@lru_cache(maxsize=None)
def get(name: str) -> Cube:
    """The contract record of cube `name`; an unknown name is a one-line error listing the known ones."""
    entries = _entries()
    if name not in entries:
        known = ", ".join(names()) or "none: install the suite with `make setup` (pip install -e .)"
        raise DataPerfError(f"unknown cube '{name}' (available: {known})")
    cube = Ref(entries[name]).load()
    if not isinstance(cube, Cube) or cube.name != name:
        raise DataPerfError(f"the entry point '{name}' of group {GROUP} ({entries[name]}) is not the Cube record "
                            f"of a cube named '{name}'")
    return cube


def cubes() -> list[Cube]:
    return [get(name) for name in names()]


def packages() -> tuple[str, ...]:
    """The Python packages a process needs to run any cube's jobs (Dask workers check they have the same code)."""
    return ("common",) + tuple(sorted({get(name).tasks["evaluate"].target.split(".")[0] for name in names()}))


def refresh() -> None:
    """Forget what was found (after installing a cube in a running process, e.g. a test)."""
    _entries.cache_clear()
    get.cache_clear()
