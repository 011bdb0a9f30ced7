"""Opening supplied files (common.untrusted.files): no link, regular files only, size checked before reading,
short escaped excerpts; and the submission-folder scan that never follows a link (common.plugins)."""
from __future__ import annotations

import os
import time

import pytest

from common.core.errors import ValidationError, ValidationErrors
from common.tasks.plugins import method_folders
from common.untrusted.files import excerpt, folder_entries, read_supplied


def _message(function, *args, **kwargs) -> str:
    with pytest.raises((ValidationError, ValidationErrors)) as info:
        function(*args, **kwargs)
    return str(info.value)


@pytest.fixture
def hidden(tmp_path):
    """A file the participant did not supply, and a submission folder beside it."""
    secret = tmp_path / "data" / "dataset_x_train.csv"
    secret.parent.mkdir()
    secret.write_text("ImageID,hv_label\nSECRET-1,0\n")
    (tmp_path / "submissions").mkdir()
    return secret


def test_a_regular_file_is_read(tmp_path):
    (tmp_path / "f.txt").write_bytes(b"0\n1\n")
    assert read_supplied(tmp_path / "f.txt", 4) == b"0\n1\n"
    assert read_supplied(tmp_path / "f.txt", 4, root=tmp_path) == b"0\n1\n"


def test_a_link_to_a_hidden_file_is_refused_and_nothing_of_it_is_shown(tmp_path, hidden):
    link = tmp_path / "submissions" / "x_m.txt"
    link.symlink_to(hidden)
    for root in (None, tmp_path / "submissions"):
        message = _message(read_supplied, link, 1 << 20, root=root)
        assert "is a symbolic link" in message and "SECRET" not in message and "hv_label" not in message


def test_a_link_anywhere_below_the_root_is_refused(tmp_path, hidden):
    (tmp_path / "submissions" / "method").symlink_to(hidden.parent, target_is_directory=True)
    path = tmp_path / "submissions" / "method" / hidden.name
    assert "is a symbolic link (or lies under one)" in _message(read_supplied, path, 1 << 20,
                                                                root=tmp_path / "submissions")


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ", "/dev/zero"])
def test_links_to_system_files_are_refused(tmp_path, target):
    (tmp_path / "f.txt").symlink_to(target)
    message = _message(read_supplied, tmp_path / "f.txt", 1 << 20, root=tmp_path)
    assert "is a symbolic link" in message and "root:" not in message and "PATH=" not in message


def test_only_regular_files(tmp_path):
    os.mkfifo(tmp_path / "fifo.txt")
    started = time.perf_counter()
    assert "must be a regular file" in _message(read_supplied, tmp_path / "fifo.txt", 10)   # does not block
    assert time.perf_counter() - started < 5
    (tmp_path / "folder.txt").mkdir()
    assert "must be a regular file" in _message(read_supplied, tmp_path / "folder.txt", 10)
    assert "file not found" in _message(read_supplied, tmp_path / "none.txt", 10)
    assert "is not inside" in _message(read_supplied, tmp_path / "f.txt", 10, root=tmp_path / "other")


def test_the_size_is_checked_before_reading(tmp_path):
    sparse = tmp_path / "huge.csv"
    with open(sparse, "wb") as handle:
        handle.truncate(200 << 20)              # 200 MB, nothing on disk: refused without reading a byte
    started = time.perf_counter()
    assert "is 209,715,200 bytes, over the limit of 1,048,576" in _message(read_supplied, sparse, 1 << 20)
    assert time.perf_counter() - started < 1
    (tmp_path / "ok.txt").write_bytes(b"x" * 10)
    assert read_supplied(tmp_path / "ok.txt", 10) == b"x" * 10
    assert "over the limit of 9" in _message(read_supplied, tmp_path / "ok.txt", 9)


def test_excerpt_is_short_escaped_and_safe_for_any_value():
    field = "A" * 10_000_000
    assert excerpt(field) == repr("A" * 40) + "…"
    assert excerpt("line\nbreak\x1b[31m") == repr("line\nbreak\x1b[31m")
    assert "\n" not in excerpt("x\n" * 100) and len(excerpt("x\n" * 100)) < 100
    assert excerpt(7) == "7" and excerpt(None) == "None"
    assert excerpt(10 ** 5000) == "<integer of about 5000 digits>"       # repr() itself would raise
    deep = []
    for _ in range(10_000):
        deep = [deep]
    assert len(excerpt(deep)) <= 41 and len(excerpt(list(range(10 ** 6)))) <= 41


def test_folder_entries_do_not_follow_links(tmp_path, hidden):
    (tmp_path / "submissions" / "a.txt").write_text("0")
    (tmp_path / "submissions" / "m").mkdir()
    (tmp_path / "submissions" / "linked").symlink_to(hidden.parent, target_is_directory=True)
    (tmp_path / "submissions" / "l.txt").symlink_to(hidden)
    os.mkfifo(tmp_path / "submissions" / "p.txt")
    files, folders, others = folder_entries(tmp_path / "submissions")
    assert [p.name for p in files] == ["a.txt"] and [p.name for p in folders] == ["m"]
    assert [p.name for p in others] == ["l.txt", "linked", "p.txt"]


def test_method_folders_never_follow_a_link(tmp_path, hidden):
    """A linked method folder is an error; links and FIFOs named like submissions are listed, so that reading
    them (read_supplied) refuses them by name; other links are ignored."""
    folder = tmp_path / "submissions"
    (folder / "good").mkdir()
    (folder / "good" / "0.txt").write_text("1")
    (folder / "evil").symlink_to(hidden.parent, target_is_directory=True)     # a linked method folder
    (folder / "good" / "1.txt").symlink_to(hidden)
    os.mkfifo(folder / "good" / "2.txt")
    (folder / "good" / "notes.md").symlink_to(hidden)
    groups, errors = method_folders(folder, (".txt",))
    assert [(m, [p.name for p in files]) for m, _, files in groups] == [("good", ["0.txt", "1.txt", "2.txt"])]
    assert [(m, str(e)) for m, e in errors] == [("evil", f"{folder / 'evil'}: is a symbolic link: supply the file or folder itself")]
    files = groups[0][2]
    assert "is a symbolic link" in _message(read_supplied, files[1], 100, root=folder)
    assert "must be a regular file" in _message(read_supplied, files[2], 100, root=folder)
