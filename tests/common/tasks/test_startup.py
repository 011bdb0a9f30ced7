"""Start-up pays only for what a command uses: help, the command tree and parameter errors load no heavy library.

Deterministic: each check runs in a fresh interpreter and reads sys.modules afterwards (timings are in
tests/benchmarks/startup.py)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from common.cubes import registry

HEAVY = ("torch", "sklearn", "scipy", "matplotlib", "pandas", "pyarrow", "jinja2", "distributed", "docker",
         "cleanlab", "fastapi", "sqlalchemy")


def _run(code: str) -> tuple[list[str], str]:
    """The heavy libraries a fresh interpreter holds after running `code` (SystemExit is expected of a CLI), and
    what it wrote on stderr."""
    script = textwrap.dedent("""
        import json, sys
        try:
            exec(compile(sys.argv[1], "<command>", "exec"))
        except SystemExit:
            pass
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[2].split(","))))
    """)
    done = subprocess.run([sys.executable, "-c", script, textwrap.dedent(code), ",".join(HEAVY)],
                          capture_output=True, text=True, check=True)
    return sorted({m.split(".")[0] for m in json.loads(done.stdout.strip().splitlines()[-1])}), done.stderr


def _loaded_after(code: str) -> list[str]:
    return _run(code)[0]


def test_importing_the_cli_and_building_every_command_loads_nothing_heavy():
    assert _loaded_after("""
        import click
        from common.cli import main
        ctx = click.Context(main)
        for name in main.list_commands(ctx):
            command = main.get_command(ctx, name)
            for task in getattr(command, "list_commands", lambda ctx: [])(ctx):
                command.get_command(ctx, task).get_help(ctx)
    """) == []


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["closed-seed"]] +
                         [[cube, "--help"] for cube in registry.names()] +
                         [[cube, "evaluate", "--help"] for cube in registry.names()])
def test_help_and_small_commands_load_nothing_heavy(args):
    assert _loaded_after(f"from common.cli import main\nmain({args!r}, prog_name='dataperf')") == []


@pytest.mark.parametrize("cube", registry.names())
def test_a_refused_parameter_file_is_reported_before_the_task_is_imported(cube, tmp_path):
    from common.tasks.local import task_paths
    (tmp_path / "parameters.yaml").write_text("seed: -1\n")
    arguments = [f"--{name}={tmp_path / 'parameters.yaml' if name == 'parameters_file' else tmp_path / name}"
                 for name in task_paths(cube, "evaluate")]
    loaded, stderr = _run(f"from common.cli import main\nmain({[cube, 'evaluate', *arguments]!r}, prog_name='dataperf')")
    assert stderr.startswith("error: parameters_file: parameters.yaml: parameter 'seed': must be") and loaded == []
