"""`mlgate drift-check`: one GitHub issue per drift episode, against the local recording GitHub server."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mlgate import cli
from mlgate.data import drift_check
from tests.support.fake_github import FakeGitHub
from tests.unit.test_profile_drift import frame


@pytest.fixture
def actions_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeGitHub, Path]]:
    monkeypatch.chdir(tmp_path)
    frame(5000).to_csv("reference.csv", index=False)
    frame(2000, seed=4).to_csv("calm.csv", index=False)
    frame(2000, shift=0.6, seed=5).to_csv("drifted.csv", index=False)
    assert cli.main(["profile", "--data", "reference.csv", "--output", "profile.json"]) == 0
    with FakeGitHub() as fake:
        for key, value in fake.actions_env(tmp_path).items():
            monkeypatch.setenv(key, value)
        yield fake, tmp_path


def last_outputs(tmp: Path) -> dict[str, str]:
    text = (tmp / "gh_output").read_text()
    found: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        name, _, delim = lines[i].partition("<<")
        found[name] = lines[i + 1]
        i += 3 if lines[i + 2] == delim else 2
    return found


def check(data: str, *extra: str) -> int:
    return cli.main(["drift-check", "--data", data, "--profile", "profile.json", *extra])


def test_one_issue_per_drift_episode(
    actions_env: tuple[FakeGitHub, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, tmp = actions_env
    assert check("calm.csv") == 0
    assert last_outputs(tmp)["issue-action"] == "none" and not fake.state.issues

    assert check("drifted.csv") == 0  # the issue is the alert; the job stays green by default
    out = last_outputs(tmp)
    assert out["issue-action"] == "opened" and out["dataset-drift"] == "true"
    number = int(out["issue-number"])
    issue = fake.state.issues[number]
    assert issue["state"] == "open" and {"name": "data-drift"} in issue["labels"]
    assert issue["title"].startswith("Data drift: ") and "drifted.csv" in issue["title"]
    assert issue["body"].startswith("<!-- mlgate:drift-check:profile.json -->")
    assert "actions/runs/42" in issue["body"] and "❌ drift" in issue["body"]

    assert check("drifted.csv", "--fail-on-drift") == 1
    assert last_outputs(tmp)["issue-action"] == "updated" and int(last_outputs(tmp)["issue-number"]) == number
    assert len(fake.state.issues) == 1

    assert check("calm.csv") == 0
    assert last_outputs(tmp)["issue-action"] == "closed"
    assert fake.state.issues[number]["state"] == "closed"
    assert any("Drift is gone" in c["body"] for c in fake.comments_on(number))

    assert check("drifted.csv") == 0  # a new episode: a new issue
    assert int(last_outputs(tmp)["issue-number"]) != number
    assert [i["state"] for i in fake.state.issues.values()] == ["closed", "open"]


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[str]:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_sample_from_a_url(actions_env: tuple[FakeGitHub, Path], file_server: str) -> None:
    _fake, tmp = actions_env
    assert check(f"{file_server}/drifted.csv") == 0
    assert last_outputs(tmp)["issue-action"] == "opened"
    result = json.loads((tmp / ".mlgate/reports/drift-check.json").read_text())
    assert result["data"]["source"].endswith("/drifted.csv") and result["data"]["dataset_drift"]


def test_unreachable_url_is_a_clear_error(actions_env: tuple[FakeGitHub, Path], file_server: str) -> None:
    fake, tmp = actions_env
    assert check(f"{file_server}/missing.csv") == 1
    assert (
        last_outputs(tmp)["failure-reason"] == "download-failed"
        and "download-failed" in drift_check.FAILURE_REASONS
    )
    assert not fake.state.issues


def test_a_rerun_with_another_spelling_of_the_profile_updates_the_same_issue(
    actions_env: tuple[FakeGitHub, Path],
) -> None:
    fake, tmp = actions_env
    assert check("drifted.csv") == 0
    number = int(last_outputs(tmp)["issue-number"])
    (tmp / "sub").mkdir()
    assert cli.main(["drift-check", "--data", "drifted.csv", "--profile", "./sub/../profile.json"]) == 0
    assert last_outputs(tmp)["issue-action"] == "updated" and int(last_outputs(tmp)["issue-number"]) == number
    assert len(fake.state.issues) == 1


def test_an_inconclusive_sample_leaves_the_issue_alone(actions_env: tuple[FakeGitHub, Path]) -> None:
    fake, tmp = actions_env
    assert check("drifted.csv") == 0
    number = int(last_outputs(tmp)["issue-number"])
    (tmp / "tiny.csv").write_text("".join((tmp / "calm.csv").read_text().splitlines(keepends=True)[:21]))
    assert check("tiny.csv", "--fail-on-drift") == 1  # 20 rows: too few for PSI to judge
    out = last_outputs(tmp)
    assert out["failure-reason"] == "inconclusive" and out["issue-action"] == "none"
    assert fake.state.issues[number]["state"] == "open" and len(fake.state.issues) == 1


def test_a_github_failure_is_a_failure_reason(
    actions_env: tuple[FakeGitHub, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, tmp = actions_env
    monkeypatch.setattr("mlgate.github.time.sleep", lambda _seconds: None)  # no backoff waits
    fake.fail_next(20, status=500)
    assert check("drifted.csv") == 1
    assert last_outputs(tmp)["failure-reason"] == "github-api-error"
    assert "github-api-error" in drift_check.FAILURE_REASONS
