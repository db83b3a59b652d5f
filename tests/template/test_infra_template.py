"""The `cloud` option: `none` generates no infrastructure; `aws` generates terraform/envs and infra.yml.

Rendered with the real cookiecutter. The generated Terraform cannot be `init`ed offline (it sources
mlgate's modules over git and needs the AWS provider), so it gets what runs here: HCL parsing,
`terraform fmt -check`, checkov; infra.yml gets the workflow linters and the security rules.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from tests.support.project import ROOT, TEMPLATE_OPTIONS

BIN = Path(sys.executable).parent
TERRAFORM_FILES = {
    f"terraform/envs/{env}/{name}"
    for env in ("staging", "prod")
    for name in ("backend.tf", "main.tf", "outputs.tf", "variables.tf")
}
PINS: dict[str, str] = TEMPLATE_OPTIONS["_action_pins"]


def render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **answers: str) -> Path:
    from cookiecutter.main import cookiecutter

    monkeypatch.setenv("MLGATE_SKIP_INIT", "1")  # no git init / uv lock: only the rendered files matter
    out = cookiecutter(str(ROOT), no_input=True, output_dir=str(tmp_path), extra_context=answers)
    return Path(out)


def files_under(project: Path, *parts: str) -> set[str]:
    base = project.joinpath(*parts)
    return (
        {p.relative_to(project).as_posix() for p in base.rglob("*") if p.is_file()}
        if base.exists()
        else set()
    )


@pytest.fixture(scope="module")
def aws_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mp = pytest.MonkeyPatch()
    try:
        return render(tmp_path_factory.mktemp("aws"), mp, cloud="aws")
    finally:
        mp.undo()


def test_cloud_is_an_option_with_none_first() -> None:
    assert TEMPLATE_OPTIONS["cloud"][:2] == ["none", "aws"]


def test_cloud_none_generates_no_infrastructure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = render(tmp_path, monkeypatch, cloud="none")
    assert files_under(project, "terraform") == set()
    assert not (project / ".github/workflows/infra.yml").exists()


def test_cloud_aws_generates_both_environments_and_infra_workflow(aws_project: Path) -> None:
    assert files_under(aws_project, "terraform") == TERRAFORM_FILES
    assert (aws_project / ".github/workflows/infra.yml").is_file()
    for rel in [*TERRAFORM_FILES, ".github/workflows/infra.yml"]:
        text = (aws_project / rel).read_text(encoding="utf-8")
        leftover = re.search(r"\{%|\{\{\s*cookiecutter|(?<!\$)\{\{", text)  # GitHub's ${{ }} is expected
        assert leftover is None, f"{rel}: unrendered Jinja {leftover.group(0) if leftover else ''}"


def parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return dict(hcl2.load(fh))


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_environments_source_mlgate_modules_at_the_pinned_ref_with_locked_remote_state(
    aws_project: Path, env: str
) -> None:
    main = parse(aws_project / f"terraform/envs/{env}/main.tf")
    sources = {
        name.strip('"'): body["source"].strip('"') for block in main["module"] for name, body in block.items()
    }
    repo, ref = TEMPLATE_OPTIONS["mlgate_repo"], TEMPLATE_OPTIONS["mlgate_ref"]
    # the image repository (one per project) lives with prod
    images = {
        "images": f"git::https://github.com/{repo}.git//terraform/modules/ecr-repository?ref={ref}",
        "image_push_role": f"git::https://github.com/{repo}.git//terraform/modules/github-oidc?ref={ref}",
    }
    assert sources == {
        "artifacts": f"git::https://github.com/{repo}.git//terraform/modules/ml-bucket?ref={ref}",
        "plan_role": f"git::https://github.com/{repo}.git//terraform/modules/github-oidc?ref={ref}",
        "apply_role": f"git::https://github.com/{repo}.git//terraform/modules/github-oidc?ref={ref}",
        "endpoint": f"git::https://github.com/{repo}.git//terraform/modules/sagemaker-endpoint?ref={ref}",
        **(images if env == "prod" else {}),
    }
    for module in sources.values():  # every sourced module exists in this checkout
        assert (ROOT / "terraform/modules" / module.split("modules/")[1].split("?")[0] / "main.tf").is_file()
    backend = parse(aws_project / f"terraform/envs/{env}/backend.tf")["terraform"][0]["backend"][0]
    s3 = backend['"s3"']
    assert s3["use_lockfile"] is True and s3["encrypt"] is True
    assert s3["key"].strip('"') == f"envs/{env}/terraform.tfstate"
    # the apply role trusts only this environment's jobs
    text = (aws_project / f"terraform/envs/{env}/main.tf").read_text(encoding="utf-8")
    assert f'environments         = ["{env}"]' in text


def test_prod_holds_the_image_repository_sagemaker_pulls_and_a_push_only_role_for_cd(
    aws_project: Path,
) -> None:
    """SageMaker pulls only from ECR: prod's Terraform makes the repository (its URL is cd.yml's
    ECR_REPOSITORY), lets the execution roles pull, and gives CD's image job (main, no environment) a role
    that may push there and nowhere else (ECR_PUSH_ROLE_ARN)."""
    main = parse(aws_project / "terraform/envs/prod/main.tf")
    modules = {name.strip('"'): body for block in main["module"] for name, body in block.items()}
    images, push = modules["images"], modules["image_push_role"]
    assert images["kms_key_arn"] == "${module.artifacts.kms_key_arn}"
    assert (
        images["pull_role_arns"]
        == "${compact(concat([var.sagemaker_execution_role_arn], var.image_pull_role_arns))}"
    )
    assert push["branches"] == ['"main"'] and "environments" not in push and "pull_requests" not in push
    assert push["policy_json"] == "${module.images.push_policy_json}"
    outputs = {
        k.strip('"'): v
        for block in parse(aws_project / "terraform/envs/prod/outputs.tf")["output"]
        for k, v in block.items()
    }
    assert outputs["image_repository_url"]["value"] == "${module.images.repository_url}", outputs
    assert "ECR_REPOSITORY" in outputs["image_repository_url"]["description"]
    assert outputs["image_push_role_arn"]["value"] == "${module.image_push_role.role_arn}"
    assert "ECR_PUSH_ROLE_ARN" in outputs["image_push_role_arn"]["description"]
    # the apply role may manage that repository (and its key grant), nothing else in ECR
    apply = (aws_project / "terraform/envs/prod/main.tf").read_text(encoding="utf-8")
    slug = aws_project.name
    assert f'resources = ["arn:aws:ecr:*:${{local.account}}:repository/{slug}"]' in apply
    # the push role's policy: the module's, scoped to the repository ARN
    module = (ROOT / "terraform/modules/ecr-repository/main.tf").read_text(encoding="utf-8")
    push_doc = module.split('data "aws_iam_policy_document" "push"')[1].split(
        'data "aws_iam_policy_document"'
    )[0]
    assert "resources = [aws_ecr_repository.this.arn]" in push_doc and "ecr:PutImage" in push_doc
    assert 'image_tag_mutability = "IMMUTABLE"' in module and "scan_on_push = true" in module


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")
def test_generated_terraform_is_fmt_clean(aws_project: Path, tmp_path: Path) -> None:
    rc = tmp_path / "terraformrc"
    rc.write_text("", encoding="utf-8")
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": str(rc)}
    proc = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-list=true", "terraform"],
        cwd=aws_project,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def workflow(project: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load((project / ".github/workflows/infra.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_infra_workflow_security_rules(aws_project: Path) -> None:
    wf = workflow(aws_project)
    triggers = wf[True]  # PyYAML reads the key `on` as True
    assert "terraform/**" in triggers["pull_request"]["paths"]
    assert triggers["push"]["branches"] == ["main"] and "pull_request_target" not in triggers
    assert wf["permissions"] == {}
    jobs = wf["jobs"]
    assert set(jobs) == {"plan", "apply-staging", "apply-prod"}
    assert [m["environment"] for m in jobs["plan"]["strategy"]["matrix"]["include"]] == ["staging", "prod"]
    for name, job in jobs.items():
        assert job["permissions"]["id-token"] == "write", name  # cloud access through OIDC only
        assert set(job["permissions"]) == {"contents", "pull-requests", "id-token"}
        checkout = job["steps"][0]
        assert checkout["uses"].startswith("actions/checkout@")
        assert checkout["with"]["persist-credentials"] is False
        aws = job["steps"][1]
        assert aws["uses"].startswith("aws-actions/configure-aws-credentials@")
        assert set(aws["with"]) == {"role-to-assume", "aws-region"}  # no access keys
    for env in ("staging", "prod"):
        job = jobs[f"apply-{env}"]
        assert job["environment"] == env
        assert job["concurrency"] == {"group": f"infra-apply-{env}", "cancel-in-progress": False}
        assert job["steps"][-1]["with"]["working-directory"] == f"terraform/envs/{env}"
    assert jobs["apply-prod"]["needs"] == "apply-staging"
    text = (aws_project / ".github/workflows/infra.yml").read_text(encoding="utf-8")
    assert "secrets." not in text and "aws-access-key-id" not in text


def test_infra_workflow_uses_only_pinned_actions(aws_project: Path) -> None:
    text = (aws_project / ".github/workflows/infra.yml").read_text(encoding="utf-8")
    mlgate = TEMPLATE_OPTIONS["mlgate_repo"]
    for action, ref in re.findall(r"uses:\s*([^@\s]+)@(.+)", text):
        if action.startswith(f"{mlgate}/actions/"):
            assert action.split("/")[-1] in {"terraform-plan", "terraform-apply"}
            assert (ROOT / "actions" / action.split("/")[-1] / "action.yml").is_file()
            continue
        assert ref.strip() == PINS[action], action


@pytest.mark.parametrize("linter", ["actionlint", "zizmor", "check-jsonschema"])
def test_infra_workflow_passes_the_workflow_linters(aws_project: Path, tmp_path: Path, linter: str) -> None:
    # the post-generation hook pins mlgate's own actions to the release commit; do the same here
    text = (aws_project / ".github/workflows/infra.yml").read_text(encoding="utf-8")
    pinned = re.sub(r"(/actions/terraform-(?:plan|apply))@(\S+)", r"\1@" + "0" * 40 + r" # \2", text)
    target = tmp_path / ".github/workflows/infra.yml"
    target.parent.mkdir(parents=True)
    target.write_text(pinned, encoding="utf-8")
    args = {
        "actionlint": [str(BIN / "actionlint"), str(target)],
        "zizmor": [str(BIN / "zizmor"), "--offline", "--no-progress", str(target)],
        "check-jsonschema": [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(target),
        ],
    }[linter]
    proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_generated_terraform_is_checkov_clean(aws_project: Path, tmp_path: Path) -> None:
    from mlgate.terraform.checkov import DEFAULT_COMMAND, run_checkov

    report = run_checkov(
        aws_project / "terraform",
        out_dir=tmp_path,
        command=os.environ.get("MLGATE_CHECKOV_COMMAND", DEFAULT_COMMAND),
    )
    assert not report.error, report.error
    assert report.findings == [], [f"{f.check_id} {f.resource} {f.file}:{f.line}" for f in report.findings]


def test_aws_projects_configure_the_terraform_gates_in_mlgate_yaml(aws_project: Path) -> None:
    from mlgate.config import check_config, load_section
    from mlgate.terraform.config import TerraformSection

    assert "terraform" in check_config(aws_project / "mlgate.yaml")
    section = load_section(aws_project / "mlgate.yaml", "terraform", TerraformSection)
    assert section.lock_timeout == "5m" and section.checkov
