"""The plan comment on a pull request: all its text, and where it lives on the PR.

The text (pure functions over a `PlanSummary`):

- `render_plan_summary(...)` / `render_plan_details(...)` → the (summary, details) Markdown for one
  directory + workspace: counts, destroy/replace banner, output changes, drift, checks, then the
  resources grouped by action and the full plan collapsed, fitted under GitHub's comment limit.
- `encode_header(summary, key=...)`: the hidden header that carries the fingerprint and per-resource
  digests; `read_plan_header(body)` / `diff_reviewed(reviewed, current)` read it back at apply time and
  name the resources that changed since review.
- `REASON_TEXT` / `APPLY_REASON_TEXT`: the one-line headline of each failure reason.
- `with_outcome(body, outcome)`: the comment with the apply outcome block (replaced if present).

On the PR (every API call goes through `mlgate.github.Runner`: retry, backoff, base URL):

- `find_plan_comment(runner, pr, key, author)`: the comment under `<!-- mlgate:tf-plan:<key> -->`
  written by `author` (a marker pasted by someone else is never trusted).
- `pull_request_for_commit(runner, sha)`: the merged PR a push commit came from.
- `sync_labels(runner, pr)`: `terraform:destroy` when any plan comment destroys or replaces,
  `terraform:no-changes` when every plan comment has no changes — computed from all the PR's plan
  comments, so parallel jobs (one per environment) converge on the right labels.
- `post_outcome(runner, comment, outcome)`: the apply outcome written into the reviewed comment.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mlgate.github import COMMENT_LIMIT, GitHubAPIError, Runner, comment_marker
from mlgate.terraform.plan_summary import (
    SENSITIVE,
    SENSITIVE_CHANGED,
    SENSITIVE_ENTRY,
    UNKNOWN,
    PlanSummary,
    ResourceChange,
)

LABEL_DESTROY = "terraform:destroy"
LABEL_NO_CHANGES = "terraform:no-changes"
OUTCOME_START = "<!-- mlgate:tf-apply:outcome -->"
OUTCOME_END = "<!-- /mlgate:tf-apply:outcome -->"
#: room kept free in every plan comment for the apply outcome block
OUTCOME_RESERVE = 3_000
#: how many characters the per-resource digests may take in the hidden header before they are left out
DIGESTS_BUDGET = 12_000
#: action label -> heading and emoji shown in the comment, in display order
ACTION_HEADINGS: dict[str, str] = {
    "delete": "🗑️ Destroy",
    "replace": "♻️ Replace",
    "create": "🆕 Create",
    "update": "✏️ Update in place",
    "move": "🚚 Move",
    "import": "📥 Import",
    "forget": "🫥 Forget (removed from state, not destroyed)",
    "read": "📖 Read during apply",
}
HEADER_PREFIX = "<!-- mlgate:tf-plan:header "
MAX_LISTED_PER_ACTION = 300
MAX_VALUE_CHARS = 80
#: failure-reason -> the headline shown in the comment and the step summary
REASON_TEXT = {
    "fmt-check": "files are not formatted (`terraform fmt`)",
    "init-failed": "`terraform init` failed",
    "invalid-config": "the configuration is invalid",
    "missing-variable": "a required variable has no value",
    "state-locked": "the state is locked by another run",
    "plan-failed": "`terraform plan` failed",
    "invalid-plan": "`terraform show -json` did not give a Terraform JSON plan mlgate can read",
    "checkov-failed": "checkov found problems",
    "checkov-error": "checkov could not run, so the configuration was not checked",
}
APPLY_REASON_TEXT = {
    **REASON_TEXT,
    "no-pull-request": "no merged pull request was found for this commit",
    "no-plan-comment": "the pull request has no reviewed plan for this directory",
    "plan-changed": "the plan changed since it was reviewed",
    "apply-failed": "`terraform apply` failed",
}


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


# -- the hidden header: fingerprint and digests, readable back at apply time ---------------------------------
def encode_header(summary: PlanSummary, *, key: str, sha: str = "") -> str:
    meta: dict[str, Any] = {
        "v": 1,
        "key": key,
        "fingerprint": summary.fingerprint,
        "sha": sha,
        "changes": summary.has_changes,
        "destroy": bool(summary.destructive),
    }
    digests = summary.digests()
    packed = base64.b64encode(zlib.compress(json.dumps(digests, sort_keys=True).encode(), 9)).decode()
    if len(packed) <= DIGESTS_BUDGET:
        meta["digests"] = packed
    else:
        meta["digests_omitted"] = len(digests)
    blob = base64.b64encode(json.dumps(meta, sort_keys=True).encode()).decode()
    return f"{HEADER_PREFIX}{blob} -->\n<!-- fingerprint: {summary.fingerprint} -->"


@dataclass(frozen=True)
class ReviewedPlan:
    key: str
    fingerprint: str
    sha: str
    digests: dict[str, str] | None  # None when the plan was too large to carry them
    changes: bool = True
    destroy: bool = False


def read_plan_header(body: str) -> ReviewedPlan | None:
    """The reviewed plan recorded in a plan comment's hidden header (None when absent or unreadable)."""
    start = body.find(HEADER_PREFIX)
    if start < 0:
        return None
    end = body.find(" -->", start)
    try:
        meta = json.loads(base64.b64decode(body[start + len(HEADER_PREFIX) : end]))
        digests = None
        if "digests" in meta:
            digests = json.loads(zlib.decompress(base64.b64decode(meta["digests"])))
        return ReviewedPlan(
            key=str(meta["key"]),
            fingerprint=str(meta["fingerprint"]),
            sha=str(meta.get("sha", "")),
            digests=digests,
            changes=bool(meta.get("changes", True)),
            destroy=bool(meta.get("destroy", False)),
        )
    except (ValueError, KeyError, TypeError, zlib.error):
        return None


def diff_reviewed(reviewed: ReviewedPlan, current: PlanSummary) -> list[str]:
    """Resource-level differences between the reviewed plan and the current one, one line each."""
    if reviewed.digests is None:
        return [
            f"the reviewed plan ({len(current.changes)} changes now) was too large to keep per-resource "
            "digests; compare the plan artifacts of the PR run and of this run"
        ]
    now = current.digests()
    lines = []
    for address in sorted(set(reviewed.digests) | set(now)):
        old, new = reviewed.digests.get(address), now.get(address)
        if old == new:
            continue
        if address == SENSITIVE_ENTRY:
            lines.append(
                "~ a value the plan marks sensitive differs from the reviewed plan (the value is not shown; "
                "compare the sensitive attributes of the resources and outputs with what was approved)"
            )
            continue
        if old is None:
            lines.append(f"+ `{address}`: {new.split(':')[0] if new else ''} (not in the reviewed plan)")
        elif new is None:
            lines.append(f"- `{address}`: {old.split(':')[0]} (in the reviewed plan, not planned now)")
        else:
            old_action, new_action = old.split(":")[0], new.split(":")[0]
            what = (
                f"{old_action} → {new_action}"
                if old_action != new_action
                else f"{new_action}, different values"
            )
            lines.append(f"~ `{address}`: {what}")
    return lines


# -- rendering ---------------------------------------------------------------------------------------------
def _short(value: Any) -> str:
    text = (
        value
        if isinstance(value, str) and value in {SENSITIVE, SENSITIVE_CHANGED, UNKNOWN}
        else json.dumps(value, default=str)
    )
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _md_code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def summary_line(summary: PlanSummary) -> str:
    c = summary.counts
    if not summary.has_changes:
        return "No changes. Infrastructure matches the configuration."
    if summary.only_outputs:
        return f"Only outputs change ({c['outputs']}); no resource is touched."
    parts = [f"**{c['add']}** to add", f"**{c['change']}** to change", f"**{c['destroy']}** to destroy"]
    extra = [f"{c[k]} to {k}" for k in ("replace", "move", "import", "forget") if c[k]]
    return ", ".join(parts) + (f" ({', '.join(extra)})" if extra else "") + "."


def render_plan_summary(
    summary: PlanSummary,
    *,
    title: str,
    checks: list[str] | None = None,
    header: str = "",
) -> str:
    """The part of the comment that is never cut: verdict, counts, banner, outputs, drift, checks."""
    lines = [header, f"### Terraform plan: {title}", ""] if header else [f"### Terraform plan: {title}", ""]
    destructive = summary.destructive
    if destructive:
        names = ", ".join(_md_code(r.address) for r in destructive[:10])
        more = f" and {len(destructive) - 10} more" if len(destructive) > 10 else ""
        lines += [
            "> [!WARNING]",
            f"> This plan **destroys or replaces {len(destructive)} resource(s)**: {names}{more}.",
            "",
        ]
    lines.append(summary_line(summary))
    c = summary.counts
    if summary.has_changes:
        lines += [
            "",
            "| add | change | destroy | replace | move | import | outputs |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {c['add']} | {c['change']} | {c['destroy']} | {c['replace']} | {c['move']} | {c['import']} "
            f"| {c['outputs']} |",
        ]
    if summary.outputs:
        lines += ["", "**Output changes**", ""]
        for out in summary.outputs[:20]:
            lines.append(f"- {_md_code(out.name)} ({out.action}): {_short(out.before)} → {_short(out.after)}")
        if len(summary.outputs) > 20:
            lines.append(f"- … and {len(summary.outputs) - 20} more")
    if summary.drift:
        names = ", ".join(_md_code(d.address) for d in summary.drift[:10])
        more = f" and {len(summary.drift) - 10} more" if len(summary.drift) > 10 else ""
        lines += [
            "",
            f"🔎 **{len(summary.drift)} resource(s) changed outside Terraform** since the last apply: "
            f"{names}{more}. This plan brings them back to the configuration.",
        ]
    if checks:
        lines += ["", *checks]
    return "\n".join(lines).rstrip() + "\n"


# one branch per note kind reads better than a helper per note
def render_resources(summary: PlanSummary, *, max_listed: int = MAX_LISTED_PER_ACTION) -> str:  # noqa: PLR0912
    """Resources grouped by action, with the attributes that change (sensitive values masked)."""
    groups: dict[str, list[ResourceChange]] = {}
    for res in summary.changes:
        groups.setdefault(res.action, []).append(res)
        if res.moved and res.action == "no-op":
            groups.setdefault("move", []).append(res)
        if res.import_id and res.action == "no-op":
            groups.setdefault("import", []).append(res)
    groups.pop("no-op", None)
    parts = []
    for action, heading in ACTION_HEADINGS.items():
        items = groups.get(action, [])
        if not items:
            continue
        lines = [
            f"<details{' open' if action in {'delete', 'replace'} else ''}>",
            f"<summary>{heading} ({len(items)})</summary>",
            "",
        ]
        for res in items[:max_listed]:
            notes = []
            if res.moved:
                notes.append(f"moved from {_md_code(res.previous_address)}")
            if res.import_id:
                notes.append(f"import id {_md_code(res.import_id)}")
            if res.reason:
                notes.append(res.reason.replace("_", " "))
            lines.append(f"- {_md_code(res.address)}" + (f" — {'; '.join(notes)}" if notes else ""))
            if action in {"update", "replace"}:
                for attr, (before, after) in list(res.changed.items())[:8]:
                    lines.append(
                        f"  - {_md_code(attr)}: {_md_code(_short(before))} → {_md_code(_short(after))}"
                    )
                if len(res.changed) > 8:
                    lines.append(f"  - … and {len(res.changed) - 8} more attribute(s)")
        if len(items) > max_listed:
            lines.append(f"- … and {len(items) - max_listed} more (see the full plan)")
        lines += ["", "</details>"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def fit_plan_text(plan_text: str, budget: int, *, artifact_hint: str) -> str:
    """The plan text, or its first and last lines with a note in between when it exceeds `budget`."""
    text = plan_text.strip()
    if len(text) <= budget:
        return text
    note = f"\n\n… ✂️ plan cut to fit the comment; the full plan is in {artifact_hint} …\n\n"
    room = max(budget - len(note), 0)
    head, tail = text[: room * 2 // 3], text[len(text) - room // 3 :] if room // 3 else ""
    head = head[: head.rfind("\n")] if "\n" in head else head
    tail = tail[tail.find("\n") + 1 :] if "\n" in tail else tail
    return head + note + tail


def render_plan_details(
    summary: PlanSummary,
    plan_text: str,
    *,
    budget: int,
    artifact_hint: str = "the plan artifact of this run",
) -> str:
    """Resources by action, then the full plan collapsed; cut so the result stays within `budget`."""
    resources = render_resources(summary)
    if len(resources) > budget // 2:
        resources = render_resources(summary, max_listed=20)
    wrapper = "<details>\n<summary>Full plan</summary>\n\n```text\n{}\n```\n\n</details>"
    room = budget - len(resources) - len(wrapper) - 8
    full = wrapper.format(fit_plan_text(plan_text.replace("```", "'''"), room, artifact_hint=artifact_hint))
    return "\n\n".join(part for part in (resources, full) if part)
