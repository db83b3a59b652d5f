"""The generated repository's scheduled drift check (`monitor.yml`), run for real with act.

A project is generated with the default answers and its `monitor.yml` dispatched twice against a local
recording GitHub API: first with `simulate-drift` (the example's simulated production traffic, drifted)
— one drift issue is opened — then with calm simulated traffic — the same issue is closed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.act import ActRun, run_generated
from tests.support.fake_github import FakeGitHub
from tests.support.project import as_github_repository, render_project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("act-monitor")]

REPO = "acme/fraud-detection"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> Path:
    generated = render_project(tmp_path_factory.mktemp("gen"), wheel_dir=wheel_dir, init=True)
    return as_github_repository(generated, REPO)


def dispatch(
    project: Path, work: Path, wheel_dir: Path, mlgate_src: Path, fake: FakeGitHub, *, drift: bool
) -> ActRun:
    return run_generated(
        project,
        "workflow_dispatch",
        # strings, as GitHub sends them; an empty sample means: simulate production traffic
        {"ref": "refs/heads/main", "inputs": {"sample": "", "simulate-drift": "true" if drift else "false"}},
        workflow="monitor.yml",
        fake_url=fake.url,
        wheel_dir=wheel_dir,
        mlgate_src=mlgate_src,
        work=work,
    )


def test_monitor_opens_an_issue_on_drift_and_closes_it_when_calm(
    project: Path, tmp_path: Path, wheel_dir: Path, mlgate_src: Path
) -> None:
    with FakeGitHub() as fake:
        drifted = dispatch(project, tmp_path / "drifted", wheel_dir, mlgate_src, fake, drift=True)
        assert drifted.job_result("drift") == "success", drifted.explain()
        assert len(fake.state.issues) == 1, (fake.state.issues, drifted.explain())
        (issue,) = fake.state.issues.values()
        assert issue["state"] == "open" and issue["title"].startswith("Data drift"), issue
        assert "drift" in drifted.summaries("drift").lower(), drifted.summaries("drift")

        calm = dispatch(project, tmp_path / "calm", wheel_dir, mlgate_src, fake, drift=False)
        assert calm.job_result("drift") == "success", calm.explain()
        assert len(fake.state.issues) == 1, fake.state.issues  # the same episode, not a second issue
        assert issue["state"] == "closed", (issue, calm.explain())
