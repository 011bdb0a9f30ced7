"""Participants' algorithms, named in parameters.yaml as 'package.module:ClassName'."""
from __future__ import annotations

import importlib
import re
from abc import ABC
from pathlib import Path

from common.core.errors import DataPerfError, ValidationError, raise_all
from common.core.io import ARCHIVE_DIR
from common.untrusted.files import excerpt, folder_entries

METHOD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")   # it names result files: at most 100


class Method(ABC):
    """Base of every cube's participant algorithm: a name, a seed from the parameters, free options."""
    name: str = "method"

    def __init__(self, seed: int = 0, **options):
        self.seed = seed
        self.options = options


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
        raise _bad_method_name(method, where)


def _bad_method_name(method: str, where) -> ValidationError:
    return ValidationError(where, f"method name {excerpt(method)}",
                           "must start with a letter or digit and use only letters, digits, '_', '.', '-'")


def not_a_file(path: Path) -> ValidationError:
    """The error for a link, FIFO or device where a submission file or method folder is expected."""
    rule = "is a symbolic link: supply the file or folder itself" if path.is_symlink() else "must be a regular file"
    return ValidationError(path, None, rule)


def method_folders(folder, suffixes: tuple[str, ...], loose_method: str = "submission",
                   check_names: bool = True) -> tuple[list[tuple[str, Path, list[Path]]],
                                                      list[tuple[str | None, ValidationError]]]:
    """(method, folder, files) for each place holding submission files, and the errors found: files directly in
    `folder` belong to `loose_method`, each subfolder (not hidden, not the archive of earlier results) is one
    method; a method whose name cannot be a file name is an error, not a group (unless check_names is off).
    Nothing is followed: a linked method folder is an error, and a link (or FIFO) named like a submission file
    is listed like one, so that reading it (read_supplied) refuses it with the file named."""
    folder = Path(folder)
    if not folder.is_dir():     # the folder itself is the operator's choice (a mount, a link); below it, no link
        raise ValidationError(folder, None, "submission folder not found")
    top_files, top_folders, top_others = folder_entries(folder)
    places = [(loose_method, folder, top_files + [p for p in top_others if p.suffix in suffixes])]
    for place in top_folders:
        if not place.name.startswith(".") and place.name != ARCHIVE_DIR:
            files, _, others = folder_entries(place)
            places.append((place.name, place, sorted(files + others)))
    errors = [(p.name, not_a_file(p)) for p in top_others if not p.name.startswith(".") and p.suffix not in suffixes]
    groups = []
    for method, place, files in places:
        files = [p for p in files if p.suffix in suffixes and not p.name.startswith(".")]
        if not files:
            continue
        if check_names and not METHOD_NAME.match(method):
            errors.append((method, _bad_method_name(method, place)))
            continue
        groups.append((method, place, sorted(files)))
    return groups, errors


def settle(found: list, errors: list[tuple[str | None, ValidationError]], problems: list | None) -> list:
    """What a cube's find_submissions returns: with `problems` (the evaluate frame's list), each method's problems
    are handed over, to refuse that method only, and its files left out; without, every problem is raised."""
    if problems is None:
        raise_all([error for _, error in errors])
        return found
    problems.extend(errors)
    bad = {method for method, _ in errors}
    return [s for s in found if s.method not in bad]


def listed_methods(params, make) -> tuple[list[str], list[Method]]:
    """The specs in baselines.methods and one instance of each, made up front so that a bad name or import
    fails before any work; names must be distinct because they name the submission folders."""
    specs = params.get("baselines.methods")
    if not specs:
        raise params.fail("baselines.methods", "list at least one method")
    methods = [make(spec, params) for spec in specs]
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise params.fail("baselines.methods", f"method names must be distinct, got {names}")
    return specs, methods
