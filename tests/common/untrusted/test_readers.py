"""Every file a participant, a download or a workspace supplies is opened through common.untrusted.files
(open_supplied / read_supplied): this test reads the product code and fails on any other way of reading a path.

What counts as reading a path: builtin open() for reading, Path.read_text / read_bytes, and the libraries' file
readers (pyarrow, pandas, numpy, PyYAML, json) given a path rather than an open handle or bytes.  Writing is not
reading (a write goes through common.core.io.write_bytes_atomic, tested elsewhere)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from common.cubes import registry

ROOT = Path(__file__).resolve().parents[3]
READERS = {("pq", "read_table"), ("pq", "ParquetFile"), ("pq", "read_schema"), ("pq", "read_metadata"),
           ("ds", "dataset"), ("pd", "read_csv"), ("pd", "read_parquet"), ("pd", "read_json"),
           ("pa_csv", "read_csv"), ("pcsv", "read_csv"), ("pcsv", "open_csv"), ("np", "load"), ("np", "loadtxt"),
           ("np", "genfromtxt"), ("yaml", "safe_load"), ("yaml", "load"), ("json", "load"), ("tarfile", "open"),
           ("zipfile", "ZipFile"), ("csv", "reader"), ("csv", "DictReader")}
# What may read a path directly, and why.
ALLOWED = {
    ("common/untrusted/files.py", "os.open"): "the mechanism itself",
    ("common/compute/dask_cluster.py", "read_bytes"): "hashes the suite's own installed source",
    ("common/core/io.py", "os.open"): "compares an output file it is about to replace: the same rules "
                                      "(O_NOFOLLOW, O_NONBLOCK, fstat, bounded), below the untrusted layer",
    ("common/results/publish.py", "os.open"): "fsync of a file this task wrote (O_NOFOLLOW, O_NONBLOCK)",
    ("common/core/errors.py", "read_text"): "the kernel's mount table (/proc/self/mountinfo), to name host paths",
    ("common/closed/leftovers.py", "read_text"): "the kernel's own files under /proc (boot id, a process's start)",
    ("common/round/storage.py", "os.open"): "fsync of a file or folder of the round's store, which the server "
                                            "has just written (O_NOFOLLOW)",
    ("common/round/client.py", "open"): "the participant's client sending the participant's own files",
}


def _product_files() -> list[Path]:
    tops = ["common", *registry.names()]
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py")
                  if "closed_template" not in p.parts and "__pycache__" not in p.parts)


def _opens_for_reading(call: ast.Call) -> bool:
    mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
    if mode is None:
        return True
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and not set(mode.value) & set("wax")


def _looks_like_a_path(node: ast.AST) -> bool:
    """An argument that is a path, not a handle, bytes or text: a name or attribute saying path/file/folder, a
    `/` join, Path(...) or str(...) of one."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Path", "str"):
        return True
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return any(word in name.lower() for word in ("path", "file", "folder", "archive", "pool", "source")) \
        and "handle" not in name.lower() and "stream" not in name.lower()


def violations(path: Path) -> list[str]:
    relative = str(path.relative_to(ROOT))
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        where = f"{relative}:{node.lineno}"
        if isinstance(func, ast.Name) and func.id == "open" and _opens_for_reading(node) \
                and (relative, "open") not in ALLOWED:
            found.append(f"{where}: open() for reading")
        elif isinstance(func, ast.Attribute) and func.attr in ("read_text", "read_bytes") \
                and (relative, func.attr) not in ALLOWED:
            found.append(f"{where}: .{func.attr}()")
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and (func.value.id, func.attr) in READERS and node.args and _looks_like_a_path(node.args[0]):
            found.append(f"{where}: {func.value.id}.{func.attr}() of a path")
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "os" \
                and func.attr == "open" and (relative, "os.open") not in ALLOWED and _opens_for_reading_flags(node):
            found.append(f"{where}: os.open() for reading")
    return found


def _opens_for_reading_flags(call: ast.Call) -> bool:
    """os.open with flags that write (O_WRONLY, O_RDWR, O_CREAT) is a write; O_DIRECTORY opens a folder."""
    text = ast.unparse(call.args[1]) if len(call.args) > 1 else ""
    return not any(flag in text for flag in ("O_WRONLY", "O_RDWR", "O_CREAT", "O_DIRECTORY"))


@pytest.mark.parametrize("path", _product_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_files_are_read_only_through_open_supplied(path):
    assert violations(path) == []


def test_the_scan_finds_what_it_is_meant_to_find(tmp_path):
    """The scan itself can fail: each way of reading a path in a sample module is reported."""
    sample = ROOT / "common" / "_scan_sample.py"
    sample.write_text("import json, yaml\nimport pyarrow.parquet as pq\nfrom pathlib import Path\n"
                      "def f(path, folder):\n    open(path)\n    Path(path).read_text()\n"
                      "    pq.read_table(folder / 'x.parquet')\n    yaml.safe_load(open(path, 'rb'))\n"
                      "    json.load(path)\n    open(path, 'w')\n    yaml.safe_load(text)\n")
    try:
        found = violations(sample)
    finally:
        sample.unlink()
    assert len(found) == 5, found    # open twice, read_text, pq.read_table and json.load of a path
