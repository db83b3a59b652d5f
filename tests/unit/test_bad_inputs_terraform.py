"""The bad-input catalogue of `tf-plan`, `tf-apply`, the event payload and GitHub API failures (issue 11).

Each case runs the real `mlgate` CLI (tests/support/bad_inputs.py) and asserts the exit code, the
`failure-reason`, that the first error line names the file or field, and that no traceback is printed.

- Terraform configurations run the real terraform (`terraform_data`, local backend).
- Plan JSON that Terraform itself never writes comes from a stand-in `terraform` on PATH (`bin/terraform`
  in the case's directory) that behaves like terraform for fmt / init / validate / plan and prints the
  case's `show.json` for `show -json` — the parser sees exactly those bytes.
- API failures come from local servers on 127.0.0.1: the recording fake GitHub (scripted statuses, a
  reviewed plan comment) or a scripted server answering every request with one response (HTML pages,
  JSON of the wrong shape). `GITHUB_API_URL` in a case names which (`fake…` / `scripted:…`), and the test
  starts it.

Backoff sleeps are skipped (the retries themselves are real); every other part runs as in a workflow.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mlgate import github
from mlgate.github import comment_marker
from mlgate.terraform.comments import encode_header
from mlgate.terraform.plan_summary import summarize_plan
from tests.support.bad_inputs import BadInput, check_bad_input
from tests.support.fake_github import FakeGitHub
from tests.support.scripted_http import ScriptedHTTP

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")

PR = 7
SHA = "c0ffee" + "0" * 34
MAIN_TF = 'resource "terraform_data" "a" {\n  input = "x"\n}\n'
TF = {"tf/main.tf": MAIN_TF}

FAKE_TERRAFORM = f"""#!{sys.executable}
'''A stand-in for terraform: fmt/init/validate pass, plan "has changes", show -json prints show.json.'''
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
args = sys.argv[1:]
if args[:1] == ["validate"]:
    print('{{"valid": true, "diagnostics": []}}')
elif args[:1] == ["plan"]:
    out = next(a for a in args if a.startswith("-out="))[5:]
    Path(out).write_bytes(b"fake plan")
    sys.exit(2)
elif args[:2] == ["show", "-json"]:
    status = HERE / "show.status"
    if status.exists():
        sys.stderr.write("Error: Failed to read the given file as a state or plan file\\n")
        sys.exit(int(status.read_text()))
    sys.stdout.buffer.write((HERE / "show.json").read_bytes())
elif args[:1] == ["show"]:
    print("fake plan text")
elif args[:1] == ["apply"]:
    sys.stderr.write("the stand-in never applies\\n")
    sys.exit(1)
"""

FAKE_CHECKOV = f"""#!{sys.executable}
'''A stand-in for checkov that writes a broken JSON report where checkov would write its report.'''
import sys
from pathlib import Path

out = Path(sys.argv[sys.argv.index("--output-file-path") + 1])
out.mkdir(parents=True, exist_ok=True)
(out / "results_json.json").write_text('{{"results": {{"failed_checks": "not a list"')
"""


def executable(*names: str) -> Any:
    def setup(root: Path) -> None:
        for name in names:
            path = root / name
            path.chmod(path.stat().st_mode | stat.S_IXUSR)

    return setup


def valid_plan(**extra: Any) -> dict[str, Any]:
    return {"format_version": "1.2", "terraform_version": "1.11.4", "resource_changes": [], **extra}


def change(actions: Any = ("create",), **extra: Any) -> dict[str, Any]:
    return {"address": "terraform_data.a", "change": {"actions": list(actions), **extra}}


def plan_case(id: str, show: bytes | str, names: str, *, command: str = "tf-plan") -> BadInput:
    """`terraform show -json` prints `show` (through the stand-in terraform)."""
    argv = ("tf-plan", "--working-directory", "tf", "--no-checkov")
    env: dict[str, str] = {}
    if command == "tf-apply":
        argv = ("tf-apply", "--working-directory", "tf")
        env = {"GITHUB_API_URL": "fake:reviewed", "GITHUB_TOKEN": "t", "GITHUB_SHA": SHA}
    return BadInput(
        id=f"{command}-plan-json-{id}",
        argv=argv,
        reason="invalid-plan",
        names=names,
        files={**TF, "bin/terraform": FAKE_TERRAFORM, "show.json": show},
        env=env,
        setup=executable("bin/terraform"),
    )


def dumps(value: Any) -> str:
    return json.dumps(value)


PLAN_JSON_CASES = [
    plan_case("array", "[]", "is an array, not a Terraform plan"),
    plan_case("object-without-format", '{"foo": 1}', "format_version"),
    plan_case("string", '"str"', "is a string, not a Terraform plan"),
    plan_case("number", "42", "is a number, not a Terraform plan"),
    plan_case("null", "null", "is null, not a Terraform plan"),
    plan_case("empty", "", "is empty"),
    plan_case("whitespace", "  \n ", "is empty"),
    plan_case("malformed", '{"format_version": "1.2",', "is not JSON"),
    plan_case("trailing-garbage", dumps(valid_plan()) + " trailing", "is not JSON"),
    plan_case("bom", b"\xef\xbb\xbf" + dumps(valid_plan()).encode(), "byte-order mark"),
    plan_case("not-utf8", b'{"format_version": "1.2\xff"}', "is not UTF-8"),
    plan_case("format-2", dumps(valid_plan(format_version="2.0")), "format_version"),
    plan_case("format-number", dumps(valid_plan(format_version=1.2)), "format_version"),
    plan_case("no-terraform-version", dumps({"format_version": "1.2"}), "terraform_version"),
    plan_case("resource-changes-object", dumps(valid_plan(resource_changes={})), "resource_changes"),
    plan_case("resource-changes-string", dumps(valid_plan(resource_changes="all")), "resource_changes"),
    plan_case("resource-change-not-object", dumps(valid_plan(resource_changes=[1])), "resource_changes[0]"),
    plan_case(
        "actions-string",
        dumps(valid_plan(resource_changes=[change("update")])),
        "resource_changes[0].change.actions",
    ),
    plan_case(
        "unknown-action",
        dumps(valid_plan(resource_changes=[change(["destroy"])])),
        "resource_changes[0].change.actions[0]",
    ),
    plan_case(
        "no-actions", dumps(valid_plan(resource_changes=[change([])])), "resource_changes[0].change.actions"
    ),
    plan_case(
        "three-actions",
        dumps(valid_plan(resource_changes=[change(["delete", "create", "update"])])),
        "resource_changes[0].change.actions",
    ),
    plan_case(
        "no-address",
        dumps(valid_plan(resource_changes=[{"change": {"actions": ["create"]}}])),
        "resource_changes[0].address",
    ),
    plan_case(
        "no-change",
        dumps(valid_plan(resource_changes=[{"address": "terraform_data.a"}])),
        "resource_changes[0].change",
    ),
    plan_case(
        "sensitive-marker-string",
        dumps(valid_plan(resource_changes=[change(after={"p": "s3cr3t"}, after_sensitive="yes")])),
        "resource_changes[0].change.after_sensitive",
    ),
    plan_case(
        "unknown-marker-number",
        dumps(valid_plan(resource_changes=[change(after_unknown={"id": 1})])),
        "resource_changes[0].change.after_unknown",
    ),
    plan_case("output-changes-list", dumps(valid_plan(output_changes=[])), "output_changes"),
    plan_case(
        "output-actions-string",
        dumps(valid_plan(output_changes={"url": {"actions": "update"}})),
        "output_changes.url.actions",
    ),
    plan_case("drift-not-list", dumps(valid_plan(resource_drift={"a": 1})), "resource_drift"),
    plan_case("errored-string", dumps(valid_plan(errored="yes")), "errored"),
    plan_case("variables-list", dumps(valid_plan(variables=[])), "variables"),
    plan_case(
        "deep-nesting",
        dumps(valid_plan(resource_changes=[change(after=json.loads("[" * 150 + "]" * 150))])),
        "deeper than 100 levels",
    ),
    plan_case("apply-array", "[]", "is an array", command="tf-apply"),
    plan_case(
        "apply-actions-string",
        dumps(valid_plan(resource_changes=[change("update")])),
        "actions",
        command="tf-apply",
    ),
]

TF_PLAN_CASES = [
    BadInput(
        "tf-plan-workdir-missing",
        ("tf-plan", "--working-directory", "nope", "--no-checkov"),
        "invalid-input",
        "nope",
    ),
    BadInput(
        "tf-plan-workdir-is-a-file",
        ("tf-plan", "--working-directory", "main.tf", "--no-checkov"),
        "invalid-input",
        "main.tf",
        files={"main.tf": MAIN_TF},
    ),
    BadInput(
        "tf-plan-no-tf-files",
        ("tf-plan", "--working-directory", "tf", "--no-checkov"),
        "no-terraform-files",
        "working-directory",
        files={"tf/README.md": "nothing to plan"},
    ),
    BadInput(
        "tf-plan-undeclared-variable",
        ("tf-plan", "--working-directory", "tf", "--no-checkov"),
        "invalid-config",
        '"nope"',
        files={"tf/main.tf": 'resource "terraform_data" "a" {\n  input = var.nope\n}\n'},
    ),
    BadInput(
        "tf-plan-missing-variable",
        ("tf-plan", "--working-directory", "tf", "--no-checkov"),
        "missing-variable",
        '"region"',
        files={"tf/main.tf": 'variable "region" {\n  type = string\n}\n' + MAIN_TF},
    ),
    BadInput(
        "tf-plan-var-file-missing",
        ("tf-plan", "--working-directory", "tf", "--no-checkov", "--var-file", "missing.tfvars"),
        "plan-failed",
        "missing.tfvars",
        files=TF,
    ),
    BadInput(
        "tf-plan-backend-config-unknown",
        ("tf-plan", "--working-directory", "tf", "--no-checkov", "--backend-config", "no_such_setting=1"),
        "init-failed",
        "no_such_setting",
        files={"tf/main.tf": 'terraform {\n  backend "local" {}\n}\n' + MAIN_TF},
    ),
    BadInput(
        "tf-plan-lock-timeout-not-a-duration",
        ("tf-plan", "--working-directory", "tf", "--no-checkov", "--lock-timeout", "forever"),
        "plan-failed",
        '"forever"',
        files=TF,
    ),
    BadInput(
        "tf-plan-workspace-name-with-slash",
        ("tf-plan", "--working-directory", "tf", "--no-checkov", "--workspace", "bad/name"),
        "init-failed",
        '"bad/name"',
        files=TF,
    ),
    BadInput(
        "tf-plan-config-wrong-type",
        ("tf-plan", "--working-directory", "tf", "--no-checkov", "--config", "mlgate.yaml"),
        "invalid-input",
        "terraform.checkov",
        files={**TF, "mlgate.yaml": "terraform:\n  checkov: maybe\n"},
    ),
    BadInput(
        "tf-plan-config-section-not-a-mapping",
        ("tf-plan", "--working-directory", "tf", "--no-checkov", "--config", "mlgate.yaml"),
        "invalid-input",
        "terraform",
        files={**TF, "mlgate.yaml": "terraform: [checkov]\n"},
    ),
    BadInput(
        "tf-plan-checkov-not-installed",
        ("tf-plan", "--working-directory", "tf", "--checkov-command", "/nonexistent/checkov"),
        "checkov-error",
        "/nonexistent/checkov",
        files=TF,
    ),
    BadInput(
        "tf-plan-checkov-writes-no-report",
        ("tf-plan", "--working-directory", "tf", "--checkov-command", "true"),
        "checkov-error",
        "checkov wrote no report",
        files=TF,
    ),
    BadInput(
        "tf-plan-checkov-report-unreadable",
        ("tf-plan", "--working-directory", "tf", "--checkov-command", "bin/checkov"),
        "checkov-error",
        "results_json.json",
        files={**TF, "bin/checkov": FAKE_CHECKOV},
        setup=executable("bin/checkov"),
    ),
    BadInput(
        "tf-plan-show-fails",
        ("tf-plan", "--working-directory", "tf", "--no-checkov"),
        "plan-failed",
        "terraform show failed",
        files={**TF, "bin/terraform": FAKE_TERRAFORM, "show.json": "{}", "show.status": "1"},
        setup=executable("bin/terraform"),
    ),
]

APPLY = ("tf-apply", "--working-directory", "tf")
API = {"GITHUB_TOKEN": "t", "GITHUB_SHA": SHA}

TF_APPLY_CASES = [
    BadInput(
        "tf-apply-no-token", APPLY, "invalid-input", "GITHUB_TOKEN", files=TF, env={"GITHUB_API_URL": "fake"}
    ),
    BadInput(
        "tf-apply-workdir-missing",
        ("tf-apply", "--working-directory", "nope"),
        "invalid-input",
        "nope",
        env={**API, "GITHUB_API_URL": "fake"},
    ),
    BadInput(
        "tf-apply-no-pull-request",
        APPLY,
        "no-pull-request",
        "no merged pull request",
        files=TF,
        env={**API, "GITHUB_API_URL": "fake", "GITHUB_SHA": "f" * 40},
    ),
    BadInput(
        "tf-apply-no-plan-comment",
        APPLY,
        "no-plan-comment",
        "no reviewed plan",
        files=TF,
        env={**API, "GITHUB_API_URL": "fake"},
    ),
    BadInput(
        "tf-apply-plan-comment-by-someone-else",
        APPLY,
        "no-plan-comment",
        "no reviewed plan",
        files=TF,
        env={**API, "GITHUB_API_URL": "fake:reviewed-by-mallory"},
    ),
    BadInput(
        "tf-apply-plan-comment-header-damaged",
        APPLY,
        "no-plan-comment",
        "no reviewed plan",
        files=TF,
        env={**API, "GITHUB_API_URL": "fake:damaged-header"},
    ),
    BadInput(
        "tf-apply-api-500",
        APPLY,
        "github-api-error",
        "HTTP 500, 4 retries",
        files=TF,
        env={**API, "GITHUB_API_URL": "fake:fail=500"},
    ),
    BadInput(
        "tf-apply-api-502-on-comments",
        (*APPLY, "--pr-number", str(PR)),
        "github-api-error",
        f"/issues/{PR}/comments",
        files=TF,
        env={**API, "GITHUB_API_URL": "fake:fail=502"},
    ),
    BadInput(
        "tf-apply-api-404",
        APPLY,
        "github-api-error",
        "HTTP 404, 0 retries",
        files=TF,
        env={**API, "GITHUB_API_URL": "scripted:404:application/json:" + dumps({"message": "Not Found"})},
    ),
    BadInput(
        "tf-apply-api-401",
        APPLY,
        "github-api-error",
        "Bad token",
        files=TF,
        env={**API, "GITHUB_API_URL": "scripted:401:application/json:" + dumps({"message": "Bad token"})},
    ),
    BadInput(
        "tf-apply-api-unreachable",
        APPLY,
        "github-api-error",
        "no response, 4 retries",
        files=TF,
        env={**API, "GITHUB_API_URL": "http://127.0.0.1:9"},
    ),
    BadInput(
        "tf-apply-api-html-500",
        APPLY,
        "github-api-error",
        "HTTP 500",
        files=TF,
        env={**API, "GITHUB_API_URL": "scripted:500:text/html:<html><h1>Unicorn!</h1></html>"},
    ),
    BadInput(
        "tf-apply-api-html-200",
        APPLY,
        "github-api-error",
        "HTML page",
        files=TF,
        env={**API, "GITHUB_API_URL": "scripted:200:text/html:<html>Sign in to the proxy</html>"},
    ),
    BadInput(
        "tf-apply-api-answer-not-a-list",
        APPLY,
        "github-api-error",
        "not a list of pull requests",
        files=TF,
        env={**API, "GITHUB_API_URL": "scripted:200:application/json:" + dumps({"pulls": []})},
    ),
    BadInput(
        "tf-apply-api-pull-without-number",
        APPLY,
        "github-api-error",
        "has no number",
        files=TF,
        env={**API, "GITHUB_API_URL": "scripted:200:application/json:" + dumps([{"number": "seven"}])},
    ),
    BadInput(
        "tf-apply-api-truncated-json",
        APPLY,
        "github-api-error",
        "not JSON",
        files=TF,
        env={**API, "GITHUB_API_URL": 'scripted:200:application/json:[{"number": 7'},
    ),
]


def event_case(id: str, command: str, payload: bytes | None, names: str) -> BadInput:
    argv = ("tf-plan", "--working-directory", "tf", "--no-checkov") if command == "tf-plan" else APPLY
    env = {"GITHUB_EVENT_PATH": "event.json"}
    if command == "tf-apply":
        env.update({**API, "GITHUB_API_URL": "fake"})
    return BadInput(
        f"{command}-event-{id}",
        argv,
        "invalid-input",
        names,
        files={**TF, **({"event.json": payload} if payload is not None else {})},
        env=env,
    )


EVENT_CASES = [
    event_case("missing", "tf-plan", None, "event.json: does not exist"),
    event_case("empty", "tf-plan", b"", "event.json: is empty"),
    event_case("not-json", "tf-plan", b"{pull_request: 7}", "event.json: is not JSON"),
    event_case("not-utf8", "tf-plan", b'{"a": "\xff"}', "event.json: is not UTF-8"),
    event_case("array", "tf-plan", b"[]", "event.json: is an array"),
    event_case("number-string", "tf-plan", b'{"pull_request": {"number": "7"}}', "pull_request.number"),
    event_case("number-bool", "tf-plan", b'{"pull_request": {"number": true}}', "pull_request.number"),
    event_case("number-zero", "tf-plan", b'{"pull_request": {"number": 0}}', "pull_request.number"),
    event_case("pull-request-string", "tf-plan", b'{"pull_request": "7"}', "pull_request"),
    event_case("issue-number-float", "tf-plan", b'{"issue": {"number": 7.5}}', "issue.number"),
    event_case("missing", "tf-apply", None, "event.json: does not exist"),
    event_case("number-negative", "tf-apply", b'{"pull_request": {"number": -7}}', "pull_request.number"),
    event_case("head-commit-message-list", "tf-apply", b'{"head_commit": {"message": []}}', "head_commit"),
]

CASES = [*PLAN_JSON_CASES, *TF_PLAN_CASES, *TF_APPLY_CASES, *EVENT_CASES]


def reviewed_comment(author: str = "github-actions[bot]", damaged: bool = False) -> tuple[str, str]:
    summary = summarize_plan(valid_plan(resource_changes=[change(["create"], after={"input": "x"})]))
    header = encode_header(summary, key="tf@default")
    if damaged:  # cut inside the base64 blob: no reviewed fingerprint can be read from it
        header = header[:80] + " -->"
    return f"{comment_marker('tf-plan', 'tf@default')}\n{header}\nreviewed", author


@contextlib.contextmanager
def api_server(spec: str) -> Iterator[str]:
    """Start the server a case's `GITHUB_API_URL` names; yield its URL."""
    if spec.startswith("scripted:"):
        _, status, content_type, body = spec.split(":", 3)
        with ScriptedHTTP(int(status), body, content_type) as server:
            yield server.url
        return
    if not spec.startswith("fake"):
        yield spec
        return
    with FakeGitHub() as fake:
        fake.link_commit(SHA, PR)
        option = spec.partition(":")[2]
        if option.startswith("fail="):
            fake.fail_next(50, int(option.removeprefix("fail=")))
        elif option.startswith("reviewed") or option == "damaged-header":
            author = "mallory" if option.endswith("mallory") else "github-actions[bot]"
            body, login = reviewed_comment(author, damaged=option == "damaged-header")
            fake.add_comment(PR, body, login=login)
        yield fake.url


@pytest.fixture(autouse=True)
def offline_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(github.time, "sleep", lambda _seconds: None)
    rc = tmp_path.parent / f"{tmp_path.name}.terraformrc"
    rc.write_text("", encoding="utf-8")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(rc))
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
    for name in [n for n in os.environ if n.startswith("TF_VAR_")]:
        monkeypatch.delenv(name)


def test_the_catalogue_has_enough_distinct_cases() -> None:
    assert len({case.id for case in CASES}) == len(CASES) >= 45


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input(
    case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    env = dict(case.env)
    if "GITHUB_EVENT_PATH" in env:
        env["GITHUB_EVENT_PATH"] = str(tmp_path / env["GITHUB_EVENT_PATH"])
    with api_server(env.get("GITHUB_API_URL", "none")) as url:
        if "GITHUB_API_URL" in env:
            env["GITHUB_API_URL"] = url
        names = case.names.replace("event.json", str(tmp_path / "event.json"))
        run = check_bad_input(replace(case, env=env, names=names), tmp_path, monkeypatch, capsys)
    # a bad input is never a pass, and a refused apply applies nothing
    assert not (tmp_path / "tf" / "terraform.tfstate").exists() or "tf-apply" not in case.argv
    assert "s3cr3t" not in run.stdout + run.stderr + run.summary
