"""`mlgate lint`: run the project's pre-commit hooks, the same ones a developer runs locally.

Inputs (each flag falls back to `MLGATE_<FLAG>`):
    --pre-commit-config / --config   the hooks file (default `.pre-commit-config.yaml`)
    --report-dir                     where `lint.json`, `lint.md` and `lint.log` go (default `.mlgate`)
    --from-ref                       only check files changed since this git ref (default: all files)
    --skip                           comma-separated hook ids to skip (pre-commit's `SKIP`)

Outputs: `passed`, `failure-reason`, `result-path`, `report-path`, `log-path`, `failed-hooks`
(comma-separated hook ids).

It runs `pre-commit run --all-files --show-diff-on-failure --color never`, parses the per-hook status
lines (Passed / Failed / Skipped), turns tool output into file/line annotations (ruff's
`path:line:col: CODE message` and its full `--> path:line:col` format, any `path:line:` tool, and the
files that fixers modified, from the diff pre-commit shows) and writes a summary table of the hooks
that ran. The parsing is a pure function (`parse_precommit_output`) tested on real pre-commit output.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from mlgate.gate import GateInputError, GateResult, report_dir_option

GATE = "lint"
#: every failure-reason this gate reports -> its one-line meaning (docs/reference/failure-reasons.md
#: is generated from this: add a reason with one line here, then `uv run python tools/docgen.py --write`)
FAILURE_REASONS: dict[str, str] = {
    "hooks-failed": "at least one hook failed or modified files",
    "no-config": "there is no pre-commit configuration at `pre-commit-config`",
    "pre-commit-error": (
        "pre-commit itself could not run (invalid configuration, not a git repository, not installed)"
    ),
    "invalid-input": "an input or `mlgate.yaml` is invalid; one line names the file, the field and the fix",
}
DEFAULT_CONFIG = Path(".pre-commit-config.yaml")

#: at most this many annotations are emitted (GitHub shows 10 per step and 50 per job anyway)
MAX_ANNOTATIONS = 50
#: characters of one hook's output kept in the Markdown report
MAX_HOOK_OUTPUT = 4_000

_STATUS_LINE = re.compile(
    r"^(?P<name>.*?)\.{3,}(?P<postfix>\(no files to check\))?"
    r"(?P<status>Passed|Failed|Skipped)$"
)
# `path:line:col: message` (ruff concise, mypy --show-column-numbers, flake8, eslint unix, ...)
_LOCATED = re.compile(r"^(?P<file>[\w./\\@+-][^:\s]*):(?P<line>\d+):(?:(?P<col>\d+):?)?\s*(?P<msg>.*)$")
# ruff's default ("full") format: `CODE message` then ` --> path:line:col`
_RUFF_CODE = re.compile(r"^(?:error\[)?(?P<code>[A-Z]+\d+|[a-z][\w-]+)\]?:? (?P<msg>.+)$")
_ARROW = re.compile(r"^\s*-->\s*(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+)\s*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_DIFF_FILE = re.compile(r"^diff --git a/(?P<a>.+?) b/(?P<b>.+)$")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<line>\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class Finding:
    """One problem a hook reported at a place in a file."""

    hook: str
    file: str
    line: int | None
    col: int | None
    message: str


@dataclass
class HookRun:
    """One hook's line in pre-commit's output, with what it printed."""

    name: str
    status: str  # Passed | Failed | Skipped
    hook_id: str = ""
    exit_code: int | None = None
    modified_files: bool = False
    no_files: bool = False
    output: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The hook id when pre-commit printed it (failed hooks), else its name."""
        return self.hook_id or self.name

    @property
    def title(self) -> str:
        """Name and id for the summary table: `ruff check (ruff)`."""
        return f"{self.name} ({self.hook_id})" if self.hook_id and self.hook_id != self.name else self.name


@dataclass
class PreCommitReport:
    """Everything `pre-commit run` told us."""

    hooks: list[HookRun] = field(default_factory=list)
    #: file -> first changed line in each hunk of the diff pre-commit showed (fixers' changes)
    modified: dict[str, list[int]] = field(default_factory=dict)
    diff: str = ""
    #: "An error has occurred: ..." and what follows, when pre-commit itself failed
    error: str = ""
    #: pre-commit's own `[WARNING] ...` lines (mutable revs, deprecated stages, ...)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[HookRun]:
        return [h for h in self.hooks if h.status == "Failed"]

    @property
    def findings(self) -> list[Finding]:
        return [f for h in self.hooks for f in h.findings]


def findings_in(hook: str, output: str) -> list[Finding]:
    """File/line findings in one hook's output: `path:line[:col]: message` and ruff's `--> path:l:c`."""
    found: list[Finding] = []
    pending: tuple[str, str] | None = None  # ruff full format: (code, message) awaiting its arrow line
    for raw in output.splitlines():
        line = raw.rstrip()
        if arrow := _ARROW.match(line):
            message = f"{pending[0]} {pending[1]}" if pending else "see the hook's output"
            found.append(Finding(hook, arrow["file"], int(arrow["line"]), int(arrow["col"]), message.strip()))
            pending = None
            continue
        if located := _LOCATED.match(line):
            message = located["msg"].strip() or "reported here"
            if message.startswith("note:"):  # mypy's notes explain the error before them
                continue
            col = int(located["col"]) if located["col"] else None
            found.append(Finding(hook, located["file"], int(located["line"]), col, message))
            pending = None
            continue
        if (code := _RUFF_CODE.match(line)) and not line.startswith(" "):
            pending = (code["code"], code["msg"])
    return found


def parse_precommit_output(text: str) -> PreCommitReport:
    """Parse the output of `pre-commit run --show-diff-on-failure --color never` (pure)."""
    report = PreCommitReport()
    current: HookRun | None = None
    body: list[str] = []
    in_header = False

    def close() -> None:
        if current is not None:
            current.output = "\n".join(body).strip("\n")
            if current.status == "Failed":
                current.findings = findings_in(current.label, current.output)
            report.hooks.append(current)

    lines = [line.rstrip("\r") for line in _ANSI.sub("", text).splitlines()]
    for index, line in enumerate(lines):
        if line.startswith(("An error has occurred", "An unexpected error has occurred")):
            close()
            current = None
            report.error = "\n".join(lines[index:]).strip()
            break
        if line.startswith(("pre-commit hook(s) made changes.", "All changes made by hooks:")):
            close()
            current = None
            report.diff = "\n".join(lines[index:])
            break
        if line.startswith("[WARNING] "):
            report.warnings.append(line.removeprefix("[WARNING] ").strip())
            continue
        if status := _STATUS_LINE.match(line):
            close()
            body = []
            current = HookRun(
                name=status["name"].strip(),
                status=status["status"],
                no_files=status["postfix"] == "(no files to check)",
            )
            in_header = True
        elif current is not None:
            # pre-commit's `- key: value` lines come right after the status line, before the hook's output
            in_header = in_header and line.startswith("- ")
            if in_header and line.startswith("- hook id: "):
                current.hook_id = line.removeprefix("- hook id: ").strip()
            elif in_header and line.startswith("- exit code: "):
                value = line.removeprefix("- exit code: ").strip()
                current.exit_code = int(value) if value.lstrip("-").isdigit() else None
            elif in_header and line == "- files were modified by this hook":
                current.modified_files = True
            elif not in_header:
                body.append(line)
    else:
        close()
    report.modified = _modified_files(report.diff)
    return report


def _modified_files(diff: str) -> dict[str, list[int]]:
    modified: dict[str, list[int]] = {}
    current: str | None = None
    for line in diff.splitlines():
        if match := _DIFF_FILE.match(line):
            current = match["b"]
            modified.setdefault(current, [])
        elif current is not None and (hunk := _HUNK.match(line)):
            modified[current].append(max(int(hunk["line"]), 1))
    return modified


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _findings_cell(hook: HookRun) -> str:
    if hook.status == "Skipped":
        return "no files to check" if hook.no_files else "skipped"
    if hook.status == "Passed":
        return "—"
    parts = []
    if hook.findings:
        parts.append(f"{len(hook.findings)} finding{'s' if len(hook.findings) != 1 else ''}")
    if hook.modified_files:
        parts.append("files modified")
    if hook.exit_code is not None and not hook.findings:
        parts.append(f"exit code {hook.exit_code}")
    return ", ".join(parts) or "failed"


def evaluate(report: PreCommitReport, exit_code: int) -> GateResult:
    """Turn a parsed pre-commit run into the gate's verdict, summary table and details."""
    icons = {"Passed": "✅", "Failed": "❌", "Skipped": "⏭️"}
    failed = report.failed
    if report.error:
        passed, reason = False, "pre-commit-error"
        first = report.error.splitlines()[0]
        verdict = f"### ❌ mlgate lint: pre-commit could not run\n\n{first}"
    elif failed:
        passed, reason = False, "hooks-failed"
        names = ", ".join(f"`{h.label}`" for h in failed)
        verdict = f"### ❌ mlgate lint: {len(failed)} of {len(report.hooks)} hooks failed ({names})"
    elif exit_code != 0:
        passed, reason = False, "pre-commit-error"
        verdict = f"### ❌ mlgate lint: pre-commit exited with code {exit_code} but no hook failed"
    else:
        passed, reason = True, ""
        ran = sum(1 for h in report.hooks if h.status == "Passed")
        verdict = (
            f"### ✅ mlgate lint: all {ran} hooks passed"
            if ran
            else "### ✅ mlgate lint: no hook had files to check"
        )

    rows = [
        f"| {_cell(h.title)} | {icons.get(h.status, '')} {h.status} | {_cell(_findings_cell(h))} |"
        for h in report.hooks
    ]
    table = "| hook | status | findings |\n|---|---|---|\n" + "\n".join(rows) if rows else ""
    summary = "\n\n".join(part for part in (verdict, table) if part)
    if failed:
        summary += "\n\nReproduce locally with `pre-commit run --all-files` (or `make lint`)."

    details: list[str] = []
    for hook in failed:
        output = hook.output
        if len(output) > MAX_HOOK_OUTPUT:
            output = output[:MAX_HOOK_OUTPUT] + "\n… (cut; the full output is in lint.log)"
        details.append(f"<details><summary>{hook.label}</summary>\n\n```text\n{output}\n```\n\n</details>")
    if report.diff:
        diff = report.diff if len(report.diff) <= MAX_HOOK_OUTPUT else report.diff[:MAX_HOOK_OUTPUT] + "\n…"
        details.append(
            f"<details><summary>changes made by fixers</summary>\n\n```diff\n{diff}\n```\n\n</details>"
        )
    if report.error:
        details.append(f"```text\n{report.error[:MAX_HOOK_OUTPUT]}\n```")

    return GateResult(
        gate=GATE,
        passed=passed,
        failure_reason=reason,
        summary_md=summary,
        details_md="\n\n".join(details),
        data={
            "exit_code": exit_code,
            "hooks": [
                {
                    "name": h.name,
                    "id": h.hook_id,
                    "status": h.status,
                    "exit_code": h.exit_code,
                    "modified_files": h.modified_files,
                    "findings": [
                        {"file": f.file, "line": f.line, "col": f.col, "message": f.message}
                        for f in h.findings
                    ],
                }
                for h in report.hooks
            ],
            "modified_files": sorted(report.modified),
            "error": report.error,
        },
        outputs={"failed-hooks": ",".join(h.label for h in failed)},
    )


def annotation_targets(report: PreCommitReport) -> list[Finding]:
    """What to annotate: every finding, then each file a fixer changed (at its first changed hunk)."""
    fixers = ", ".join(h.label for h in report.hooks if h.modified_files) or "a hook"
    located = list(report.findings)
    for path, hunks in sorted(report.modified.items()):
        located.append(
            Finding(
                fixers,
                path,
                hunks[0] if hunks else None,
                None,
                f"modified by {fixers}: run `pre-commit run --all-files` and commit the result",
            )
        )
    return located


def precommit_command() -> tuple[list[str], str]:
    """How to call pre-commit here: this environment's module, one on PATH, or `uvx pre-commit`."""
    if importlib.util.find_spec("pre_commit") is not None:
        return [sys.executable, "-m", "pre_commit"], ""
    on_path = shutil.which("pre-commit")
    if on_path:
        return [on_path], ""
    uvx = shutil.which("uvx")
    if uvx:
        return [uvx, "pre-commit"], (
            "pre-commit is not installed in this environment; running it through `uvx pre-commit` "
            "(add pre-commit to the project's dev dependency group to pin its version)"
        )
    raise GateInputError(
        "pre-commit is not installed",
        field="pre-commit",
        fix="add `pre-commit` to the project's dev dependency group (`uv add --dev pre-commit`)",
        reason="pre-commit-error",
    )


def run_precommit(config: Path, *, from_ref: str | None = None, skip: str = "") -> tuple[int, str]:
    """Run the hooks; returns pre-commit's exit code and its combined output."""
    base, note = precommit_command()
    if note:
        click.echo(f"mlgate lint: {note}", err=True)
    args = [*base, "run", "--config", str(config), "--show-diff-on-failure", "--color", "never"]
    args += ["--from-ref", from_ref, "--to-ref", "HEAD"] if from_ref else ["--all-files"]
    env = dict(os.environ)
    env["PRE_COMMIT_COLOR"] = "never"
    if skip:
        env["SKIP"] = skip
    try:
        proc = subprocess.run(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
        )
    except OSError as exc:
        raise GateInputError(
            f"could not start pre-commit ({exc})",
            field="pre-commit",
            reason="pre-commit-error",
            fix="install pre-commit in the project's environment",
        ) from None
    return proc.returncode, proc.stdout


@click.command("lint")
@click.option(
    "--pre-commit-config",
    "--config",
    "config",
    type=click.Path(path_type=Path),
    default=DEFAULT_CONFIG,
    envvar="MLGATE_PRE_COMMIT_CONFIG",
    show_default=True,
    help="The pre-commit configuration to run.",
)
@report_dir_option(
    None, help="Where lint.json, lint.md and lint.log go (default: MLGATE_OUTPUT_DIR or .mlgate)."
)
@click.option(
    "--from-ref",
    default="",
    envvar="MLGATE_FROM_REF",
    help="Only check files changed since this git ref (default: all files).",
)
@click.option("--skip", default="", envvar="MLGATE_SKIP", help="Comma-separated hook ids to skip.")
def command(config: Path, report_dir: Path | None, from_ref: str, skip: str) -> int:
    """Run the project's pre-commit hooks; annotate findings and summarise what ran."""
    from mlgate import github
    from mlgate.gate import finish, run_gate

    def work() -> int:
        if not config.is_file():
            raise GateInputError(
                "not found" if not config.exists() else "is not a file",
                file=config,
                fix="add a .pre-commit-config.yaml to the project (or pass --pre-commit-config)",
                reason="no-config",
            )
        runner = github.Runner.from_env()
        out_dir = report_dir or runner.output_dir
        exit_code, output = run_precommit(config, from_ref=from_ref or None, skip=skip)
        out_dir.mkdir(parents=True, exist_ok=True)
        log_path = out_dir / "lint.log"
        log_path.write_text(output, encoding="utf-8")
        runner.echo_untrusted(output, title="pre-commit output")
        report = parse_precommit_output(output)
        for warning in report.warnings:
            runner.warning(warning, file=str(config), title="pre-commit")
        for finding in annotation_targets(report)[:MAX_ANNOTATIONS]:
            runner.error(
                finding.message, file=finding.file, line=finding.line, col=finding.col, title=finding.hook
            )
        result = evaluate(report, exit_code)
        result.outputs["log-path"] = str(log_path)
        return finish(result, report_dir=out_dir)

    return run_gate(GATE, work)
