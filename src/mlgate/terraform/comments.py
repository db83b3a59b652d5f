"""The plan comments on a pull request: find the reviewed one, keep labels in step, record apply outcomes.

All API calls go through `mlgate.github.Runner` (retry, backoff, base URL).

- `find_plan_comment(runner, pr, key, author)`: the comment under `<!-- mlgate:tf-plan:<key> -->`
  written by `author` (a marker pasted by someone else is never trusted).
- `pull_request_for_commit(runner, sha)`: the merged PR a push commit came from.
- `sync_labels(runner, pr)`: `terraform:destroy` when any plan comment destroys or replaces,
  `terraform:no-changes` when every plan comment has no changes — computed from all the PR's plan
  comments, so parallel jobs (one per environment) converge on the right labels.
- `with_outcome(body, outcome)`: the comment with the apply outcome block (replaced if present).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from mlgate.github import COMMENT_LIMIT, GitHubAPIError, Runner, comment_marker
from mlgate.terraform.plan import read_plan_header

LABEL_DESTROY = "terraform:destroy"
LABEL_NO_CHANGES = "terraform:no-changes"
OUTCOME_START = "<!-- mlgate:tf-apply:outcome -->"
OUTCOME_END = "<!-- /mlgate:tf-apply:outcome -->"
#: room kept free in every plan comment for the apply outcome block
OUTCOME_RESERVE = 3_000


def list_comments(runner: Runner, pr: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        batch = runner.api(
            "GET", f"/repos/{runner.repository}/issues/{pr}/comments", params={"per_page": 100, "page": page}
        )
        if not isinstance(batch, list) or not batch:
            return found
        found.extend(dict(c) for c in batch if isinstance(c, dict))
        if len(batch) < 100:
            return found
        page += 1


def find_plan_comment(runner: Runner, pr: int, key: str, author: str) -> dict[str, Any] | None:
    marker = comment_marker("tf-plan", key)
    for comment in list_comments(runner, pr):
        login = str((comment.get("user") or {}).get("login", ""))
        if str(comment.get("body", "")).startswith(marker) and login == author:
            return comment
    return None


def pull_request_for_commit(runner: Runner, sha: str) -> int | None:
    """The PR that `sha` belongs to (merged ones first), from `GET /repos/{repo}/commits/{sha}/pulls`."""
    if not sha:
        return None
    path = f"/repos/{runner.repository}/commits/{sha}/pulls"
    pulls = runner.api("GET", path)
    if not isinstance(pulls, list):
        raise GitHubAPIError("GET", path, None, f"the answer is not a list of pull requests: {pulls!s:.80}")
    pulls = [p for p in pulls if isinstance(p, dict)]
    if not pulls:
        return None
    number = [p for p in pulls if p.get("merged_at")] or pulls
    found = number[0].get("number")
    if not isinstance(found, int) or isinstance(found, bool) or found <= 0:
        raise GitHubAPIError("GET", path, None, f"the pull request has no number: {str(number[0])[:80]}")
    return found


def sync_labels(runner: Runner, pr: int, author: str) -> tuple[list[str], list[str]]:
    """Add / remove the two plan labels from every plan comment's header; returns (added, removed)."""
    headers = []
    for comment in list_comments(runner, pr):
        login = str((comment.get("user") or {}).get("login", ""))
        body = str(comment.get("body", ""))
        if login == author and body.startswith("<!-- mlgate:tf-plan:"):
            header = read_plan_header(body)
            if header is not None:
                headers.append(header)
    if not headers:
        return [], []
    wanted = set()
    if any(h.destroy for h in headers):
        wanted.add(LABEL_DESTROY)
    if not any(h.changes for h in headers):
        wanted.add(LABEL_NO_CHANGES)
    current = {
        str(label.get("name"))
        for label in runner.api("GET", f"/repos/{runner.repository}/issues/{pr}/labels") or []
        if isinstance(label, dict)
    }
    add = sorted(wanted - current)
    remove = sorted(({LABEL_DESTROY, LABEL_NO_CHANGES} & current) - wanted)
    if add:
        labels_path = f"/repos/{runner.repository}/issues/{pr}/labels"

        def added() -> list[Any] | None:
            """The labels, when a first POST that failed ambiguously did add them (then none is repeated)."""
            now = runner.api("GET", labels_path) or []
            names = {str(label.get("name")) for label in now if isinstance(label, dict)}
            return list(now) if set(add) <= names else None

        runner.api("POST", labels_path, json_body={"labels": add}, landed=added)
    for name in remove:
        runner.api("DELETE", f"/repos/{runner.repository}/issues/{pr}/labels/{quote(name, safe='')}")
    return add, remove


def with_outcome(body: str, outcome_md: str) -> str:
    """`body` with the apply outcome block right after the marker line (an older block is replaced)."""
    start, end = body.find(OUTCOME_START), body.find(OUTCOME_END)
    if start >= 0 and end > start:
        body = body[:start] + body[end + len(OUTCOME_END) :].lstrip("\n")
    marker, _, rest = body.partition("\n")
    block = f"{OUTCOME_START}\n{outcome_md.strip()[: OUTCOME_RESERVE - 100]}\n{OUTCOME_END}\n"
    return (f"{marker}\n{block}{rest}")[:COMMENT_LIMIT]


def post_outcome(runner: Runner, comment: dict[str, Any], outcome_md: str) -> None:
    body = with_outcome(str(comment.get("body", "")), outcome_md)
    runner.api(
        "PATCH", f"/repos/{runner.repository}/issues/comments/{comment['id']}", json_body={"body": body}
    )
