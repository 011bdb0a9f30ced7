"""Safe extraction (common.untrusted.archives): type by content, no link or special member, names that stay
inside, limits checked before writing, damaged archives as one clear error, staging moved into place."""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
import time
import zipfile

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.core.errors import DataPerfError, ValidationError
from common.cubes import registry
from common.tasks.local import task_arguments
from common.untrusted import archives
from common.untrusted.archives import Limits, extract_archive, find_folder_with

from support.archives import link_chain_tar, symlink, tar_bytes, write, zip_bomb, zip_bytes


def _extract(tmp_path, name, data, **kwargs):
    return extract_archive(write(tmp_path / name, data), tmp_path / f"out-{name}", **kwargs)


def _refused(tmp_path, name, data, **kwargs) -> str:
    with pytest.raises(DataPerfError) as info:
        _extract(tmp_path, name, data, **kwargs)
    message = str(info.value)
    assert "\n" not in message and name in message
    assert not (tmp_path / f"out-{name}").exists()                           # target untouched
    assert not [p for p in tmp_path.iterdir() if ".extracting-" in p.name]   # staging removed
    return message


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# --------------------------------------------------------------- what is extracted

def test_zip_with_nested_layout_and_non_ascii_names(tmp_path):
    out = _extract(tmp_path, "a.zip", zip_bytes({"top/embeddings/x.parquet": b"1", "top/data/y.csv": b"2",
                                                "top/ünï.txt": b"3", "top/empty/": b""}))
    assert (out / "top" / "ünï.txt").read_bytes() == b"3" and (out / "top" / "empty").is_dir()
    assert find_folder_with(out, ["embeddings", "data"]) == out / "top"
    assert not [p for p in tmp_path.iterdir() if ".extracting-" in p.name]


def test_zip_utf8_names_without_the_utf8_flag(tmp_path):
    raw = "dataperf_pt_data/train_embeddings/então.parquet"
    data = bytearray(zip_bytes({raw: b"x"}))
    # Clear the UTF-8 flag in the local and central headers, as many zip tools leave it.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + offset
        data[at + 1] &= ~0x08  # bit 11 of the little-endian flags is bit 3 of the second byte
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        assert not archive.infolist()[0].flag_bits & 0x800
    assert (_extract(tmp_path, "a.zip", bytes(data)) / raw).read_bytes() == b"x"


@pytest.mark.parametrize("compression", ["", "gz", "bz2", "xz"])
def test_the_type_comes_from_the_content_not_the_name(tmp_path, compression):
    # a tar of any compression served under a .zip name is read as the tar it is
    out = _extract(tmp_path, "data.zip", tar_bytes([("d/f.txt", b"tar"), ("./d/g.txt", b"g")], compression))
    assert _tree(out) == ["d", "d/f.txt", "d/g.txt"] and (out / "d" / "f.txt").read_bytes() == b"tar"


def test_a_zip_served_as_tgz_is_a_zip_and_anything_else_is_refused(tmp_path):
    assert (_extract(tmp_path, "data.tar.gz", zip_bytes({"f.txt": b"zip"})) / "f.txt").read_bytes() == b"zip"
    assert "not a zip or tar archive (judged by its content" in _refused(tmp_path, "x.zip", b"<html>not found</html>")
    import gzip
    assert "gz-compressed file that is not a tar archive" in _refused(tmp_path, "y.tgz", gzip.compress(b"x" * 600))


def test_the_target_must_be_new_or_empty(tmp_path):
    (tmp_path / "out-a.zip").mkdir()
    assert _tree(_extract(tmp_path, "a.zip", zip_bytes({"f": b"1"}))) == ["f"]     # empty folder: replaced
    with pytest.raises(DataPerfError, match="exists and is not an empty folder"):
        extract_archive(tmp_path / "a.zip", tmp_path / "out-a.zip")


# --------------------------------------------------------------- nothing reaches outside

def test_the_issue_link_chain_cannot_write_outside(tmp_path):
    """`l0 -> .`, `l0/l1 -> ..`, ... each stays inside on its own; followed, l0/l1/l2/l3 is two folders above the
    target.  Every link is refused, so nothing is written and no link is left behind."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    archive = write(work / "data.zip", link_chain_tar(depth=4))
    with pytest.raises(ValidationError, match="member 'l0': links are not allowed"):
        extract_archive(archive, work / "out")
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not [p for p in tmp_path.rglob("*") if p.is_symlink()]


@pytest.mark.parametrize("member, rule", [
    (symlink("d/alias", "file.txt"), "links are not allowed"),        # even a link that stays inside
    (symlink("up", "../../etc"), "links are not allowed"),
    (tarfile.TarInfo("hard"), "links are not allowed"),
    (tarfile.TarInfo("fifo"), "special members"),
    (tarfile.TarInfo("dev"), "special members"),
    (tarfile.TarInfo("sparse"), "special members"),
])
def test_links_and_special_members_are_refused(tmp_path, member, rule):
    member.type, member.linkname = {"hard": (tarfile.LNKTYPE, "d/file.txt"), "fifo": (tarfile.FIFOTYPE, ""),
                                    "dev": (tarfile.CHRTYPE, ""), "sparse": (tarfile.GNUTYPE_SPARSE, "")}.get(
        member.name, (member.type, member.linkname))
    assert rule in _refused(tmp_path, "a.tgz", tar_bytes([("d/file.txt", b"ok"), member]))


def test_zip_symlinks_and_special_files_are_refused(tmp_path):
    for mode, rule in ((0o120777, "links are not allowed"), (0o010644, "special files")):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            info = zipfile.ZipInfo("member")
            info.create_system, info.external_attr = 3, mode << 16
            archive.writestr(info, "/etc/passwd")
        assert rule in _refused(tmp_path, "l.zip", buffer.getvalue())


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "a/../../evil.txt", "a/../b.txt",
                                  "C:/evil.txt", "a\\..\\..\\evil.txt"])
@pytest.mark.parametrize("kind", ["zip", "tgz"])
def test_names_must_stay_inside(tmp_path, name, kind):
    data = zip_bytes({name: b"x"}) if kind == "zip" else tar_bytes([(name, b"x")])
    assert "archive paths must stay inside the target folder" in _refused(tmp_path, f"a.{kind}", data)
    assert not list(tmp_path.parent.rglob("evil.txt"))


@pytest.mark.parametrize("members, rule", [
    ({"a": b"1", "a/b": b"2"}, "member 'a/b': a file and a folder of the same name ('a')"),
    ({"a/b": b"1", "a": b"2"}, "member 'a': a file and a folder of the same name"),
    ({"a/": b"", "a": b"2"}, "member 'a': a file and a folder of the same name"),
    ({"a.txt": b"1", "./a.txt": b"2"}, "member './a.txt': appears twice"),
])
def test_a_file_and_a_folder_of_the_same_name_and_repeats(tmp_path, members, rule):
    assert rule in _refused(tmp_path, "a.zip", zip_bytes(members))
    tar_members = [(n, d) for n, d in members.items() if not n.endswith("/")]
    if len(tar_members) == len(members):
        assert rule in _refused(tmp_path, "a.tgz", tar_bytes(tar_members))


# --------------------------------------------------------------- limits, before writing

def test_a_2_gib_zip_bomb_is_refused_at_once_without_expanding_it(tmp_path):
    started = time.perf_counter()
    message = _refused(tmp_path, "bomb.zip", zip_bomb())
    assert time.perf_counter() - started < 5     # building (2 MB) and refusing; expanding would take far longer
    assert "member 'bomb.bin': expands to more than 200 times its 2.0 MiB" in message
    assert "refused before writing" in message


def test_the_bomb_is_genuine(tmp_path):
    """The bomb really expands to its size (checked on a 64 MiB one, with its true CRC), so the test above
    refuses a real bomb, not a broken file."""
    import zlib
    size = 64 << 20
    crc = zlib.crc32(bytes(size))
    with zipfile.ZipFile(io.BytesIO(zip_bomb(size=size, crc=crc))) as archive, archive.open("bomb.bin") as member:
        total = 0
        while chunk := member.read(1 << 22):
            total += len(chunk)
    assert total == size


def test_limits_on_members_total_size_and_ratio(tmp_path):
    many = zip_bytes({f"{i}.txt": b"" for i in range(11)})
    assert "11 members, more than 10" in _refused(tmp_path, "m.zip", many, limits=Limits(members=10))
    assert "more than 10 members" in _refused(tmp_path, "m.tgz", tar_bytes([(f"{i}", b"") for i in range(11)]),
                                              limits=Limits(members=10))
    big = zip_bytes({"a": b"x" * 600, "b": b"y" * 600})
    assert "member 'b': expands to more than 1,000 bytes (the limit on the total size)" in \
        _refused(tmp_path, "t.zip", big, limits=Limits(total_bytes=1000))
    zeros = tar_bytes([("z", bytes(4 << 20))])
    assert "the limit on the compression ratio" in _refused(tmp_path, "z.tgz", zeros,
                                                            limits=Limits(ratio=100, ratio_floor=1))
    assert _tree(_extract(tmp_path, "ok.tgz", zeros, limits=Limits(ratio=100))) == ["z"]   # under the 1 MiB floor


def test_bytes_are_counted_while_writing_a_header_cannot_lie(tmp_path):
    """A zip whose headers declare 1,000 bytes over 64 MiB of data: never more than 1,000 bytes are taken (and
    here the CRC of the first 1,000 does not match); a reader that yields more than declared is refused."""
    assert "damaged or truncated archive" in _refused(tmp_path, "lie.zip", zip_bomb(size=64 << 20, crc=0,
                                                                                    declared=1000))
    staging = tmp_path / "staging"
    staging.mkdir()
    plan = archives._Plan(write(tmp_path / "x.zip", b"PK\x03\x04" + bytes(100)), staging, Limits())
    pieces = iter([b"x" * 600, b"x" * 600, b""])
    with pytest.raises(ValidationError, match="holds more than the 1,000 bytes its header declares"):
        plan.write("f", "f", lambda n: next(pieces), 1000)
    short = iter([b"x" * 10, b""])
    with pytest.raises(ValidationError, match="damaged: holds 10 bytes, its header declares 1,000"):
        plan.write("g", "g", lambda n: next(short), 1000)


def test_a_huge_tar_long_name_header_is_refused_not_allocated(tmp_path):
    data = tar_bytes([("x" * (2 << 20), b"1")], "gz")    # a GNU long name of 2 MiB
    assert "a tar extension header (long name or pax) over 1.0 MiB" in _refused(tmp_path, "long.tgz", data)


# --------------------------------------------------------------- damaged archives: one line each

def test_bad_crc_truncated_tgz_and_truncated_zip(tmp_path):
    data = bytearray(zip_bytes({"a.txt": b"hello world" * 100}))
    data[data.index(b"PK\x01\x02") - 3] ^= 0xFF                            # a byte of the compressed data
    assert "member 'a.txt': damaged or truncated archive (\"Bad CRC-32 for file 'a.txt'\")" in \
        _refused(tmp_path, "crc.zip", bytes(data))
    tgz = tar_bytes([("a.bin", os.urandom(200_000))])
    message = _refused(tmp_path, "cut.tgz", tgz[: len(tgz) // 2])
    assert "member 'a.bin': damaged or truncated archive" in message
    assert "damaged or truncated archive" in _refused(tmp_path, "cut.zip", zip_bytes({"a": b"1" * 100})[:60])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_any_bytes_extract_or_fail_cleanly(tmp_path_factory, data):
    """Random bytes, and valid archives with random bytes overwritten or cut: extracted, or a DataPerfError."""
    seeds = [zip_bytes({"d/a.txt": b"alpha" * 50, "b.txt": b"beta"}),
             tar_bytes([("d/a.txt", b"alpha" * 50), ("b.txt", b"beta")], "gz"),
             tar_bytes([("d/a.txt", b"alpha" * 50)], ""), tar_bytes([("a", b"1")], "xz")]
    base = bytearray(data.draw(st.sampled_from(seeds + [b""])))
    for _ in range(data.draw(st.integers(0, 4))):
        if base:
            base[data.draw(st.integers(0, len(base) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(base)))
    payload = bytes(base[:cut]) + data.draw(st.binary(max_size=64))
    folder = tmp_path_factory.mktemp("fuzz")
    try:
        extract_archive(write(folder / "a.zip", payload), folder / "out", limits=Limits(total_bytes=1 << 20))
    except DataPerfError as exc:
        assert "\n" not in str(exc)
    assert not [p for p in folder.rglob("*") if p.is_symlink() or ".extracting-" in p.name]


# --------------------------------------------------------------- every cube's official download

def _official(cube: str, url: str, sha256: str) -> dict:
    source = {"url": url, "sha256": sha256}
    return {"vision_debugging": {"source": "official", "official": source},
            "speech_selection": {"source": "official", "languages": ["en"], "official": {"en": source}},
            "vision_selection": {"source": "official", "official": {"resources": source}},
            "data_acquisition": {"source": "official", "official": {"marketinfo": source}}}[cube]


@pytest.mark.parametrize("cube", registry.names())
def test_every_cube_refuses_the_link_chain_even_with_a_pinned_sha256(cube, tmp_path, http_folder):
    root, url = http_folder
    data = link_chain_tar(depth=6)
    (root / "data.zip").write_bytes(data)                 # a tar served under the .zip name
    workspace = tmp_path / "deep" / "er" / "ws"
    workspace.mkdir(parents=True)
    (workspace / "parameters.yaml").write_text(yaml.safe_dump(
        {"data": _official(cube, f"{url}/data.zip", hashlib.sha256(data).hexdigest())}))
    arguments = task_arguments(cube, "download", workspace, {})
    with pytest.raises(ValidationError) as info:
        registry.get(cube).task("download")(**arguments)
    message = str(info.value)
    # named relative to the task parameter the archive lies under, as in Docker: no absolute path
    assert "member 'l0': links are not allowed in archives" in message and str(tmp_path) not in message
    assert message.split(":")[0] in arguments
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not [p for p in tmp_path.rglob("*") if p.is_symlink() or ".extracting-" in p.name]
