"""Loading a cube's parameters.yaml in tests: the parameters, or the one-line error they give."""
from __future__ import annotations

import pytest

from common.core.errors import ValidationError


def load(config, tmp_path, text: str):
    path = tmp_path / "parameters.yaml"
    path.write_text(text)
    return config.load(path)


def load_error(config, tmp_path, text: str) -> str:
    """The message of the ValidationError config.load raises: one line, naming the file first."""
    path = tmp_path / "parameters.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError) as info:
        config.load(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    return message
