"""checkov on a Terraform directory and on its JSON plan, judged from checkov's JSON report.

checkov runs in its own tool environment (`uvx --from checkov==3.3.30 checkov` by default): it pins
dozens of libraries (boto3, networkx, bc-python-hcl2, …) that would otherwise constrain every project
that installs mlgate, and a terraform job needs nothing else from it. `--checkov-command` swaps in any
other install (`checkov` on PATH, a pinned venv).

We pass `--skip-check` and `--baseline` through, but decide pass/fail ourselves from the JSON results
(checkov's exit codes depend on its own soft-fail flags): a failed check whose id is in `soft_fail` is
a warning, any other failed check fails the gate. SARIF is written next to the JSON for code scanning.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_COMMAND = "uvx --from checkov==3.3.30 checkov"


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    resource: str
    file: str  # relative to the scanned directory (or the plan file)
    line: int | None
    guideline: str = ""
    soft: bool = False


@dataclass
class CheckovReport:
    target: str
    findings: list[Finding] = field(default_factory=list)
    passed: int = 0
    skipped: int = 0
    sarif_path: Path | None = None
    error: str = ""

    @property
    def hard_failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.soft]

    @property
    def ok(self) -> bool:
        return not self.error and not self.hard_failures


def parse_report(raw: Any, *, soft_fail: Sequence[str] = ()) -> tuple[list[Finding], int, int]:
    """checkov's JSON (a dict, or a list with one dict per framework) → findings, passed, skipped."""
    reports = raw if isinstance(raw, list) else [raw]
    findings: list[Finding] = []
    passed = skipped = 0
    soft = {item.strip().upper() for item in soft_fail if item.strip()}
    for report in reports:
        if not isinstance(report, dict):
            continue
        summary = report.get("summary") or {}
        results = report.get("results") or {}
        passed += int(summary.get("passed", len(results.get("passed_checks", []))))
        skipped += int(summary.get("skipped", len(results.get("skipped_checks", []))))
        for check in results.get("failed_checks", []):
            lines = check.get("file_line_range") or []
            check_id = str(check.get("check_id", ""))
            findings.append(
                Finding(
                    check_id=check_id,
                    check_name=str(check.get("check_name", "")),
                    resource=str(check.get("resource", "")),
                    file=str(check.get("file_path", "")).lstrip("/"),
                    line=int(lines[0]) if lines and lines[0] else None,
                    guideline=str(check.get("guideline") or ""),
                    soft=check_id.upper() in soft or "ALL" in soft,
                )
            )
    return findings, passed, skipped


def run_checkov(
    target: Path,
    *,
    out_dir: Path,
    kind: str = "dir",
    command: str = DEFAULT_COMMAND,
    skip: Sequence[str] = (),
    soft_fail: Sequence[str] = (),
    baseline: Path | None = None,
    repo_root: Path | None = None,
    timeout: float = 900.0,
) -> CheckovReport:
    """Scan a directory (`kind="dir"`) or a JSON plan (`kind="plan"`); reports go to `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [*shlex.split(command)]
    if kind == "plan":
        args += ["-f", str(target), "--framework", "terraform_plan"]
        if repo_root is not None:
            args += ["--repo-root-for-plan-enrichment", str(repo_root)]
    else:
        args += ["-d", str(target), "--framework", "terraform"]
    args += [
        "-o",
        "json",
        "-o",
        "sarif",
        "--output-file-path",
        str(out_dir),
        "--compact",
        "--quiet",
        "--skip-download",
    ]
    skips = [item.strip() for item in skip if item.strip()]
    if skips:
        args += ["--skip-check", ",".join(skips)]
    if baseline is not None:
        args += ["--baseline", str(baseline)]
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckovReport(str(target), error=f"could not run `{command}`: {exc}")
    json_path = out_dir / "results_json.json"
    sarif_path = out_dir / "results_sarif.sarif"
    if not json_path.is_file():
        tail = " ".join(proc.stderr.strip().splitlines()[-3:])
        return CheckovReport(str(target), error=f"checkov wrote no report (exit {proc.returncode}): {tail}")
    try:
        findings, passed, skipped = parse_report(
            json.loads(json_path.read_text(encoding="utf-8")), soft_fail=soft_fail
        )
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OSError) as exc:
        return CheckovReport(str(target), error=f"checkov's report {json_path} is unreadable: {exc}")
    return CheckovReport(str(target), findings, passed, skipped, sarif_path if sarif_path.is_file() else None)
