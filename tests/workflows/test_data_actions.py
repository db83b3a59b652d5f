"""mlgate's `validate-data` and `drift-check` actions, run for real with act on a small data project.

The project has a GX 1.x file project (gx/), a dataset, a committed reference profile, mlgate.yaml and
two workflows: `ci.yml` (pull_request: setup, then validate-data) and `monitor.yml` (workflow_dispatch:
drift-check on a sample). PR comments and drift issues go to the local recording GitHub API server.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support.act import OPTIONS, pull_request_event, run_workflow
from tests.support.fake_github import FakeGitHub
from tests.support.gx_project import build_gx_project, good_frame
from tests.support.project import ROOT, project_env, uv_bin

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("act-data-actions")]

REPO = "acme/payments"
PIN = OPTIONS["_action_pins"]["actions/checkout"]
UV_PIN = OPTIONS["_action_pins"]["astral-sh/setup-uv"]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
MLGATE = f"{OPTIONS['mlgate_repo']}/actions/{{name}}@v0.1.0"

CI = f"""\
name: ci
on: pull_request
permissions: {{}}
jobs:
  validate-data:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pull-requests: write
    outputs:
      passed: ${{{{ steps.data.outputs.passed }}}}
      failure-reason: ${{{{ steps.data.outputs.failure-reason }}}}
      failed-expectations: ${{{{ steps.data.outputs.failed-expectations }}}}
      drifted-columns: ${{{{ steps.data.outputs.drifted-columns }}}}
    steps:
      - uses: actions/checkout@{PIN}
        with:
          persist-credentials: false
      - uses: {MLGATE.format(name="setup")}
        with:
          groups: dev
      - id: data
        uses: {MLGATE.format(name="validate-data")}
"""

MONITOR = f"""\
name: monitor
on: workflow_dispatch
permissions: {{}}
jobs:
  drift:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      issues: write
    outputs:
      issue-action: ${{{{ steps.drift.outputs.issue-action }}}}
      issue-number: ${{{{ steps.drift.outputs.issue-number }}}}
    steps:
      - uses: actions/checkout@{PIN}
        with:
          persist-credentials: false
      - uses: astral-sh/setup-uv@{UV_PIN}
      - id: drift
        uses: {MLGATE.format(name="drift-check")}
        with:
          data: data/sample.csv
"""

PYPROJECT = """\
[project]
name = "payments"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[dependency-groups]
dev = ["mlgate[data]=={version}"]  # the data gates run the action's code on these locked libraries

[tool.uv]
package = false
"""

CONFIG = """\
data:
  dataset: data/transactions.csv
  sensitive_columns: [email]
drift:
  profile: data/profile.json
  exclude: [transaction_id, email]
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=project_env(), check=True, capture_output=True)


def drifted(frame):  # type: ignore[no-untyped-def]
    out = frame.copy()
    out["amount"] = (out["amount"] * 1.3).round(2)  # still within the contract (mean ≤ 350)
    out["channel"] = ["atm"] * (len(out) * 3 // 4) + list(out["channel"][len(out) * 3 // 4 :])
    return out


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> Path:
    from mlgate.data.config import ProfileSettings
    from mlgate.data.profile_core import build_profile

    root = tmp_path_factory.mktemp("payments")
    build_gx_project(root)
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(CI)
    (root / ".github" / "workflows" / "monitor.yml").write_text(MONITOR)
    (root / "pyproject.toml").write_text(PYPROJECT.format(version=VERSION))
    (root / ".python-version").write_text("3.11\n")
    (root / ".gitignore").write_text(".venv/\n.mlgate/\n")
    (root / "mlgate.yaml").write_text(CONFIG)
    (root / "data").mkdir()
    good_frame(2000).to_csv(root / "data" / "transactions.csv", index=False)
    good_frame(800, seed=3).to_csv(root / "data" / "sample.csv", index=False)
    profile = build_profile(
        root / "data" / "transactions.csv", ProfileSettings(exclude=("transaction_id", "email"))
    )
    (root / "data" / "profile.json").write_text(json.dumps(profile))
    subprocess.run([uv_bin(), "lock", "--quiet"], cwd=root, env=project_env(wheel_dir), check=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Initial commit")
    git(root, "remote", "add", "origin", f"https://github.com/{REPO}")
    return root


def run_ci(repo: Path, fake: FakeGitHub, mlgate_src: Path, work: Path, wheel_dir: Path):  # type: ignore[no-untyped-def]
    return run_workflow(
        repo,
        "pull_request",
        pull_request_event(7, REPO),
        mlgate_src=mlgate_src,
        work=work,
        workflow="ci.yml",
        env={"GITHUB_API_URL": fake.url, "UV_FIND_LINKS": str(wheel_dir)},
        secrets={"GITHUB_TOKEN": "t0ken"},
    )


def test_validate_data_pr_clean_broken_drifted(
    repo: Path, tmp_path: Path, mlgate_src: Path, wheel_dir: Path
) -> None:
    import pandas as pd

    with FakeGitHub() as fake:
        clean = run_ci(repo, fake, mlgate_src, tmp_path / "clean", wheel_dir)
        assert clean.job_result("validate-data") == "success", clean.explain()
        assert clean.outputs("validate-data").get("passed") == "true", clean.explain()
        bodies = [c["body"] for c in fake.comments_on(7)]
        assert any(b.startswith("<!-- mlgate:validate-data:") and "expectations met" in b for b in bodies)
        assert any(b.startswith("<!-- mlgate:drift:") and "no drift" in b for b in bodies)

        data = repo / "data" / "transactions.csv"
        frame = pd.read_csv(data)
        broken = frame.copy()
        broken.loc[5, "channel"] = "crypto"
        broken.loc[6, "email"] = "leaked-secret-address"
        broken.to_csv(data, index=False)
        git(repo, "commit", "-qam", "Break the contract")
        try:
            failed = run_ci(repo, fake, mlgate_src, tmp_path / "broken", wheel_dir)
        finally:
            git(repo, "reset", "-q", "--hard", "HEAD~1")
        assert failed.job_result("validate-data") == "failure", failed.explain()
        out = failed.outputs("validate-data")
        assert out.get("failure-reason") == "contract-violated" and out.get("failed-expectations") == "2", out
        contract = [c for c in fake.comments_on(7) if c["body"].startswith("<!-- mlgate:validate-data:")]
        assert len(contract) == 1  # updated in place, not a second comment
        assert "column_values_to_be_in_set" in contract[0]["body"] and "channel=crypto" in contract[0]["body"]
        assert "leaked-secret-address" not in contract[0]["body"]

        drifted(frame).to_csv(data, index=False)
        git(repo, "commit", "-qam", "Drifted data")
        try:
            moved = run_ci(repo, fake, mlgate_src, tmp_path / "drifted", wheel_dir)
        finally:
            git(repo, "reset", "-q", "--hard", "HEAD~1")
        assert moved.job_result("validate-data") == "failure", moved.explain()
        out = moved.outputs("validate-data")
        assert out.get("failure-reason") == "data-drift", moved.explain()
        assert {"amount", "channel"} <= set(out.get("drifted-columns", "").split(","))
        drift_comment = [c for c in fake.comments_on(7) if c["body"].startswith("<!-- mlgate:drift:")]
        assert len(drift_comment) == 1 and "dataset drift" in drift_comment[0]["body"]


def test_monitor_opens_then_closes_the_drift_issue(
    repo: Path, tmp_path: Path, mlgate_src: Path, wheel_dir: Path
) -> None:
    import pandas as pd

    sample = repo / "data" / "sample.csv"
    with FakeGitHub() as fake:
        drifted(pd.read_csv(sample)).to_csv(sample, index=False)
        git(repo, "commit", "-qam", "Drifted production sample")
        try:
            run = run_workflow(
                repo,
                "workflow_dispatch",
                {},
                mlgate_src=mlgate_src,
                work=tmp_path / "drift",
                workflow="monitor.yml",
                env={"GITHUB_API_URL": fake.url, "UV_FIND_LINKS": str(wheel_dir)},
                secrets={"GITHUB_TOKEN": "t0ken"},
            )
        finally:
            git(repo, "reset", "-q", "--hard", "HEAD~1")
        assert run.job_result("drift") == "success", run.explain()
        assert run.outputs("drift").get("issue-action") == "opened", run.explain()
        (issue,) = fake.state.issues.values()
        assert issue["state"] == "open" and issue["title"].startswith("Data drift")

        calm = run_workflow(
            repo,
            "workflow_dispatch",
            {},
            mlgate_src=mlgate_src,
            work=tmp_path / "calm",
            workflow="monitor.yml",
            env={"GITHUB_API_URL": fake.url, "UV_FIND_LINKS": str(wheel_dir)},
            secrets={"GITHUB_TOKEN": "t0ken"},
        )
        assert calm.outputs("drift").get("issue-action") == "closed", calm.explain()
        assert issue["state"] == "closed"
