"""The generated ci.yml's `validate-data` job is a required check that passes without doing the work
when a pull request touches no data, contract, feature or profile file (no `on.paths`, which would
leave the check pending)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.act import pull_request_event, run_workflow
from tests.support.project import project_env, render_project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("act-validate-data-job")]

REPO = "acme/fraud-detection"


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=project_env(), check=True, capture_output=True, text=True
    )
    return proc.stdout.strip()


def test_job_is_not_path_filtered() -> None:
    # the template's workflow triggers on every pull request; the job decides in a step
    from tests.support.project import ROOT

    text = (ROOT / "{{cookiecutter.project_slug}}" / ".github" / "workflows" / "ci.yml").read_text()
    assert "paths:" not in text.split("jobs:")[0]


def test_unrelated_pr_passes_without_validating(tmp_path: Path, mlgate_src: Path) -> None:
    project = render_project(tmp_path / "gen")
    if not (project / ".git").exists():
        git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Initial commit", "--allow-empty")
    base = git(project, "rev-parse", "HEAD")
    git(project, "remote", "add", "origin", f"https://github.com/{REPO}")
    (project / "README.md").write_text((project / "README.md").read_text() + "\nA note.\n")
    git(project, "commit", "-qam", "Docs only")
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    assert "validate-data" in workflow["jobs"]

    run = run_workflow(
        project,
        "pull_request",
        pull_request_event(5, REPO, base_sha=base, head_sha=git(project, "rev-parse", "HEAD")),
        mlgate_src=mlgate_src,
        work=tmp_path / "act",
        workflow="ci.yml",
        job="validate-data",
    )
    assert run.job_result("validate-data") == "success", run.explain()
    assert "nothing to validate" in run.summaries("validate-data"), run.explain()
    assert "uv sync" not in run.log("validate-data")  # the project environment was never installed
