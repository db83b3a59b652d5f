"""The `terraform` CLI, called with argument lists, its JSON diagnostics turned into `Diagnostic`s.

Every call is non-interactive (`-input=false`), colourless, and uses Terraform's machine-readable output
where it has one (`init -json`, `validate -json`, `plan -json`, `apply -json`, `show -json`), so errors
become `file:line` annotations instead of scraped text.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FETCH_MARKERS = (
    "failed to download",
    "failed to install",
    "failed to query",
    "registry",
    "failed to resolve",
    "error configuring the backend",
    "failed to get existing workspaces",
    "could not retrieve",
)
LOCK_MARKERS = ("Error acquiring the state lock", "state lock", "ConditionalCheckFailedException")


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    summary: str
    detail: str = ""
    file: str = ""  # relative to the working directory, as Terraform reports it
    line: int | None = None

    @property
    def text(self) -> str:
        detail = " ".join(self.detail.split())
        return f"{self.summary}: {detail}" if detail else self.summary

    @property
    def is_lock_error(self) -> bool:
        return any(marker.lower() in (self.summary + " " + self.detail).lower() for marker in LOCK_MARKERS)

    @property
    def is_fetch_error(self) -> bool:
        """A module, provider or backend could not be fetched (network, registry, credentials)."""
        text = self.summary.lower()
        return any(marker in text for marker in FETCH_MARKERS)

    @property
    def is_missing_variable(self) -> bool:
        return self.summary.startswith("No value for required variable")

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Diagnostic:
        rng = raw.get("range") or {}
        return cls(
            severity=str(raw.get("severity", "error")),
            summary=str(raw.get("summary", "")).strip(),
            detail=str(raw.get("detail", "") or ""),
            file=str(rng.get("filename", "") or ""),
            line=int(rng["start"]["line"]) if rng.get("start") else None,
        )


@dataclass
class Outcome:
    """One terraform call: exit code, diagnostics, the JSON messages it streamed, raw stderr."""

    returncode: int
    diagnostics: list[Diagnostic] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    #: stdout as terraform wrote it (what `show -json` is parsed from; `stdout` replaces bad UTF-8)
    raw_stdout: bytes = b""

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def locked(self) -> bool:
        return any(d.is_lock_error for d in self.errors) or "Error acquiring the state lock" in self.stderr

    def error_text(self) -> str:
        if self.errors:
            return "; ".join(d.text for d in self.errors[:5])
        tail = [
            line
            for line in self.stderr.strip().splitlines()
            if line.strip() and "CLI configuration" not in line
        ]
        return " ".join(tail[-3:]) or f"terraform exited with {self.returncode}"


def _parse_json_stream(stdout: str) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
    messages, diagnostics = [], []
    for raw in stdout.splitlines():
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        messages.append(message)
        if message.get("type") == "diagnostic" and isinstance(message.get("diagnostic"), dict):
            diagnostics.append(Diagnostic.from_json(message["diagnostic"]))
    return messages, diagnostics


@dataclass
class Terraform:
    """`terraform` in one working directory."""

    workdir: Path
    binary: str = "terraform"
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    timeout: float = 3600.0

    def available(self) -> bool:
        return shutil.which(self.binary) is not None or Path(self.binary).is_file()

    def run(self, *args: str, check_json: bool = False) -> Outcome:
        env = {**self.env, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
        try:
            proc = subprocess.run(
                [self.binary, *args],
                cwd=self.workdir,
                env=env,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Outcome(124, stderr=f"`terraform {args[0]}` did not finish within {self.timeout:.0f} s")
        except OSError as exc:  # no terraform binary, not executable, …
            return Outcome(127, stderr=f"could not run `{self.binary}`: {exc.strerror or exc}")
        stdout = proc.stdout.decode("utf-8", errors="replace")
        stderr = proc.stderr.decode("utf-8", errors="replace")
        messages, diagnostics = _parse_json_stream(stdout) if check_json else ([], [])
        return Outcome(proc.returncode, diagnostics, messages, stdout, stderr, proc.stdout)

    # -- the steps ---------------------------------------------------------------------------------------
    def fmt_check(self) -> list[str]:
        """Files (relative to the working directory) that `terraform fmt` would rewrite."""
        out = self.run("fmt", "-check", "-recursive", "-list=true", "-no-color")
        return [line.strip() for line in out.stdout.splitlines() if line.strip()]

    def init(self, backend_config: Sequence[str] = (), *, backend: bool = True) -> Outcome:
        args = ["init", "-input=false", "-no-color", "-json"]
        args += [f"-backend-config={item}" for item in backend_config]
        if not backend:
            args.append("-backend=false")
        return self.run(*args, check_json=True)

    def select_workspace(self, workspace: str) -> Outcome:
        return self.run("workspace", "select", "-or-create", "-no-color", workspace)

    def validate(self) -> Outcome:
        out = self.run("validate", "-json", "-no-color")
        try:
            report = json.loads(out.stdout)
        except json.JSONDecodeError:
            return out
        out.diagnostics = [Diagnostic.from_json(d) for d in report.get("diagnostics", [])]
        return out

    def plan(
        self,
        out: Path,
        *,
        var_files: Sequence[str] = (),
        variables: Sequence[str] = (),
        lock_timeout: str = "5m",
        destroy: bool = False,
    ) -> Outcome:
        """`plan -json -out` with `-detailed-exitcode`: 0 no changes, 2 changes, 1 error."""
        args = [
            "plan",
            "-json",
            "-input=false",
            "-no-color",
            "-detailed-exitcode",
            f"-out={out}",
            f"-lock-timeout={lock_timeout}",
        ]
        args += [f"-var-file={item}" for item in var_files]
        args += [f"-var={item}" for item in variables]
        if destroy:
            args.append("-destroy")
        return self.run(*args, check_json=True)

    def show_json(self, planfile: Path) -> Outcome:
        """`show -json PLANFILE`: the JSON plan is the outcome's stdout (checked by `plan_format`)."""
        return self.run("show", "-json", "-no-color", str(planfile))

    def show_text(self, planfile: Path) -> str:
        return self.run("show", "-no-color", str(planfile)).stdout

    def apply(self, planfile: Path, *, lock_timeout: str = "5m") -> Outcome:
        return self.run(
            "apply",
            "-json",
            "-input=false",
            "-no-color",
            "-auto-approve",
            f"-lock-timeout={lock_timeout}",
            str(planfile),
            check_json=True,
        )
