"""This repository's own workflows pass the linters users run on theirs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)


def test_there_are_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "release.yml"]


@pytest.mark.parametrize("linter", ["zizmor", "actionlint", "check-jsonschema"])
def test_repo_workflows_pass(linter: str) -> None:
    files = [str(p) for p in WORKFLOWS]
    args = {
        "zizmor": [str(BIN / "zizmor"), "--offline", "--no-progress", *files],
        "actionlint": [str(BIN / "actionlint"), *files],
        "check-jsonschema": [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *files,
        ],
    }[linter]
    proc = run(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_gate_job_needs_every_other_job() -> None:
    import yaml

    jobs = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text(encoding="utf-8"))["jobs"]
    assert sorted(jobs["gate"]["needs"]) == sorted(set(jobs) - {"gate"})
    assert jobs["gate"]["if"] == "always()"


def test_dependabot_config_is_valid_and_moves_action_pins_together() -> None:
    import yaml

    path = ROOT / ".github" / "dependabot.yml"
    proc = run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    updates = {u["package-ecosystem"]: u for u in yaml.safe_load(path.read_text(encoding="utf-8"))["updates"]}
    assert set(updates) == {"github-actions", "uv"}
    # the composite actions' pins are covered as well as the workflows', in one group
    assert "/actions/*" in updates["github-actions"]["directories"]
    assert updates["github-actions"]["groups"]["actions"]["patterns"] == ["*"]
