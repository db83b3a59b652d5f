"""`tf-apply` fails closed: after a failure at any external call, the applied infrastructure is unchanged.

Real terraform on `terraform_data` configurations with the local backend, the PR comments in the local
recording GitHub API (as in test_terraform_gates.py). Each test applies a first configuration, has a
second one reviewed on a pull request, then breaks one call of the apply job — the GitHub API lookups,
`terraform plan`, a plan made stale by another apply, a secret changed after review — and checks that
the state file is byte for byte what it was, and that the job says why with its documented reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgate import github
from tests.support.scripted_http import ScriptedHTTP
from tests.unit.test_terraform_gates import BASE, PR, Repo
from tests.unit.test_terraform_gates import repo as repo  # noqa: PLC0414 - the fixture, re-exported

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")

SECRET_REVIEWED = "rotated-secret-reviewed"
SECRET_UNREVIEWED = "rotated-secret-unseen"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The API retries without sleeping through their backoff (the retry count is still real)."""
    monkeypatch.setattr(github.time, "sleep", lambda _seconds: None)
    yield


def state_digest(repo: Repo) -> str:
    return hashlib.sha256((repo.root / "envs/dev/terraform.tfstate").read_bytes()).hexdigest()


@pytest.fixture
def reviewed(repo: Repo) -> Repo:
    """BASE applied; a PR changing the cache and the password reviewed (its plan comment posted)."""
    repo.write("envs/dev/main.tf", BASE)
    assert repo.plan("envs/dev")[0] == 0
    assert repo.apply("envs/dev")[0] == 0
    repo.write(
        "envs/dev/main.tf",
        BASE.replace("redis-small", "redis-large").replace("correct-horse-battery", SECRET_REVIEWED),
    )
    code, out = repo.plan("envs/dev")
    assert code == 0 and out["change"] == "2"
    return repo


def test_a_secret_changed_after_review_is_refused_without_showing_it(
    reviewed: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = reviewed.comment("envs/dev@default")
    # the reviewer is told the password changes, as Terraform's own plan does (`~ input`)
    assert '"password": "(sensitive value changed)"' in body
    before = state_digest(reviewed)
    # the apply job gets another value for the secret than the one reviewed (e.g. a rotated CI secret)
    monkeypatch.setenv("TF_VAR_db_password", SECRET_UNREVIEWED)
    code, out = reviewed.apply("envs/dev")
    assert code == 1 and out["failure-reason"] == "plan-changed" and out["applied"] == "false"
    assert "a value the plan marks sensitive differs" in reviewed.comment("envs/dev@default")
    assert state_digest(reviewed) == before
    result = Path(out["result-path"]).read_text(encoding="utf-8")
    report = Path(out["report-path"]).read_text(encoding="utf-8")
    seen = capsys.readouterr()
    for text in (reviewed.comment("envs/dev@default"), result, report, json.dumps(out), seen.out, seen.err):
        assert SECRET_UNREVIEWED not in text.replace(f"::add-mask::{SECRET_UNREVIEWED}", "")
        assert SECRET_REVIEWED not in text.replace(f"::add-mask::{SECRET_REVIEWED}", "")
    # with the reviewed value, the same plan applies
    monkeypatch.setenv("TF_VAR_db_password", SECRET_REVIEWED)
    code, out = reviewed.apply("envs/dev")
    assert code == 0 and out["applied"] == "true"


@pytest.mark.parametrize("status", [500, 502, 404])
def test_a_failed_pull_request_lookup_applies_nothing(reviewed: Repo, status: int) -> None:
    before = state_digest(reviewed)
    reviewed.gh.fail_next(10, status)
    code, out = reviewed.apply("envs/dev")
    assert code == 1 and out["failure-reason"] == "github-api-error"
    assert state_digest(reviewed) == before
    summary = (reviewed.run_dir / "summary").read_text(encoding="utf-8")
    assert "/commits/" in summary and f"HTTP {status}" in summary
    assert ("4 retries" if status != 404 else "0 retries") in summary


def test_a_failed_plan_comment_lookup_applies_nothing(reviewed: Repo) -> None:
    before = state_digest(reviewed)
    reviewed.gh.fail_next(10, 503)
    code, out = reviewed.apply("envs/dev", "--pr-number", str(PR))
    assert code == 1 and out["failure-reason"] == "github-api-error"
    assert "/issues/7/comments" in (reviewed.run_dir / "summary").read_text(encoding="utf-8")
    assert state_digest(reviewed) == before


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, "<html><body>Sign in to your proxy</body></html>", "text/html"),
        (200, '{"not": "a list"}', "application/json"),
        (200, '[{"number": "seven"}]', "application/json"),
    ],
    ids=["html-page", "object-not-list", "number-not-int"],
)
def test_an_unexpected_api_answer_applies_nothing(
    reviewed: Repo, monkeypatch: pytest.MonkeyPatch, status: int, body: str, content_type: str
) -> None:
    before = state_digest(reviewed)
    with ScriptedHTTP(status, body, content_type) as server:
        reviewed._env({"ref": "refs/heads/main"}, "a" * 40)
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        from mlgate.cli import main

        code = main(["tf-apply", "--working-directory", "envs/dev"])
    out = reviewed.outputs()
    assert code == 1 and out["failure-reason"] == "github-api-error"
    assert state_digest(reviewed) == before


def test_an_unreachable_api_applies_nothing(reviewed: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    before = state_digest(reviewed)
    reviewed._env({"ref": "refs/heads/main"}, "a" * 40)
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")
    from mlgate.cli import main

    assert main(["tf-apply", "--working-directory", "envs/dev"]) == 1
    assert reviewed.outputs()["failure-reason"] == "github-api-error"
    assert "no response, 4 retries" in (reviewed.run_dir / "summary").read_text(encoding="utf-8")
    assert state_digest(reviewed) == before


def test_a_failing_terraform_plan_applies_nothing(reviewed: Repo) -> None:
    before = state_digest(reviewed)
    code, out = reviewed.apply("envs/dev", "--var-file", "missing.tfvars")
    assert code == 1 and out["failure-reason"] in {"plan-failed", "invalid-config"}
    assert out["applied"] == "false"
    assert state_digest(reviewed) == before
    assert "nothing was applied" in reviewed.comment("envs/dev@default")


def test_a_plan_made_stale_by_another_apply_is_refused(reviewed: Repo) -> None:
    # after the review, another run applies something else: the reviewed plan no longer fits the state
    workdir = reviewed.root / "envs/dev"
    reviewed_config = (workdir / "main.tf").read_text(encoding="utf-8")
    (workdir / "main.tf").write_text(BASE.replace("redis-small", "redis-medium"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLGATE_"))}
    subprocess.run(
        ["terraform", "apply", "-auto-approve", "-input=false", "-no-color"],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
    )
    after_other = state_digest(reviewed)
    (workdir / "main.tf").write_text(reviewed_config, encoding="utf-8")
    code, out = reviewed.apply("envs/dev")
    assert code == 1 and out["failure-reason"] == "plan-changed"
    assert "`terraform_data.cache`: update, different values" in reviewed.comment("envs/dev@default")
    assert state_digest(reviewed) == after_other


def test_an_outcome_that_cannot_be_recorded_keeps_the_apply(
    reviewed: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    # the lookups pass; the PATCH recording the outcome fails every time
    original = reviewed.gh._route

    def failing_patch(method: str, path: str, *rest: object, **named: object) -> tuple[int, object]:
        if method == "PATCH":
            return 500, {"message": "down"}
        return original(method, path, *rest, **named)

    reviewed.gh._route = failing_patch  # type: ignore[method-assign]
    code, out = reviewed.apply("envs/dev")
    assert code == 0 and out["applied"] == "true"
    assert "::warning" in capsys.readouterr().out
    assert "redis-large" in (reviewed.root / "envs/dev/terraform.tfstate").read_text(encoding="utf-8")
