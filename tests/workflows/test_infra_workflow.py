"""The generated `infra.yml` (cloud=aws), run for real with act: plan comments on the PR, apply on merge.

The workflow file is exactly what `cloud=aws` generates. Only the Terraform inside
`terraform/envs/{staging,prod}` is swapped for offline configurations (`terraform_data` on the local
backend): the generated ones need the AWS provider, mlgate's modules over git and an S3 backend, none of
which exist offline. mlgate's actions come from this checkout; setup-uv, setup-terraform and
configure-aws-credentials are the local stand-ins; PR comments go to the local recording GitHub API.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.act import ActRun, pull_request_event, run_workflow
from tests.support.fake_github import FakeGitHub
from tests.support.project import ROOT, project_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("act-infra"),
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH"),
]

REPO = "acme/fraud-detection"
PR = 7
VARS = {
    "AWS_PLAN_ROLE_ARN_STAGING": "arn:aws:iam::123456789012:role/fraud-detection-staging-terraform-plan",
    "AWS_PLAN_ROLE_ARN_PROD": "arn:aws:iam::123456789012:role/fraud-detection-prod-terraform-plan",
    "AWS_APPLY_ROLE_ARN": "arn:aws:iam::123456789012:role/fraud-detection-terraform-apply",
}


def offline_config(env: str, bucket_suffix: str = "artifacts") -> str:
    return f"""
variable "db_password" {{
  type      = string
  sensitive = true
  default   = "{env}-pa55word"
}}

resource "terraform_data" "bucket" {{
  input = "fraud-detection-{env}-{bucket_suffix}"
}}

resource "terraform_data" "db" {{
  input = {{ name = "features", password = var.db_password }}
}}

output "bucket" {{
  value = terraform_data.bucket.output
}}
"""


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, env=project_env(), check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from cookiecutter.main import cookiecutter

    monkeypatch.setenv("MLGATE_SKIP_INIT", "1")
    path = Path(
        cookiecutter(
            str(ROOT), no_input=True, output_dir=str(tmp_path / "gen"), extra_context={"cloud": "aws"}
        )
    )
    for env in ("staging", "prod"):
        folder = path / "terraform" / "envs" / env
        shutil.rmtree(folder)
        folder.mkdir(parents=True)
        (folder / "main.tf").write_text(offline_config(env), encoding="utf-8")
    if not (path / ".git").exists():
        git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Infrastructure")
    git(path, "remote", "add", "origin", f"https://github.com/{REPO}")
    return path


def run(project: Path, work: Path, mlgate_src: Path, fake: FakeGitHub, event: str) -> ActRun:
    head = git(project, "rev-parse", "HEAD")
    payload = (
        pull_request_event(PR, REPO, head_sha=head)
        if event == "pull_request"
        else {"ref": "refs/heads/main", "after": head, "repository": {"full_name": REPO}}
    )
    return run_workflow(
        project,
        event,
        payload,
        mlgate_src=mlgate_src,
        work=work,
        workflow="infra.yml",
        env={"GITHUB_API_URL": fake.url, "CHECKPOINT_DISABLE": "1"},
        secrets={"GITHUB_TOKEN": "test-token"},
        variables=VARS,
    )


def plan_comment(fake: FakeGitHub, env: str) -> str:
    bodies = [
        c["body"]
        for c in fake.comments_on(PR)
        if c["body"].startswith(f"<!-- mlgate:tf-plan:terraform/envs/{env}@default -->")
    ]
    assert len(bodies) == 1, [c["body"][:80] for c in fake.comments_on(PR)]
    return str(bodies[0])


def test_pr_gets_a_plan_per_environment_and_merge_applies_exactly_those_plans(
    project: Path, tmp_path: Path, mlgate_src: Path
) -> None:
    with FakeGitHub() as fake:
        pr_run = run(project, tmp_path / "pr", mlgate_src, fake, "pull_request")
        assert pr_run.job_results().get("plan") == "success", pr_run.explain()
        for env in ("staging", "prod"):
            body = plan_comment(fake, env)
            assert "**2** to add" in body and f"fraud-detection-{env}-artifacts" in body
            assert f"{env}-pa55word" not in body
        assert f"{'staging'}-pa55word" not in pr_run.log()
        artifacts = {p.name: p for p in (tmp_path / "pr" / "artifacts").iterdir()}
        staging = [p for name, p in artifacts.items() if name.startswith("tf-plan-terraform-envs-staging")]
        assert staging, artifacts
        # the plan text and the report are uploaded; the saved and JSON plans (secrets in clear) are not
        uploaded = {p.name: p for p in staging[0].rglob("*") if p.is_file()}
        assert {"plan.txt", "tf-plan.md"} <= set(uploaded) and not {"tfplan", "plan.json"} & set(uploaded)
        assert not any(b"staging-pa55word" in p.read_bytes() for p in uploaded.values())

        # "merge": the pushed commit belongs to the PR
        fake.link_commit(git(project, "rev-parse", "HEAD"), PR)
        push_run = run(project, tmp_path / "push", mlgate_src, fake, "push")
        results = push_run.job_results()
        assert results.get("apply-staging") == "success", push_run.explain()
        assert results.get("apply-prod") == "success", push_run.explain()
        for env in ("staging", "prod"):
            assert "Applied" in plan_comment(fake, env)


def test_merge_refuses_a_plan_that_changed_after_review(
    project: Path, tmp_path: Path, mlgate_src: Path
) -> None:
    with FakeGitHub() as fake:
        pr_run = run(project, tmp_path / "pr", mlgate_src, fake, "pull_request")
        assert pr_run.job_results().get("plan") == "success", pr_run.explain()
        # a later commit changes staging after the plan was reviewed
        (project / "terraform/envs/staging/main.tf").write_text(
            offline_config("staging", "artifacts-v2"), encoding="utf-8"
        )
        git(project, "commit", "-qam", "Rename the bucket after review")
        fake.link_commit(git(project, "rev-parse", "HEAD"), PR)
        push_run = run(project, tmp_path / "push", mlgate_src, fake, "push")
        results = push_run.job_results()
        assert results.get("apply-staging") == "failure", push_run.explain()
        assert results.get("apply-prod") != "success", push_run.explain()  # never after a refused staging
        body = plan_comment(fake, "staging")
        assert "Refused" in body and "terraform_data.bucket" in body
        assert any("plan changed since review" in a.message for a in push_run.annotations("error"))
