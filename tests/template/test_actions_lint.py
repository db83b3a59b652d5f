"""mlgate's own composite actions pass the GitHub action schema, zizmor (offline) and actionlint's
shell checks -- the same linters the generated workflows pass."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.project import ROOT
from tests.template.conftest import tool, tool_env

ACTIONS = sorted(ROOT.glob("actions/*/action.yml"))


@pytest.mark.skipif(not ACTIONS, reason="no actions/*/action.yml in this checkout yet")
@pytest.mark.parametrize("action", ACTIONS, ids=[p.parent.name for p in ACTIONS])
def test_action_passes_schema_and_zizmor(action: object) -> None:
    for args in (
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(action)],
        [tool("zizmor"), "--offline", "--no-progress", str(action)],
    ):
        proc = subprocess.run(
            args, cwd=ROOT, env=tool_env(), capture_output=True, text=True, check=False, timeout=300
        )
        assert proc.returncode == 0, (
            f"{args[0]} failed on {action}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
