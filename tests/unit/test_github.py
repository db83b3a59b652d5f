"""`mlgate.github.Runner`: runner files, annotations and PR comments against a local recording GitHub API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgate import github
from mlgate.gate import GateInputError
from mlgate.github import COMMENT_LIMIT, GitHubAPIError, Runner, comment_marker, render_comment
from tests.support.fake_github import FakeGitHub

REPO = "acme/fraud-detection"


def read_outputs(path: Path) -> dict[str, str]:
    """Parse `name<<DELIM` heredocs the way the runner does."""
    lines = path.read_text(encoding="utf-8").split("\n")
    outputs: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i]:
        name, _, delimiter = lines[i].partition("<<")
        assert delimiter, f"not a heredoc line: {lines[i]!r}"
        j = lines.index(delimiter, i + 1)
        outputs[name] = "\n".join(lines[i + 1 : j])
        i = j + 1
    return outputs


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(max_requests=500) as server:
        yield server


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the backoff waits instead of sleeping through them."""
    recorded: list[float] = []
    monkeypatch.setattr(github.time, "sleep", recorded.append)
    return recorded


def actions_env(tmp_path: Path, fake: FakeGitHub | None = None, **extra: str) -> dict[str, str]:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_TOKEN": "test-token",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary.md"),
        "MLGATE_PR_NUMBER": "7",
    }
    if fake is not None:
        env["GITHUB_API_URL"] = fake.url
    env.update(extra)
    return env


# -- PR comments ----------------------------------------------------------------------------------------


def test_comment_is_created_once_then_updated_in_place(tmp_path: Path, fake: FakeGitHub) -> None:
    runner = Runner(env=actions_env(tmp_path, fake), backoff=0)
    assert runner.upsert_pr_comment(gate="eval", key="default", summary="AUC 0.91") == "created"
    assert runner.upsert_pr_comment(gate="eval", key="default", summary="AUC 0.93") == "updated"

    (comment,) = fake.comments_on(7)
    assert comment["body"].startswith(comment_marker("eval", "default"))
    assert "AUC 0.93" in comment["body"]
    assert "AUC 0.91" not in comment["body"]
    writes = fake.writes()
    assert [w.method for w in writes] == ["POST", "PATCH"]
    assert writes[1].path == f"/repos/{REPO}/issues/comments/{comment['id']}"
    assert writes[0].headers["Authorization"] == "Bearer test-token"


def test_comments_of_other_gates_and_keys_are_left_alone(tmp_path: Path, fake: FakeGitHub) -> None:
    fake.add_comment(7, "a human review comment mentioning <!-- mlgate:eval:default --> later")
    other = fake.add_comment(7, comment_marker("tf-plan", "staging") + "\nplan: 1 to add")
    runner = Runner(env=actions_env(tmp_path, fake), backoff=0)
    runner.upsert_pr_comment(gate="eval", key="default", summary="first")
    runner.upsert_pr_comment(gate="eval", key="shadow", summary="second")
    bodies = [c["body"] for c in fake.comments_on(7)]
    assert len(bodies) == 4
    assert other["body"] in bodies


def test_pagination_finds_an_old_comment_on_page_two(tmp_path: Path, fake: FakeGitHub) -> None:
    for n in range(100):
        fake.add_comment(7, f"chatter {n}", login="someone")
    old = fake.add_comment(7, comment_marker("lint", "default") + "\nold verdict")
    runner = Runner(env=actions_env(tmp_path, fake), backoff=0)

    assert runner.upsert_pr_comment(gate="lint", key="default", summary="new verdict") == "updated"

    pages = [r.query.get("page") for r in fake.requests if r.method == "GET"]
    assert pages == [["1"], ["2"]]
    assert [w.path for w in fake.writes()] == [f"/repos/{REPO}/issues/comments/{old['id']}"]
    assert len(fake.comments_on(7)) == 101


def test_retries_on_429_with_retry_after(tmp_path: Path, fake: FakeGitHub, sleeps: list[float]) -> None:
    fake.fail_next(1, 429, {"Retry-After": "3"})
    runner = Runner(env=actions_env(tmp_path, fake))
    assert runner.upsert_pr_comment(gate="eval", key="default", summary="ok") == "created"
    assert sleeps == [3.0]
    assert len(fake.comments_on(7)) == 1


def test_retries_on_502_with_exponential_backoff(
    tmp_path: Path, fake: FakeGitHub, sleeps: list[float]
) -> None:
    fake.fail_next(2, 502)
    runner = Runner(env=actions_env(tmp_path, fake))
    assert runner.api("GET", f"/repos/{REPO}/issues/7/comments") == []
    assert sleeps == [1.0, 2.0]
    assert len(fake.requests) == 3


def test_secondary_rate_limit_403_is_retried_but_a_plain_403_is_not(
    tmp_path: Path, fake: FakeGitHub, sleeps: list[float]
) -> None:
    runner = Runner(env=actions_env(tmp_path, fake))
    fake.fail_next(1, 403, {"Retry-After": "5"})
    assert runner.api("GET", f"/repos/{REPO}/issues/7/comments") == []
    assert sleeps == [5.0]
    fake.fail_next(1, 403)
    with pytest.raises(GitHubAPIError) as caught:
        runner.api("GET", f"/repos/{REPO}/issues/7/comments")
    assert caught.value.status == 403


def test_gives_up_after_the_retry_budget(tmp_path: Path, fake: FakeGitHub, sleeps: list[float]) -> None:
    fake.fail_next(10, 503)
    runner = Runner(env=actions_env(tmp_path, fake), max_attempts=4)
    with pytest.raises(GitHubAPIError) as caught:
        runner.upsert_pr_comment(gate="eval", key="default", summary="never posted")
    message = str(caught.value)
    assert message.startswith(f"GitHub API GET /repos/{REPO}/issues/7/comments failed")
    assert "gave up after 4 attempts (HTTP 503)" in message
    assert len(fake.requests) == 4
    assert sleeps == [1.0, 2.0, 4.0]  # no pointless wait after the last attempt
    assert fake.comments_on(7) == []


def test_client_errors_are_not_retried(tmp_path: Path, fake: FakeGitHub) -> None:
    runner = Runner(env=actions_env(tmp_path, fake), backoff=0)
    with pytest.raises(GitHubAPIError) as caught:
        runner.api("PATCH", f"/repos/{REPO}/issues/comments/999999", json_body={"body": "x"})
    assert caught.value.status == 404
    assert len(fake.requests) == 1


def test_unreachable_api_gives_up_with_a_clear_error(tmp_path: Path, sleeps: list[float]) -> None:
    runner = Runner(env=actions_env(tmp_path, GITHUB_API_URL="http://127.0.0.1:9"), max_attempts=2)
    with pytest.raises(GitHubAPIError, match=r"gave up after 2 attempts \(ConnectError"):
        runner.api("GET", "/rate_limit")


# -- the 65,536-character limit -------------------------------------------------------------------------


def test_long_comment_keeps_summary_and_both_ends(tmp_path: Path, fake: FakeGitHub) -> None:
    lines = [f"| row {n:06d} | {'x' * 60} |" for n in range(3000)]
    details = "\n".join(["FIRST-LINE", *lines, "LAST-LINE"])
    runner = Runner(env=actions_env(tmp_path, fake), backoff=0)
    runner.upsert_pr_comment(
        gate="drift", key="prod", summary="### Drift: 3 of 20 columns drifted", details=details
    )

    (comment,) = fake.comments_on(7)
    body = comment["body"]
    assert len(body) <= COMMENT_LIMIT
    assert body.startswith(comment_marker("drift", "prod") + "\n### Drift: 3 of 20 columns drifted\n")
    assert "FIRST-LINE" in body
    assert body.rstrip().endswith("LAST-LINE")
    assert "Cut to fit GitHub's 65,536-character comment limit" in body
    assert f"https://github.com/{REPO}/actions/runs/4242" in body


def test_short_comment_is_untouched() -> None:
    body = render_comment("<!-- m -->", "summary", "details")
    assert body == "<!-- m -->\nsummary\n\ndetails\n"


def test_cut_inside_a_code_fence_keeps_fences_balanced() -> None:
    details = "```text\n" + "\n".join(f"line {n}" for n in range(20_000)) + "\n```"
    body = render_comment("<!-- m -->", "summary", details, limit=5_000)
    assert len(body) <= 5_000
    head, note, tail = body.partition("> ✂️ Cut to fit")
    assert note
    assert head.count("```") % 2 == 0  # the note is not swallowed by an open fence
    assert tail.rstrip().endswith("```")


def test_oversized_summary_is_cut_but_still_marked() -> None:
    body = render_comment("<!-- m -->", "s" * 100, "", limit=60)
    assert len(body) <= 60
    assert body.startswith("<!-- m -->")


# -- outputs, summaries, annotations, masks -------------------------------------------------------------


def test_outputs_use_random_heredoc_delimiters(tmp_path: Path) -> None:
    runner = Runner(env=actions_env(tmp_path))
    tricky = "line one\nghadelimiter_00000000000000000000000000000000\nEOF\nname<<EOF"
    runner.set_outputs({"passed": "false", "report": tricky})
    runner.set_outputs({"failure-reason": "hooks-failed"})

    path = tmp_path / "github_output"
    assert read_outputs(path) == {"passed": "false", "report": tricky, "failure-reason": "hooks-failed"}
    delimiters = [
        line.partition("<<")[2] for line in path.read_text().splitlines() if "<<ghadelimiter_" in line
    ]
    assert len(delimiters) == len(set(delimiters)) == 3


def test_annotations_escape_properties_and_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = Runner(env=actions_env(tmp_path))
    runner.error("50% done\r\nnext: a, b", file="dir,x/a:b.py", line=3, col=7, title="ruff: F401, E501")
    runner.warning("no location")
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "::error file=dir%2Cx/a%3Ab.py,line=3,col=7,title=ruff%3A F401%2C E501::50%25 done%0D%0Anext: a, b",
        "::warning::no location",
    ]


def test_masks_every_line_of_a_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Runner(env=actions_env(tmp_path)).mask("s3cret\n\nsecond-line")
    assert capsys.readouterr().out == "::add-mask::s3cret\n::add-mask::second-line\n"
    Runner(env={}).mask("s3cret")
    assert capsys.readouterr().out == ""


def test_step_summary_is_appended(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runner = Runner(env=actions_env(tmp_path))
    runner.write_summary("### first\n")
    runner.write_summary("### second")
    assert (tmp_path / "step_summary.md").read_text() == "### first\n\n### second\n\n"
    assert capsys.readouterr().out == ""


def test_groups_fold_the_log_in_actions_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Runner(env=actions_env(tmp_path)).group("pre-commit output"):
        print("inside")
    with Runner(env={}).group("pre-commit output"):
        print("local")
    assert capsys.readouterr().out == "::group::pre-commit output\ninside\n::endgroup::\nlocal\n"


def test_pr_number_comes_from_the_event_payload(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12}}))
    env = actions_env(tmp_path, GITHUB_EVENT_PATH=str(event))
    del env["MLGATE_PR_NUMBER"]
    assert Runner(env=env).pr_number() == 12
    assert Runner(env={**env, "MLGATE_PR_NUMBER": "3"}).pr_number() == 3
    assert Runner(env={}).pr_number() is None
    with pytest.raises(GateInputError, match="MLGATE_PR_NUMBER: must be a pull request number"):
        Runner(env={"MLGATE_PR_NUMBER": "#12"}).pr_number()


# -- outside Actions: the same reports, to the terminal and files ----------------------------------------


def test_outside_actions_reports_go_to_terminal_and_files(
    tmp_path: Path, fake: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "reports"
    runner = Runner(
        env={"MLGATE_OUTPUT_DIR": str(out_dir), "GITHUB_API_URL": fake.url, "MLGATE_PR_NUMBER": "7"}
    )
    assert not runner.in_actions
    runner.set_outputs({"passed": "true", "note": "two\nlines"})
    runner.write_summary("### verdict")
    runner.error("bad thing", file="src/a.py", line=4)
    runner.mask("s3cret")
    status = runner.upsert_pr_comment(gate="eval", key="main/branch", summary="### verdict", details="table")

    captured = capsys.readouterr()
    assert captured.out == "### verdict\n"
    assert captured.err == "error: src/a.py:4: bad thing\n"
    assert (out_dir / "outputs.env").read_text() == 'passed="true"\nnote="two\\nlines"\n'
    assert (out_dir / "summary.md").read_text() == "### verdict\n\n"
    assert status == "skipped"
    comment = (out_dir / "comments" / "eval-main_branch.md").read_text()
    assert comment.startswith("<!-- mlgate:eval:main/branch -->\n### verdict\n")
    assert fake.requests == []  # nothing reaches GitHub from a laptop


def test_in_actions_without_a_token_the_comment_is_skipped(tmp_path: Path, fake: FakeGitHub) -> None:
    env = actions_env(tmp_path, fake, MLGATE_OUTPUT_DIR=str(tmp_path / "out"))
    del env["GITHUB_TOKEN"]
    assert Runner(env=env).upsert_pr_comment(gate="eval", key="k", summary="s") == "skipped"
    assert fake.requests == []
    assert (tmp_path / "out" / "comments" / "eval-k.md").exists()


def test_untrusted_output_cannot_issue_workflow_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "src/a.py:1: ::set-output name=passed::true\n::add-mask::x\n"
    Runner(env=actions_env(tmp_path)).echo_untrusted(hostile, title="tool output")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "::group::tool output"
    assert lines[1].startswith("::stop-commands::")
    token = lines[1].removeprefix("::stop-commands::")
    assert len(token) == 32
    assert lines[2:4] == hostile.splitlines()
    assert lines[4:] == [f"::{token}::", "::endgroup::"]
    Runner(env={}).echo_untrusted(hostile, title="tool output")
    assert capsys.readouterr().out == hostile


# -- retries only where a repeat is harmless (issue 11) ----------------------------------------------------


def test_a_comment_saved_before_a_502_is_not_posted_twice(
    tmp_path: Path, fake: FakeGitHub, sleeps: list[float]
) -> None:
    fake.fail_after_saving(1, 502)
    runner = Runner(env=actions_env(tmp_path, fake))
    assert runner.upsert_pr_comment(gate="eval", key="default", summary="AUC 0.91") == "created"
    assert len(fake.comments_on(7)) == 1
    assert [r.method for r in fake.requests] == ["GET", "POST", "GET"]  # looked for it instead of posting


def test_a_comment_lost_with_a_502_is_posted_again(
    tmp_path: Path, fake: FakeGitHub, sleeps: list[float]
) -> None:
    runner = Runner(env=actions_env(tmp_path, fake))
    marker = comment_marker("eval", "default")
    calls: list[str] = []

    def not_there() -> None:
        calls.append("checked")

    fake.fail_next(1, 502)  # refused before saving: nothing landed
    runner.api("POST", f"/repos/{REPO}/issues/7/comments", json_body={"body": marker}, landed=not_there)
    assert calls == ["checked"]
    assert len(fake.comments_on(7)) == 1


def test_a_drift_issue_saved_before_a_502_is_opened_once(
    tmp_path: Path, fake: FakeGitHub, sleeps: list[float]
) -> None:
    fake.fail_after_saving(1, 502)
    runner = Runner(env=actions_env(tmp_path, fake))
    marker = comment_marker("drift-check", "profile.json")
    action, number = runner.open_or_update_issue(marker=marker, label="drift", title="Drift", summary="x")
    assert action == "opened" and number is not None
    assert len(fake.state.issues) == 1
    assert [r.method for r in fake.requests].count("POST") == 1


def test_a_closing_comment_saved_before_a_502_is_posted_once(
    tmp_path: Path, fake: FakeGitHub, sleeps: list[float]
) -> None:
    runner = Runner(env=actions_env(tmp_path, fake))
    marker = comment_marker("drift-check", "profile.json")
    runner.open_or_update_issue(marker=marker, label="drift", title="Drift", summary="x")
    fake.fail_after_saving(1, 502)
    assert runner.close_issue_if_open(marker=marker, label="drift", comment="gone")[0] == "closed"
    (issue,) = fake.state.issues.values()
    assert [c["body"] for c in fake.comments_on(issue["number"])] == ["gone"]
    assert issue["state"] == "closed"


def test_a_post_without_a_landed_check_is_not_retried(
    tmp_path: Path, fake: FakeGitHub, sleeps: list[float]
) -> None:
    fake.fail_after_saving(1, 502)
    runner = Runner(env=actions_env(tmp_path, fake))
    with pytest.raises(GitHubAPIError, match="not retried, since the first POST may have landed") as caught:
        runner.api("POST", f"/repos/{REPO}/issues/7/comments", json_body={"body": "once"})
    assert caught.value.status == 502 and caught.value.retries == 0
    assert len(fake.comments_on(7)) == 1


def test_a_rate_limited_post_is_retried(tmp_path: Path, fake: FakeGitHub, sleeps: list[float]) -> None:
    fake.fail_next(1, 429, {"Retry-After": "2"})
    runner = Runner(env=actions_env(tmp_path, fake))
    runner.api("POST", f"/repos/{REPO}/issues/7/comments", json_body={"body": "once"})
    assert sleeps == [2.0]
    assert len(fake.comments_on(7)) == 1


def test_idempotent_requests_are_retried_after_a_502_that_saved(
    tmp_path: Path, fake: FakeGitHub, sleeps: list[float]
) -> None:
    comment = fake.add_comment(7, "before")
    fake.fail_after_saving(1, 502, method="PATCH")
    runner = Runner(env=actions_env(tmp_path, fake))
    runner.api("PATCH", f"/repos/{REPO}/issues/comments/{comment['id']}", json_body={"body": "after"})
    assert [c["body"] for c in fake.comments_on(7)] == ["after"]
    assert [r.method for r in fake.requests] == ["PATCH", "PATCH"]


def test_an_html_error_page_is_a_clear_error_with_status_and_retries(
    tmp_path: Path, sleeps: list[float]
) -> None:
    from tests.support.scripted_http import ScriptedHTTP

    page = "<!DOCTYPE html>\n<html><body><h1>Unicorn!</h1>\n</body></html>"
    with ScriptedHTTP(500, page, "text/html") as server:
        runner = Runner(env=actions_env(tmp_path, GITHUB_API_URL=server.url), max_attempts=3)
        with pytest.raises(GitHubAPIError) as caught:
            runner.api("GET", f"/repos/{REPO}/issues/7/comments")
    assert caught.value.status == 500 and caught.value.retries == 2
    assert "\n" not in str(caught.value)
    assert "(HTTP 500, 2 retries): gave up after 3 attempts" in str(caught.value)
    with ScriptedHTTP(200, page, "text/html") as server:
        runner = Runner(env=actions_env(tmp_path, GITHUB_API_URL=server.url))
        with pytest.raises(GitHubAPIError, match="not JSON: the answer is an HTML page"):
            runner.api("GET", f"/repos/{REPO}/issues/7/comments")


# -- the event payload ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "names"),
    [
        (None, "does not exist"),
        (b"", "is empty"),
        (b"{not json", "is not JSON"),
        (b"\xff\xfe{}", "is not UTF-8"),
        (b"[1, 2]", "is an array, not a JSON object"),
        (b'{"pull_request": {"number": "7"}}', "pull_request.number"),
        (b'{"pull_request": {"number": true}}', "pull_request.number"),
        (b'{"pull_request": {"number": -3}}', "pull_request.number"),
        (b'{"pull_request": "7"}', "pull_request"),
        (b'{"issue": {"number": 1.5}}', "issue.number"),
        (b'{"head_commit": {"message": 5}}', "head_commit.message"),
    ],
)
def test_a_malformed_event_payload_is_one_clear_error(
    tmp_path: Path, content: bytes | None, names: str
) -> None:
    event = tmp_path / "event.json"
    if content is not None:
        event.write_bytes(content)
    env = actions_env(tmp_path, GITHUB_EVENT_PATH=str(event))
    del env["MLGATE_PR_NUMBER"]
    with pytest.raises(GateInputError) as caught:
        Runner(env=env).pr_number()
    message = caught.value.message
    assert message.startswith(str(event)) and names in message and "\n" not in message


def test_plan_labels_added_before_a_502_are_not_added_again(
    tmp_path: Path, fake: FakeGitHub, sleeps: list[float]
) -> None:
    from mlgate.terraform.comments import LABEL_DESTROY, encode_header, sync_labels
    from mlgate.terraform.plan_summary import summarize_plan

    destroying = {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "resource_changes": [{"address": "terraform_data.a", "change": {"actions": ["delete"]}}],
    }
    header = encode_header(summarize_plan(destroying), key="k")
    fake.add_comment(7, f"{comment_marker('tf-plan', 'k')}\n{header}\n")
    fake.fail_after_saving(1, 502)
    runner = Runner(env=actions_env(tmp_path, fake))
    assert sync_labels(runner, 7, "github-actions[bot]") == ([LABEL_DESTROY], [])
    assert fake.labels_on(7) == [LABEL_DESTROY]
    assert [r.method for r in fake.requests].count("POST") == 1
