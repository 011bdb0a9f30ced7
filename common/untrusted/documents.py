"""Reading whole documents from a workspace or a data folder: JSON, YAML and a file's sha256, through open_supplied.

These are the suite's own files (summary.json, id lists, mlcube.yaml, downloads) as they lie in a folder anyone
may have touched: nothing is followed, only regular files are read, at most `limit` bytes, and a message names
the file, the line and the rule, never the text (a YAML or JSON error's own message quotes the document).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from common.core.errors import ValidationError
from common.untrusted.files import open_supplied, read_supplied

DOCUMENT_LIMIT = 256 << 20        # a summary of the largest run is a few MB; an id list of 40k clips 2 MB
HASH_LIMIT = 1 << 40


def read_json(path: str | Path, limit: int = DOCUMENT_LIMIT, root: str | Path | None = None) -> Any:
    path = Path(path)
    data = read_supplied(path, limit, root, single_link=False)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValidationError(path, f"byte {exc.start}", "must be UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(path, f"line {exc.lineno}", f"not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise ValidationError(path, None, "not valid JSON (nested too deeply)") from None
    except ValueError:      # an integer of more digits than Python converts
        raise ValidationError(path, None, "not valid JSON (a number too long to read)") from None


def parse_yaml(data: bytes, path: Path) -> Any:
    """safe_load's reading of a document: libyaml's parser when PyYAML has it (about 10x faster on the 40k-id
    lists of speech), and the pure-Python one where libyaml refuses what safe_load reads (escaped surrogate
    pairs, as JSON writers emit them for characters beyond the BMP)."""
    import yaml
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(path, f"byte {exc.start}", "must be UTF-8 text") from None
    fast = getattr(yaml, "CSafeLoader", None)
    try:
        if fast is not None:
            try:
                return yaml.load(text, Loader=fast)
            except yaml.YAMLError:
                pass     # read it as safe_load does: it may accept what libyaml does not
        return yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise ValidationError(path, where, f"not valid YAML ({getattr(exc, 'problem', None) or 'unreadable'})") \
            from None
    except (RecursionError, ValueError, OverflowError) as exc:    # deep nesting, a 30 February, a huge number
        raise ValidationError(path, None, f"not valid YAML ({type(exc).__name__})") from None


def read_yaml(path: str | Path, limit: int = DOCUMENT_LIMIT, root: str | Path | None = None) -> Any:
    path = Path(path)
    return parse_yaml(read_supplied(path, limit, root, single_link=False), path)


def sha256_file(path: str | Path, limit: int = HASH_LIMIT) -> str:
    """The sha256 of a regular file (nothing followed, no FIFO waited on)."""
    digest = hashlib.sha256()
    with open_supplied(path, limit, single_link=False) as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
