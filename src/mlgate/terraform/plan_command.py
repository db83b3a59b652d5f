"""`mlgate tf-plan`: a Terraform plan a reviewer can trust at a glance, as one PR comment per directory.

Inputs (flag / `MLGATE_*` env): working-directory, workspace, backend-config (repeatable), var-file
(repeatable), lock-timeout, checkov (on/off), checkov-command, checkov-skip, checkov-soft-fail,
checkov-baseline, fail-on-fmt, labels, comment, report-dir, artifact-name, config (mlgate.yaml,
section `terraform`).

Steps: `fmt -check -recursive` (an annotation per file), checkov on the configuration, `init`
(backend config passed through, `-input=false`), `validate -json` (diagnostics → file:line
annotations), `plan -json -out -lock-timeout`, `show -json`, checkov on the JSON plan. The comment:
hidden header with the fingerprint, summary first (counts, destroy/replace banner, output changes,
drift, checks), resources grouped by action, the full plan collapsed, sensitive values masked.

Outputs: add, change, destroy, replace, move, import, has-changes, plan-path, json-plan-path,
text-plan-path, fingerprint, comment-key, sarif-paths, failure-reason (plus passed, result-path,
report-path from every gate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from mlgate import github
from mlgate.config import load_section
from mlgate.gate import GateResult, comment_option, config_option, finish, report_dir_option, run_gate
from mlgate.terraform import checkov as checkov_mod
from mlgate.terraform.comments import (
    OUTCOME_RESERVE,
    REASON_TEXT,
    encode_header,
    render_plan_details,
    render_plan_summary,
    sync_labels,
)
from mlgate.terraform.config import TerraformSection
from mlgate.terraform.plan_summary import scrub
from mlgate.terraform.runner import Terraform
from mlgate.terraform.steps import (
    Annotation,
    PlanRun,
    check_workdir,
    comment_key,
    emit_annotations,
    plan_directory,
    split_values,
    terraform_options,
)

GATE = "tf-plan"
#: every failure-reason this gate reports -> its one-line meaning (docs/reference/failure-reasons.md
#: is generated from this: add a reason with one line here, then `uv run python tools/docgen.py --write`)
FAILURE_REASONS: dict[str, str] = {
    "no-terraform-files": "`working-directory` holds no `.tf` / `.tf.json` files",
    "fmt-check": (
        "files are not formatted (the plan is still posted); `fail-on-fmt: false` makes it a warning"
    ),
    "init-failed": "`terraform init` failed (backend, module or provider download)",
    "invalid-config": "a syntax or validation error, annotated on its file and line",
    "missing-variable": "a required variable has no value (pass a `var-file`)",
    "state-locked": "another run holds the state lock longer than `lock-timeout`",
    "plan-failed": "`terraform plan` failed for another reason",
    "invalid-plan": (
        "`terraform show -json` did not give a Terraform JSON plan of format 1.x (wrong shape, not JSON); "
        'nothing is summarised — never reported as "No changes"'
    ),
    "checkov-failed": "checkov found problems that are neither skipped, soft-failed nor in the baseline",
    "checkov-error": (
        "checkov could not run (not installed, crashed, wrote no or an unreadable report): the "
        "configuration was not checked"
    ),
    "invalid-input": "an input or `mlgate.yaml` is invalid; one line names the file, the field and the fix",
}


@dataclass
class PlanGateOptions:
    workdir: Path
    workspace: str = "default"
    backend_config: tuple[str, ...] = ()
    var_files: tuple[str, ...] = ()
    lock_timeout: str = "5m"
    checkov: bool = True
    checkov_command: str = checkov_mod.DEFAULT_COMMAND
    checkov_skip: tuple[str, ...] = ()
    checkov_soft_fail: tuple[str, ...] = ()
    checkov_baseline: Path | None = None
    fail_on_fmt: bool = True
    out_dir: Path = Path(".mlgate/tf-plan")
    artifact_name: str = ""
    sha: str = ""
    terraform: str = "terraform"
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class PlanGateRun:
    run: PlanRun
    result: GateResult
    checkov_reports: list[checkov_mod.CheckovReport] = field(default_factory=list)


def _checkov_lines(reports: list[checkov_mod.CheckovReport]) -> list[str]:
    lines = []
    for report in reports:
        what = "plan" if report.target.endswith(".json") else "configuration"
        if report.error:
            lines.append(f"- ❌ checkov ({what}) could not run: {report.error}")
            continue
        hard, soft = len(report.hard_failures), len(report.findings) - len(report.hard_failures)
        icon = "✅" if not hard else "❌"
        extra = f", {soft} accepted as warnings" if soft else ""
        lines.append(
            f"- {icon} checkov ({what}): {report.passed} passed, {hard} failed{extra}, "
            f"{report.skipped} skipped"
        )
        for finding in report.hard_failures[:10]:
            where = f"{finding.file}:{finding.line}" if finding.line else finding.file
            lines.append(f"  - `{finding.check_id}` {finding.check_name} — `{finding.resource}` ({where})")
    return lines


def _annotate_findings(run: PlanRun, report: checkov_mod.CheckovReport, base: Path) -> None:
    if report.error:
        what = "plan" if report.target.endswith(".json") else "configuration"
        run.annotations.append(Annotation("error", f"checkov ({what}) could not run: {report.error}"))
    for finding in report.findings:
        file = (
            (base / finding.file).as_posix() if finding.file and not finding.file.endswith(".json") else None
        )
        run.annotations.append(
            Annotation(
                "warning" if finding.soft else "error",
                f"{finding.check_id}: {finding.check_name} ({finding.resource})"
                + (f" — {finding.guideline}" if finding.guideline else ""),
                file,
                finding.line,
            )
        )


def run_plan_gate(opts: PlanGateOptions) -> PlanGateRun:
    """Every step for one directory + workspace → the gate's result (and what the command needs)."""
    check_workdir(opts.workdir)
    key = comment_key(opts.workdir, opts.workspace)
    tf = Terraform(opts.workdir, binary=opts.terraform, env=opts.env or Terraform(opts.workdir).env)
    reports: list[checkov_mod.CheckovReport] = []
    scan = {
        "command": opts.checkov_command,
        "skip": opts.checkov_skip,
        "soft_fail": opts.checkov_soft_fail,
        "baseline": opts.checkov_baseline,
    }
    run = plan_directory(
        tf,
        key=key,
        out_dir=opts.out_dir,
        workspace=opts.workspace,
        backend_config=opts.backend_config,
        var_files=opts.var_files,
        lock_timeout=opts.lock_timeout,
    )
    if opts.checkov:
        report = checkov_mod.run_checkov(opts.workdir, out_dir=opts.out_dir / "checkov-config", **scan)  # type: ignore[arg-type]
        _annotate_findings(run, report, opts.workdir)
        reports.append(report)
        if run.json_path is not None:
            report = checkov_mod.run_checkov(
                run.json_path,
                out_dir=opts.out_dir / "checkov-plan",
                kind="plan",
                repo_root=opts.workdir,
                **scan,  # type: ignore[arg-type]
            )
            _annotate_findings(run, report, opts.workdir)
            reports.append(report)
    return PlanGateRun(
        run,
        judge_plan(
            run, reports, fail_on_fmt=opts.fail_on_fmt, sha=opts.sha, artifact_name=opts.artifact_name
        ),
        reports,
    )


def judge_plan(
    run: PlanRun,
    reports: list[checkov_mod.CheckovReport],
    *,
    fail_on_fmt: bool = True,
    sha: str = "",
    artifact_name: str = "",
) -> GateResult:
    """Pure: what the steps found → verdict, outputs, comment summary and details."""
    reason = run.reason
    if not reason and run.unformatted and fail_on_fmt:
        reason = "fmt-check"
    if not reason and any(r.hard_failures for r in reports if not r.error):
        reason = "checkov-failed"
    if not reason and any(r.error for r in reports):
        reason = "checkov-error"
    fmt_line = "- ✅ `terraform fmt`"
    if run.unformatted:
        files = ", ".join(f"`{f}`" for f in run.unformatted[:10])
        icon = "❌" if fail_on_fmt else "⚠️"
        fmt_line = f"- {icon} `terraform fmt`: {len(run.unformatted)} file(s) to format: {files}"
    checks = [fmt_line, *_checkov_lines(reports)]
    outputs: dict[str, str] = {
        "comment-key": run.key,
        "has-changes": "false",
        "fingerprint": "",
        "plan-path": str(run.plan_path or ""),
        "json-plan-path": str(run.json_path or ""),
        "text-plan-path": str(run.text_path or ""),
        "sarif-paths": "\n".join(str(r.sarif_path) for r in reports if r.sarif_path),
    }
    for name in ("add", "change", "destroy", "replace", "move", "import"):
        outputs[name] = "0"
    data: dict[str, object] = {"key": run.key, "stage": run.stage, "unformatted": run.unformatted}
    if run.summary is None:
        summary_md = "\n".join(
            [
                f"### Terraform plan: `{run.key}`",
                "",
                f"❌ **No plan** — {REASON_TEXT.get(reason, reason)} (`{reason}`).",
                "",
                "```text",
                run.error.replace("```", "'''")[:3000],
                "```",
                "",
                *checks,
            ]
        )
        return GateResult(GATE, False, reason, summary_md + "\n", "", data, outputs)
    summary = run.summary
    counts = summary.counts
    for name in ("add", "change", "destroy", "replace", "move", "import"):
        outputs[name] = str(counts[name])
    outputs["has-changes"] = "true" if summary.has_changes else "false"
    outputs["fingerprint"] = summary.fingerprint
    verdict = [f"❌ {REASON_TEXT.get(reason, reason)} (`{reason}`)."] if reason else []
    # the JSON-derived views are masked by the plan's markers; scrubbing also catches values that
    # Terraform itself does not mark (e.g. a provider copying a sensitive input into a computed attribute)
    visible = render_plan_summary(summary, title=f"`{run.key}`", checks=[*verdict, *checks])
    summary_md = encode_header(summary, key=run.key, sha=sha) + "\n" + scrub(visible, run.secrets)
    hint = f"the `{artifact_name}` artifact of this run" if artifact_name else "the plan artifact of this run"
    budget = github.COMMENT_LIMIT - len(summary_md) - len(run.key) - 64 - OUTCOME_RESERVE
    details_md = scrub(
        render_plan_details(summary, run.plan_text, budget=budget, artifact_hint=hint), run.secrets
    )
    data.update(
        {
            "counts": counts,
            "fingerprint": summary.fingerprint,
            "has_changes": summary.has_changes,
            "digests": summary.digests(),
        }
    )
    return GateResult(GATE, not reason, reason, summary_md, details_md, data, outputs)


@click.command(GATE)
@terraform_options
@click.option(
    "--checkov/--no-checkov", default=None, envvar="MLGATE_CHECKOV", help="Run checkov (default on)."
)
@click.option(
    "--checkov-command",
    default=checkov_mod.DEFAULT_COMMAND,
    envvar="MLGATE_CHECKOV_COMMAND",
    show_default=True,
)
@click.option("--checkov-skip", multiple=True, envvar="MLGATE_CHECKOV_SKIP", help="Check ids to skip.")
@click.option(
    "--checkov-soft-fail",
    multiple=True,
    envvar="MLGATE_CHECKOV_SOFT_FAIL",
    help="Check ids reported as warnings only.",
)
@click.option(
    "--checkov-baseline", type=click.Path(path_type=Path), default=None, envvar="MLGATE_CHECKOV_BASELINE"
)
@click.option("--fail-on-fmt/--no-fail-on-fmt", default=None, envvar="MLGATE_FAIL_ON_FMT")
@click.option("--labels/--no-labels", default=None, envvar="MLGATE_LABELS")
@comment_option(True)
@report_dir_option(None, help="Default .mlgate/tf-plan/<directory>@<workspace>.")
@click.option(
    "--artifact-name",
    default="",
    envvar="MLGATE_ARTIFACT_NAME",
    help="Name of the artifact the workflow uploads the plan to (named in cut comments).",
)
@config_option()
def command(  # noqa: PLR0917 - click passes every option by name
    workdir: Path,
    workspace: str,
    backend_config: tuple[str, ...],
    var_file: tuple[str, ...],
    lock_timeout: str | None,
    checkov: bool | None,
    checkov_command: str,
    checkov_skip: tuple[str, ...],
    checkov_soft_fail: tuple[str, ...],
    checkov_baseline: Path | None,
    fail_on_fmt: bool | None,
    labels: bool | None,
    comment: bool,
    report_dir: Path | None,
    artifact_name: str,
    config_path: Path,
) -> int:
    """Plan a Terraform directory and post the reviewed plan as a PR comment."""

    def work() -> int:
        section = load_section(config_path, "terraform", TerraformSection)
        runner = github.Runner.from_env()
        pr = runner.pr_number()  # a malformed event payload is an input error before any work
        key = comment_key(workdir, workspace)
        out_dir = report_dir or Path(".mlgate") / GATE / key.replace("/", "_")
        baseline = checkov_baseline or (Path(section.checkov_baseline) if section.checkov_baseline else None)
        opts = PlanGateOptions(
            workdir=workdir,
            workspace=workspace,
            backend_config=split_values(backend_config),
            var_files=split_values(var_file),
            lock_timeout=lock_timeout or section.lock_timeout,
            checkov=section.checkov if checkov is None else checkov,
            checkov_command=checkov_command,
            checkov_skip=split_values(checkov_skip) or tuple(section.checkov_skip),
            checkov_soft_fail=split_values(checkov_soft_fail) or tuple(section.checkov_soft_fail),
            checkov_baseline=baseline,
            fail_on_fmt=section.fail_on_fmt if fail_on_fmt is None else fail_on_fmt,
            out_dir=out_dir,
            artifact_name=artifact_name,
            sha=runner.sha,
        )
        gate_run = run_plan_gate(opts)
        for secret in gate_run.run.secrets:
            runner.mask(secret)
        emit_annotations(runner, gate_run.run.annotations, title=f"mlgate {GATE} ({key})")
        code = finish(gate_run.result, report_dir=out_dir, comment_key=key if comment else None)
        want_labels = section.labels if labels is None else labels
        if comment and want_labels and pr and runner.in_actions and runner.env.get("GITHUB_TOKEN"):
            try:
                sync_labels(runner, pr, section.comment_author)
            except github.GitHubAPIError as exc:
                # like the comment itself: labels that cannot be set are a warning, the verdict stands
                runner.warning(f"could not update the plan labels: {exc}", title=f"mlgate {GATE} ({key})")
        return code

    return run_gate(GATE, work)
