"""The cube contract: the one record through which common/ knows a challenge.

Each cube package exports `CUBE = Cube(...)` from its __init__.py, and imports nothing heavy there: listing the
cubes, showing help or checking a parameter file must not load torch or scikit-learn.  Everything a task needs
is named by a `Ref` ("package.module:name") and imported only when that task runs.  docs/cube-contract.md is the
written form of this module.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from common.core.errors import DataPerfError, named_task
from common.results.leaderboard import Score

TASK_ORDER = ("download", "create_baselines", "evaluate", "plot")


@dataclass(frozen=True)
class Ref:
    """An object imported on first use: 'package.module:attribute'."""
    target: str

    def __post_init__(self):
        module, sep, name = self.target.partition(":")
        if not (module and sep and name):
            raise ValueError(f"a Ref is 'package.module:attribute', got {self.target!r}")

    def load(self) -> Any:
        module, _, name = self.target.partition(":")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            spec = importlib.util.find_spec(module.split(".")[0])
            where = f" (found at {list(spec.submodule_search_locations or [spec.origin])[0]})" if spec else ""
            raise DataPerfError(f"cannot load {self.target}{where}: {type(exc).__name__}: {exc}; a folder of the "
                                "same name in the current folder can hide an installed package") from None


@dataclass(frozen=True)
class Source:
    """An official download: where it lives and the sha256 an organiser pinned ('' until pinned; 'any' accepts
    whatever arrives and prints its digest).  `size` (bytes), when known, caps the download."""
    url: str
    sha256: str = ""
    size: int | None = None

    def as_dict(self) -> dict:
        return {"url": self.url, "sha256": self.sha256}


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Cube:
    """What common/ asks of a challenge.

    name        the package, the sub-command and the `dataperf run NAME` argument
    title       one line for people
    score       the official score: name, label, direction, range
    tasks       task name -> Ref of the task function (its parameters: the task's paths in mlcube.yaml)
    config      Ref of the parameter schema (a common.parameters.schema.Schema)
    evaluation  Ref of the cube's Evaluation class (common.tasks.evaluation): how submissions are found,
                checked and scored; the evaluate task, the round server and the closed division all use it
    closed_view Ref of f(params, data_folder) -> (files, keys): what a closed-division container may see, as
                (name inside the view's data folder, source file) pairs, and the parameter keys it may read
    sources     official downloads, by name (the cube's config offers them as parameter defaults)
    demo        parameter overrides for `dataperf demo` (value as typed on the command line)
    croissant   Ref of f(params, data_folder) -> common.data.croissant.Dataset, the metadata a download writes
    """
    name: str
    title: str
    score: Score
    tasks: Mapping[str, Ref]
    config: Ref
    evaluation: Ref
    closed_view: Ref
    sources: Mapping[str, Source] = field(default_factory=dict)
    demo: Mapping[str, str] = field(default_factory=dict)
    croissant: Ref | None = None

    def __post_init__(self):
        if set(self.tasks) != set(TASK_ORDER):
            raise ValueError(f"cube {self.name}: tasks must be exactly {', '.join(TASK_ORDER)}")
        object.__setattr__(self, "tasks", _frozen({t: self.tasks[t] for t in TASK_ORDER}))
        object.__setattr__(self, "sources", _frozen(self.sources))
        object.__setattr__(self, "demo", _frozen(self.demo))

    @property
    def folder(self) -> Path:
        """The cube's folder: mlcube.yaml, Dockerfile, workspace/."""
        spec = importlib.util.find_spec(self.name)
        return Path(spec.origin).resolve().parent

    @property
    def schema(self):
        return self.config.load()

    def task(self, name: str):
        """The task function, importing its module now; its messages name files relative to its parameters
        (`submission_folder: m/0.txt`), the same locally and in Docker, and say where those folders are."""
        return named_task(self.tasks[name].load(), self.name, self.path_defaults())

    def path_defaults(self) -> dict[str, str]:
        """Each task parameter's default path in mlcube.yaml (relative to the workspace)."""
        from common.untrusted.documents import read_yaml
        try:
            tasks = read_yaml(self.folder / "mlcube.yaml").get("tasks", {})
        except DataPerfError:
            return {}
        defaults = {}
        for task in tasks.values():
            for direction in ("inputs", "outputs"):
                for parameter, value in (((task or {}).get("parameters") or {}).get(direction) or {}).items():
                    defaults.setdefault(parameter, value.get("default") if isinstance(value, dict) else value)
        return defaults

