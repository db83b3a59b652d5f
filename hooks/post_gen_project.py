"""Finish a freshly generated project: prune, pin mlgate to a commit, record answers, initialise tools.

Input: the answers, rendered into ANSWERS_JSON by cookiecutter; the working directory is the new project.
Steps, in order (each optional step is skipped with a note when its tool is missing or fails):

1. prune files that conditional file names cannot express (`PRUNE`), then empty directories;
2. when the template is a git checkout, resolve `mlgate_ref` there (`git rev-parse <ref>^{commit}`) and
   rewrite every `uses: <mlgate_repo>/...@<ref>` in `.github/` to `@<sha> # <ref>` (and Terraform module
   sources `...<mlgate_repo>.git//...?ref=<ref>"` under `terraform/` to `?ref=<sha>" # <ref>`); when the
   ref is not in that checkout (an unreleased tag, a zip download) the tag stays as typed and a note says
   so -- pinning HEAD under a release's name would be a lie;
3. write `.cruft.json` (template, commit, answers) so `cruft check` / `cruft diff` / `cruft update` work;
4. unless MLGATE_SKIP_INIT=1 (or the run is cruft re-rendering a template for a diff): `git init -b main`,
   `uv lock`, `dvc init` + a local remote, and a first commit (with a fallback identity when git has none);
5. print the exact next commands.

Everything below ANSWERS_JSON is plain Python; the tests import this file with importlib and call the
functions directly. Cookiecutter copies only this file before running it, so it imports nothing from the
template.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ANSWERS_JSON = r"""{{ cookiecutter | jsonify }}"""
# {% raw %}  (everything below is copied verbatim by Jinja)

SKIP_INIT_ENV = "MLGATE_SKIP_INIT"
TRUTHY = {"1", "true", "yes", "on"}
ABBREVIATIONS = {
    "gh": "https://github.com/{0}.git",
    "gl": "https://gitlab.com/{0}.git",
    "bb": "https://bitbucket.org/{0}",
}
# Keys cookiecutter adds that describe this machine, not the project: never recorded.
MACHINE_KEYS = ("_output_dir", "_repo_dir", "_checkout")
FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "mlgate generator",
    "GIT_AUTHOR_EMAIL": "mlgate@localhost",
    "GIT_COMMITTER_NAME": "mlgate generator",
    "GIT_COMMITTER_EMAIL": "mlgate@localhost",
}

# Files that a conditional file name cannot express, as (path relative to the project, rule).
PRUNE: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    # ("path/in/project", lambda answers: answers["option"] == "value"),
]


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUTHY


def files_to_prune(answers: dict[str, Any]) -> list[str]:
    return [path for path, rule in PRUNE if rule(answers)]


def prune(project: Path, answers: dict[str, Any]) -> list[str]:
    """Remove files the answers deselect, then directories left empty; returns what was removed."""
    removed = []
    for rel in files_to_prune(answers):
        target = project / rel
        if target.is_dir():
            shutil.rmtree(target)
            removed.append(rel)
        elif target.exists():
            target.unlink()
            removed.append(rel)
    for directory in sorted((p for p in project.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if ".git" not in directory.parts and not any(directory.iterdir()):
            directory.rmdir()
            removed.append(f"{directory.relative_to(project).as_posix()}/")
    return removed


# ----------------------------------------------------------------------------------------- the template


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, text=True, capture_output=True, timeout=timeout, check=False
    )


def resolve_template_dir(
    answers: dict[str, Any], pwd: str | None = None, parent_pid: int | None = None
) -> Path | None:
    """The template checkout on disk, or None (cookiecutter gives `_repo_dir`, possibly relative to the
    directory cookiecutter was started from, while this hook runs inside the new project)."""
    repo_dir = str(answers.get("_repo_dir") or "")
    candidates: list[Path] = []
    if repo_dir and Path(repo_dir).is_absolute():
        candidates.append(Path(repo_dir))
    elif repo_dir and pwd:
        candidates.append(Path(pwd) / repo_dir)
    if parent_pid:  # Linux: cookiecutter (and cruft) sit in the template dir while hooks run
        candidates.append(Path(f"/proc/{parent_pid}/cwd"))
    for candidate in candidates:
        try:
            resolved = candidate.resolve()
        except OSError:
            continue
        if (resolved / "cookiecutter.json").is_file():
            return resolved
    return None


def git_head(template_dir: Path | None) -> str | None:
    if template_dir is None or shutil.which("git") is None:
        return None
    proc = run(["git", "rev-parse", "HEAD"], template_dir)
    sha = proc.stdout.strip()
    return sha if proc.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", sha) else None


def resolve_ref(template_dir: Path | None, ref: str) -> str | None:
    """The commit a tag (or SHA) names in the template checkout, or None when it is not there."""
    if template_dir is None or shutil.which("git") is None:
        return None
    proc = run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], template_dir)
    sha = proc.stdout.strip()
    return sha if proc.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", sha) else None


def template_source(answers: dict[str, Any], template_dir: Path | None) -> str:
    """What cruft should clone later: an absolute local path, or the URL with abbreviations expanded."""
    template = str(answers.get("_template") or "")
    if template_dir is not None and template and not re.match(r"^[a-z][a-z0-9+.-]*:", template):
        return str(template_dir)  # a local path (cruft clones it with git)
    prefix, _, rest = template.partition(":")
    if prefix in ABBREVIATIONS and rest and "//" not in rest:
        return ABBREVIATIONS[prefix].format(rest)
    if template.startswith("git+"):  # cookiecutter's "this is git" marker; git itself wants the bare URL
        return template[len("git+") :]
    return template or (str(template_dir) if template_dir else "")


def pin_action_refs(text: str, repo: str, ref: str, sha: str) -> tuple[str, int]:
    """Rewrite `uses: <repo>/<path>@<ref>` (and its comment) to `@<sha> # <ref>`; returns (text, count)."""
    pattern = re.compile(
        rf"^(?P<lead>\s*(?:-\s+)?uses:\s*['\"]?)(?P<target>{re.escape(repo)}(?:/[^@\s'\"]*)?)@{re.escape(ref)}"
        r"(?P<quote>['\"]?)[ \t]*(?:#[^\n]*)?$",
        flags=re.MULTILINE | re.IGNORECASE,
    )
    return pattern.subn(lambda m: f"{m['lead']}{m['target']}@{sha}{m['quote']} # {ref}", text)


def pin_module_sources(text: str, repo: str, ref: str, sha: str) -> tuple[str, int]:
    """Rewrite Terraform `source = "git::https://github.com/<repo>.git//<dir>?ref=<ref>"` to a SHA pin."""
    pattern = re.compile(
        rf"^(?P<lead>\s*source\s*=\s*\"[^\"\n]*github\.com[/:]{re.escape(repo)}(?:\.git)?//[^\"?\n]*\?(?:[^\"\n]*&)?ref=)"
        rf"{re.escape(ref)}\"[ \t]*(?:#[^\n]*)?$",
        flags=re.MULTILINE | re.IGNORECASE,
    )
    return pattern.subn(lambda m: f'{m["lead"]}{sha}" # {ref}', text)


def pin_workflows(project: Path, repo: str, ref: str, sha: str) -> int:
    """Pin mlgate in workflows and local actions (`uses:`) and in Terraform module sources."""
    count = 0
    targets = [(project / ".github" / "workflows", {".yml", ".yaml"}, pin_action_refs)]
    targets.append((project / ".github" / "actions", {".yml", ".yaml"}, pin_action_refs))
    targets.append((project / "terraform", {".tf"}, pin_module_sources))
    for folder, suffixes, pin in targets:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix in suffixes and path.is_file():
                text, n = pin(path.read_text(encoding="utf-8"), repo, ref, sha)
                if n:
                    path.write_text(text, encoding="utf-8")
                    count += n
    return count


def cruft_state(answers: dict[str, Any], template: str, commit: str | None) -> dict[str, Any]:
    context = {k: v for k, v in answers.items() if k not in MACHINE_KEYS}
    context["_template"] = template
    if commit:
        context["_commit"] = commit
    return {
        "template": template,
        "commit": commit,
        "checkout": None,
        "context": {"cookiecutter": context},
        "directory": None,
    }


def write_cruft_json(project: Path, state: dict[str, Any]) -> Path:
    path = project / ".cruft.json"
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ optional steps


def git_env() -> dict[str, str]:
    """The environment for git, with a fallback identity when none is configured."""
    env = dict(os.environ)
    for key in ("user.name", "user.email"):
        if run(["git", "config", "--get", key], Path.cwd()).returncode != 0:
            kind = key.split(".")[1].upper()
            for var in (f"GIT_AUTHOR_{kind}", f"GIT_COMMITTER_{kind}"):
                env.setdefault(var, FALLBACK_IDENTITY[var])
    return env


def init_git(project: Path, notes: list[str]) -> bool:
    if shutil.which("git") is None:
        notes.append("git is not installed: run `git init -b main` yourself later.")
        return False
    if (project / ".git").exists():
        return True
    proc = run(["git", "init", "-q", "-b", "main"], project)
    if proc.returncode != 0:  # git < 2.28 has no -b
        proc = run(["git", "init", "-q"], project)
        run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], project)
    if proc.returncode != 0:
        notes.append(f"git init failed: {proc.stderr.strip()}")
        return False
    return True


def lock_environment(project: Path, notes: list[str]) -> bool:
    uv = shutil.which("uv")
    if uv is None:
        notes.append("uv is not installed: install it (https://docs.astral.sh/uv/), then run `uv lock`.")
        return False
    proc = run([uv, "lock", "--quiet"], project, timeout=600)
    if proc.returncode != 0:
        detail = " / ".join([line.strip() for line in proc.stderr.splitlines() if line.strip()][:2])[:300]
        notes.append(
            "uv lock did not succeed (is the pinned mlgate release published and PyPI reachable?): "
            f"{detail or '(no output)'} -- run `uv lock` again once it is."
        )
        return False
    return True


def init_dvc(project: Path, slug: str, notes: list[str]) -> bool:
    dvc = shutil.which("dvc")
    if (project / ".dvc" / "config").is_file():
        return True  # the template ships DVC's configuration
    if dvc is None:
        notes.append("dvc is not on PATH: `make setup` installs it; then run `uv run dvc init`.")
        return False
    proc = run([dvc, "init", "-q"] + ([] if (project / ".git").exists() else ["--no-scm"]), project)
    if proc.returncode != 0:
        notes.append(f"dvc init failed: {proc.stderr.strip()}")
        return False
    storage = f"../.{slug}-dvc-storage"
    proc = run([dvc, "remote", "add", "-d", "local", storage], project)
    if proc.returncode != 0:
        notes.append(f"dvc remote add failed: {proc.stderr.strip()}")
    return True


def first_commit(project: Path, notes: list[str]) -> bool:
    env = git_env()
    add = run(["git", "add", "-A"], project, env=env)
    commit = run(["git", "commit", "-q", "--no-verify", "-m", "Initial commit from mlgate"], project, env=env)
    if add.returncode != 0 or commit.returncode != 0:
        notes.append(f"the first git commit failed: {(add.stderr + commit.stderr).strip()}")
        return False
    return True


def project_path_for_cd(project: Path, start: str | None) -> str:
    """How to reach the project from where cookiecutter was started: relative when below it."""
    if start:
        try:
            return project.resolve().relative_to(Path(start).resolve()).as_posix()
        except ValueError:
            pass
    return str(project)


def next_commands(
    answers: dict[str, Any], *, git_ready: bool, committed: bool, where: str | None = None
) -> list[str]:
    slug = answers["project_slug"]
    owner = answers["github_owner"]
    target = where or slug
    commands = [f"cd {shlex.quote(target)}"]
    if not git_ready:
        commands.append("git init -b main")
    if not committed:
        commands += ["git add -A", 'git commit -m "Initial commit from mlgate"']
    tracking = "sqlite" if answers.get("mlflow_tracking") != "server" else "$MLFLOW_TRACKING_URI"
    commands += [
        "make setup        # uv sync --all-groups (Python, dependencies, dev tools)",
        f"make pipeline     # prepare -> train -> evaluate (DVC + MLflow on {tracking})",
        "make test",
        f"git remote add origin https://github.com/{owner}/{slug}.git",
        "git push -u origin main",
    ]
    return commands


def main() -> int:
    if ANSWERS_JSON.lstrip().startswith("{{"):
        print("ERROR: this hook must be run by cookiecutter (it was not rendered).", file=sys.stderr)
        return 2
    answers: dict[str, Any] = json.loads(ANSWERS_JSON)
    project = Path.cwd()
    notes: list[str] = []
    under_cruft = "_commit" in answers  # cruft create/update/diff: cruft records its own state
    skip_init = truthy(os.environ.get(SKIP_INIT_ENV)) or under_cruft

    prune(project, answers)

    template_dir = resolve_template_dir(answers, os.environ.get("PWD"), os.getppid())
    repo, ref = str(answers["mlgate_repo"]), str(answers["mlgate_ref"])
    sha = resolve_ref(template_dir, ref)
    if sha is None and not re.fullmatch(r"[0-9a-f]{40}", ref):
        where = (
            "not in the template checkout"
            if template_dir
            else "unresolved (the template is not a git checkout)"
        )
        notes.append(
            f"{ref} is {where}, so workflows pin `{repo}/...@{ref}` by name; "
            "generate from a clone that has the tag (or answer the commit SHA) for a SHA pin."
        )
    elif sha is not None and sha != ref:
        pin_workflows(project, repo, ref, sha)

    if not under_cruft:
        state = cruft_state(answers, template_source(answers, template_dir), git_head(template_dir))
        write_cruft_json(project, state)

    git_ready = committed = False
    if not skip_init:
        git_ready = init_git(project, notes)
        lock_environment(project, notes)
        init_dvc(project, str(answers["project_slug"]), notes)
        if git_ready:
            committed = first_commit(project, notes)

    if under_cruft:
        return 0
    print(f"\nmlgate generated {answers['project_slug']}/ ({answers['project_name']}).")
    for note in notes:
        print(f"note: {note}")
    print("\nNext:")
    where = project_path_for_cd(project, os.environ.get("PWD"))
    for command in next_commands(answers, git_ready=git_ready, committed=committed, where=where):
        print(f"  {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
# {% endraw %}
