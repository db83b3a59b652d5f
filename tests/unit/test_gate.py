"""`mlgate.gate`: how a result and an input error reach files, outputs, the summary and the PR."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlgate import github
from mlgate.gate import GateInputError, GateResult, finish, run_gate
from tests.support.fake_github import FakeGitHub
from tests.unit.test_github import actions_env, read_outputs


@pytest.fixture
def in_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run with the Actions environment variables of a pull-request job; returns the output file."""
    for key, value in actions_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    return tmp_path / "github_output"


def failing_result() -> GateResult:
    return GateResult(
        gate="eval",
        passed=False,
        failure_reason="threshold-missed",
        summary_md="### ❌ eval: recall 0.61 < 0.70",
        details_md="| metric | value |\n|---|---|\n| recall | 0.61 |",
        data={"recall": 0.61},
        outputs={"candidate-version": "3"},
    )


def test_finish_writes_result_report_outputs_and_summary(tmp_path: Path, in_actions: Path) -> None:
    code = finish(failing_result(), report_dir=tmp_path / "reports")
    assert code == 1
    outputs = read_outputs(in_actions)
    assert outputs["passed"] == "false"
    assert outputs["failure-reason"] == "threshold-missed"
    assert outputs["candidate-version"] == "3"
    result = json.loads(Path(outputs["result-path"]).read_text(encoding="utf-8"))
    assert result == {
        "gate": "eval",
        "passed": False,
        "failure_reason": "threshold-missed",
        "outputs": {"candidate-version": "3"},
        "data": {"recall": 0.61},
    }
    report = Path(outputs["report-path"]).read_text(encoding="utf-8")
    assert report.startswith("### ❌ eval: recall 0.61 < 0.70\n\n| metric | value |")
    assert "recall 0.61 < 0.70" in (tmp_path / "step_summary.md").read_text(encoding="utf-8")


def test_passing_result_exits_zero(tmp_path: Path, in_actions: Path) -> None:
    result = GateResult(gate="lint", passed=True, summary_md="### ✅ lint")
    assert finish(result, report_dir=tmp_path / "r") == 0
    assert read_outputs(in_actions)["passed"] == "true"
    assert read_outputs(in_actions)["failure-reason"] == ""


def test_finish_upserts_the_pr_comment(
    tmp_path: Path, in_actions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeGitHub() as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        finish(failing_result(), report_dir=tmp_path / "r", comment_key="default")
        finish(failing_result(), report_dir=tmp_path / "r", comment_key="default")
        (comment,) = fake.comments_on(7)
    assert comment["body"].startswith("<!-- mlgate:eval:default -->\n### ❌ eval: recall 0.61 < 0.70")


def test_a_comment_that_cannot_be_posted_is_a_warning_not_a_crash(
    tmp_path: Path, in_actions: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(github.time, "sleep", lambda _: None)
    with FakeGitHub() as fake:
        fake.fail_next(20, 500)
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        code = finish(failing_result(), report_dir=tmp_path / "r", comment_key="default")
    assert code == 1  # the verdict, not the comment, decides
    out = capsys.readouterr().out
    assert "::warning title=mlgate eval::could not update the pull request comment: GitHub API" in out
    assert read_outputs(in_actions)["failure-reason"] == "threshold-missed"


def test_input_error_becomes_annotation_outputs_and_exit_one(
    in_actions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def work() -> int:
        raise GateInputError(
            "threshold must be between 0 and 1 (got 7)",
            file="mlgate.yaml",
            field="eval.thresholds.recall",
            fix="write a fraction such as 0.7",
            line=12,
            reason="invalid-input",
        )

    assert run_gate("eval", work) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == (
        "::error file=mlgate.yaml,line=12,title=mlgate eval::mlgate.yaml: eval.thresholds.recall: "
        "threshold must be between 0 and 1 (got 7) — write a fraction such as 0.7"
    )
    assert "Traceback" not in captured.err
    assert read_outputs(in_actions) == {"passed": "false", "failure-reason": "invalid-input"}


def test_input_error_locally_is_one_line_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in [k for k in os.environ if k.startswith("GITHUB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / "out"))

    def work() -> int:
        raise GateInputError("missing column `amount`", file="data/train.parquet", reason="schema-mismatch")

    assert run_gate("validate-data", work) == 1
    captured = capsys.readouterr()
    assert captured.err == "mlgate validate-data: error: data/train.parquet: missing column `amount`\n"
    assert captured.out == ""
    assert 'failure-reason="schema-mismatch"' in (tmp_path / "out" / "outputs.env").read_text()
    assert "input error" in (tmp_path / "out" / "summary.md").read_text()


def test_input_error_message_names_file_field_and_fix() -> None:
    assert GateInputError("x").message == "x"
    assert GateInputError("x", file=Path("a.yaml")).message == "a.yaml: x"
    assert GateInputError("x", field="f", fix="do y").message == "f: x — do y"


def test_a_github_api_failure_is_a_failure_reason_not_a_traceback(
    in_actions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def work() -> int:
        raise github.GitHubAPIError("GET", "/repos/acme/x/commits/abc/pulls", 502, "gave up", attempts=5)

    assert run_gate("tf-apply", work) == 1
    assert read_outputs(in_actions) == {"passed": "false", "failure-reason": "github-api-error"}
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("::error title=mlgate tf-apply::GitHub API GET /repos/acme/x/commits/abc/pulls")
    assert "(HTTP 502, 4 retries)" in line
