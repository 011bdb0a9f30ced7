"""Participants' algorithms, named in parameters.yaml as 'package.module:ClassName'."""
from __future__ import annotations

import importlib
import re

from .errors import DataPerfError, ValidationError

METHOD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def load_class(spec: str, base: type) -> type:
    """'package.module:ClassName' -> the class, which must subclass base."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise DataPerfError(f"method '{spec}': expected a built-in name or 'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DataPerfError(f"method '{spec}': cannot import {module_name} ({exc})") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise DataPerfError(f"method '{spec}': {class_name} is not a subclass of {base.__module__}.{base.__name__}")
    return cls


def check_method_name(method: str, where=None) -> None:
    """Method names end up in file names: letters, digits, '_', '.', '-' only."""
    if not METHOD_NAME.match(method):
        raise ValidationError(where, f"method name '{method}'",
                              "must start with a letter or digit and use only letters, digits, '_', '.', '-'")
