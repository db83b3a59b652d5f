"""The generated ci.yml's `validate-data` job is a required check that passes without doing the work
when a pull request touches no data, contract, feature or profile file (no `on.paths`, which would
leave the check pending); and it judges drift against the base branch's reference profile, so a pull
request that rewrites data/reference_profile.json is reported as a baseline change and fails until it
carries the `approve-baseline-change` label."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.act import ActRun, pull_request_event, run_generated, run_workflow
from tests.support.fake_github import FakeGitHub
from tests.support.project import as_github_repository, project_env, render_project

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


# -- a drift baseline a pull request cannot move -----------------------------------------------------------


@pytest.fixture(scope="module")
def baseline_change_pr(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> tuple[Path, str]:
    """The default project on `main`, then a pull request that changes the training data's seed and
    rebuilds data/reference_profile.json from the new data (what `dvc repro` does): it moves its own
    drift baseline. Returns the project (at the pull request's head) and the base commit."""
    import json
    import sys

    from mlgate.data.config import DriftSection
    from mlgate.data.profile_core import build_profile

    generated = render_project(tmp_path_factory.mktemp("gen"), wheel_dir=wheel_dir, init=True)
    project = as_github_repository(generated, REPO)
    base = git(project, "rev-parse", "HEAD")

    sys.path.insert(0, str(project / "src"))
    try:
        from fraud_detection import data, synthetic  # the generated project's own data code

        frame = synthetic.generate_transactions(30_000, seed=7)
        train, _ = data.stratified_split(frame, test_size=0.25, seed=7)
    finally:
        sys.path.remove(str(project / "src"))
        for name in [m for m in sys.modules if m.split(".")[0] == "fraud_detection"]:
            del sys.modules[name]
    scratch = tmp_path_factory.mktemp("new-data") / "train.csv"
    train.sort_values("transaction_id").to_csv(scratch, index=False)
    settings = DriftSection(exclude=["transaction_id", "is_fraud"])
    profile = build_profile(scratch, settings.profile_settings())
    (project / "data" / "reference_profile.json").write_text(
        json.dumps(profile, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    params = project / "params.yaml"
    params.write_text(params.read_text(encoding="utf-8").replace("  seed: 42\n", "  seed: 7\n", 1))
    git(project, "commit", "-qam", "New training data (seed 7) and its profile")
    return project, base


def run_validate_data(
    project: Path, base: str, *, labels: list[str], work: Path, wheel_dir: Path, mlgate_src: Path
) -> tuple[ActRun, list[str]]:
    event = pull_request_event(9, REPO, base_sha=base, head_sha=git(project, "rev-parse", "HEAD"))
    event["action"] = "labeled" if labels else "synchronize"
    event["pull_request"]["labels"] = [{"name": name} for name in labels]
    with FakeGitHub() as fake:
        run = run_generated(
            project,
            "pull_request",
            event,
            workflow="ci.yml",
            job="validate-data",
            fake_url=fake.url,
            wheel_dir=wheel_dir,
            mlgate_src=mlgate_src,
            work=work,
        )
        return run, [c["body"] for c in fake.comments_on(9)]


def test_a_pr_that_changes_the_reference_profile_fails_without_the_approval_label(
    baseline_change_pr: tuple[Path, str], tmp_path: Path, wheel_dir: Path, mlgate_src: Path
) -> None:
    project, base = baseline_change_pr
    run, comments = run_validate_data(
        project, base, labels=[], work=tmp_path / "act", wheel_dir=wheel_dir, mlgate_src=mlgate_src
    )
    assert run.job_result("validate-data") == "failure", run.explain()
    assert "mlgate validate-data: failed (baseline-change-unapproved)" in run.log("validate-data")
    drift = next(b for b in comments if b.startswith("<!-- mlgate:drift:"))
    first_line = drift.split("\n", 1)[1].lstrip().splitlines()[0]
    assert "changes the drift baseline" in first_line and "approve-baseline-change" in first_line, drift
    # judged against the base branch's profile, not the one the pull request wrote
    assert "base_reference_profile.json" in drift, drift


def test_the_same_pr_passes_with_the_approval_label(
    baseline_change_pr: tuple[Path, str], tmp_path: Path, wheel_dir: Path, mlgate_src: Path
) -> None:
    project, base = baseline_change_pr
    labels = ["approve-baseline-change"]
    run, comments = run_validate_data(
        project, base, labels=labels, work=tmp_path / "act", wheel_dir=wheel_dir, mlgate_src=mlgate_src
    )
    assert run.job_result("validate-data") == "success", run.explain()
    drift = next(b for b in comments if b.startswith("<!-- mlgate:drift:"))
    assert "changes the drift baseline" in drift and "Approved" in drift, drift
    assert "no drift" in drift
