"""The bad-input catalogue: one `BadInput` per malformed input, run through the real `mlgate` CLI.

Each area of the package keeps its own catalogue module (`tests/unit/test_bad_inputs_<area>.py`) with a
list of `BadInput` cases and one parametrised test that calls `check_bad_input`. Every case asserts what a
user must see on a bad input, as issue 11 asks:

- the exit code (1 for a gate's input error, 2 only for a command-line usage error);
- the `failure-reason` output (written to `$GITHUB_OUTPUT`, so it is read back from there);
- the first line of the error names the file or the field (`names`: a substring it must contain);
- no traceback anywhere in stdout, stderr or the step summary.

Cases run in-process (`mlgate.cli.main`) in a fresh directory holding the case's files, with
`GITHUB_ACTIONS=true` and the runner files pointing into that directory, so the error arrives as an
`::error` annotation exactly as in a workflow run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: the gate's error arrives as one `::error …::message` line (properties are optional)
_ANNOTATION = re.compile(r"^::error(?: [^:]*)?::(?P<message>.*)$", re.MULTILINE)


@dataclass(frozen=True)
class BadInput:
    """One malformed input and what the user must be told about it."""

    id: str
    #: arguments after `mlgate`; paths are relative to the case's directory
    argv: tuple[str, ...]
    #: the `failure-reason` output the command must set
    reason: str
    #: a substring the first error line must contain: the file, the field (or both, as the message reads)
    names: str
    #: files written into the case's directory before the run (relative path -> text or bytes)
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    #: extra environment for the run (a fake `GITHUB_API_URL`, `GITHUB_EVENT_PATH`, …)
    env: Mapping[str, str] = field(default_factory=dict)
    exit_code: int = 1
    #: called with the case's directory after the files are written, for inputs easier to build in code
    setup: Callable[[Path], None] | None = None


@dataclass(frozen=True)
class BadInputRun:
    exit_code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str

    @property
    def error_line(self) -> str:
        """The first error the user sees: the annotation's message, else the first stderr line."""
        match = _ANNOTATION.search(self.stdout)
        if match:
            return match.group("message").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[0] if lines else ""


def read_outputs(path: Path) -> dict[str, str]:
    """Parse `$GITHUB_OUTPUT` as the runner does: `name<<DELIM` heredocs and `name=value` lines."""
    outputs: dict[str, str] = {}
    if not path.exists():
        return outputs
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, _, delimiter = line.partition("<<")
            j = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1 : j])
            i = j + 1
            continue
        if "=" in line:
            name, _, value = line.partition("=")
            outputs[name] = value
        i += 1
    return outputs


def run_mlgate(
    argv: tuple[str, ...] | list[str],
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> BadInputRun:
    """Run `mlgate <argv>` in-process in `workdir` as a workflow step would, and collect what it said."""
    from mlgate.cli import main

    runner_dir = workdir / ".runner"
    runner_dir.mkdir(exist_ok=True)
    output_file, summary_file = runner_dir / "output", runner_dir / "summary"
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "MLGATE_", "MLFLOW_", "AWS_")):
            monkeypatch.delenv(name, raising=False)
    base = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output_file),
        "GITHUB_STEP_SUMMARY": str(summary_file),
        "GITHUB_REPOSITORY": "acme/fraud-detection",
        "MLGATE_OUTPUT_DIR": str(runner_dir / "mlgate"),
    }
    for name, value in {**base, **(env or {})}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(workdir)
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exc:  # click may exit directly on usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    summary = summary_file.read_text(encoding="utf-8") if summary_file.exists() else ""
    return BadInputRun(code, captured.out, captured.err, read_outputs(output_file), summary)


def check_bad_input(
    case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> BadInputRun:
    """Write the case's files, run it, and assert everything a bad input must give the user."""
    for relative, content in case.files.items():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    if case.setup is not None:
        case.setup(tmp_path)
    run = run_mlgate(case.argv, tmp_path, env=case.env, monkeypatch=monkeypatch, capsys=capsys)
    everything = run.stdout + run.stderr + run.summary
    assert "Traceback" not in everything, everything
    assert run.exit_code == case.exit_code, everything
    assert run.outputs.get("passed") == "false", (run.outputs, everything)
    assert run.outputs.get("failure-reason") == case.reason, (run.outputs, everything)
    assert case.names in run.error_line, (case.names, run.error_line)
    return run
