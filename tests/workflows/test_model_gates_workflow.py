"""The generated model gates with `mlflow_tracking=server`, run for real with act against a real
`mlflow server` on 127.0.0.1 (sqlite backend, artifacts proxied through the server, started and stopped
here): the workflows talk HTTP to it through the `MLFLOW_TRACKING_URI` secret, as they would to a team's
tracking server, and its registry's aliases are the registry of record.

PR 1 (no champion) passes on absolute rules and says there is no baseline; its merge promotes it to
`champion`; PR 2 with a worse model is blocked with a comment naming both models; PR 3 with another
healthy model passes and its merge makes it champion (the first keeps `previous`); the dispatched
rollback restores the first in one step.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.act import ActRun, pull_request_event, run_generated
from tests.support.fake_github import FakeGitHub
from tests.support.latency import measured_single_row_budget_ms, set_single_row_budget
from tests.support.mlflow_server import MlflowServer
from tests.support.project import as_github_repository, git, render_project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("act-model-gates")]

REPO = "acme/fraud-detection"


@dataclass
class GeneratedRepo:
    """The generated project, the mlgate it runs, and the tracking server its workflows share."""

    project: Path
    wheel_dir: Path
    mlgate_src: Path
    registry: str

    def run(self, work: Path, *, event: str, job: str, pr: int = 7) -> tuple[ActRun, list[str]]:
        """Run one job of ci.yml (pull_request) or cd.yml (push, workflow_dispatch = rollback); return it
        with the bodies of the comments it left on PR `pr`."""
        head = git(self.project, "rev-parse", "HEAD")
        payload: dict[str, Any]
        if event == "pull_request":
            payload = pull_request_event(pr, REPO, head_sha=head)
        elif event == "workflow_dispatch":
            payload = {"ref": "refs/heads/main", "inputs": {"rollback": "true"}}  # strings, as GitHub sends
        else:
            payload = {
                "ref": "refs/heads/main",
                "after": head,
                "head_commit": {"id": head, "message": f"Merge pull request #{pr}"},
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
            return act, [c["body"] for c in fake.comments_on(pr)]

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
def repo(
    tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path, mlgate_src: Path
) -> Iterator[GeneratedRepo]:
    generated = render_project(
        tmp_path_factory.mktemp("gen"), wheel_dir=wheel_dir, init=True, mlflow_tracking="server"
    )
    # the eval gate's latency budget from a measurement on this machine, not the template's fixed 50 ms
    set_single_row_budget(generated, measured_single_row_budget_ms(generated))
    project = as_github_repository(generated, REPO)
    with MlflowServer.start(tmp_path_factory.mktemp("mlflow-server")) as server:
        yield GeneratedRepo(project, wheel_dir, mlgate_src, server.url)


@pytest.fixture(scope="module")
def first_champion(repo: GeneratedRepo, tmp_path_factory: pytest.TempPathFactory) -> tuple[ActRun, list[str]]:
    """The very first model: its PR's eval gate (no champion yet), then the merge promotes it.

    A fixture, not a test, so that every test of this module starts from a registry with one champion
    whatever order or worker xdist gives them (a recreated module scope simply repeats these runs)."""
    work = tmp_path_factory.mktemp("first-champion")
    first, comments = repo.run(work / "ci1", event="pull_request", job="eval-gate", pr=1)
    cd, _ = repo.run(work / "cd1", event="push", job="promote", pr=1)
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
    champion = repo.aliases()["champion"]
    # the merge's promote stored the eval gate's result with the version, on the server: an artifact of
    # the version's run, named by its `mlgate.eval_result` tag (what live-performance reads back)
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=repo.registry, registry_uri=repo.registry)
    version = client.get_model_version("fraud-detection", champion)
    assert dict(version.tags)["mlgate.eval_result"] == f"runs:/{version.run_id}/mlgate/eval-gate.json"
    local = client.download_artifacts(version.run_id, "mlgate/eval-gate.json", str(tmp_path))
    stored = json.loads(Path(local).read_text(encoding="utf-8"))
    assert stored["gate"] == "eval-gate" and stored["passed"] is True

    with repo.regularisation("0.00001", "Regularise the model far too much"):  # starve the model
        worse, comments = repo.run(tmp_path / "ci2", event="pull_request", job="eval-gate", pr=2)
    assert worse.job_results().get("eval-gate") == "failure", worse.explain()
    assert worse.outputs("eval-gate").get("passed") == "false", worse.explain()
    assert "blocked" in worse.summaries("eval-gate"), worse.summaries("eval-gate")
    assert "pr_auc" in worse.summaries("eval-gate")
    assert comments and f"fraud-detection v{champion}" in comments[-1], comments
    assert "candidate/model" in comments[-1]


def test_a_better_model_passes_is_promoted_and_rollback_restores_the_first(
    repo: GeneratedRepo, first_champion: tuple[ActRun, list[str]], tmp_path: Path
) -> None:
    """From the first champion: another healthy model passes its PR, its merge makes it champion (the
    first keeps `previous`), and the dispatched rollback puts the first back in one step."""
    before = repo.aliases()
    assert set(before) <= {"champion", "previous"} and "champion" in before, before
    with repo.regularisation("2.0", "Loosen the regularisation"):  # a slightly different model
        better, comments = repo.run(tmp_path / "ci3", event="pull_request", job="eval-gate", pr=3)
        assert better.job_results().get("eval-gate") == "success", better.explain()
        assert f"fraud-detection v{before['champion']}" in comments[-1], comments
        cd, _ = repo.run(tmp_path / "cd3", event="push", job="promote", pr=3)
        assert cd.job_results().get("promote") == "success", cd.explain()
        promoted = repo.aliases()
        assert promoted["previous"] == before["champion"]
        assert promoted["champion"] != before["champion"]
        back, _ = repo.run(tmp_path / "rb", event="workflow_dispatch", job="rollback")
        assert back.job_results().get("rollback") == "success", back.explain()
        assert repo.aliases() == {"champion": before["champion"], "previous": promoted["champion"]}
