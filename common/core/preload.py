"""A module imported on a thread while the caller goes on (reading the hidden data): on two cores the import of the
scientific libraries (scikit-learn: about 1 s) and the reading overlap instead of adding up."""
from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType


class Preload:
    """`Preload(name)` starts importing module `name` on a thread (nothing when it is imported already);
    `.module()` waits for it and returns the module; an import that failed fails again there, in the caller's thread.
    Call `.module()` before starting worker processes: a fork while the thread imports would copy its import locks."""

    def __init__(self, name: str):
        self.name = name
        self.thread = None
        if name not in sys.modules:
            self.thread = threading.Thread(target=self._import, name=f"import {name}", daemon=True)
            self.thread.start()

    def _import(self) -> None:
        try:
            importlib.import_module(self.name)
        except BaseException:   # noqa: BLE001 (module() imports again in the caller's thread, which raises it)
            pass

    def module(self) -> ModuleType:
        if self.thread is not None:
            self.thread.join()
        return importlib.import_module(self.name)
