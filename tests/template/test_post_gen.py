"""What the post-generation hook leaves behind: cruft state, SHA pins, and an initialised repository."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from tests.support.project import git_sha, project_env, render_project, snapshot_template
from tests.template.conftest import RELEASE_TAG, needs_template, tool

pytestmark = needs_template


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, env=project_env()
    ).stdout.strip()


def cruft(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run cruft in the generated project's environment; the caller judges the outcome."""
    return subprocess.run(
        [tool("cruft"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=project_env(),
        check=False,
        timeout=300,
    )


def mlgate_uses(project: Path) -> list[str]:
    lines = []
    for path in sorted((project / ".github" / "workflows").glob("*.y*ml")):
        lines += [
            line.strip()
            for line in path.read_text(encoding="utf-8").splitlines()
            if "mlgate/actions/" in line
        ]
    return [line for line in lines if line.lstrip("- ").startswith("uses:")]


# ------------------------------------------------------------------------------------------- cruft


def test_cruft_json_records_template_commit_and_answers(
    render_cached: Callable[..., Path], tagged_template: Path
) -> None:
    project = render_cached()
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["template"] == str(tagged_template.resolve())
    assert state["commit"] == git_sha(tagged_template)
    assert state["checkout"] is None and state["directory"] is None
    answers = state["context"]["cookiecutter"]
    assert answers["project_slug"] == "fraud-detection" and answers["python_version"] == "3.11"
    assert "_repo_dir" not in answers and "_output_dir" not in answers


def test_cruft_check_and_diff_in_the_generated_repo(render_cached: Callable[..., Path]) -> None:
    """`cruft check` finds the project current, and `cruft diff` regenerates it byte for byte
    (hooks included: the SHA pins come out the same)."""
    project = render_cached()
    check = cruft("check", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "up to date" in check.stdout
    diff = cruft("diff", "--exit-code", cwd=project)
    assert diff.returncode == 0, diff.stdout[-4000:] + diff.stderr[-4000:]


def test_cruft_check_sees_a_newer_template(tmp_path: Path) -> None:
    template = snapshot_template(tmp_path / "mlgate", tag=RELEASE_TAG)
    project = render_project(tmp_path / "out", template=template)
    (template / "NEWS.md").write_text("a later template change\n", encoding="utf-8")
    git(template, "add", "NEWS.md")
    git(template, "commit", "-q", "-m", "later change")
    check = cruft("check", cwd=project)
    assert check.returncode != 0
    assert "out of date" in check.stdout


# --------------------------------------------------------------------------------------- SHA pins


def test_tag_is_pinned_to_its_commit_not_head(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    template = snapshot_template(tmp_path / "mlgate", tag=RELEASE_TAG)
    tagged = git_sha(template, RELEASE_TAG)
    (template / "NEWS.md").write_text("after the release\n", encoding="utf-8")
    git(template, "add", "NEWS.md")
    git(template, "commit", "-q", "-m", "after the release")
    assert git_sha(template) != tagged
    project = render_project(tmp_path / "out", template=template)
    uses = mlgate_uses(project)
    assert uses
    for line in uses:
        assert re.search(rf"@{tagged} # {re.escape(RELEASE_TAG)}$", line), line
    assert "is not in the template checkout" not in capfd.readouterr().out


def test_unknown_tag_is_kept_by_name_with_a_note(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    template = snapshot_template(tmp_path / "mlgate")  # no tag
    project = render_project(tmp_path / "out", template=template, mlgate_ref="v9.9.9")
    uses = mlgate_uses(project)
    assert uses and all(line.endswith("@v9.9.9") for line in uses)
    assert "note: v9.9.9 is not in the template checkout" in capfd.readouterr().out


def test_sha_answer_is_used_as_given(tmp_path: Path, tagged_template: Path) -> None:
    sha = git_sha(tagged_template)
    project = render_project(tmp_path, template=tagged_template, mlgate_ref=sha)
    assert all(line.endswith(f"@{sha}") for line in mlgate_uses(project))


# ------------------------------------------------------------------------------------ initialisation


def test_git_repository_with_one_commit_even_without_an_identity(
    tmp_path: Path, tagged_template: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """No git identity and no uv/dvc on PATH: git still gets its first commit, the others a note."""
    home = tmp_path / "home"
    home.mkdir()
    for key in list(os.environ):
        if key.startswith(("GIT_", "MLGATE_", "UV_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    git_dir = Path(
        subprocess.run(["which", "git"], capture_output=True, text=True, check=True).stdout.strip()
    ).parent
    monkeypatch.setenv("PATH", str(git_dir))
    project = Path(cookiecutter(str(tagged_template), no_input=True, output_dir=str(tmp_path / "out")))
    out = capfd.readouterr().out
    assert git(project, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(project, "rev-list", "--count", "HEAD") == "1"
    assert git(project, "log", "-1", "--format=%an <%ae>") == "mlgate generator <mlgate@localhost>"
    assert git(project, "status", "--porcelain") == ""
    tracked = set(git(project, "ls-files").splitlines())
    assert {".cruft.json", ".dvc/config", ".github/workflows/ci.yml", "pyproject.toml"} <= tracked
    assert "note: uv is not installed" in out
    assert "git init -b main" not in out
    assert re.search(rf"^  cd {re.escape(str(project))}$", out, flags=re.MULTILINE), out


def test_cruft_create_runs_the_same_hooks(tmp_path: Path, tagged_template: Path) -> None:
    """Under cruft: answers validated, mlgate pinned to the tag's commit, cruft's own .cruft.json kept."""
    out = tmp_path / "out"
    out.mkdir()
    create = ["create", str(tagged_template), "--no-input", "--output-dir"]
    proc = cruft(*create, str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    project = out / "fraud-detection"
    release = git_sha(tagged_template, RELEASE_TAG)
    uses = mlgate_uses(project)
    assert uses and all(line.endswith(f"@{release} # {RELEASE_TAG}") for line in uses)
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["commit"] == git_sha(tagged_template)
    assert not (project / ".git").exists(), "initialisation is left to the user under cruft"

    bad = cruft(*create, str(tmp_path / "bad"), "--extra-context", '{"author_email": "nobody"}')
    assert bad.returncode != 0
    assert "ERROR: author_email 'nobody' is not an e-mail address" in bad.stderr + bad.stdout


def test_failed_uv_lock_is_a_note_not_a_failure(
    tmp_path: Path, tagged_template: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Before the pinned mlgate release is reachable, `uv lock` fails: the project is still generated
    and committed, and the note says what to run later."""
    project = render_project(tmp_path, template=tagged_template, init=True, env={"UV_OFFLINE": "1"})
    out = capfd.readouterr().out
    assert "note: uv lock did not succeed" in out and "run `uv lock` again" in out
    assert not (project / "uv.lock").exists()
    assert git(project, "rev-list", "--count", "HEAD") == "1"
    assert git(project, "status", "--porcelain") == ""


def test_generate_from_a_git_url_at_a_tag_like_a_user(
    tmp_path: Path, tagged_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cookiecutter <git url> --checkout <tag>` clones the template (here a file:// URL standing in for
    GitHub), pins the tag's commit, and records the URL and commit for cruft."""
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'clones'}\nreplay_dir: {tmp_path / 'replay'}\n", encoding="utf-8"
    )
    monkeypatch.setenv("MLGATE_SKIP_INIT", "1")
    url = f"file://{tagged_template}"
    project = Path(
        cookiecutter(
            f"git+{url}",
            checkout=RELEASE_TAG,
            no_input=True,
            output_dir=str(tmp_path / "out"),
            config_file=str(config),
        )
    )
    release = git_sha(tagged_template, RELEASE_TAG)
    uses = mlgate_uses(project)
    assert uses and all(line.endswith(f"@{release} # {RELEASE_TAG}") for line in uses)
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert (state["template"], state["commit"]) == (url, release)
    check = cruft("check", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
