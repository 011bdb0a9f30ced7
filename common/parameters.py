"""parameters.yaml: defaults per cube, unknown keys and wrong types rejected with the key named."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable

from . import compute
from .errors import ValidationError
from .io import read_yaml


def _merge(defaults: dict, given: dict, path: Path, prefix: str = "") -> dict:
    merged = copy.deepcopy(defaults)
    for key, value in given.items():
        name = f"{prefix}{key}"
        if key not in defaults:
            known = ", ".join(f"{prefix}{k}" for k in defaults)
            raise ValidationError(path, f"parameter '{name}'", f"unknown parameter (known here: {known})")
        default = defaults[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ValidationError(path, f"parameter '{name}'", "must be a mapping of sub-parameters")
            merged[key] = _merge(default, value, path, f"{name}.")
        else:
            merged[key] = _check_type(value, default, path, name)
    return merged


def _check_type(value: Any, default: Any, path: Path, name: str) -> Any:
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValidationError(path, f"parameter '{name}'", f"must be true or false, got {value!r}")
    elif isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(path, f"parameter '{name}'", f"must be a number, got {value!r}")
        if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
            if not value.is_integer():
                raise ValidationError(path, f"parameter '{name}'", f"must be a whole number, got {value!r}")
            value = int(value)
    elif isinstance(default, str):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValidationError(path, f"parameter '{name}'", f"must be text, got {value!r}")
        value = str(value)
    elif isinstance(default, list):
        if not isinstance(value, list):
            raise ValidationError(path, f"parameter '{name}'", f"must be a list, got {value!r}")
    return value


class Parameters:
    """Typed access to a cube's parameters.yaml merged over the cube's defaults."""

    def __init__(self, values: dict, path: Path):
        self.values = values
        self.path = path

    @classmethod
    def load(cls, path: str | Path, defaults: dict) -> "Parameters":
        path = Path(path)
        given = read_yaml(path) or {}
        if not isinstance(given, dict):
            raise ValidationError(path, None, "must be a YAML mapping of parameter names to values")
        return cls._activated(_merge(defaults, given, path), path)

    @classmethod
    def from_defaults(cls, defaults: dict, overrides: dict | None = None) -> "Parameters":
        path = Path("<defaults>")
        return cls._activated(_merge(defaults, overrides or {}, path), path)

    @classmethod
    def _activated(cls, values: dict, path: Path) -> "Parameters":
        """The parameters just loaded decide where this process's parallel work runs (common/compute.py)."""
        compute.activate(values.get("compute"), path)
        return cls(values, path)

    def get(self, key: str, choices: Iterable | None = None, minimum: float | None = None,
            maximum: float | None = None) -> Any:
        value: Any = self.values
        for part in key.split("."):
            value = value[part]
        if choices is not None and value not in choices:
            raise ValidationError(self.path, f"parameter '{key}'",
                                  f"must be one of {list(choices)}, got {value!r}")
        if minimum is not None and value < minimum:
            raise ValidationError(self.path, f"parameter '{key}'", f"must be >= {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            raise ValidationError(self.path, f"parameter '{key}'", f"must be <= {maximum}, got {value!r}")
        return value

    def fail(self, key: str, rule: str) -> ValidationError:
        return ValidationError(self.path, f"parameter '{key}'", rule)
