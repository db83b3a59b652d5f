"""The offline stand-ins that replace third-party actions in act runs are valid actions (composite, or
a node action with its scripts where the real one needs a post step, as actions/cache does), and every
pinned third-party action has one (actions/checkout is handled by act itself)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.act import OPTIONS, STANDINS

ACTIONS = sorted(STANDINS.glob("**/action.yml"))


def test_every_pinned_action_has_a_standin() -> None:
    missing = [
        name
        for name in OPTIONS["_action_pins"]
        if name != "actions/checkout" and not (STANDINS / name.replace("/", "__") / "action.yml").exists()
    ]
    assert not missing, f"add a stand-in under tests/support/standins/ for {missing}"


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: str(p.relative_to(STANDINS).parent))
def test_standin_is_a_valid_action(path: Path) -> None:
    action = yaml.safe_load(path.read_text(encoding="utf-8"))
    runs = action["runs"]
    assert runs["using"] in {"composite", "node20"}
    if runs["using"] == "node20":
        entry_points = [runs["main"], *([runs["post"]] if "post" in runs else [])]
        assert all((path.parent / script).is_file() for script in entry_points), entry_points
        for script in sorted(path.parent.glob("*.js")):  # every script at least parses (shared ones too)
            parsed = subprocess.run(
                ["node", "--check", str(script)], check=False, capture_output=True, text=True
            )
            assert parsed.returncode == 0, parsed.stderr
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-actions",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
