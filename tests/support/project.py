"""Generate a project from this checkout and give it an environment, the way a user would.

    wheel_dir = build_mlgate_wheel(tmp)          # mlgate built from this checkout (stands in for PyPI)
    project = render_project(tmp, project_name="Churn Model")   # real cookiecutter, --no-input
    sync_project(project, wheel_dir)             # `uv sync` with the wheel on find-links

The generated files are exactly what a user gets: only the package index differs (a local wheel of
mlgate instead of PyPI), through uv's `UV_FIND_LINKS`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_OPTIONS: dict[str, Any] = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))


def uv_bin() -> str:
    candidate = Path(sys.executable).parent / "uv"  # the dev group's uv: a real binary, not a shim
    if candidate.exists():
        return str(candidate)
    found = shutil.which("uv")
    if found:
        return found
    raise RuntimeError("uv is not installed: run `make setup` (or `pip install uv`)")


def fresh_wheel_dir(parent: Path) -> Path:
    """A directory no earlier run used, for wheels that generated projects install through find-links.

    uv caches a find-links wheel by its path, and mlgate's version does not change between builds: a path
    reused by a later run (the same `--basetemp`) would install the wheel an earlier run built there.
    `uv cache clean mlgate` does not prevent it: the Makefile's uv and the dev group's uv (which the tests
    and the act runs use) can be different releases with different cache buckets."""
    import uuid

    target = parent / uuid.uuid4().hex[:12]
    target.mkdir(parents=True)
    return target


def build_mlgate_wheel(out_dir: Path) -> Path:
    """Build mlgate's wheel from this checkout into a fresh directory under `out_dir` (once per
    `out_dir`); returns that directory (for find-links)."""
    built = next(out_dir.glob("*/mlgate-*.whl"), None)
    if built is not None:
        return built.parent
    target = fresh_wheel_dir(out_dir)
    subprocess.run([uv_bin(), "build", "--wheel", "--out-dir", str(target), "--quiet", str(ROOT)], check=True)
    return target


def project_env(wheel_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """Environment for commands run inside a generated project (no Actions variables leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLGATE_", "VIRTUAL_ENV"))}
    env.pop("CI", None)
    if wheel_dir is not None:
        env["UV_FIND_LINKS"] = str(wheel_dir)
    env.setdefault("GIT_AUTHOR_NAME", "mlgate tests")
    env.setdefault("GIT_AUTHOR_EMAIL", "tests@mlgate.dev")
    env.setdefault("GIT_COMMITTER_NAME", "mlgate tests")
    env.setdefault("GIT_COMMITTER_EMAIL", "tests@mlgate.dev")
    env.update(extra)
    return env


def render_project(
    out_dir: Path,
    *,
    wheel_dir: Path | None = None,
    template: Path | None = None,
    init: bool = False,
    env: dict[str, str] | None = None,
    **answers: Any,
) -> Path:
    """Run the real cookiecutter on this checkout (or `template`) with `--no-input`; returns the project.

    `init=False` (the default) sets MLGATE_SKIP_INIT=1, so the post-generation hook skips `git init`,
    `uv lock` and `dvc init`; pass `init=True` to get exactly what a user gets. `env` adds variables
    (e.g. a PATH with dvc on it) for the hooks.
    """
    from cookiecutter.main import cookiecutter

    out_dir.mkdir(parents=True, exist_ok=True)
    old = os.environ.copy()
    new = project_env(wheel_dir, **(env or {}))  # computed before clearing: it starts from os.environ
    if not init:
        new["MLGATE_SKIP_INIT"] = "1"
    os.environ.clear()
    os.environ.update(new)
    try:
        path = cookiecutter(
            str(template or ROOT),
            no_input=True,
            output_dir=str(out_dir),
            extra_context=answers,
            accept_hooks=True,
        )
    finally:
        os.environ.clear()
        os.environ.update(old)
    return Path(path)


def template_files(root: Path = ROOT) -> list[str]:
    """The files a clone of this checkout would hold, including new files not yet committed."""
    proc = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
    )
    return sorted(name for name in proc.stdout.decode().split("\0") if name and (root / name).is_file())


def snapshot_template(dest: Path, *, tag: str | None = None) -> Path:
    """Copy this checkout's working tree into `dest` as a one-commit git repository (tagged `tag`).

    This is what a user's `cookiecutter gh:OWNER/mlgate --checkout <tag>` clones, including the
    uncommitted changes of the checkout under test.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in template_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    env = project_env()
    for args in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "--no-verify", "-m", "mlgate snapshot"],
        *([["git", "tag", tag]] if tag else []),
    ):
        subprocess.run(args, cwd=dest, env=env, check=True, capture_output=True)
    return dest


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` with the tests' identity (project_env); returns its output, stripped."""
    return subprocess.run(
        ["git", *args], cwd=repo, env=project_env(), check=True, capture_output=True, text=True
    ).stdout.strip()


def as_github_repository(project: Path, repo: str, message: str = "Initial commit") -> Path:
    """Make `project` a git repository on `main` with everything committed and `origin` pointing at
    https://github.com/<repo> (act reads the repository's name from it)."""
    if not (project / ".git").exists():  # the post-generation hook has done it when it ran with init
        git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    if git(project, "status", "--porcelain"):
        git(project, "commit", "-q", "-m", message)
    git(project, "remote", "add", "origin", f"https://github.com/{repo}")
    return project


def git_sha(repo: Path, ref: str = "HEAD") -> str:
    return git(repo, "rev-parse", f"{ref}^{{commit}}")


def run_in(
    project: Path,
    *args: str,
    wheel_dir: Path | None = None,
    check: bool = True,
    timeout: float = 900,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """Run a command inside a generated project and capture its output."""
    proc = subprocess.run(
        list(args),
        cwd=project,
        env=project_env(wheel_dir, **env),
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed in {project} ({proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def sync_project(project: Path, wheel_dir: Path) -> None:
    """`uv sync` the generated project with mlgate from `wheel_dir`."""
    run_in(project, uv_bin(), "sync", "--all-groups", wheel_dir=wheel_dir)
