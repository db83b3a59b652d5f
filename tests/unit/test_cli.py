"""The `mlgate` command line: help, version, and no heavy imports for commands that don't need them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate import __version__
from mlgate.cli import COMMANDS
from tests.support.bad_inputs import read_outputs

#: optional (extras-only) or slow-to-import libraries: a lint or terraform job must not need them
HEAVY = ("pandas", "great_expectations", "mlflow", "sklearn", "scipy", "numpy", "pyarrow", "boto3", "dvc")

_PROBE = """
import json, sys
from mlgate.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
print("\\n@@MODULES@@" + json.dumps(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""


def run(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=False)
    stderr, _, modules = proc.stderr.rpartition("@@MODULES@@")
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout, stderr), set(
        json.loads(modules)
    )


def test_version() -> None:
    proc, _ = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"mlgate, version {__version__}"


def test_help_lists_every_command() -> None:
    proc, _ = run("--help")
    assert proc.returncode == 0
    assert "Pull-request gates for ML repositories." in proc.stdout
    for name in COMMANDS:
        assert name in proc.stdout


def test_unknown_command_is_a_usage_error() -> None:
    proc, _ = run("no-such-gate")
    assert proc.returncode == 2
    assert "No such command 'no-such-gate'" in proc.stderr


def test_a_usage_error_in_actions_sets_failure_reason(tmp_path: Path) -> None:
    """Exit 2 from click (bad option value, missing option) still reports passed=false / invalid-input."""
    output, summary = tmp_path / "output", tmp_path / "summary"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLGATE_"))},
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "mlgate.cli", "eval-gate", "--report-dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "::error title=mlgate eval-gate::Missing option '--candidate'." in proc.stdout
    outputs = read_outputs(output)
    assert (outputs["passed"], outputs["failure-reason"]) == ("false", "invalid-input")
    assert "Missing option '--candidate'" in summary.read_text(encoding="utf-8")
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("args", [("--help",), ("lint", "--help"), ("config", "schema")], ids=" ".join)
def test_light_commands_do_not_import_heavy_libraries(args: tuple[str, ...]) -> None:
    proc, modules = run(*args)
    assert proc.returncode == 0, proc.stderr
    imported = sorted(name for name in HEAVY if name in modules)
    assert not imported, f"`mlgate {' '.join(args)}` imported {imported}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_registered_command_loads_and_has_help(name: str) -> None:
    proc, _ = run(name, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Usage: mlgate {name}")
