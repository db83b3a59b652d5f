"""`mlgate lint` on real pre-commit runs: a tiny git repo with `repo: local`, `language: system` hooks
(pre-commit cannot download hook repositories offline), so the output parsed here is exactly what
pre-commit prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate.lint import FAILURE_REASONS, annotation_targets, evaluate, findings_in, parse_precommit_output

RUFF = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")

CONFIG = f"""\
repos:
  - repo: local
    hooks:
      - id: ruff
        name: ruff check
        entry: {RUFF} check --fix --output-format {{fmt}}
        language: system
        types: [python]
      - id: ruff-format
        name: ruff format
        entry: {RUFF} format
        language: system
        types: [python]
      - id: no-todo
        name: no TODO markers
        entry: sh -c 'grep -Hn TODO "$@" && exit 1; exit 0' --
        language: system
        files: \\.txt$
      - id: sql-check
        name: sql files
        entry: "true"
        language: system
        files: \\.sql$
"""

CLEAN_PY = 'def greet(name: str) -> str:\n    return f"hello {name}"\n'
BAD_PY = "import os\nx=1\nprint( x )\n\n\ndef f():\n    return undefined_name\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def make_repo(tmp_path: Path, *, bad: bool, fmt: str = "full") -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(CONFIG.replace("{fmt}", fmt), encoding="utf-8")
    (repo / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n", encoding="utf-8")
    (repo / "app.py").write_text(BAD_PY if bad else CLEAN_PY, encoding="utf-8")
    (repo / "notes.txt").write_text(
        "first line\nTODO: write docs\n" if bad else "all done\n", encoding="utf-8"
    )
    _git(repo, "add", "-A")
    return repo


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLGATE_"))}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    env.update(extra)
    return env


def run_precommit(repo: Path, tmp_path: Path) -> tuple[int, str]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "run",
            "--all-files",
            "--show-diff-on-failure",
            "--color",
            "never",
        ],
        cwd=repo,
        env=env_for(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stdout


def run_mlgate(repo: Path, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlgate.cli", "lint", *args],
        cwd=repo,
        env=env_for(tmp_path, **env),
        capture_output=True,
        text=True,
        check=False,
    )


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file of `name<<DELIM` heredocs."""
    lines = path.read_text(encoding="utf-8").splitlines()
    outputs: dict[str, str] = {}
    i = 0
    while i < len(lines):
        name, _, delimiter = lines[i].partition("<<")
        j = lines.index(delimiter, i + 1)
        outputs[name] = "\n".join(lines[i + 1 : j])
        i = j + 1
    return outputs


# -- the pure parser on real output --------------------------------------------------------------------


def test_failing_run_is_parsed_hook_by_hook(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, bad=True)
    code, output = run_precommit(repo, tmp_path)
    assert code == 1

    report = parse_precommit_output(output)
    by_id = {h.label: h for h in report.hooks}
    assert list(by_id) == ["ruff", "ruff-format", "no-todo", "sql files"]
    assert by_id["ruff"].status == "Failed"
    assert by_id["ruff"].modified_files  # --fix removed the unused import
    assert by_id["ruff-format"].status == "Failed"
    assert by_id["no-todo"].status == "Failed"
    assert by_id["no-todo"].exit_code == 1
    assert by_id["sql files"].status == "Skipped"
    assert by_id["sql files"].no_files

    # ruff's full format: `F821 Undefined name` then ` --> app.py:line:col`
    (ruff_finding,) = by_id["ruff"].findings
    assert (ruff_finding.file, ruff_finding.col) == ("app.py", 12)
    assert ruff_finding.message.startswith("F821")
    # a generic `path:line:` tool
    (todo,) = by_id["no-todo"].findings
    assert (todo.file, todo.line) == ("notes.txt", 2)
    assert "TODO" in todo.message

    # the fixers' changes, from the diff pre-commit shows
    assert set(report.modified) == {"app.py"}
    targets = annotation_targets(report)
    assert any(t.file == "app.py" and "modified by ruff, ruff-format" in t.message for t in targets)

    result = evaluate(report, code)
    assert not result.passed
    assert result.failure_reason == "hooks-failed"
    assert result.failure_reason in FAILURE_REASONS
    assert "| no TODO markers (no-todo) | ❌ Failed | 1 finding |" in result.summary_md
    assert "| ruff check (ruff) | ❌ Failed | 1 finding, files modified |" in result.summary_md
    assert "| sql files | ⏭️ Skipped | no files to check |" in result.summary_md
    assert result.outputs["failed-hooks"] == "ruff,ruff-format,no-todo"
    assert "changes made by fixers" in result.details_md


def test_concise_ruff_output_gives_line_and_column(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, bad=True, fmt="concise")
    _, output = run_precommit(repo, tmp_path)
    ruff = next(h for h in parse_precommit_output(output).hooks if h.label == "ruff")
    (finding,) = ruff.findings
    assert (finding.file, finding.line, finding.col) == ("app.py", 6, 12)
    assert finding.message == "F821 Undefined name `undefined_name`"


def test_clean_run_passes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, bad=False)
    code, output = run_precommit(repo, tmp_path)
    report = parse_precommit_output(output)
    assert code == 0
    assert [h.status for h in report.hooks] == ["Passed", "Passed", "Passed", "Skipped"]
    result = evaluate(report, code)
    assert result.passed
    assert result.failure_reason == ""
    assert "all 3 hooks passed" in result.summary_md


def test_pre_commit_error_is_reported(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, bad=False)
    (repo / ".pre-commit-config.yaml").write_text("repos: [\n", encoding="utf-8")
    code, output = run_precommit(repo, tmp_path)
    report = parse_precommit_output(output)
    assert report.error.startswith("An error has occurred")
    result = evaluate(report, code)
    assert (result.passed, result.failure_reason) == (False, "pre-commit-error")


def test_findings_in_generic_formats() -> None:
    output = "\n".join(
        [
            "src/pkg/mod.py:10: error: Incompatible return value  [return-value]",
            "src/pkg/mod.py:10: note: See https://mypy.readthedocs.io",
            "src/pkg/mod.py:3:5: E501 line too long",
            "Found 2 errors in 1 file (checked 3 source files)",
            "https://example.com/docs: not a file",
        ]
    )
    found = findings_in("mypy", output)
    assert [(f.file, f.line, f.col) for f in found] == [
        ("src/pkg/mod.py", 10, None),
        ("src/pkg/mod.py", 3, 5),
    ]
    assert found[0].message == "error: Incompatible return value  [return-value]"


# -- the command, as the action runs it ----------------------------------------------------------------


def test_command_in_actions_annotates_and_sets_outputs(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, bad=True)
    outputs, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    proc = run_mlgate(
        repo,
        tmp_path,
        "--report-dir",
        str(tmp_path / "reports"),
        GITHUB_ACTIONS="true",
        GITHUB_OUTPUT=str(outputs),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "::error file=notes.txt,line=2,title=no-todo::TODO: write docs" in proc.stdout
    assert "::error file=app.py,line=6,col=12,title=ruff::F821 Undefined name" in proc.stdout
    assert "::group::pre-commit output" in proc.stdout

    values = read_outputs(outputs)
    assert values["passed"] == "false"
    assert values["failure-reason"] == "hooks-failed"
    assert values["failed-hooks"] == "ruff,ruff-format,no-todo"
    assert "| hook | status | findings |" in summary.read_text(encoding="utf-8")
    result = json.loads(Path(values["result-path"]).read_text(encoding="utf-8"))
    assert result["failure_reason"] == "hooks-failed"
    assert "no TODO markers" in Path(values["log-path"]).read_text(encoding="utf-8")


def test_command_locally_passes_on_clean_repo(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, bad=False)
    proc = run_mlgate(repo, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all 3 hooks passed" in proc.stdout
    report = json.loads((repo / ".mlgate" / "lint.json").read_text(encoding="utf-8"))
    assert report["passed"] is True
    assert [h["status"] for h in report["data"]["hooks"]] == ["Passed", "Passed", "Passed", "Skipped"]


def test_skip_flag_from_environment(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, bad=True)
    proc = run_mlgate(repo, tmp_path, MLGATE_SKIP="ruff,ruff-format,no-todo")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("in_actions", [False, True])
def test_missing_config_is_a_one_line_input_error(tmp_path: Path, in_actions: bool) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "out.txt")} if in_actions else {}
    proc = run_mlgate(repo, tmp_path, **env)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    if in_actions:
        assert "::error file=.pre-commit-config.yaml,title=mlgate lint::" in proc.stdout
        assert read_outputs(tmp_path / "out.txt")["failure-reason"] == "no-config"
    else:
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("mlgate lint: error: .pre-commit-config.yaml: not found — add a")


def test_pre_commit_warnings_become_warning_annotations(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, bad=False)
    config = repo / ".pre-commit-config.yaml"
    config.write_text("default_stages: [commit]\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    _git(repo, "add", "-A")
    code, output = run_precommit(repo, tmp_path)
    report = parse_precommit_output(output)
    (warning,) = report.warnings
    assert "deprecated stage names" in warning
    assert evaluate(report, code).passed

    proc = run_mlgate(repo, tmp_path, GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(tmp_path / "out.txt"))
    assert proc.returncode == 0, proc.stdout
    assert (
        "::warning file=.pre-commit-config.yaml,title=pre-commit::top-level `default_stages`" in proc.stdout
    )


def test_colour_codes_do_not_hide_status_lines() -> None:
    text = (
        "ruff check......\x1b[41mFailed\x1b[m\n- hook id: ruff\n- exit code: 1\n\napp.py:3:1: F401 unused\n"
    )
    (hook,) = parse_precommit_output(text).hooks
    assert (hook.status, hook.label, len(hook.findings)) == ("Failed", "ruff", 1)


def test_from_ref_checks_only_changed_files(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, bad=True)
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    _git(repo, *ident, "commit", "-qm", "old code with problems")
    (repo / "new.txt").write_text("a clean new file\n", encoding="utf-8")
    _git(repo, "add", "new.txt")
    _git(repo, *ident, "commit", "-qm", "a clean change")

    assert run_mlgate(repo, tmp_path).returncode == 1  # every file: the old problems count
    proc = run_mlgate(repo, tmp_path, MLGATE_FROM_REF="HEAD~1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hooks = json.loads((repo / ".mlgate" / "lint.json").read_text(encoding="utf-8"))["data"]["hooks"]
    assert {h["name"]: h["status"] for h in hooks}["no TODO markers"] == "Passed"
