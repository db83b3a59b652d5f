"""mlgate's composite actions: valid, lint-clean, inputs only through `env:`, reasons documented."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION_FILES = sorted((ROOT / "actions").glob("*/action.yml"))
IDS = [p.parent.name for p in ACTION_FILES]
BIN = Path(sys.executable).parent
#: action folder -> gate module whose FAILURE_REASONS the README must document
GATE_MODULES = {
    "lint": "mlgate.lint",
    "terraform-plan": "mlgate.terraform.tf_plan",
    "terraform-apply": "mlgate.terraform.tf_apply",
    "eval-gate": "mlgate.eval_gate.command",
    "promote-model": "mlgate.registry.promote",
    "validate-data": "mlgate.validate_data",
    "drift-check": "mlgate.drift_check",
    "canary-deploy": "mlgate.canary.command",
}


def load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("path", ACTION_FILES, ids=IDS)
def test_action_is_composite_and_keeps_expressions_out_of_run(path: Path) -> None:
    action = load(path)
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], (
                f"{path.parent.name}: step {step.get('name')!r} has ${{{{ }}}} in run:"
            )
            assert step.get("shell") == "bash", (
                f"{path.parent.name}: step {step.get('name')!r} needs shell: bash"
            )
            for name in re.findall(r"\$\{?(MLGATE_[A-Z_]+)", step["run"]):
                assert name in (step.get("env") or {}), (
                    f"{path.parent.name}: {name} is used but not set in env:"
                )


@pytest.mark.parametrize("path", ACTION_FILES, ids=IDS)
def test_every_input_is_used(path: Path) -> None:
    action = load(path)
    text = path.read_text(encoding="utf-8")
    for name in action.get("inputs") or {}:
        assert f"inputs.{name} " in text or f"inputs.{name}}}" in text, f"input `{name}` is never used"


@pytest.mark.parametrize("linter", ["zizmor", "check-jsonschema"])
def test_actions_pass_linters(linter: str) -> None:
    files = [str(p) for p in ACTION_FILES]
    args = {
        "zizmor": [str(BIN / "zizmor"), "--offline", "--no-progress", *files],
        "check-jsonschema": [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-actions",
            *files,
        ],
    }[linter]
    proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("action", "module"), sorted(GATE_MODULES.items()))
def test_failure_reasons_are_documented(action: str, module: str) -> None:
    reasons = importlib.import_module(module).FAILURE_REASONS
    readme = (ROOT / "actions" / action / "README.md").read_text(encoding="utf-8")
    outputs = load(ROOT / "actions" / action / "action.yml")["outputs"]
    for reason in reasons:
        assert f"`{reason}`" in readme, f"{action}/README.md does not explain failure-reason `{reason}`"
        assert f"`{reason}`" in outputs["failure-reason"]["description"]
