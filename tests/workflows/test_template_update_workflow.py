"""The generated repository's template update (`template-update.yml`), run for real with act.

A project is generated (cloud=aws, so it has Terraform module refs too) from a clone of this checkout
tagged v0.1.0, and the user edits a line of its Makefile. The clone then gains v0.2.0: every version place
bumped by `tools/release.py bump` and the same Makefile line changed. The workflow, dispatched against the
recording GitHub API with a bare repository standing in for the GitHub remote, must push one branch and
open one pull request in which every action pin, every module ref and the package pin name v0.2.0 (the
tag's commit), whose uv.lock `uv lock --check` accepts, and whose body lists the Makefile conflict; a
second run refreshes the same pull request. Without the app it stops with what to configure.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.act import ActRun, run_workflow
from tests.support.fake_github import FakeGitHub
from tests.support.project import (
    as_github_repository,
    fresh_wheel_dir,
    git,
    git_sha,
    project_env,
    render_project,
    snapshot_template,
    uv_bin,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("act-template-update")]

REPO = "acme/fraud-detection"
BRANCH = "mlgate/template-update"
APP = {"variables": {"MLGATE_APP_ID": "12345"}, "secrets": {"MLGATE_APP_PRIVATE_KEY": "-----BEGIN KEY-----"}}


def _edit_makefile_help(makefile: Path, text: str) -> None:
    body = makefile.read_text(encoding="utf-8")
    old = "help: ## List the targets"
    assert old in body
    makefile.write_text(body.replace(old, f"help: ## {text}"), encoding="utf-8")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("template-update")
    template = snapshot_template(root / "mlgate", tag="v0.1.0")
    generated = render_project(root / "out", template=template, wheel_dir=wheel_dir, init=True, cloud="aws")
    project = as_github_repository(generated, REPO)
    _edit_makefile_help(project / "Makefile", "Show the targets (our wording)")
    git(project, "commit", "-q", "-am", "our own edit")
    # the GitHub remote: a bare repository at <server>/<owner>/<name>.git
    server = root / "server"
    remote = server / f"{REPO}.git"
    remote.mkdir(parents=True)
    git(remote, "init", "-q", "--bare", "-b", "main")
    git(project, "push", "-q", str(remote), "main")
    gitconfig = root / "gitconfig"
    gitconfig.write_text(f'[url "file://{server}/"]\n\tinsteadOf = https://github.com/\n', encoding="utf-8")

    # mlgate v0.2.0: the version bumped everywhere, the same Makefile line changed upstream
    subprocess.run(
        [sys.executable, str(template / "tools" / "release.py"), "--root", str(template), "bump", "0.2.0"],
        check=True,
        capture_output=True,
    )
    schema = template / "schema" / "mlgate.schema.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace("/v0.1.0/", "/v0.2.0/"), encoding="utf-8")
    _edit_makefile_help(template / "{{cookiecutter.project_slug}}" / "Makefile", "List every target")
    git(template, "commit", "-q", "-am", "release v0.2.0")
    git(template, "tag", "v0.2.0")

    # "PyPI": both releases' wheels
    wheels = fresh_wheel_dir(root / "wheels")
    for wheel in wheel_dir.glob("mlgate-*.whl"):
        shutil.copy2(wheel, wheels)
    subprocess.run(
        [uv_bin(), "build", "--wheel", "--quiet", "--out-dir", str(wheels), str(template)], check=True
    )
    return {
        "template": template,
        "project": project,
        "remote": remote,
        "wheels": wheels,
        "gitconfig": gitconfig,
    }


def dispatch(world: dict[str, Path], fake: FakeGitHub, work: Path, mlgate_src: Path, **extra: dict) -> ActRun:
    return run_workflow(
        world["project"],
        "workflow_dispatch",
        {"ref": "refs/heads/main", "inputs": {"to": ""}},
        mlgate_src=mlgate_src,
        work=work,
        workflow="template-update.yml",
        env={
            "GITHUB_API_URL": fake.url,
            # git pushes to https://github.com/<repo>.git land in the bare repository
            "GIT_CONFIG_GLOBAL": str(world["gitconfig"]),
            "UV_FIND_LINKS": str(world["wheels"]),
        },
        secrets={"GITHUB_TOKEN": "workflow-token", **extra.get("secrets", {})},
        variables=extra.get("variables"),
        timeout=1500,
    )


def test_one_pull_request_moves_pins_module_refs_and_package_to_the_new_release(
    world: dict[str, Path], tmp_path: Path, mlgate_src: Path
) -> None:
    with FakeGitHub() as fake:
        unconfigured = dispatch(world, fake, tmp_path / "noapp", mlgate_src)
        assert unconfigured.job_result("update") == "failure", unconfigured.explain()
        assert any("MLGATE_APP_ID" in a.message for a in unconfigured.annotations("error")), (
            unconfigured.explain()
        )
        assert fake.state.pulls == {}

        first = dispatch(world, fake, tmp_path / "first", mlgate_src, **APP)
        # the update is proposed, and the job fails because the Makefile conflict needs a human
        assert first.job_result("update") == "failure", first.explain()
        (pull,) = fake.state.pulls.values()
        assert pull["head"]["ref"] == BRANCH and pull["base"] == "main"
        assert "v0.1.0 → v0.2.0" in pull["title"]
        assert "## ⚠️ Conflicts" in pull["body"] and "- `Makefile`" in pull["body"], pull["body"]
        assert "| `uv sync --locked` | ✅ |" in pull["body"], pull["body"]
        assert "| `uv run mlgate config check` | ✅ |" in pull["body"], pull["body"]
        # pushed with the app's token, and only through the header (nothing in the remote's config)
        pushes = [r for r in fake.requests if r.path.endswith("/pulls") and r.method == "POST"]
        assert pushes and pushes[0].headers.get("Authorization") == "Bearer ghs_standin-app-token"

        # what the branch holds
        checkout = tmp_path / "branch"
        git(tmp_path, "clone", "-q", "--branch", BRANCH, str(world["remote"]), str(checkout))
        new_sha = git_sha(world["template"], "v0.2.0")
        uses = [
            line.strip()
            for path in (checkout / ".github" / "workflows").glob("*.yml")
            for line in path.read_text(encoding="utf-8").splitlines()
            if "mlgate-dev/mlgate/actions/" in line
        ]
        assert uses and all(line.endswith(f"@{new_sha} # v0.2.0") for line in uses), uses
        modules = [
            line.strip()
            for path in (checkout / "terraform").rglob("*.tf")
            for line in path.read_text(encoding="utf-8").splitlines()
            if "mlgate.git//" in line
        ]
        assert modules and all(f'?ref={new_sha}" # v0.2.0' in line for line in modules), modules
        pyproject = (checkout / "pyproject.toml").read_text(encoding="utf-8")
        assert re.search(r'"mlgate\[[a-z,]+\]==0\.2\.0"', pyproject), pyproject
        assert 'name = "mlgate"\nversion = "0.2.0"' in (checkout / "uv.lock").read_text(encoding="utf-8")
        check = subprocess.run(
            [uv_bin(), "lock", "--check"],
            cwd=checkout,
            env=project_env(UV_FIND_LINKS=str(world["wheels"])),
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        makefile = (checkout / "Makefile").read_text(encoding="utf-8")
        assert "<<<<<<<" in makefile and "our wording" in makefile and "List every target" in makefile
        config = subprocess.run(
            ["git", "config", "--list"], cwd=world["project"], capture_output=True, text=True, check=False
        )
        assert "extraheader" not in config.stdout

        second = dispatch(world, fake, tmp_path / "second", mlgate_src, **APP)
        assert second.job_result("update") == "failure", second.explain()
        assert len(fake.state.pulls) == 1  # the same pull request, refreshed
        assert any(r.method == "PATCH" and "/pulls/" in r.path for r in fake.requests)
