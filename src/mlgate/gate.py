"""What every gate shares: its result, its input errors, and how both reach the runner.

A gate's pure core returns a `GateResult`; its command hands that to `finish()`, which writes the JSON
result and the Markdown report, sets the `passed` / `failure-reason` outputs, writes the step summary,
optionally upserts a PR comment, and returns the exit code (0 pass, 1 fail).

Bad input is a `GateInputError`: one line naming the file, the field and the fix. `run_gate()` turns it
into an annotation, a `failure-reason` of `invalid-input` (or the gate's own reason) and exit code 1 —
never a traceback. A GitHub API call that fails (after the retries `mlgate.github` allows) is turned the
same way into `github-api-error`, with the request, the HTTP status and the retry count in the message.

The options every gate command shares (`--config`, `--report-dir`, `--comment/--no-comment`) are built by
`config_option()`, `report_dir_option()` and `comment_option()`, so their names, env vars and defaults
stay the same everywhere.

Paths on the command line are checked before the gate runs (a click usage error, exit 2, which
`mlgate.cli.main` still reports as `failure-reason=invalid-input`): an input given explicitly must exist
(`path_option(..., must_exist=True)`; its default may be absent), an output file must not be a directory
and an output directory (`--report-dir`) must not be a file; missing parent directories of outputs are
created.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import click
from click.core import ParameterSource

from mlgate import github
from mlgate.errors import GateInputError as GateInputError  # noqa: PLC0414 - re-export for the gates

#: the mlgate configuration file every gate reads by default
DEFAULT_CONFIG = Path("mlgate.yaml")
#: where gates write their JSON result and Markdown report by default
DEFAULT_REPORT_DIR = Path(".mlgate/reports")

#: reasons every gate may report besides its own: reason -> what it means (one line, shown in the docs)
COMMON_FAILURE_REASONS: dict[str, str] = {
    "invalid-input": "an input or `mlgate.yaml` is invalid; one line names the file, the field and the fix",
}
#: the reason of a gate whose GitHub API call failed (gates that call the API list it)
GITHUB_API_ERROR = "github-api-error"


@dataclass
class GateResult:
    """The outcome of one gate run, before it is written anywhere."""

    gate: str
    passed: bool
    failure_reason: str = ""
    #: verdict and key figures: always shown, never truncated
    summary_md: str = ""
    #: tables and logs: may be cut to fit a PR comment
    details_md: str = ""
    #: machine-readable payload written to the JSON result
    data: dict[str, Any] = field(default_factory=dict)
    #: extra action outputs (kebab-case names)
    outputs: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "passed": self.passed,
            "failure_reason": self.failure_reason,
            "outputs": self.outputs,
            "data": self.data,
        }

    @property
    def markdown(self) -> str:
        return "\n\n".join(part for part in (self.summary_md, self.details_md) if part) + "\n"


def finish(
    result: GateResult,
    *,
    report_dir: Path,
    comment_key: str | None = None,
) -> int:
    """Write the result and report, set outputs and summary, upsert the PR comment; return the exit code."""
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path = report_dir / f"{result.gate}.json"
    md_path = report_dir / f"{result.gate}.md"
    json_path.write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    md_path.write_text(result.markdown, encoding="utf-8")

    runner = github.Runner.from_env()
    runner.set_outputs(
        {
            "passed": "true" if result.passed else "false",
            "failure-reason": result.failure_reason,
            "result-path": str(json_path),
            "report-path": str(md_path),
            **result.outputs,
        }
    )
    runner.write_summary(result.markdown)
    if comment_key is not None:
        try:
            runner.upsert_pr_comment(
                gate=result.gate, key=comment_key, summary=result.summary_md, details=result.details_md
            )
        except github.GitHubAPIError as exc:
            # the verdict stands on its own: a comment that cannot be posted is a warning, not a failure
            runner.warning(f"could not update the pull request comment: {exc}", title=f"mlgate {result.gate}")
    return 0 if result.passed else 1


def run_gate(gate: str, work: Callable[[], int]) -> int:
    """Run a gate command body; turn a `GateInputError` or a failed GitHub API call into an annotation,
    outputs and exit 1."""
    try:
        return work()
    except GateInputError as exc:
        return _report_error(gate, exc.message, exc.reason, "input error", file=exc.file, line=exc.line)
    except github.GitHubAPIError as exc:
        fix = "check the token's permissions and githubstatus.com, then re-run the job"
        return _report_error(gate, f"{exc} — {fix}", GITHUB_API_ERROR, "GitHub API error")


def _report_error(
    gate: str, message: str, reason: str, kind: str, *, file: str | None = None, line: int | None = None
) -> int:
    runner = github.Runner.from_env()
    if runner.in_actions:
        runner.error(message, file=file, line=line, title=f"mlgate {gate}")
    else:
        at_line = f" (line {line})" if line else ""
        sys.stderr.write(f"mlgate {gate}: error: {message}{at_line}\n")
    runner.set_outputs({"passed": "false", "failure-reason": reason})
    runner.write_summary(f"### ❌ mlgate {gate}: {kind}\n\n{message}\n", echo=False)
    return 1


def output_problem(path: Path, kind: Literal["file", "dir"]) -> str | None:
    """Why `path` cannot be written as an output `kind` (None when it can; missing parents are created)."""
    if kind == "file" and path.is_dir():
        return "is a directory — name a file to write"
    if kind == "dir" and path.exists() and not path.is_dir():
        return "is a file, not a directory — name a directory (it is created when missing)"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        return f"cannot be created: {parent} is a file — choose another location"
    return None


def _output_callback(kind: Literal["file", "dir"]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def check(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
        if value is not None and (problem := output_problem(Path(value), kind)):
            raise click.BadParameter(f"{value}: {problem}", ctx=ctx, param=param)
        return value

    return check


def _exists_callback(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """An input path given on the command line (or by env var) must exist; its default may be absent."""
    if value is None or Path(value).exists():
        return value
    if param.name and ctx.get_parameter_source(param.name) is ParameterSource.DEFAULT:
        return value
    raise click.BadParameter(
        f"{value}: does not exist — pass an existing path or leave the option out", ctx=ctx, param=param
    )


#: `callback=` for an output file option: refuses a directory, or a location under a file
output_file_callback = _output_callback("file")
#: `callback=` for an output directory option: refuses a file, or a location under a file
output_dir_callback = _output_callback("dir")


def config_option(
    section: str | None = None, *, dest: str = "config_path", help: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--config` (env MLGATE_CONFIG, default mlgate.yaml) passed as `dest`.

    The help names the section read: "mlgate.yaml (section `<section>`)." unless `help` is given.
    """
    if help is None and section is not None:
        help = f"mlgate.yaml (section `{section}`)."
    return click.option(
        "--config",
        dest,
        type=click.Path(path_type=Path),
        default=DEFAULT_CONFIG,
        envvar="MLGATE_CONFIG",
        show_default=True,
        help=help,
    )


def path_option(
    flag: str,
    dest: str | None = None,
    *,
    help: str,
    required: bool = False,
    default: str | Path | None = None,
    must_exist: bool = False,
    output: Literal["file", "dir"] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A file or directory option whose env var is derived from its flag (`--gx-root` -> MLGATE_GX_ROOT).

    A `default` is shown in `--help`; without one the command resolves the path itself (usually from
    mlgate.yaml), as the help text says. `must_exist=True`: a path given explicitly must exist (the
    default may be absent); `output="file"|"dir"`: checked as an output (see `output_problem`).
    """
    callback = _exists_callback if must_exist else _output_callback(output) if output else None
    decls = (flag, dest) if dest else (flag,)
    return click.option(
        *decls,
        type=click.Path(path_type=Path),
        envvar="MLGATE_" + flag.lstrip("-").upper().replace("-", "_"),
        required=required,
        default=Path(default) if default is not None else None,
        show_default=True if default is not None else None,
        help=help,
        callback=callback,
    )


def report_dir_option(
    default: Path | None = DEFAULT_REPORT_DIR, *, help: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--report-dir` (env MLGATE_REPORT_DIR); `default=None` lets the command pick the directory."""
    return click.option(
        "--report-dir",
        type=click.Path(path_type=Path),
        default=default,
        envvar="MLGATE_REPORT_DIR",
        show_default=True if default is not None else None,
        help=help,
        callback=output_dir_callback,
    )


def comment_option(
    default: bool, *, help: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--comment/--no-comment` (env MLGATE_COMMENT); the default is shown only when it is on."""
    return click.option(
        "--comment/--no-comment",
        default=default,
        envvar="MLGATE_COMMENT",
        show_default=True if default else None,
        help=help,
    )
