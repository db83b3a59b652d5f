"""`mlgate repo-settings` against the recording GitHub API: plan, apply, apply again (no change), drift,
bad files and API failures.

The settings are the generated project's own `.github/settings/` (rendered by the real cookiecutter), so
what is tested is what users get; their required status checks are checked against the generated ci.yml.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.support.bad_inputs import BadInput, check_bad_input, run_mlgate
from tests.support.fake_github import FakeGitHub
from tests.support.project import ROOT

OWNER = "acme-admin"  # a user: the generated files name the github_owner answer as reviewer
REPO = "acme/fraud-detection"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cookiecutter.main import cookiecutter

    out = tmp_path_factory.mktemp("settings")
    extra = {"github_owner": OWNER}
    return Path(
        cookiecutter(str(ROOT), no_input=True, output_dir=str(out), extra_context=extra, accept_hooks=False)
    )


@pytest.fixture
def workdir(generated: Path, tmp_path: Path) -> Path:
    shutil.copytree(generated / ".github" / "settings", tmp_path / ".github" / "settings")
    return tmp_path


@pytest.fixture
def fake() -> FakeGitHub:
    with FakeGitHub() as server:
        server.add_account(OWNER)
        yield server


def _env(fake: FakeGitHub) -> dict[str, str]:
    return {"GITHUB_API_URL": fake.url, "GITHUB_TOKEN": "app-token", "GITHUB_REPOSITORY": REPO}


def test_required_checks_are_the_ci_job_names_and_environments_are_those_cd_uses(generated: Path) -> None:
    ci = yaml.safe_load((generated / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    ruleset = json.loads(
        (generated / ".github" / "settings" / "rulesets" / "main.json").read_text(encoding="utf-8")
    )
    (checks,) = [r for r in ruleset["rules"] if r["type"] == "required_status_checks"]
    required = {c["context"] for c in checks["parameters"]["required_status_checks"]}
    assert required == {job["name"] for job in ci["jobs"].values()}
    cd = yaml.safe_load((generated / ".github" / "workflows" / "cd.yml").read_text(encoding="utf-8"))
    used = {job["environment"] for job in cd["jobs"].values() if "environment" in job}
    used = {e["name"] if isinstance(e, dict) else e for e in used}
    environments = yaml.safe_load(
        (generated / ".github" / "settings" / "environments.yml").read_text("utf-8")
    )
    assert used <= set(environments["environments"])
    assert {"model-production", "staging", "prod"} <= set(environments["environments"])


def test_plan_shows_what_would_change_without_writing(
    workdir: Path, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_mlgate(["repo-settings"], workdir, env=_env(fake), monkeypatch=monkeypatch, capsys=capsys)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.outputs["has-changes"] == "true"
    assert run.outputs["changes"] == "4"  # one ruleset, three environments
    assert fake.writes() == []
    report = (workdir / ".mlgate" / "reports" / "repo-settings.md").read_text(encoding="utf-8")
    assert "would change 4 of 4" in report
    assert '"context": "Eval gate (candidate vs champion)"' in report  # the ruleset's diff


def test_apply_writes_then_a_second_apply_changes_nothing(
    workdir: Path, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**_env(fake), "MLGATE_APPLY": "true"}
    first = run_mlgate(["repo-settings"], workdir, env=env, monkeypatch=monkeypatch, capsys=capsys)
    assert first.exit_code == 0, first.stdout + first.stderr
    assert first.outputs["changes"] == "4"
    writes = [(r.method, r.path) for r in fake.writes()]
    assert ("POST", f"/repos/{REPO}/rulesets") in writes
    assert {p for m, p in writes if m == "PUT"} == {
        f"/repos/{REPO}/environments/{name}" for name in ("model-production", "staging", "prod")
    }
    (ruleset,) = fake.state.rulesets.values()
    assert ruleset["enforcement"] == "active"
    prod = fake.state.environments["prod"]
    (reviewers,) = [r for r in prod["protection_rules"] if r["type"] == "required_reviewers"]
    assert reviewers["prevent_self_review"] is True
    assert [r["reviewer"]["login"] for r in reviewers["reviewers"]] == [OWNER]
    assert prod["deployment_branch_policy"] == {"protected_branches": True, "custom_branch_policies": False}

    count = len(fake.writes())
    second = run_mlgate(["repo-settings"], workdir, env=env, monkeypatch=monkeypatch, capsys=capsys)
    assert second.exit_code == 0
    assert (second.outputs["has-changes"], second.outputs["changes"]) == ("false", "0")
    assert len(fake.writes()) == count  # idempotent: nothing written the second time


def test_a_setting_changed_in_the_ui_is_planned_back(
    workdir: Path, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**_env(fake), "MLGATE_APPLY": "true"}
    assert (
        run_mlgate(["repo-settings"], workdir, env=env, monkeypatch=monkeypatch, capsys=capsys).exit_code == 0
    )
    # someone drops the eval gate from the required checks and turns off prod's reviewers by hand
    (ruleset,) = fake.state.rulesets.values()
    (checks,) = [r for r in ruleset["rules"] if r["type"] == "required_status_checks"]
    checks["parameters"]["required_status_checks"] = [
        c for c in checks["parameters"]["required_status_checks"] if not c["context"].startswith("Eval gate")
    ]
    fake.state.environments["prod"]["protection_rules"] = []
    plan = run_mlgate(["repo-settings"], workdir, env=_env(fake), monkeypatch=monkeypatch, capsys=capsys)
    assert (plan.exit_code, plan.outputs["changes"]) == (0, "2")
    report = (workdir / ".mlgate" / "reports" / "repo-settings.md").read_text(encoding="utf-8")
    added = [line for line in report.splitlines() if line.startswith("+") and not line.startswith("+++")]
    removed = [line for line in report.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert [line.strip() for line in added if "context" in line] == [
        '+            "context": "Eval gate (candidate vs champion)",'.strip()
    ]
    assert not [line for line in removed if "context" in line]
    assert "reviewers: []" in report


def test_an_api_failure_stops_before_the_next_write(
    workdir: Path, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**_env(fake), "MLGATE_APPLY": "true"}
    fake.fail_next(10, status=500)  # every retry of the first call fails
    monkeypatch.setattr("mlgate.github.Runner.backoff", 0.0)
    run = run_mlgate(["repo-settings"], workdir, env=env, monkeypatch=monkeypatch, capsys=capsys)
    assert run.exit_code == 1
    assert run.outputs["failure-reason"] == "github-api-error"
    assert "Traceback" not in run.stdout + run.stderr
    assert fake.writes() == []


def _write(path: str, text: str) -> dict[str, str]:
    return {path: text}


GOOD_RULESET = json.dumps({"name": "main", "target": "branch", "enforcement": "active", "rules": []})
CASES = [
    BadInput("no-settings-dir", ("repo-settings", "--settings-dir", "nowhere"), "invalid-input", "nowhere"),
    BadInput(
        "empty-settings-dir",
        ("repo-settings", "--settings-dir", "s"),
        "invalid-settings",
        "s",
        files={"s/x": ""},
    ),
    BadInput(
        "ruleset-not-json",
        ("repo-settings", "--settings-dir", "s"),
        "invalid-settings",
        "s/rulesets/main.json",
        files={"s/rulesets/main.json": "{name: main"},
    ),
    BadInput(
        "ruleset-a-list",
        ("repo-settings", "--settings-dir", "s"),
        "invalid-settings",
        "s/rulesets/main.json",
        files={"s/rulesets/main.json": "[]"},
    ),
    BadInput(
        "ruleset-unknown-field",
        ("repo-settings", "--settings-dir", "s"),
        "invalid-settings",
        "enforcment",
        files={"s/rulesets/main.json": json.dumps({"name": "m", "target": "branch", "enforcment": "active"})},
    ),
    BadInput(
        "ruleset-rules-not-a-list",
        ("repo-settings", "--settings-dir", "s"),
        "invalid-settings",
        "rules",
        files={
            "s/rulesets/main.json": json.dumps({"name": "m", "target": "b", "enforcement": "a", "rules": {}})
        },
    ),
    BadInput(
        "ruleset-duplicate-name",
        ("repo-settings", "--settings-dir", "s"),
        "invalid-settings",
        "s/rulesets/b.json",
        files={"s/rulesets/a.json": GOOD_RULESET, "s/rulesets/b.json": GOOD_RULESET},
    ),
    BadInput(
        "environments-not-yaml",
        ("repo-settings", "--settings-dir", "s"),
        "invalid-settings",
        "environments.yml",
        files={"s/environments.yml": "environments: [\n"},
    ),
    BadInput(
        "environment-unknown-key",
        ("repo-settings", "--settings-dir", "s"),
        "invalid-settings",
        "environments.prod.reviewer",
        files={"s/environments.yml": "environments:\n  prod:\n    reviewer: [x]\n"},
    ),
    BadInput(
        "environment-negative-wait",
        ("repo-settings", "--settings-dir", "s"),
        "invalid-settings",
        "wait_timer",
        files={"s/environments.yml": "environments:\n  prod:\n    wait_timer: -1\n"},
    ),
    BadInput(
        "environment-branches-typo",
        ("repo-settings", "--settings-dir", "s"),
        "invalid-settings",
        "deployment_branches",
        files={"s/environments.yml": "environments:\n  prod:\n    deployment_branches: main\n"},
    ),
    BadInput(
        "environment-seven-reviewers",
        ("repo-settings", "--settings-dir", "s"),
        "invalid-settings",
        "reviewers",
        files={"s/environments.yml": "environments:\n  prod:\n    reviewers: [a, b, c, d, e, f, g]\n"},
    ),
    BadInput(
        "no-repository",
        ("repo-settings", "--settings-dir", "s"),
        "invalid-input",
        "GITHUB_REPOSITORY",
        files={"s/rulesets/main.json": GOOD_RULESET},
        env={"GITHUB_REPOSITORY": ""},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_settings_are_one_clear_error(
    case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check_bad_input(case, tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize(
    ("reviewer", "kind", "message"),
    [("ghost", None, "no GitHub user or team 'ghost'"), ("acme", "Organization", "is an organization")],
)
def test_a_reviewer_github_does_not_know_as_a_user_is_refused(  # noqa: PLR0917 - fixtures + parameters
    workdir: Path,
    fake: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    reviewer: str,
    kind: str | None,
    message: str,
) -> None:
    if kind:
        fake.add_account(reviewer, kind=kind)
    (workdir / ".github" / "settings" / "environments.yml").write_text(
        f"environments:\n  prod:\n    reviewers: [{reviewer}]\n", encoding="utf-8"
    )
    env = {**_env(fake), "MLGATE_APPLY": "true"}
    run = run_mlgate(["repo-settings"], workdir, env=env, monkeypatch=monkeypatch, capsys=capsys)
    assert (run.exit_code, run.outputs["failure-reason"]) == (1, "unknown-reviewer")
    assert message in run.error_line
    assert [w for w in fake.writes() if "environments" in w.path] == []


def test_teams_are_resolved_as_team_reviewers(
    workdir: Path, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    team = fake.add_account("acme/ml-platform")
    (workdir / ".github" / "settings" / "environments.yml").write_text(
        "environments:\n  prod:\n    reviewers: [acme/ml-platform]\n", encoding="utf-8"
    )
    env = {**_env(fake), "MLGATE_APPLY": "true"}
    assert (
        run_mlgate(["repo-settings"], workdir, env=env, monkeypatch=monkeypatch, capsys=capsys).exit_code == 0
    )
    (put,) = [r for r in fake.writes() if r.path.endswith("/environments/prod")]
    assert put.body["reviewers"] == [{"type": "Team", "id": team["id"]}]
