"""Invalid answers stop the real cookiecutter before a file is written, with the hook's message.

The full table of invalid values lives in test_hooks.py (pure function); here a representative row per
check runs through cookiecutter itself, as a user would hit it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cookiecutter.exceptions import FailedHookException

from tests.support.project import render_project
from tests.template.conftest import needs_template

pytestmark = needs_template

CASES = [
    ({"project_name": "My Proj!"}, "project_slug 'my-proj!' is not valid", "e.g. 'my-proj'"),
    ({"project_slug": "sklearn"}, "the package name 'sklearn'", "e.g. 'sklearn-model'"),
    ({"project_slug": "os"}, "is a standard-library module", "e.g. 'os-model'"),
    ({"project_name": "Test"}, "the package name 'test'", "e.g. 'test-model'"),
    (
        {"author_email": "ml team@example"},
        "author_email 'ml team@example' is not an e-mail",
        "ml-team@example.com",
    ),
    ({"mlgate_repo": "mlgate-dev"}, "mlgate_repo 'mlgate-dev' is not OWNER/REPO", "'mlgate-dev/mlgate'"),
    ({"mlgate_ref": "main"}, "mlgate_ref 'main' looks like a branch", "'v0.1.0'"),
    ({"github_owner": "acme inc"}, "github_owner 'acme inc' is not a GitHub", "'acme-inc'"),
    (
        {"description": 'The "best" model'},
        "description 'The \"best\" model' contains '\"'",
        "type it without",
    ),
    ({"mlgate_repo": "acme/fraud-detection"}, "is the repository being generated", "mlgate itself"),
]


@pytest.mark.parametrize(
    ("answers", "problem", "fix"),
    CASES,
    ids=[next(iter(c)) + "=" + str(next(iter(c.values()))) for c, _, _ in CASES],
)
def test_invalid_answer_stops_generation(
    answers: dict[str, Any], problem: str, fix: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(FailedHookException):
        render_project(tmp_path, **answers)
    err = capfd.readouterr().err
    line = next((line for line in err.splitlines() if problem in line), None)
    assert line is not None, err
    assert line.startswith("ERROR: ") and fix in line
    assert list(tmp_path.iterdir()) == [], "cookiecutter left a partial project behind"


def test_unoffered_choice_is_refused(tmp_path: Path) -> None:
    """cookiecutter itself refuses a value outside a choice list before the hook runs."""
    with pytest.raises(ValueError, match=r"3\.10 provided for choice variable python_version"):
        render_project(tmp_path, python_version="3.10")
