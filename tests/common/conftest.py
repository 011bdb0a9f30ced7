"""Fixtures of the common tests: the tiny suite that the report tests read (built once per session)."""
from __future__ import annotations

import pytest

from support.report import tiny_suite


@pytest.fixture(scope="session")
def suite(tmp_path_factory):
    return tiny_suite(tmp_path_factory.mktemp("suite"))
