"""`mlgate tf-apply`: apply exactly the plan that was reviewed in the merged PR — or nothing, with the reason.

Inputs (flag / `MLGATE_*` env): working-directory, workspace, backend-config, var-file, lock-timeout,
comment-author, pr-number (default: the PR of the pushed commit, `GET /repos/{repo}/commits/{sha}/pulls`),
report-dir, config (mlgate.yaml, section `terraform`).

Steps: find the PR's plan comment for this directory + workspace (by marker AND author), read the
reviewed fingerprint from its hidden header, re-plan (`init`, `plan -out -lock-timeout`, `show -json`),
compare fingerprints, apply the saved plan only when they are equal. Otherwise refuse with
`plan-changed` and a resource-level diff of what changed since review. The outcome (applied, refused,
failed, nothing to apply) is written into the PR's plan comment, so the history stays in the PR.

Outputs: applied (true/false), fingerprint, reviewed-fingerprint, pr-number, failure-reason (plus
passed, result-path, report-path).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from mlgate import github
from mlgate.config import load_section
from mlgate.gate import GateInputError, GateResult, config_option, finish, report_dir_option, run_gate
from mlgate.terraform.comments import (
    APPLY_REASON_TEXT,
    ReviewedPlan,
    diff_reviewed,
    find_plan_comment,
    post_outcome,
    pull_request_for_commit,
    read_plan_header,
    summary_line,
)
from mlgate.terraform.config import TerraformSection
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

GATE = "tf-apply"
#: every failure-reason this gate reports -> its one-line meaning (docs/reference/failure-reasons.md
#: is generated from this: add a reason with one line here, then `uv run python tools/docgen.py --write`)
FAILURE_REASONS: dict[str, str] = {
    "no-terraform-files": "`working-directory` holds no `.tf` / `.tf.json` files",
    "no-pull-request": (
        "no merged pull request was found for the pushed commit (a direct push): nothing is applied"
    ),
    "no-plan-comment": (
        "the PR has no plan comment by `comment-author` for this directory, or its plan failed"
    ),
    "plan-changed": (
        "the plan made now differs from the reviewed one (a changed sensitive value included); the "
        "comment lists the resources"
    ),
    "init-failed": "`terraform init` failed",
    "invalid-config": "a syntax or validation error, annotated on its file and line",
    "missing-variable": "a required variable has no value",
    "state-locked": "another run holds the state lock longer than `lock-timeout` (nothing was applied)",
    "plan-failed": "the re-plan failed",
    "invalid-plan": (
        "`terraform show -json` did not give a Terraform JSON plan of format 1.x: nothing is judged or "
        "applied"
    ),
    "apply-failed": (
        "`terraform apply` failed (errors annotated; the state holds what was applied before the error)"
    ),
    "github-api-error": (
        "a GitHub API call failed after its retries (5xx, unreachable, an HTML or malformed answer); the "
        "message names the request, the status and the retry count; nothing is applied"
    ),
    "invalid-input": "an input is invalid, or there is no `GITHUB_TOKEN` / repository to find the PR with",
}


@dataclass
class ApplyOutcome:
    result: GateResult
    run: PlanRun | None = None
    annotations: list[Annotation] = field(default_factory=list)


def _result(
    key: str, passed: bool, reason: str, headline: str, details: str = "", **outputs: str
) -> GateResult:
    summary = f"### Terraform apply: `{key}`\n\n{headline}\n"
    base = {"applied": "false", "fingerprint": "", "reviewed-fingerprint": "", "pr-number": ""}
    base.update({k.replace("_", "-"): v for k, v in outputs.items()})
    return GateResult(GATE, passed, reason, summary, details, {"key": key}, base)


def apply_reviewed(
    tf: Terraform,
    reviewed: ReviewedPlan | None,
    *,
    key: str,
    out_dir: Path,
    workspace: str = "default",
    backend_config: tuple[str, ...] = (),
    var_files: tuple[str, ...] = (),
    lock_timeout: str = "5m",
    pr: int | None = None,
) -> ApplyOutcome:
    """Re-plan, compare with the reviewed fingerprint, apply the saved plan only when they match."""
    pr_out = str(pr or "")
    if reviewed is None:
        return ApplyOutcome(
            _result(
                key,
                False,
                "no-plan-comment",
                f"⛔ **Refused** — {APPLY_REASON_TEXT['no-plan-comment']} (PR #{pr_out}): "
                "nothing was applied. "
                "Open a PR so the plan is reviewed, or re-run the plan job on the PR.",
                pr_number=pr_out,
            )
        )
    run = plan_directory(
        tf,
        key=key,
        out_dir=out_dir,
        workspace=workspace,
        backend_config=backend_config,
        var_files=var_files,
        lock_timeout=lock_timeout,
        check_fmt=False,
    )
    if run.summary is None or run.plan_path is None:
        text = APPLY_REASON_TEXT.get(run.reason, run.reason)
        return ApplyOutcome(
            _result(
                key,
                False,
                run.reason,
                f"❌ **Failed before apply** — {text} (`{run.reason}`): nothing was applied.",
                f"```text\n{run.error[:3000]}\n```",
                reviewed_fingerprint=reviewed.fingerprint,
                pr_number=pr_out,
            ),
            run,
            run.annotations,
        )
    current = run.summary
    outputs = {
        "fingerprint": current.fingerprint,
        "reviewed_fingerprint": reviewed.fingerprint,
        "pr_number": pr_out,
    }
    if current.fingerprint != reviewed.fingerprint:
        diff = diff_reviewed(reviewed, current)
        shown = diff[:40] + ([f"… and {len(diff) - 40} more"] if len(diff) > 40 else [])
        return ApplyOutcome(
            _result(
                key,
                False,
                "plan-changed",
                f"⛔ **Refused** — the plan changed since it was reviewed in PR #{pr_out}; "
                "nothing was applied.\n\n"
                f"Reviewed `{reviewed.fingerprint[:19]}…`, now `{current.fingerprint[:19]}…`. "
                "What changed:\n\n"
                + "\n".join(f"- {line}" for line in shown)
                + "\n\nOpen a new PR (or re-run its plan job) so the current plan is reviewed.",
                **outputs,
            ),
            run,
            [Annotation("error", "plan changed since review: " + "; ".join(diff[:5]), None, None)],
        )
    if not current.has_changes:
        return ApplyOutcome(
            _result(
                key,
                True,
                "",
                "✅ **Nothing to apply** — the reviewed plan has no changes, and neither has this one.",
                **outputs,
            ),
            run,
        )
    applied = tf.apply(run.plan_path, lock_timeout=lock_timeout)
    if applied.returncode != 0:
        reason = "state-locked" if applied.locked else "apply-failed"
        run.annotations.clear()
        for diag in applied.errors:
            file = (tf.workdir / diag.file).as_posix() if diag.file else None
            run.annotations.append(Annotation("error", diag.text, file, diag.line))
        return ApplyOutcome(
            _result(
                key,
                False,
                reason,
                f"❌ **Apply failed** — {APPLY_REASON_TEXT[reason]} (`{reason}`).",
                f"```text\n{applied.error_text()[:3000]}\n```",
                **outputs,
            ),
            run,
            run.annotations or [Annotation("error", applied.error_text(), None, None)],
        )
    outputs["applied"] = "true"
    return ApplyOutcome(
        _result(key, True, "", f"✅ **Applied** the reviewed plan ({summary_line(current)})", **outputs), run
    )


@click.command(GATE)
@terraform_options
@click.option(
    "--comment-author",
    default=None,
    envvar="MLGATE_COMMENT_AUTHOR",
    help="Login whose plan comment is trusted (default github-actions[bot]).",
)
@click.option(
    "--pr-number",
    type=int,
    default=None,
    envvar="MLGATE_PR_NUMBER",
    help="The reviewed PR (default: the merged PR of the pushed commit).",
)
@report_dir_option(None)
@config_option()
def command(  # noqa: PLR0917 - click passes every option by name
    workdir: Path,
    workspace: str,
    backend_config: tuple[str, ...],
    var_file: tuple[str, ...],
    lock_timeout: str | None,
    comment_author: str | None,
    pr_number: int | None,
    report_dir: Path | None,
    config_path: Path,
) -> int:
    """Apply the plan reviewed in the merged PR, only if re-planning gives the same fingerprint."""

    def work() -> int:
        section = load_section(config_path, "terraform", TerraformSection)
        check_workdir(workdir)
        runner = github.Runner.from_env()
        event_pr = runner.pr_number()  # a malformed event payload is an input error before any work
        if not (runner.repository and runner.env.get("GITHUB_TOKEN")):
            raise GateInputError(
                "needs the GitHub API to find the reviewed plan",
                field="GITHUB_TOKEN / GITHUB_REPOSITORY",
                fix="run it in GitHub Actions with `GITHUB_TOKEN: ${{ github.token }}` (pull-requests: read)",
            )
        key = comment_key(workdir, workspace)
        out_dir = report_dir or Path(".mlgate") / GATE / key.replace("/", "_")
        author = comment_author or section.comment_author
        pr = pr_number or event_pr or pull_request_for_commit(runner, runner.sha)
        if pr is None:
            result = _result(
                key,
                False,
                "no-pull-request",
                f"⛔ **Refused** — {APPLY_REASON_TEXT['no-pull-request']} "
                f"(`{runner.sha or 'no GITHUB_SHA'}`): nothing was applied.",
            )
            runner.error(result.summary_md.splitlines()[-1], title=f"mlgate {GATE} ({key})")
            return finish(result, report_dir=out_dir)
        comment: dict[str, Any] | None = find_plan_comment(runner, pr, key, author)
        reviewed = read_plan_header(str(comment.get("body", ""))) if comment else None
        outcome = apply_reviewed(
            Terraform(workdir),
            reviewed,
            key=key,
            out_dir=out_dir,
            workspace=workspace,
            backend_config=split_values(backend_config),
            var_files=split_values(var_file),
            lock_timeout=lock_timeout or section.lock_timeout,
            pr=pr,
        )
        if outcome.run is not None:
            for secret in outcome.run.secrets:
                runner.mask(secret)
        notes = outcome.annotations or (
            [] if outcome.result.passed else [Annotation("error", outcome.result.summary_md.splitlines()[-1])]
        )
        emit_annotations(runner, notes, title=f"mlgate {GATE} ({key})")
        if comment is not None:
            link = f" ([run]({runner.run_url}))" if runner.run_url else ""
            sha = f" at `{runner.sha[:12]}`" if runner.sha else ""
            headline = outcome.result.summary_md.split("\n\n", 1)[-1].strip()
            try:
                post_outcome(runner, comment, f"**Apply{sha}{link}:** {headline}")
            except github.GitHubAPIError as exc:
                # the outcome stands (and may already be applied): a comment not updated is a warning
                runner.warning(
                    f"could not record the outcome in the plan comment: {exc}", title=f"mlgate {GATE} ({key})"
                )
        return finish(outcome.result, report_dir=out_dir)

    return run_gate(GATE, work)
