"""The documentation shows only commands that exist: every `dataperf ...` line of a shell block in README.md and
docs/ is parsed by the real command-line interface (command, sub-command, options, choices), without running it;
and the site builds with `mkdocs build --strict` where MkDocs is installed (CI installs it)."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from common.cli import main
from common.cubes import registry

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"```(?:bash|sh|console)\n(.*?)```", re.S)
# Placeholders the pages use in commands, and a value of the right kind for each.
PLACEHOLDERS = {"CUBE": "speech_selection", "IMG": "participant:1", "IMAGE": "participant:1", "DIR": "/tmp/x",
                "WS": "/tmp/ws", "FILE": "/tmp/f", "URL": "http://127.0.0.1:8000", "TOKEN": "t", "REF": "img:1",
                "ROUND_DIR": "/tmp/round", "ID": "1", "NAME": "team", "OUT": "/tmp/out", "PATH": str(ROOT)}


def _commands() -> list[tuple[str, int, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in BLOCK.finditer(text):
            line_no = text[:block.start()].count("\n") + 2
            for offset, line in enumerate(block.group(1).splitlines()):
                command = line.split(" #", 1)[0].strip()
                command = re.sub(r"^(\.venv/bin/|\$ )", "", command)
                if command.startswith("dataperf "):
                    found.append((page.relative_to(ROOT).as_posix(), line_no + offset, command))
    return found


COMMANDS = _commands()


def test_the_pages_show_commands():
    assert len(COMMANDS) >= 5


@pytest.mark.parametrize("page, line, command", COMMANDS, ids=[f"{p}:{n}" for p, n, _ in COMMANDS])
def test_each_documented_command_parses(page, line, command):
    args = [PLACEHOLDERS.get(a, a) for a in shlex.split(command)[1:]]
    args = [a.replace("CUBE", "speech_selection") for a in args]
    ctx = click.Context(main, info_name="dataperf")
    group, name = main, "dataperf"
    while isinstance(group, click.Group) and args and not args[0].startswith("-"):
        name, args = args[0], args[1:]
        sub = group.get_command(ctx, name)
        assert sub is not None, f"{page}:{line}: no command '{name}' in `{command}`"
        ctx, group = click.Context(sub, info_name=name, parent=ctx), sub
    if "--help" in args or "-h" in args:
        return
    try:
        group.make_context(name, list(args), parent=ctx.parent, resilient_parsing=False)
    except click.UsageError as exc:
        pytest.fail(f"{page}:{line}: `{command}` does not parse: {exc.format_message()}")


def test_the_cube_pages_cover_every_cube():
    assert {p.stem for p in (ROOT / "docs" / "cubes").glob("*.md")} == set(registry.names())


@pytest.mark.skipif(shutil.which("mkdocs") is None and not (Path(sys.executable).parent / "mkdocs").exists(),
                    reason="MkDocs not installed (CI installs it)")
def test_the_site_builds_strictly(tmp_path):
    mkdocs = shutil.which("mkdocs") or str(Path(sys.executable).parent / "mkdocs")
    done = subprocess.run([mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
