"""The steps shared by `tf-plan` and `tf-apply`: find the configuration, init, validate, plan, show.

Also the pieces both commands share: `terraform_options` (working-directory, workspace, backend-config,
var-file, lock-timeout), `split_values` (repeatable or comma/newline-separated flags) and
`emit_annotations`.

`plan_directory()` runs them in order and stops at the first step that cannot go on, returning a
`PlanRun` that says how far it got, why it stopped (a failure reason from the gate's fixed set), the
diagnostics to annotate, and — when a plan was made — the JSON plan, its text and its `PlanSummary`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from mlgate import github
from mlgate.gate import GateInputError
from mlgate.terraform.plan_format import PlanFormatError, parse_plan
from mlgate.terraform.plan_summary import PlanSummary, scrub, sensitive_strings, summarize_plan
from mlgate.terraform.runner import Diagnostic, Outcome, Terraform

#: the options every Terraform gate takes, outermost first (each falls back to its MLGATE_* env var)
_SHARED_OPTIONS = (
    click.option(
        "--working-directory",
        "workdir",
        type=click.Path(path_type=Path),
        default=Path(),
        envvar="MLGATE_WORKING_DIRECTORY",
        show_default=True,
        help="The Terraform root module.",
    ),
    click.option("--workspace", default="default", envvar="MLGATE_WORKSPACE", show_default=True),
    click.option(
        "--backend-config",
        multiple=True,
        envvar="MLGATE_BACKEND_CONFIG",
        help="`-backend-config` values for init (repeat, or newline-separated in the env var).",
    ),
    click.option(
        "--var-file", multiple=True, envvar="MLGATE_VAR_FILE", help="`-var-file` for plan (repeatable)."
    ),
    click.option(
        "--lock-timeout", default=None, envvar="MLGATE_LOCK_TIMEOUT", help="Default 5m (mlgate.yaml)."
    ),
)


def terraform_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """working-directory (as `workdir`), workspace, backend-config, var-file and lock-timeout."""
    for option in reversed(_SHARED_OPTIONS):
        func = option(func)
    return func


@dataclass
class Annotation:
    level: str
    message: str
    file: str | None = None
    line: int | None = None


@dataclass
class PlanRun:
    """How far the steps got for one directory + workspace."""

    workdir: Path
    key: str
    stage: str = "start"  # the last step reached: fmt, init, validate, plan, show, done
    reason: str = ""
    error: str = ""
    annotations: list[Annotation] = field(default_factory=list)
    unformatted: list[str] = field(default_factory=list)
    plan_path: Path | None = None
    json_path: Path | None = None
    text_path: Path | None = None
    plan: dict[str, Any] | None = None
    plan_text: str = ""
    summary: PlanSummary | None = None
    secrets: set[str] = field(default_factory=set)


def comment_key(workdir: Path, workspace: str) -> str:
    """`<directory>@<workspace>`: one PR comment per directory and workspace."""
    try:
        rel = workdir.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        rel = workdir.as_posix()
    return f"{rel or '.'}@{workspace}"


def terraform_files(workdir: Path) -> list[Path]:
    return sorted([*workdir.glob("*.tf"), *workdir.glob("*.tf.json")])


def check_workdir(workdir: Path) -> None:
    if not workdir.is_dir():
        raise GateInputError(
            "is not a directory",
            file=workdir,
            field="working-directory",
            fix="point working-directory at the folder that holds the Terraform configuration",
        )
    if not terraform_files(workdir):
        raise GateInputError(
            "holds no .tf or .tf.json files",
            file=workdir,
            field="working-directory",
            fix="point working-directory at a Terraform root module (e.g. terraform/envs/staging)",
            reason="no-terraform-files",
        )


def _annotate(run: PlanRun, diagnostics: Sequence[Diagnostic], level_for_errors: str = "error") -> None:
    for diag in diagnostics:
        file = (run.workdir / diag.file).as_posix() if diag.file else None
        level = level_for_errors if diag.severity == "error" else "warning"
        run.annotations.append(Annotation(level, diag.text, file, diag.line))


def _stop(run: PlanRun, stage: str, reason: str, outcome: Outcome) -> PlanRun:
    run.stage, run.reason, run.error = stage, reason, outcome.error_text()
    _annotate(run, outcome.diagnostics)
    if not outcome.errors:
        run.annotations.append(Annotation("error", f"terraform {stage} failed: {run.error}", None, None))
    return run


def plan_directory(
    tf: Terraform,
    *,
    key: str,
    out_dir: Path,
    workspace: str = "default",
    backend_config: Sequence[str] = (),
    var_files: Sequence[str] = (),
    lock_timeout: str = "5m",
    check_fmt: bool = True,
) -> PlanRun:
    """fmt → init → workspace → validate → plan → show, stopping at the first step that fails."""
    run = PlanRun(workdir=tf.workdir, key=key)
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if check_fmt:
        run.stage = "fmt"
        run.unformatted = tf.fmt_check()
        for name in run.unformatted:
            run.annotations.append(
                Annotation(
                    "error", "not formatted — run `terraform fmt` on it", (tf.workdir / name).as_posix(), 1
                )
            )
    outcome = tf.init(backend_config)
    if outcome.returncode != 0:
        # configuration errors (with a file and line) surface at init already: report them as such,
        # unless what failed is fetching something (a module, a provider, the backend)
        fetching = any(d.is_fetch_error for d in outcome.errors)
        with_range = [d for d in outcome.errors if d.file]
        return _stop(run, "init", "invalid-config" if with_range and not fetching else "init-failed", outcome)
    if workspace and workspace != "default":
        outcome = tf.select_workspace(workspace)
        if outcome.returncode != 0:
            return _stop(run, "init", "init-failed", outcome)
    outcome = tf.validate()
    _annotate(run, [d for d in outcome.diagnostics if d.severity != "error"])
    if outcome.returncode != 0:
        outcome.diagnostics = outcome.errors
        return _stop(run, "validate", "invalid-config", outcome)
    plan_path = out_dir / "tfplan"
    outcome = tf.plan(plan_path, var_files=var_files, lock_timeout=lock_timeout)
    if outcome.returncode == 1:
        if outcome.locked:
            reason = "state-locked"
        elif any(d.is_missing_variable for d in outcome.errors):
            reason = "missing-variable"
        elif any(d.file for d in outcome.errors):
            reason = "invalid-config"
        else:
            reason = "plan-failed"
        return _stop(run, "plan", reason, outcome)
    return _show(tf, run, plan_path, out_dir)


def _show(tf: Terraform, run: PlanRun, plan_path: Path, out_dir: Path) -> PlanRun:
    """`show -json` → the validated plan, its masked text and its summary (or `invalid-plan`)."""
    run.stage = "show"
    run.plan_path = plan_path
    shown = tf.show_json(plan_path)
    if shown.returncode != 0:
        return _stop(run, "show", "plan-failed", shown)
    run.json_path = out_dir / "plan.json"
    run.json_path.write_bytes(shown.raw_stdout)
    try:
        plan = parse_plan(shown.raw_stdout)
    except PlanFormatError as exc:
        # nothing of a plan we cannot read is judged, summarised or applied
        run.stage, run.reason = "show", "invalid-plan"
        run.error = f"`terraform show -json` did not give a Terraform JSON plan: {exc}"
        run.annotations.append(Annotation("error", run.error, run.json_path.as_posix(), None))
        return run
    run.plan = plan
    run.secrets = sensitive_strings(plan)
    # Terraform masks what it marks sensitive; the text is scrubbed of every sensitive string the JSON
    # plan knows about before it is written, so the plan text can be uploaded and shown
    run.plan_text = scrub(tf.show_text(plan_path), run.secrets)
    run.text_path = out_dir / "plan.txt"
    run.text_path.write_text(run.plan_text, encoding="utf-8")
    run.summary = summarize_plan(plan, validated=True)
    run.stage = "done"
    return run


def emit_annotations(runner: github.Runner, annotations: list[Annotation], *, title: str) -> None:
    for note in annotations[:50]:
        runner.annotate(note.level, note.message, file=note.file, line=note.line, title=title)


def split_values(values: tuple[str, ...]) -> tuple[str, ...]:
    """Flags may repeat, or carry several comma/newline-separated values (from one action input)."""
    return tuple(
        part.strip() for value in values for part in value.replace(",", "\n").splitlines() if part.strip()
    )
