"""The generated model gates run for real with act: `ci.yml` (train → eval-gate, candidate passed as an
artifact, report upserted on the PR) and `cd.yml` (gate → promote behind the environment), against one
MLflow registry on a sqlite file shared by the runs (the project is generated with
`mlflow_tracking=server` and the tracking URI comes from the secret, as it would for a real server).

First model: the gate passes on absolute rules and says there is no baseline; CD promotes it to
`champion`; a worse model on a later pull request is blocked with the comment explaining why; a second
merged model becomes champion and the dispatched rollback restores the first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.act import ActRun, pull_request_event, run_generated
from tests.support.fake_github import FakeGitHub
from tests.support.latency import measured_single_row_budget_ms, set_single_row_budget
from tests.support.project import as_github_repository, git, render_project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("act-model-gates")]

REPO = "acme/fraud-detection"


@dataclass
class GeneratedRepo:
    """The generated project, the mlgate it runs, and the registry its workflows share."""

    project: Path
    wheel_dir: Path
    mlgate_src: Path
    registry: str

    def run(self, work: Path, *, event: str, job: str) -> tuple[ActRun, list[str]]:
        """Run one job of ci.yml (pull_request) or cd.yml (push, workflow_dispatch = rollback); return it
        with the bodies of the comments it left on PR #7."""
        head = git(self.project, "rev-parse", "HEAD")
        payload: dict[str, Any]
        if event == "pull_request":
            payload = pull_request_event(7, REPO, head_sha=head)
        elif event == "workflow_dispatch":
            payload = {"ref": "refs/heads/main", "inputs": {"rollback": "true"}}  # strings, as GitHub sends
        else:
            payload = {
                "ref": "refs/heads/main",
                "after": head,
                "head_commit": {"id": head, "message": "Merge pull request #7"},
            }
        with FakeGitHub() as fake:
            act = run_generated(
                self.project,
                event,
                payload,
                workflow="ci.yml" if event == "pull_request" else "cd.yml",
                job=job,
                fake_url=fake.url,
                wheel_dir=self.wheel_dir,
                mlgate_src=self.mlgate_src,
                work=work,
                secrets={"MLFLOW_TRACKING_URI": self.registry},
            )
            return act, [c["body"] for c in fake.comments_on(7)]

    def aliases(self) -> dict[str, str]:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=self.registry, registry_uri=self.registry)
        return {k: str(v) for k, v in client.get_registered_model("fraud-detection").aliases.items()}

    @contextmanager
    def regularisation(self, c: str, message: str) -> Iterator[None]:
        """Commit params.yaml with the model's C set to `c`; put the original back afterwards."""
        params = self.project / "params.yaml"
        text = params.read_text(encoding="utf-8")
        params.write_text(text.replace("    C: 1.0", f"    C: {c}"), encoding="utf-8")
        git(self.project, "commit", "-qam", message)
        try:
            yield
        finally:
            params.write_text(text, encoding="utf-8")
            git(self.project, "commit", "-qam", "Restore the parameters")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path, mlgate_src: Path) -> GeneratedRepo:
    generated = render_project(
        tmp_path_factory.mktemp("gen"), wheel_dir=wheel_dir, init=True, mlflow_tracking="server"
    )
    # the eval gate's latency budget from a measurement on this machine, not the template's fixed 50 ms
    set_single_row_budget(generated, measured_single_row_budget_ms(generated))
    project = as_github_repository(generated, REPO)
    registry = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"
    return GeneratedRepo(project, wheel_dir, mlgate_src, registry)


@pytest.fixture(scope="module")
def first_champion(repo: GeneratedRepo, tmp_path_factory: pytest.TempPathFactory) -> tuple[ActRun, list[str]]:
    """The very first model: its PR's eval gate (no champion yet), then the merge promotes it.

    A fixture, not a test, so that every test of this module starts from a registry with one champion
    whatever order or worker xdist gives them (a recreated module scope simply repeats these runs)."""
    work = tmp_path_factory.mktemp("first-champion")
    first, comments = repo.run(work / "ci1", event="pull_request", job="eval-gate")
    cd, _ = repo.run(work / "cd1", event="push", job="promote")
    assert cd.job_results().get("promote") == "success", cd.explain()
    return first, comments


def test_first_model_then_promotion_then_a_worse_model_is_blocked(
    repo: GeneratedRepo, first_champion: tuple[ActRun, list[str]], tmp_path: Path
) -> None:
    first, comments = first_champion
    assert first.job_results().get("eval-gate") == "success", first.explain()
    assert first.outputs("eval-gate").get("passed") == "true", first.explain()
    assert comments and "No baseline" in comments[-1], comments
    assert comments[-1].index("passed") < comments[-1].index("#### Metrics")  # verdict first
    assert "champion" in repo.aliases()

    with repo.regularisation("0.00001", "Regularise the model far too much"):  # starve the model
        worse, _ = repo.run(tmp_path / "ci2", event="pull_request", job="eval-gate")
    assert worse.job_results().get("eval-gate") == "failure", worse.explain()
    assert worse.outputs("eval-gate").get("passed") == "false", worse.explain()
    assert "blocked" in worse.summaries("eval-gate"), worse.summaries("eval-gate")
    assert "pr_auc" in worse.summaries("eval-gate")


def test_cd_promotes_a_second_model_and_rollback_restores_the_first(
    repo: GeneratedRepo, first_champion: tuple[ActRun, list[str]], tmp_path: Path
) -> None:
    """From the first champion: a second merged model becomes champion, the first keeps `previous`, and
    the dispatched rollback puts it back in one step."""
    before = repo.aliases()
    assert set(before) <= {"champion", "previous"} and "champion" in before, before
    with repo.regularisation("2.0", "Loosen the regularisation"):  # a slightly different model
        cd, _ = repo.run(tmp_path / "cd2", event="push", job="promote")
        assert cd.job_results().get("promote") == "success", cd.explain()
        promoted = repo.aliases()
        assert promoted["previous"] == before["champion"]
        assert promoted["champion"] != before["champion"]
        back, _ = repo.run(tmp_path / "rb", event="workflow_dispatch", job="rollback")
        assert back.job_results().get("rollback") == "success", back.explain()
        assert repo.aliases() == {"champion": before["champion"], "previous": promoted["champion"]}
