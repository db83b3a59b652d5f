"""mlgate's `setup` and `lint` actions, run for real with act on a tiny uv project.

The project has a locked environment (pre-commit, ruff and mlgate, from this checkout's wheel, in its
`dev` group: the lint action runs the action's code on that environment's locked libraries), a `repo: local`
pre-commit hook and a workflow that calls `<mlgate_repo>/actions/setup` then `actions/lint`, mapped to
this checkout. The lint job passes on clean code and fails with a file/line annotation on a lint error.
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support.act import OPTIONS, pull_request_event, run_workflow
from tests.support.project import ROOT, project_env, uv_bin

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("act-lint-action")]

REPO = "acme/tiny"
PIN = OPTIONS["_action_pins"]["actions/checkout"]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
MLGATE = f"{OPTIONS['mlgate_repo']}/actions/{{name}}@v0.1.0"

WORKFLOW = f"""\
name: ci
on: pull_request
permissions: {{}}
jobs:
  lint:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    outputs:
      passed: ${{{{ steps.lint.outputs.passed }}}}
      failure-reason: ${{{{ steps.lint.outputs.failure-reason }}}}
    steps:
      - uses: actions/checkout@{PIN}
        with:
          persist-credentials: false
      - uses: {MLGATE.format(name="setup")}
        with:
          groups: dev
      - id: lint
        uses: {MLGATE.format(name="lint")}
"""

PRE_COMMIT = """\
repos:
  - repo: local
    hooks:
      - id: ruff
        name: ruff
        entry: ruff check --output-format concise
        language: system
        types: [python]
"""

PYPROJECT = """\
[project]
name = "tiny"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[dependency-groups]
dev = ["pre-commit>=4", "ruff>=0.12", "mlgate=={version}"]

[tool.uv]
package = false
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=project_env(), check=True, capture_output=True)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> Path:
    repo = tmp_path_factory.mktemp("tiny")
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW, encoding="utf-8")
    (repo / ".pre-commit-config.yaml").write_text(PRE_COMMIT, encoding="utf-8")
    (repo / "pyproject.toml").write_text(PYPROJECT.format(version=VERSION), encoding="utf-8")
    (repo / ".python-version").write_text("3.11\n", encoding="utf-8")
    (repo / ".gitignore").write_text(".venv/\n.mlgate/\n", encoding="utf-8")
    (repo / "app.py").write_text('def greet(name: str) -> str:\n    return f"hi {name}"\n', encoding="utf-8")
    subprocess.run([uv_bin(), "lock", "--quiet"], cwd=repo, env=project_env(wheel_dir), check=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Initial commit")
    git(repo, "remote", "add", "origin", f"https://github.com/{REPO}")
    return repo


def test_lint_passes_then_fails_with_an_annotation(
    tiny: Path, tmp_path: Path, mlgate_src: Path, wheel_dir: Path
) -> None:
    find_links = {"UV_FIND_LINKS": str(wheel_dir)}  # mlgate from this checkout, standing in for PyPI
    clean = run_workflow(
        tiny,
        "pull_request",
        pull_request_event(3, REPO),
        mlgate_src=mlgate_src,
        work=tmp_path / "clean",
        env=find_links,
    )
    assert clean.job_result("lint") == "success", clean.explain()
    assert clean.outputs("lint").get("passed") == "true", clean.explain()
    assert "| ruff | ✅ Passed |" in clean.summaries("lint"), clean.explain()

    (tiny / "app.py").write_text(
        "import os\n" + (tiny / "app.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    git(tiny, "commit", "-qam", "Add an unused import")
    try:
        broken = run_workflow(
            tiny,
            "pull_request",
            pull_request_event(3, REPO),
            mlgate_src=mlgate_src,
            work=tmp_path / "broken",
            env=find_links,
        )
    finally:
        git(tiny, "reset", "-q", "--hard", "HEAD~1")
    assert broken.job_result("lint") == "failure", broken.explain()
    assert broken.outputs("lint").get("failure-reason") == "hooks-failed", broken.explain()
    errors = [a for a in broken.annotations("error") if a.file == "app.py"]
    assert errors, broken.explain()
    f401 = [a for a in errors if a.message.startswith("F401")]
    assert [(a.line, a.col) for a in f401] == [(1, 8)], errors
