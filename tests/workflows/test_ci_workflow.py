"""The generated repository's pull-request workflow (`ci.yml`), run for real with act.

A project is generated with the default answers, made a git repository with an `origin`, and its
`ci.yml` is run for a `pull_request` event: mlgate's actions come from this checkout, third-party
actions from the stand-ins in `tests/support/standins/`, PR comments go to a local recording server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.act import ActRun, pull_request_event, run_generated
from tests.support.fake_github import FakeGitHub
from tests.support.latency import measured_single_row_budget_ms, set_single_row_budget
from tests.support.project import as_github_repository, git, render_project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("act-ci")]

REPO = "acme/fraud-detection"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> Path:
    generated = render_project(tmp_path_factory.mktemp("gen"), wheel_dir=wheel_dir, init=True)
    # the eval gate's latency budget from a measurement on this machine, not the template's fixed 50 ms
    set_single_row_budget(generated, measured_single_row_budget_ms(generated))
    project = as_github_repository(generated, REPO)
    # the GitHub remote the eval gate reads the champion's tags from (none yet: the first model)
    bare = project.parent / "github-remote.git"
    git(project.parent, "clone", "-q", "--bare", str(project), str(bare))
    return project


def run_ci(project: Path, work: Path, wheel_dir: Path, mlgate_src: Path, fake: FakeGitHub) -> ActRun:
    head = git(project, "rev-parse", "HEAD")
    event = pull_request_event(7, REPO, head_sha=head)
    return run_generated(
        project,
        "pull_request",
        event,
        workflow="ci.yml",
        fake_url=fake.url,
        wheel_dir=wheel_dir,
        mlgate_src=mlgate_src,
        work=work,
        git_remote=(f"https://github.com/{REPO}", project.parent / "github-remote.git"),
    )


def test_ci_passes_on_the_clean_project(
    project: Path, tmp_path: Path, wheel_dir: Path, mlgate_src: Path
) -> None:
    with FakeGitHub() as fake:
        run = run_ci(project, tmp_path, wheel_dir, mlgate_src, fake)
    results = run.job_results()
    assert results.get("lint") == "success", run.explain()
    assert results.get("test") == "success", run.explain()
    # no base commit in the event: the data gates run in full (contract + drift against the profile)
    assert results.get("validate-data") == "success", run.explain()
    assert "expectations met" in run.summaries("validate-data"), run.explain()
    assert "no drift" in run.summaries("validate-data"), run.explain()
    assert all(r == "success" for r in results.values()), run.explain()
    assert run.outputs("lint").get("passed") == "true", run.explain()
    assert "ruff" in run.summaries("lint").lower(), run.summaries("lint")
    assert not run.annotations("error"), run.annotations("error")


def test_lint_job_fails_with_an_annotation_after_a_lint_error(
    project: Path, tmp_path: Path, wheel_dir: Path, mlgate_src: Path
) -> None:
    package = next(p for p in (project / "src").iterdir() if p.is_dir() and (p / "__init__.py").exists())
    bad = package / "features.py"
    original = bad.read_text(encoding="utf-8")
    bad.write_text("import os\n" + original, encoding="utf-8")  # F401: unused import on line 1
    git(project, "commit", "-qam", "Add an unused import")
    try:
        with FakeGitHub() as fake:
            run = run_ci(project, tmp_path, wheel_dir, mlgate_src, fake)
    finally:
        git(project, "reset", "-q", "--hard", "HEAD~1")
    assert run.job_result("lint") == "failure", run.explain()
    assert run.outputs("lint").get("passed") == "false", run.explain()
    rel = bad.relative_to(project).as_posix()
    errors = [a for a in run.annotations("error") if a.file and a.file.endswith(rel)]
    assert errors, f"no annotation on {rel}: {run.annotations()}\n{run.explain()}"
    unused = [a for a in errors if "F401" in a.message]
    assert unused and unused[0].line == 1, errors
