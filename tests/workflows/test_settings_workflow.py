"""The generated repository's settings workflow (`settings.yml`), run for real with act.

A pull request that edits `.github/settings/` gets a plan comment and writes nothing; a run on main
without a settings app stops with the message saying what to configure; with the app (the stand-in for
actions/create-github-app-token) the settings are applied to the recording GitHub API, and a second run
changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.act import ActRun, run_workflow
from tests.support.fake_github import FakeGitHub
from tests.support.project import as_github_repository, render_project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("act-settings")]

REPO = "acme/fraud-detection"
APP = {
    "variables": {"MLGATE_APP_ID": "12345"},
    "secrets": {"MLGATE_APP_PRIVATE_KEY": "-----BEGIN KEY-----"},
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    generated = render_project(tmp_path_factory.mktemp("gen"))  # no uv lock or DVC: the job needs neither
    return as_github_repository(generated, REPO)


def run(
    project: Path,
    work: Path,
    mlgate_src: Path,
    fake: FakeGitHub,
    *,
    event_name: str,
    event: dict,
    **extra: dict,
) -> ActRun:
    return run_workflow(
        project,
        event_name,
        event,
        mlgate_src=mlgate_src,
        work=work,
        workflow="settings.yml",
        env={"GITHUB_API_URL": fake.url},
        secrets={"GITHUB_TOKEN": "workflow-token", **extra.get("secrets", {})},
        variables=extra.get("variables"),
    )


def test_plan_on_a_pull_request_then_apply_on_main_twice(
    project: Path, tmp_path: Path, mlgate_src: Path
) -> None:
    pr_event = {"pull_request": {"number": 7, "head": {"ref": "settings"}, "base": {"ref": "main"}}}
    main_event = {"ref": "refs/heads/main", "inputs": {}}
    with FakeGitHub() as fake:
        fake.add_account("acme")  # the generated files name the github_owner answer as reviewer

        plan = run(project, tmp_path / "plan", mlgate_src, fake, event_name="pull_request", event=pr_event)
        assert plan.job_result("settings") == "success", plan.explain()
        (comment,) = fake.comments_on(7)
        assert "would change 4 of 4" in comment["body"], comment["body"]
        assert [w.path for w in fake.writes()] == [f"/repos/{REPO}/issues/7/comments"]

        unconfigured = run(
            project, tmp_path / "noapp", mlgate_src, fake, event_name="workflow_dispatch", event=main_event
        )
        assert unconfigured.job_result("settings") == "failure", unconfigured.explain()
        assert any("MLGATE_APP_ID" in a.message for a in unconfigured.annotations("error"))
        assert len(fake.writes()) == 1  # still only the plan comment

        applied = run(
            project,
            tmp_path / "apply",
            mlgate_src,
            fake,
            event_name="workflow_dispatch",
            event=main_event,
            **APP,
        )
        assert applied.job_result("settings") == "success", applied.explain()
        writes = [(w.method, w.path) for w in fake.writes()[1:]]
        assert ("POST", f"/repos/{REPO}/rulesets") in writes
        assert len(writes) == 4, writes
        # the app's token, not the workflow's, wrote the settings
        assert {w.headers.get("Authorization") for w in fake.writes()[1:]} == {"Bearer ghs_standin-app-token"}

        again = run(
            project,
            tmp_path / "again",
            mlgate_src,
            fake,
            event_name="workflow_dispatch",
            event=main_event,
            **APP,
        )
        assert again.job_result("settings") == "success", again.explain()
        assert len(fake.writes()) == 5  # nothing written the second time
        assert "already matches the files" in again.summaries("settings")
