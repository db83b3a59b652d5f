"""The terraform-plan action's artifact: readable parts hold no secret; the plans go only encrypted.

Runs the real `mlgate tf-plan` (terraform on `terraform_data`, local backend) with a sensitive variable,
then reads the files the action's upload step lists (its allowlist, from action.yml) and runs the
action's own encryption script from action.yml with bash and openssl, and decrypts the bundle with the
command the README gives.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.project import ROOT
from tests.unit.test_terraform_gates import BASE, Repo
from tests.unit.test_terraform_gates import repo as repo  # noqa: PLC0414 - the fixture, re-exported

pytestmark = pytest.mark.skipif(
    shutil.which("terraform") is None or shutil.which("openssl") is None,
    reason="terraform and openssl are needed",
)

SECRET = "correct-horse-battery"  # BASE's sensitive default
ROTATED = "rotated-horse-battery"
ACTION = ROOT / "actions" / "terraform-plan" / "action.yml"


def step(name: str) -> dict[str, Any]:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    (found,) = [s for s in action["runs"]["steps"] if s.get("name") == name]
    return dict(found)


def uploaded(report_dir: Path) -> list[Path]:
    """The files the upload step sends, its `path:` lines resolved like the real action does."""
    lines = str(step("Upload the plan")["with"]["path"]).splitlines()
    found: list[Path] = []
    for line in filter(None, (line.strip() for line in lines)):
        pattern = line.replace("${{ steps.names.outputs.report-dir }}", str(report_dir))
        assert not set(pattern) & set("*?[!"), f"the allowlist names files, not patterns: {line}"
        match = Path(pattern)
        if match.is_dir():
            found += [p for p in match.rglob("*") if p.is_file()]
        elif match.is_file():
            found.append(match)
    return found


def test_the_uploaded_artifact_holds_no_secret_and_the_plans_only_encrypted(
    repo: Repo, tmp_path: Path
) -> None:
    repo.write("envs/dev/main.tf", BASE)
    assert repo.plan("envs/dev")[0] == 0
    assert repo.apply("envs/dev")[0] == 0
    # rotating the secret: Terraform's own text shows the old value of terraform_data's `output` in clear
    repo.write("envs/dev/main.tf", BASE.replace(SECRET, ROTATED))
    code, out = repo.plan("envs/dev")
    assert code == 0
    report_dir = Path(out["report-path"]).parent.resolve()
    # the JSON plan holds both secrets in clear: that is why it is not uploaded as it is
    plan_json = Path(out["json-plan-path"]).read_bytes()
    assert SECRET.encode() in plan_json and ROTATED.encode() in plan_json

    files = uploaded(report_dir)
    names = {p.name for p in files}
    assert {"plan.txt", "tf-plan.md", "tf-plan.json"} <= names  # the text and summary stay available
    assert not names & {"tfplan", "plan.json"}
    assert "(sensitive value changed)" in (report_dir / "tf-plan.md").read_text(encoding="utf-8")
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
        assert ROTATED.encode() not in path.read_bytes(), path

    encrypt = step("Encrypt the saved and JSON plans")
    assert "inputs.plan-encryption-key != ''" in encrypt["if"]  # no key: nothing sensitive goes out
    env = {**os.environ, "MLGATE_PLAN_KEY": "repo-secret-key", "MLGATE_REPORT_DIR": str(report_dir)}
    subprocess.run(["bash", "-eo", "pipefail", "-c", encrypt["run"]], env=env, check=True)
    bundle = report_dir / "sensitive.tar.enc"
    assert bundle in uploaded(report_dir)
    assert SECRET.encode() not in bundle.read_bytes()

    out_dir = tmp_path / "decrypted"
    out_dir.mkdir()
    decrypt = (
        "openssl enc -d -aes-256-cbc -pbkdf2 -iter 600000 -md sha256 "
        f"-pass env:MLGATE_PLAN_KEY -in {bundle} | tar -x"
    )
    subprocess.run(["bash", "-eo", "pipefail", "-c", decrypt], cwd=out_dir, env=env, check=True)
    assert (out_dir / "plan.json").read_bytes() == Path(out["json-plan-path"]).read_bytes()
    assert (out_dir / "tfplan").read_bytes() == Path(out["plan-path"]).read_bytes()
    wrong = {**env, "MLGATE_PLAN_KEY": "not-the-key"}
    failed = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", decrypt], cwd=out_dir, env=wrong, capture_output=True, check=False
    )
    assert failed.returncode != 0
