"""Hash-checked downloads (pooch) and archive extraction that cannot write outside its target."""
from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

import pooch

from .errors import DataPerfError, ValidationError
from .io import sha256_file

ANY_HASH = "any"

# Where the official DataPerf data lives.  Upstream publishes no digests: the sha256 stays empty
# until an organiser pins the one they trust (fetch() refuses an empty one, "any" accepts and prints).
OFFICIAL_SOURCES = {
    "vision_debugging": {
        "url": "https://drive.google.com/uc?export=download&id=1_-WZCGd31XTENCtVjP4GqDLYShP3NzwK",
        "sha256": "",
    },
    **{f"speech_selection_{lang}": {
        "url": f"http://dataperf.s3.amazonaws.com/speech-selection/dataperf_{name}_data.zip", "sha256": ""}
       for lang, name in (("en", "eng"), ("id", "ind"), ("pt", "por"))},
    # The resources folder is shared on Google Drive on request (dataperf@coactive.ai); put the URL of the
    # zip you were given here.  The machine labels are the public Open Images V6 file.
    "vision_selection": {"url": "", "sha256": ""},
    "vision_selection_machine_labels": {
        "url": "https://storage.googleapis.com/openimages/v5/train-annotations-machine-imagelabels.csv",
        "sha256": ""},
    "data_acquisition": {
        "url": "https://github.com/lchen001/Data_Acquisition_for_ML_Benchmark/releases/download/v0.0.1/marketinfo.zip",
        "sha256": "",
    },
}


def fetch(url: str, sha256: str, folder: str | Path, filename: str) -> Path:
    """Download url into folder/filename unless a copy with the right hash is already there.

    sha256 is the expected hex digest.  The value "any" accepts whatever arrives and prints
    its digest so it can be pinned; an empty value is refused.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not sha256:
        raise DataPerfError(
            f"no sha256 given for {url}: set it in parameters.yaml, or set it to '{ANY_HASH}' to accept "
            "the file unverified (its digest is then printed so you can pin it)")
    known_hash = None if sha256 == ANY_HASH else f"sha256:{sha256.lower()}"
    logger = pooch.get_logger()
    logger.setLevel("WARNING")
    try:
        path = Path(pooch.retrieve(url, known_hash=known_hash, fname=filename, path=folder, progressbar=False))
    except ValueError as exc:  # pooch's hash mismatch
        raise DataPerfError(f"{url}: download rejected, {exc}") from None
    except Exception as exc:  # network errors come in many types (requests, OSError)
        raise DataPerfError(f"{url}: download failed ({type(exc).__name__}: {exc})") from None
    if known_hash is None:
        print(f"warning: {path.name} was not verified; its sha256 is {sha256_file(path)}")
    return path


def _check_member_name(archive: Path, name: str) -> str:
    normal = posixpath.normpath(name.replace("\\", "/"))
    if normal.startswith("/") or normal == ".." or normal.startswith("../") or ":" in normal.split("/")[0]:
        raise ValidationError(archive, f"member '{name}'", "archive paths must stay inside the target folder")
    return normal


def _zip_member_name(info: zipfile.ZipInfo) -> str:
    """Names without the UTF-8 flag are decoded as cp437 by zipfile; most such archives hold UTF-8
    bytes (zip tools on Linux and macOS), so decode them as UTF-8 when that is valid."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _link_stays_inside(member_path: str, link_target: str) -> bool:
    if link_target.startswith("/"):
        return False
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(member_path), link_target))
    return not (resolved == ".." or resolved.startswith("../"))


def extract_archive(archive: str | Path, target: str | Path) -> Path:
    """Extract a .zip or .tar(.gz/.bz2/.xz) into target after checking every member.

    Refused: absolute paths, '..' escapes, links whose target leaves the folder, hard links
    to outside, device files and FIFOs.
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                name = _check_member_name(archive, _zip_member_name(info))
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise ValidationError(archive, f"member '{info.filename}'", "links are not allowed in zip archives")
                if info.is_dir():
                    (target / name).mkdir(parents=True, exist_ok=True)
                    continue
                destination = target / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(destination, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        return target
    try:
        tf = tarfile.open(archive)
    except tarfile.TarError:
        raise ValidationError(archive, None, "not a zip or tar archive") from None
    with tf:
        members = tf.getmembers()
        for member in members:
            name = _check_member_name(archive, member.name)
            if member.issym() and not _link_stays_inside(name, member.linkname):
                raise ValidationError(archive, f"member '{member.name}'", "symbolic link points outside the target folder")
            if member.islnk():
                _check_member_name(archive, member.linkname)
            if member.isdev() or member.isfifo():
                raise ValidationError(archive, f"member '{member.name}'", "device files and FIFOs are not allowed")
            member.mode = member.mode & 0o755 | (0o700 if member.isdir() else 0o600)
            member.uid = member.gid = os.getuid() if hasattr(os, "getuid") else 0
        for member in members:
            # Each member was checked above; extract one by one without owners or special bits.
            tf.extract(member, target, set_attrs=False, **({"filter": "fully_trusted"} if hasattr(tarfile, "data_filter") else {}))
    return target


def find_folder_with(root: Path, names: list[str]) -> Path | None:
    """The shallowest folder under root that contains every one of names (archives often nest a top folder)."""
    candidates = [root] + sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts))
    for folder in candidates:
        if all((folder / n).exists() for n in names):
            return folder
    return None
