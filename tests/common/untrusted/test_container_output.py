"""Copying a container's output out of its tar stream: regular files and folders only, names checked, limits
before writing; and the tail of its log, bounded and escaped."""
from __future__ import annotations

import io
import tarfile

import pytest

from common.core.errors import ValidationError
from common.untrusted.container_output import OutputLimits, OutputTooLarge, extract_output, last_line, log_tail

LIMITS = OutputLimits(bytes=10_000, entries=20)


def archive(members: list[tuple[str, bytes | str | None, str]]) -> bytes:
    """A tar stream of (name, content, type) members; type is one of reg, dir, sym, lnk, fifo, chr."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "reg":
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "lnk": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}[kind]
            if kind in ("sym", "lnk"):
                info.linkname = content
            tar.addfile(info)
    return buffer.getvalue()


def chunks(data: bytes, size: int = 100):
    return (data[i:i + size] for i in range(0, len(data), size))


def test_regular_files_and_folders_are_copied(tmp_path):
    data = archive([("output", None, "dir"), ("output/m", None, "dir"), ("output/m/0.txt", b"1,2,3\n", "reg"),
                    ("output/01g317_m.txt", b"0\n1\n", "reg"), ("output/.hidden", b"", "reg")])
    got = extract_output(chunks(data), tmp_path / "out", LIMITS)
    assert (got.files, got.folders, got.bytes) == (3, 1, 10)
    assert (tmp_path / "out" / "m" / "0.txt").read_bytes() == b"1,2,3\n"
    assert (tmp_path / "out" / "01g317_m.txt").read_bytes() == b"0\n1\n"
    assert oct((tmp_path / "out" / "m" / "0.txt").stat().st_mode & 0o777) == "0o644"


@pytest.mark.parametrize("member, rule", [
    (("output/sub.txt", "/dataperf/view/embedding_folder/x_test_500.parquet", "sym"), "symbolic link"),
    (("output/passwd.txt", "/etc/passwd", "sym"), "symbolic link"),
    (("output/b.txt", "output/a.txt", "lnk"), "hard link"),
    (("output/pipe", None, "fifo"), "FIFO"),
    (("output/dev", None, "chr"), "device file"),
])
def test_links_and_special_files_refuse_the_output(tmp_path, member, rule):
    data = archive([("output", None, "dir"), ("output/a.txt", b"1\n", "reg"), member])
    with pytest.raises(ValidationError, match=rule) as caught:
        extract_output(chunks(data), tmp_path / "out", LIMITS)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists(), "a refused output leaves nothing behind"


@pytest.mark.parametrize("name", ["/etc/cron.d/x", "output/../../escape.txt", "elsewhere/a.txt", "output/a b.txt",
                                  "output/a\nb.txt", "output/" + "x" * 129, "output/" + "/".join("d" * 9) + "/f"])
def test_names_outside_the_folder_or_of_odd_characters_are_refused(tmp_path, name):
    data = archive([("output", None, "dir"), (name, b"x", "reg")])
    with pytest.raises(ValidationError) as caught:
        extract_output(chunks(data), tmp_path / "out", LIMITS)
    assert "\n" not in str(caught.value) and "container output" in str(caught.value)
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out").exists()


def test_an_entry_twice_or_before_its_folder_is_refused(tmp_path):
    twice = archive([("output", None, "dir"), ("output/a.txt", b"1", "reg"), ("output/a.txt", b"2", "reg")])
    with pytest.raises(ValidationError, match="twice"):
        extract_output(chunks(twice), tmp_path / "one", LIMITS)
    orphan = archive([("output", None, "dir"), ("output/m/a.txt", b"1", "reg")])
    with pytest.raises(ValidationError, match="before its folder"):
        extract_output(chunks(orphan), tmp_path / "two", LIMITS)


def test_limits_are_checked_before_writing(tmp_path):
    many = archive([("output", None, "dir")] + [(f"output/{i}.txt", b"", "reg") for i in range(21)])
    with pytest.raises(OutputTooLarge, match="more than 20 files and folders"):
        extract_output(chunks(many), tmp_path / "many", LIMITS)
    big = archive([("output", None, "dir"), ("output/a.txt", b"x" * 6000, "reg"), ("output/b.txt", b"y" * 6000, "reg")])
    with pytest.raises(OutputTooLarge, match="over 10,000 bytes"):
        extract_output(chunks(big), tmp_path / "big", LIMITS)
    assert not (tmp_path / "many").exists() and not (tmp_path / "big").exists()


def test_the_stream_is_capped_whatever_the_headers_say(tmp_path):
    """Headers cost bytes too (a 5 MB pax header here): the stream is cut off once it is longer than any output
    within the limits could make, while it is being read."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("output")
        info.type = tarfile.DIRTYPE
        info.pax_headers = {"comment": "x" * 5_000_000}
        tar.addfile(info)
    served = []

    def stream():
        for chunk in chunks(buffer.getvalue(), 65536):
            served.append(len(chunk))
            yield chunk

    with pytest.raises(OutputTooLarge, match="archive of the output is over"):
        extract_output(stream(), tmp_path / "out", OutputLimits(bytes=1000, entries=2))
    assert sum(served) < 2_000_000, "reading stopped near the cap, not at the end of the stream"


def test_a_file_over_the_limit_is_refused_from_its_header(tmp_path):
    data = archive([("output", None, "dir"), ("output/huge.txt", b"z" * 20_000, "reg")])
    with pytest.raises(OutputTooLarge, match="over 10,000 bytes"):
        extract_output(chunks(data[:2048]), tmp_path / "out", LIMITS)


@pytest.mark.parametrize("data", [b"", b"not a tar stream at all" * 100])
def test_garbage_is_not_an_archive(tmp_path, data):
    with pytest.raises(ValidationError, match="not a readable archive|outside the output"):
        extract_output(chunks(data), tmp_path / "out", LIMITS)


def test_a_truncated_archive_is_refused(tmp_path):
    data = archive([("output", None, "dir"), ("output/a.txt", b"x" * 3000, "reg")])
    with pytest.raises(ValidationError):
        extract_output(chunks(data[:1500]), tmp_path / "out", LIMITS)
    assert not (tmp_path / "out").exists()


def test_log_tail_is_bounded_and_escaped():
    raw = b"start\n" + b"x" * 5000 + b"\nTraceback (most recent call last):\n\x1b[2J\rRuntimeError: boom \xff\n"
    tail = log_tail(raw, 60)
    assert len(tail) == 60
    assert "\x1b" not in tail and "\r" not in tail and "\\x1b" in tail and "\\r" in tail
    assert tail.endswith("RuntimeError: boom \ufffd\n")
    assert last_line(tail) == "\\x1b[2J\\rRuntimeError: boom \ufffd"
    assert log_tail(raw, 0) == "" and last_line("") == ""
    assert len(last_line("y" * 500, width=50)) == 51


class Source:
    """A stream with close(), like the engine's archive: counts what was read after the first refusal."""

    def __init__(self, data: bytes, endless: bool = False):
        self.data, self.endless, self.closed, self.chunks = data, endless, False, 0

    def __iter__(self):
        yield from chunks(self.data)
        while self.endless and not self.closed:
            self.chunks += 1
            yield bytes(512)

    def close(self):
        self.closed = True


@pytest.mark.parametrize("members, error", [
    ([("output", None, "dir"), ("output/a-link", "/etc/passwd", "sym"), ("output/b.bin", b"x" * 5000, "reg")],
     "symbolic link"),
    ([("output", None, "dir"), ("output/big.bin", b"x" * 20_000, "reg")], "over 10,000 bytes"),
])
def test_the_stream_is_closed_at_the_refusal(tmp_path, members, error):
    """Issue 23.2: the source is closed when the copy stops, not left for the sender to fill its buffers."""
    source = Source(archive(members)[:2048], endless=True)
    with pytest.raises(ValidationError, match=error):
        extract_output(source, tmp_path / "out", LIMITS)
    # closed at once: at most tarfile's read-ahead (a few KiB) taken past the refused entry
    assert source.closed and source.chunks * 512 <= 32 << 10 and not (tmp_path / "out").exists()


def test_the_stream_is_closed_after_a_complete_copy(tmp_path):
    source = Source(archive([("output", None, "dir"), ("output/0.txt", b"1\n", "reg")]))
    assert extract_output(source, tmp_path / "out", LIMITS).files == 1 and source.closed
