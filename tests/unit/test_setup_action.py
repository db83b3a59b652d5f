"""actions/setup's install step, run as its action.yml spells it, with a `uv` that records its arguments.

What a job's `groups` / `extras` / `install-project` inputs turn into (`uv sync ...`), and that bad
combinations stop with one `::error` line instead of installing something else.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.project import ROOT

SPEC = yaml.safe_load((ROOT / "actions" / "setup" / "action.yml").read_text(encoding="utf-8"))
(INSTALL,) = [step for step in SPEC["runs"]["steps"] if "uv sync" in step.get("run", "")]


def run_install(tmp_path: Path, **inputs: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake_uv = bin_dir / "uv"
    fake_uv.write_text('#!/bin/sh\necho "ran: uv $*"\n', encoding="utf-8")
    fake_uv.chmod(fake_uv.stat().st_mode | stat.S_IXUSR)
    script = tmp_path / "install.sh"
    script.write_text(INSTALL["run"], encoding="utf-8")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "MLGATE_GROUPS": inputs.get("groups", SPEC["inputs"]["groups"]["default"]),
        "MLGATE_EXTRAS": inputs.get("extras", SPEC["inputs"]["extras"]["default"]),
        "MLGATE_INSTALL_PROJECT": inputs.get("install-project", SPEC["inputs"]["install-project"]["default"]),
        "MLGATE_PYTHON": "",
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("inputs", "command"),
    [
        ({}, "uv sync --locked --all-groups"),
        ({"groups": "none"}, "uv sync --locked --no-default-groups"),
        ({"groups": "eval-gate"}, "uv sync --locked --no-default-groups --group eval-gate"),
        (
            {"groups": "dev, docs", "extras": "data"},
            "uv sync --locked --no-default-groups --group dev --group docs --extra data",
        ),
        ({"groups": "lint", "install-project": "false"}, "uv sync --locked --only-group lint"),
    ],
)
def test_inputs_become_exactly_this_uv_sync(tmp_path: Path, inputs: dict[str, str], command: str) -> None:
    proc = run_install(tmp_path, **inputs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"ran: {command}\n" in proc.stdout


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"install-project": "no"}, "install-project must be true or false, not 'no'"),
        ({"install-project": "false"}, "needs groups to name the groups to install"),
        ({"install-project": "false", "groups": "none"}, "needs groups to name the groups to install"),
        ({"install-project": "false", "groups": "lint", "extras": "data"}, "installs no extras"),
    ],
)
def test_a_bad_combination_stops_before_installing(
    tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    proc = run_install(tmp_path, **inputs)
    assert proc.returncode == 1
    assert "ran: uv" not in proc.stdout
    (line,) = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    assert message in line


def test_the_bytecode_cache_restores_exact_keys_only_and_re_stamps_only_then() -> None:
    """Re-stamping trusts that every restored .pyc was compiled from the bytes this uv.lock installs. A
    fallback to another lock's entry (restore-keys) would break that: a same-size file of another version
    (a `_version.py`) would get its stale bytecode made valid."""
    steps = {step.get("id"): step for step in SPEC["runs"]["steps"]}
    cache = steps["bytecode"]
    assert cache["uses"].startswith("actions/cache@")
    assert "restore-keys" not in cache["with"], cache["with"]
    assert "uv.lock" in cache["with"]["key"] and "github.job" in cache["with"]["key"]
    (restamp,) = [step for step in SPEC["runs"]["steps"] if "mlgate.bytecode" in step.get("run", "")]
    assert restamp["if"] == "steps.bytecode.outputs.cache-hit == 'true'"
