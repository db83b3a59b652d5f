"""`mlgate template-update`: move a generated project to a newer mlgate release in one pull request.

Inputs: `--to` (a release tag; default: the newest `vX.Y.Z` tag of the template recorded in
`.cruft.json`), `--branch` (default `mlgate/template-update`), `--base` (default `main`),
`--check` (a command run on the result, repeatable; default `uv sync --locked` and
`uv run mlgate config check`), `--push/--no-push`, `--report-dir`.
Outputs: `passed`, `failure-reason`, `updated` (`true` when there was a newer release), `from-ref`,
`to-ref`, `conflicts` (comma-separated paths), `pull-request` (number), `result-path`, `report-path`.

What it does, in order; any failure before the push puts the working tree back as it was (never a
half-applied update):

1. read `.cruft.json` (template, recorded `mlgate_ref`) and find the target release (`git ls-remote --tags`);
2. on a fresh branch, `cruft update --checkout <tag> --refresh-private-variables
   --variables-to-update '{"mlgate_ref": "<tag>"}'`: the template's changes since the recorded commit,
   three-way merged with the project's own; the post-generation hook re-pins every mlgate action and
   Terraform module to the tag's commit, and the package pin `mlgate[...]==X.Y.Z` follows the release;
3. check that nothing still names the old release (action pins, module refs, the package pin);
4. `uv lock` (the new package pin and whatever the template changed), unless pyproject.toml itself has
   a conflict;
5. run the checks (the project's own gates on the result);
6. commit everything (conflicted files with their markers, so the pull request shows them), push the
   branch with the token in an HTTP header (never in the URL or the remote), and open the pull request or
   refresh the one already open for the branch, listing the template's changes, the conflicts and the
   checks.

The job fails (exit 1) when a check fails or a conflict needs resolving — after the pull request is up, so
the reviewer sees why. Pushing a branch that changes `.github/workflows/` needs a token with the
`workflows` permission: a GitHub App installation token (GITHUB_TOKEN is refused by GitHub for that).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import click

from mlgate import github
from mlgate.gate import GateInputError, GateResult, finish, report_dir_option, run_gate

GATE = "template-update"
FAILURE_REASONS = {
    "invalid-input": "`.cruft.json` is missing or damaged, or an option is wrong.",
    "no-release": "The template has no release tag newer or equal to the one asked for.",
    "update-failed": "cruft could not apply the template's changes; nothing was changed.",
    "stale-pins": "After the update something still names the old release; nothing was pushed.",
    "conflicts": "The pull request is open, and files with conflict markers need resolving in it.",
    "checks-failed": "The pull request is open, and a check on the updated project failed.",
    "github-api-error": "Pushing the branch or opening the pull request failed.",
}
DEFAULT_CHECKS = ("uv sync --locked", "uv run mlgate config check")
_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


@dataclass
class Update:
    from_ref: str
    to_ref: str
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # command, passed, output tail
    locked: bool = False
    pull_request: int | None = None


def _git(project: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise GateInputError(
            f"`git {' '.join(args)}` failed: {last}",
            file=project,
            reason="update-failed",
        )
    return proc.stdout


def read_cruft_state(project: Path) -> dict[str, str]:
    path = project / ".cruft.json"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        context = state["context"]["cookiecutter"]
        return {
            "template": str(state["template"]),
            "ref": str(context["mlgate_ref"]),
            "repo": str(context["mlgate_repo"]),
        }
    except FileNotFoundError:
        raise GateInputError(
            "not found: this project was not generated with mlgate's template (or the file was removed)",
            file=path,
            fix="run from the project root; `cruft link` can recreate it",
        ) from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise GateInputError(
            f"damaged ({type(exc).__name__}: {exc})", file=path, field="context.cookiecutter.mlgate_ref"
        ) from None


def newest_release(template: str) -> str | None:
    """The highest `vX.Y.Z` tag of the template repository (pre-releases are never chosen)."""
    proc = subprocess.run(
        ["git", "ls-remote", "--tags", "--refs", template],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        raise GateInputError(
            f"cannot list its tags ({proc.stderr.strip()[-200:]})",
            file=".cruft.json",
            field="template",
            fix="check the template URL and network access, or pass --to vX.Y.Z",
        )
    tags = [line.rsplit("refs/tags/", 1)[-1] for line in proc.stdout.splitlines() if "refs/tags/" in line]
    releases = sorted((tuple(int(g) for g in m.groups()), t) for t in tags if (m := _TAG.match(t)))
    return releases[-1][1] if releases else None


def stale_references(project: Path, repo: str, old_ref: str, skip: set[str]) -> list[str]:
    """`path:line` of every action pin, module ref or package pin that still names `old_ref`."""
    old = re.escape(old_ref)
    version = re.escape(old_ref.removeprefix("v"))
    stale = re.compile(
        rf"{re.escape(repo)}/actions/\S+@(?:{old}\b|\S+ # {old}$)"  # an action pinned by tag or SHA # tag
        rf"|\?ref={old}\b|\?ref=[0-9a-f]{{40}}\" # {old}$"  # a Terraform module source
        rf"|\bmlgate(?:\[[^\]]*\])?=={version}\b"  # the package pin
    )
    candidates = [*project.glob(".github/workflows/*.y*ml"), *project.glob("terraform/**/*.tf")]
    found = []
    for path in [*candidates, project / "pyproject.toml"]:
        rel = path.relative_to(project).as_posix()
        if rel in skip or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if stale.search(line.rstrip()):
                found.append(f"{rel}:{number}")
    return found


def run_checks(project: Path, commands: list[str]) -> list[tuple[str, bool, str]]:
    results = []
    for command in commands:
        proc = subprocess.run(shlex.split(command), cwd=project, capture_output=True, text=True, check=False)
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        results.append((command, proc.returncode == 0, tail))
    return results


def apply_update(project: Path, state: dict[str, str], to_ref: str, branch: str, checks: list[str]) -> Update:
    """Steps 2-5 on a fresh branch; on any error the branch is dropped and the tree restored."""
    update = Update(from_ref=state["ref"], to_ref=to_ref)
    start = _git(project, "rev-parse", "--abbrev-ref", "HEAD").strip()
    _git(project, "switch", "-q", "-C", branch)
    try:
        variables = json.dumps({"mlgate_ref": to_ref})
        proc = subprocess.run(
            ["cruft", "update", "--checkout", to_ref, "--refresh-private-variables",
             "--variables-to-update", variables, "--skip-apply-ask", "--allow-untracked-files"],
            cwd=project, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise GateInputError(
                f"cruft update to {to_ref} failed: {(proc.stdout + proc.stderr).strip()[-300:]}",
                file=".cruft.json",
                reason="update-failed",
            )
        status = _git(project, "status", "--porcelain", "--untracked-files=all")
        update.conflicts = sorted(
            {line[3:] for line in status.splitlines() if line[:2] in {"UU", "AA", "DU", "UD"}}
            | {line[3:] for line in status.splitlines() if line.endswith(".rej")}
        )
        stale = stale_references(project, state["repo"], state["ref"], set(update.conflicts))
        if stale:
            raise GateInputError(
                f"still names {state['ref']} after the update: {', '.join(stale[:5])}",
                file=stale[0].split(":")[0],
                fix="report this to mlgate: the template must render every pin from mlgate_ref",
                reason="stale-pins",
            )
        if "pyproject.toml" not in update.conflicts:
            lock = subprocess.run(["uv", "lock"], cwd=project, capture_output=True, text=True, check=False)
            update.locked = lock.returncode == 0
            if not update.locked:
                update.checks.append(("uv lock", False, lock.stderr.strip()[-1500:]))
        update.checks += run_checks(project, checks)
        _git(project, "add", "-A")
        update.changed = sorted(_git(project, "diff", "--cached", "--name-only", start).split())
    except BaseException:
        _git(project, "reset", "-q", "--hard", check=False)
        _git(project, "clean", "-qfd", check=False)
        _git(project, "switch", "-q", start, check=False)
        _git(project, "branch", "-q", "-D", branch, check=False)
        raise
    return update


def render_body(update: Update, template: str) -> str:
    lines = [
        f"Updates this project from mlgate **{update.from_ref}** to **{update.to_ref}** (`cruft update`):",
        "the template's changes since the recorded commit, merged with this project's own. Every mlgate",
        f"action pin, Terraform module ref and the `mlgate` package pin now name {update.to_ref};",
        "`uv.lock` is " + ("re-locked." if update.locked else "**not** re-locked (see below)."),
        "",
        f"Release notes: the CHANGELOG of {template} at {update.to_ref}.",
        "",
    ]
    if update.conflicts:
        lines += ["## ⚠️ Conflicts", "", "These files changed here and in the template; resolve the markers "
                  "(`<<<<<<<`, `=======`, `>>>>>>>`) or the `.rej` hunks before merging:", ""]  # fmt: skip
        lines += [f"- `{path}`" for path in update.conflicts] + [""]
    lines += ["## Checks on the updated project", "", "| check | result |", "|---|---|"]
    lines += [f"| `{cmd}` | {'✅' if ok else '❌'} |" for cmd, ok, _ in update.checks]
    for cmd, ok, tail in update.checks:
        if not ok and tail:
            lines += [
                "",
                f"<details><summary><code>{cmd}</code></summary>",
                "",
                "```",
                tail,
                "```",
                "</details>",
            ]
    lines += ["", "## Files changed", ""] + [f"- `{path}`" for path in update.changed]
    return "\n".join(lines) + "\n"


@click.command(name=GATE)
@click.option(
    "--to", "to_ref", default="", envvar="MLGATE_TO", help="Release tag to update to (default: the newest)."
)
@click.option("--branch", default="mlgate/template-update", envvar="MLGATE_BRANCH", show_default=True)
@click.option(
    "--base", default="main", envvar="MLGATE_BASE", show_default=True, help="Branch the PR targets."
)
@click.option(
    "--check",
    "checks",
    multiple=True,
    help=f"Command run on the result (default: {'; '.join(DEFAULT_CHECKS)}).",
)
@click.option("--push/--no-push", default=True, envvar="MLGATE_PUSH", help="Push the branch and open the PR.")
@report_dir_option()
def command(  # noqa: PLR0917 - click passes every option by name
    to_ref: str, branch: str, base: str, checks: tuple[str, ...], push: bool, report_dir: Path
) -> int:
    """Update this project to a newer mlgate release in one pull request."""

    def work() -> int:
        project = Path.cwd()
        state = read_cruft_state(project)
        if _git(project, "status", "--porcelain", "--untracked-files=no").strip():
            raise GateInputError(
                "has uncommitted changes",
                file=project,
                fix="commit or stash them first: the update starts clean",
            )
        target = to_ref or newest_release(state["template"])
        if target is None or not _TAG.match(target):
            raise GateInputError(
                f"no release tag to update to ({target or 'none found'})",
                file=".cruft.json",
                field="template",
                fix="pass --to vX.Y.Z",
                reason="no-release",
            )
        if target == state["ref"]:
            result = GateResult(
                gate=GATE,
                passed=True,
                summary_md=f"### ✅ Already on mlgate {target}: nothing to update",
                outputs={"updated": "false", "from-ref": state["ref"], "to-ref": target},
            )
            return finish(result, report_dir=report_dir)
        update = apply_update(project, state, target, branch, list(checks or DEFAULT_CHECKS))
        title = f"Update from the mlgate template: {update.from_ref} → {update.to_ref}"
        _git(project, "-c", "user.name=mlgate", "-c", "user.email=mlgate@users.noreply.github.com",
             "commit", "-q", "--no-verify", "-m", title)  # fmt: skip
        body = render_body(update, state["template"])
        if push:
            runner = github.Runner.from_env()
            try:
                runner.push_branch(project, branch)
                update.pull_request = runner.open_or_update_pull_request(
                    head=branch, base=base, title=title, body=body
                )
            except github.GitHubAPIError as exc:
                raise GateInputError(str(exc), field="GITHUB_TOKEN", reason="github-api-error") from None
        failed = [cmd for cmd, ok, _ in update.checks if not ok]
        reason = "conflicts" if update.conflicts else ("checks-failed" if failed else "")
        result = GateResult(
            gate=GATE,
            passed=not reason,
            failure_reason=reason,
            summary_md=f"### {'✅' if not reason else '⚠️'} {title}"
            + (f" — pull request #{update.pull_request}" if update.pull_request else ""),
            details_md=body,
            data={
                "conflicts": update.conflicts,
                "changed": update.changed,
                "checks": [c[:2] for c in update.checks],
            },
            outputs={
                "updated": "true",
                "from-ref": update.from_ref,
                "to-ref": update.to_ref,
                "conflicts": ",".join(update.conflicts),
                "pull-request": str(update.pull_request or ""),
            },
        )
        return finish(result, report_dir=report_dir)

    return run_gate(GATE, work)
