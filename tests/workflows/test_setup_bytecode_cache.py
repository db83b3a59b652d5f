"""actions/setup's bytecode cache, run for real with act on a tiny uv project (click as its dependency).

Two runs of one job, with the actions/cache stand-in keeping its entries in a directory between them and
bytecode writing on (as on GitHub's runners). uv installs by copying (`UV_LINK_MODE=copy`), so the second
run's files have new modification times, as on a runner whose uv cache was pruned and unpacked anew. The
first run misses, imports click (writing its `.pyc`) and saves them at the end; the second restores them,
re-stamps them for the reinstalled sources, and Python imports click without compiling it again (the
`.pyc` is not rewritten).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.act import OPTIONS, run_workflow
from tests.support.project import project_env, uv_bin

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("act-setup-bytecode")]

PIN = OPTIONS["_action_pins"]["actions/checkout"]
SETUP = f"{OPTIONS['mlgate_repo']}/actions/setup@v0.1.0"

WORKFLOW = f"""\
name: ci
on: push
permissions: {{}}
jobs:
  probe:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@{PIN}
        with:
          persist-credentials: false
      - id: setup
        uses: {SETUP}
        with:
          groups: none
      - name: Import click
        env:
          HIT: ${{{{ steps.setup.outputs.bytecode-cache-hit }}}}
        run: |
          echo "bytecode-cache-hit=$HIT"
          shopt -s nullglob
          click_dir=(.venv/lib/python3.*/site-packages/click)
          digest() {{ cat /dev/null "${{click_dir[0]}}"/__pycache__/core.*.pyc | sha256sum; }}
          before="$(digest)"
          uv run --no-sync python -c 'import click'
          after="$(digest)"
          absent="$(printf '' | sha256sum)"
          if [ "$before" = "$absent" ]; then echo "click.core: compiled"
          elif [ "$before" = "$after" ]; then echo "click.core: restored bytecode used"
          else echo "click.core: compiled again"; fi
"""

PYPROJECT = """\
[project]
name = "tiny"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["click>=8"]

[tool.uv]
package = false
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=project_env(), check=True, capture_output=True)


def test_a_second_run_uses_the_bytecode_the_first_compiled(
    tmp_path: Path, mlgate_src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "tiny"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW, encoding="utf-8")
    (repo / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (repo / ".python-version").write_text("3.11\n", encoding="utf-8")
    (repo / ".gitignore").write_text(".venv/\n", encoding="utf-8")
    subprocess.run([uv_bin(), "lock", "--quiet"], cwd=repo, env=project_env(), check=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Initial commit")
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # GitHub's runners write bytecode
    env = {"MLGATE_TEST_CACHE_DIR": str(tmp_path / "cache"), "UV_LINK_MODE": "copy"}

    def run(name: str) -> str:
        result = run_workflow(repo, "push", {}, mlgate_src=mlgate_src, work=tmp_path / name, env=env)
        assert result.job_result("probe") == "success", result.explain()
        return result.log("probe")

    first = run("first")
    assert "bytecode-cache-hit=false" in first
    assert "click.core: compiled" in first
    assert "stand-in cache: saved mlgate-bytecode-v1-" in first
    saved = list((tmp_path / "cache").glob("*.tar"))
    assert len(saved) == 1, saved

    second = run("second")
    assert "bytecode-cache-hit=true" in second
    restamped = [line for line in second.splitlines() if "bytecode cache:" in line]
    assert restamped, second
    assert "(0 re-stamped" not in restamped[-1], restamped  # the copies' new times were re-stamped
    assert "click.core: restored bytecode used" in second, second
    assert "exists, not saving" in second
