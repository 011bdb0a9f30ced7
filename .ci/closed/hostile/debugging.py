"""Hostile vision_debugging algorithms (the image is built FROM the template image, so its class is here too)."""
from __future__ import annotations

import errno
import json
import os
import time

import numpy as np
from my_appraiser import NeighbourDisagreement

from vision_debugging.algorithm import Appraiser

from . import checks

OUTPUT = checks.OUTPUT


class Honest(Appraiser):
    """Ranks at random once the probe of its subclass passed."""
    name = "probe"
    probe = staticmethod(lambda: [])

    def rank(self, train_x, train_y, val_x, val_y):
        checks.report(type(self).__name__, type(self).probe())
        return np.random.default_rng(self.seed).permutation(len(train_y))


class FindHidden(Honest):
    probe = staticmethod(lambda: checks.find_hidden() + checks.regenerate_vision_debugging())


class WriteOutside(Honest):
    probe = staticmethod(checks.write_outside)


class Escalate(Honest):
    probe = staticmethod(checks.escalate)


class DockerSocket(Honest):
    probe = staticmethod(checks.docker_socket)


class Network(Honest):
    probe = staticmethod(checks.network)


class Seccomp(Honest):
    probe = staticmethod(checks.seccomp)


class ScratchVolume(Honest):
    """Built with `VOLUME /scratch` (volume.Dockerfile): it must be a size-limited tmpfs, not the host's disk."""
    probe = staticmethod(checks.scratch_volume)


class Mountinfo(Honest):
    probe = staticmethod(checks.mountinfo)


class ForkBomb(Appraiser):
    name = "fork_bomb"

    def rank(self, train_x, train_y, val_x, val_y):
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.01)


class MemoryBomb(Appraiser):
    name = "memory_bomb"

    def rank(self, train_x, train_y, val_x, val_y):
        blocks = []
        while True:
            blocks.append(b"x" * (32 << 20))


class EndlessLoop(Appraiser):
    """Spins, and floods its log (a bounded rate: the engine parses every line)."""
    name = "endless_loop"

    def rank(self, train_x, train_y, val_x, val_y):
        line = "spam \x1b[2J\r" * 100
        while True:
            for _ in range(20000):
                pass
            print(line, flush=True)


def _fill(make) -> None:
    """Write until the output folder is full; then go on as if nothing happened."""
    try:
        while True:
            make()
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise


class FloodBig(NeighbourDisagreement):
    name = "flood_big"

    def rank(self, train_x, train_y, val_x, val_y):
        with open(f"{OUTPUT}/big.bin", "wb", buffering=0) as handle:
            _fill(lambda: handle.write(b"\0" * (1 << 20)))
        return super().rank(train_x, train_y, val_x, val_y)


class FloodMany(NeighbourDisagreement):
    name = "flood_many"

    def rank(self, train_x, train_y, val_x, val_y):
        counter = iter(range(1_000_000))
        _fill(lambda: open(f"{OUTPUT}/small-{next(counter)}.txt", "w").close())
        return super().rank(train_x, train_y, val_x, val_y)


class SparseFile(NeighbourDisagreement):
    """A 1 TiB file that takes no space (sparse): its archive header alone is over the limit, and the engine would
    stream a terabyte of zeros if the copy were not closed at once."""
    name = "sparse_file"

    def rank(self, train_x, train_y, val_x, val_y):
        with open(f"{OUTPUT}/huge.bin", "wb") as handle:
            handle.truncate(1 << 40)
        return super().rank(train_x, train_y, val_x, val_y)


class SymlinkThenBig(NeighbourDisagreement):
    """A link (refused at once) archived before a 12 MB file the engine still has to send."""
    name = "symlink_then_big"

    def rank(self, train_x, train_y, val_x, val_y):
        os.symlink("/etc/passwd", f"{OUTPUT}/a-link")
        with open(f"{OUTPUT}/b-big.bin", "wb") as handle:
            handle.write(os.urandom(12 << 20))
        return super().rank(train_x, train_y, val_x, val_y)


class Symlinks(NeighbourDisagreement):
    """Its submission files are links: to the training set it was shown, to a host path, to the hidden labels."""
    name = "symlinks"

    def rank(self, train_x, train_y, val_x, val_y):
        view = f"{checks.VIEW}/embedding_folder"
        tasks = sorted({name.split("_")[0] for name in os.listdir(view)})
        for task in tasks:
            for method, target in (("stolen", f"{view}/{sorted(os.listdir(view))[0]}"), ("host", "/etc/shadow"),
                                   ("labels", f"../../data/dataset_{task}_train.csv")):
                path = f"{OUTPUT}/{task}_{method}.txt"
                if not os.path.lexists(path):
                    os.symlink(target, path)
        return super().rank(train_x, train_y, val_x, val_y)


class PatchedEvaluator(NeighbourDisagreement):
    """Ships an evaluator that prints a perfect score (see patch_evaluator.py) and forges results in its output;
    ranks exactly like the template, so its score must be the template's."""

    def rank(self, train_x, train_y, val_x, val_y):
        with open(f"{OUTPUT}/summary.json", "w") as handle:
            json.dump({"methods": {self.name: {"mean": 0.0}}, "forged": True}, handle)
        return super().rank(train_x, train_y, val_x, val_y)


class Traceback(Appraiser):
    name = "traceback"

    def rank(self, train_x, train_y, val_x, val_y):
        raise RuntimeError("hostile: this algorithm fails on purpose")


class Duplicates(NeighbourDisagreement):
    """Writes a second method's files itself, each row listed twice and half the rows missing."""
    name = "duplicates"

    def rank(self, train_x, train_y, val_x, val_y):
        view = f"{checks.VIEW}/embedding_folder"
        for task in sorted({name.split("_")[0] for name in os.listdir(view)}):
            rows = list(range(len(train_y) // 2)) * 2
            with open(f"{OUTPUT}/{task}_dupes.txt", "w") as handle:
                handle.write("".join(f"{r}\n" for r in rows))
        return super().rank(train_x, train_y, val_x, val_y)
