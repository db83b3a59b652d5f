"""The generated model gates run for real with act: `ci.yml` (train → eval-gate, candidate passed as an
artifact, report upserted on the PR) and `cd.yml` (gate → promote behind the environment), against one
MLflow registry on a sqlite file shared by the runs (the project is generated with
`mlflow_tracking=server` and the tracking URI comes from the secret, as it would for a real server).

First model: the gate passes on absolute rules and says there is no baseline; CD promotes it to
`champion`; a worse model on a later pull request is blocked with the comment explaining why.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.act import ActRun, pull_request_event, run_workflow
from tests.support.fake_github import FakeGitHub
from tests.support.project import project_env, render_project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("act-model-gates")]

REPO = "acme/fraud-detection"


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, env=project_env(), check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> Path:
    path = render_project(
        tmp_path_factory.mktemp("gen"), wheel_dir=wheel_dir, init=True, mlflow_tracking="server"
    )
    if not (path / ".git").exists():
        git(path, "init", "-q", "-b", "main")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "Initial commit")
    git(path, "remote", "add", "origin", f"https://github.com/{REPO}")
    return path


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"


def run(
    project: Path,
    work: Path,
    wheel_dir: Path,
    mlgate_src: Path,
    registry: str,
    *,
    event: str,
    job: str,
    fake: FakeGitHub,
) -> ActRun:
    head = git(project, "rev-parse", "HEAD")
    if event == "pull_request":
        payload = pull_request_event(7, REPO, head_sha=head)
    elif event == "workflow_dispatch":
        payload = {"ref": "refs/heads/main", "inputs": {"rollback": "true"}}  # strings, as GitHub sends them
    else:
        payload = {
            "ref": "refs/heads/main",
            "after": head,
            "head_commit": {"id": head, "message": "Merge pull request #7"},
        }
    return run_workflow(
        project,
        event,
        payload,
        mlgate_src=mlgate_src,
        work=work,
        workflow="ci.yml" if event == "pull_request" else "cd.yml",
        job=job,
        env={"GITHUB_API_URL": fake.url, "UV_FIND_LINKS": str(wheel_dir)},
        secrets={"GITHUB_TOKEN": "test-token", "MLFLOW_TRACKING_URI": registry},
    )


def aliases(registry: str) -> dict[str, str]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=registry, registry_uri=registry)
    return {k: str(v) for k, v in client.get_registered_model("fraud-detection").aliases.items()}


@pytest.fixture(scope="module")
def first_champion(
    project: Path, tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path, mlgate_src: Path, registry: str
) -> tuple[ActRun, list[str]]:
    """The very first model: its PR's eval gate (no champion yet), then the merge promotes it.

    A fixture, not a test, so that every test of this module starts from a registry with one champion
    whatever order or worker xdist gives them (a recreated module scope simply repeats these runs)."""
    work = tmp_path_factory.mktemp("first-champion")
    with FakeGitHub() as fake:
        first = run(
            project,
            work / "ci1",
            wheel_dir,
            mlgate_src,
            registry,
            event="pull_request",
            job="eval-gate",
            fake=fake,
        )
        comments = [c["body"] for c in fake.comments_on(7)]
    with FakeGitHub() as fake:
        cd = run(
            project, work / "cd1", wheel_dir, mlgate_src, registry, event="push", job="promote", fake=fake
        )
    assert cd.job_results().get("promote") == "success", cd.explain()
    return first, comments


def test_first_model_then_promotion_then_a_worse_model_is_blocked(
    project: Path,
    tmp_path: Path,
    wheel_dir: Path,
    mlgate_src: Path,
    registry: str,
    first_champion: tuple[ActRun, list[str]],
) -> None:
    first, comments = first_champion
    assert first.job_results().get("eval-gate") == "success", first.explain()
    assert first.outputs("eval-gate").get("passed") == "true", first.explain()
    assert comments and "No baseline" in comments[-1], comments
    assert comments[-1].index("passed") < comments[-1].index("#### Metrics")  # verdict first
    assert "champion" in aliases(registry)

    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(text.replace("    C: 1.0", "    C: 0.00001"), encoding="utf-8")  # starve the model
    git(project, "commit", "-qam", "Regularise the model far too much")
    try:
        with FakeGitHub() as fake:
            worse = run(
                project,
                tmp_path / "ci2",
                wheel_dir,
                mlgate_src,
                registry,
                event="pull_request",
                job="eval-gate",
                fake=fake,
            )
    finally:
        params.write_text(text, encoding="utf-8")
        git(project, "commit", "-qam", "Restore the parameters")
    assert worse.job_results().get("eval-gate") == "failure", worse.explain()
    assert worse.outputs("eval-gate").get("passed") == "false", worse.explain()
    assert "blocked" in worse.summaries("eval-gate"), worse.summaries("eval-gate")
    assert "pr_auc" in worse.summaries("eval-gate")


def test_cd_promotes_a_second_model_and_rollback_restores_the_first(
    project: Path,
    tmp_path: Path,
    wheel_dir: Path,
    mlgate_src: Path,
    registry: str,
    first_champion: tuple[ActRun, list[str]],
) -> None:
    """From the first champion: a second merged model becomes champion, the first keeps `previous`, and
    the dispatched rollback puts it back in one step."""
    before = aliases(registry)
    assert set(before) <= {"champion", "previous"} and "champion" in before, before
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(
        text.replace("    C: 1.0", "    C: 2.0"), encoding="utf-8"
    )  # a slightly different model
    git(project, "commit", "-qam", "Loosen the regularisation")
    try:
        with FakeGitHub() as fake:
            cd = run(
                project,
                tmp_path / "cd2",
                wheel_dir,
                mlgate_src,
                registry,
                event="push",
                job="promote",
                fake=fake,
            )
        assert cd.job_results().get("promote") == "success", cd.explain()
        promoted = aliases(registry)
        assert promoted["previous"] == before["champion"]
        assert promoted["champion"] != before["champion"]
        with FakeGitHub() as fake:
            back = run(
                project,
                tmp_path / "rb",
                wheel_dir,
                mlgate_src,
                registry,
                event="workflow_dispatch",
                job="rollback",
                fake=fake,
            )
        assert back.job_results().get("rollback") == "success", back.explain()
        assert aliases(registry) == {"champion": before["champion"], "previous": promoted["champion"]}
    finally:
        params.write_text(text, encoding="utf-8")
        git(project, "commit", "-qam", "Restore the parameters")
