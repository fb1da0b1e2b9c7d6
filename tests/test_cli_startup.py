"""The CLI starts light: ``koepel --help`` and ``koepel query --help`` load no heavy module.

Commands and their heavy modules (OpenDP, numpy, grpc, cryptography, openpyxl, rich) load only
when a command that uses them runs (cli/main.py). Checked in a fresh interpreter, through
``sys.modules``; the time it saves is measured in bench/ (never asserted here).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("opendp", "numpy", "grpc", "cryptography", "openpyxl", "rich", "sqlcipher3",
         "aggregator", "node", "privacy")

_PROBE = """
import json, sys
from click.testing import CliRunner
from cli.main import cli
result = CliRunner().invoke(cli, sys.argv[1:])
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"exit": result.exit_code, "output": result.output, "loaded": loaded}))
"""


def _run(*args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=ROOT, check=True,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)})
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("args", [("--help",), ("query", "--help"), ("nodes", "--help"),
                                  ("history", "--help")])
def test_help_loads_no_heavy_module(args: tuple[str, ...]) -> None:
    result = _run(*args)
    assert result["exit"] == 0, result["output"]
    loaded = set(result["loaded"])  # type: ignore[arg-type]
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_every_listed_command_exists() -> None:
    import click

    from cli.main import _COMMANDS, cli

    listing = str(_run("--help")["output"])
    ctx = click.Context(cli)
    for name in _COMMANDS:
        assert f"  {name} " in listing
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name, name


def test_a_command_still_loads_what_it_needs() -> None:
    result = _run("node", "--help")
    assert result["exit"] == 0 and "import" in str(result["output"])
    assert "node" in result["loaded"]  # type: ignore[operator]
