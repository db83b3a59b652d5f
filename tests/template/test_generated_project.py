"""The generated project's own checks pass: `make test` and `make lint`, in its own environment.

Slow: renders with initialisation (git, `uv lock`, DVC as the template ships it), then `uv sync`s the
project with mlgate from a wheel of this checkout (UV_FIND_LINKS stands in for PyPI). Runs the default
answers and one other combination; combinations whose Python is not installed are skipped (uv cannot
download interpreters here).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.hooks import default_answers
from tests.support.project import (
    project_env,
    render_project,
    run_in,
    sync_project,
    uv_bin,
)
from tests.template.conftest import needs_template
from tests.template.matrix import Combination, all_combinations

pytestmark = [needs_template, pytest.mark.slow]


def picked() -> list[Combination]:
    """The default answers, and the first other combination on the default Python version."""
    combos = all_combinations()
    default = next(combo for combo in combos if combo.is_default)
    other = next(
        combo
        for combo in combos
        if not combo.is_default and combo.answers["python_version"] == default.answers["python_version"]
    )
    return [default, other]


def python_available(version: str) -> bool:
    proc = subprocess.run(
        [uv_bin(), "python", "find", version],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    return proc.returncode == 0


@pytest.mark.parametrize("combo", picked(), ids=[combo.id for combo in picked()])
def test_generated_project_tests_and_lint_pass(
    combo: Combination, tmp_path: Path, tagged_template: Path, wheel_dir: Path
) -> None:
    version = combo.answers["python_version"]
    if not python_available(version):
        pytest.skip(f"Python {version} is not installed here and uv cannot download it")
    project = render_project(
        tmp_path, template=tagged_template, wheel_dir=wheel_dir, init=True, **combo.answers
    )

    # Initialised the way a user gets it: one clean commit on main, lock file included.
    assert run_in(project, "git", "rev-list", "--count", "HEAD").stdout.strip() == "1"
    assert run_in(project, "git", "status", "--porcelain").stdout.strip() == ""
    tracked = set(run_in(project, "git", "ls-files").stdout.split())
    assert "uv.lock" in tracked, "uv lock did not run or its lock file was not committed"
    assert {".dvc/config", ".cruft.json"} <= tracked

    sync_project(project, wheel_dir)
    answers = default_answers(**combo.answers)
    env = project_env(wheel_dir)
    env.pop("MLFLOW_TRACKING_URI", None)
    # DVC works in the repository it was initialised in.
    run_in(project, uv_bin(), "run", "dvc", "status", wheel_dir=wheel_dir)
    test = run_in(project, "make", "test", wheel_dir=wheel_dir, check=False, timeout=1800)
    assert test.returncode == 0, (
        f"make test failed for {answers['project_slug']}:\n{test.stdout[-6000:]}\n{test.stderr[-3000:]}"
    )
    lint = run_in(project, "make", "lint", wheel_dir=wheel_dir, check=False, timeout=1800)
    assert lint.returncode == 0, f"make lint failed:\n{lint.stdout[-6000:]}\n{lint.stderr[-3000:]}"
