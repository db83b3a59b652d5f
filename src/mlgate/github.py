"""The one module that talks to the GitHub Actions runner and the GitHub REST API.

- outputs: `name<<DELIM` heredocs with a random delimiter in `$GITHUB_OUTPUT`
- step summary: Markdown appended to `$GITHUB_STEP_SUMMARY`
- annotations: `::error file=…,line=…,title=…::message` on stdout, properties and data escaped
- masks: `::add-mask::value`
- PR comments: upserted through `$GITHUB_API_URL` under a hidden marker `<!-- mlgate:<gate>:<key> -->`,
  with retry and exponential backoff on 429 and 5xx, and the 65,536-character limit handled by keeping
  the summary, cutting the detail (first and last parts) and pointing at the run summary.

Outside Actions (no `GITHUB_ACTIONS=true`) the same reports go to the terminal and to files under
`MLGATE_OUTPUT_DIR` (default `.mlgate/`), so every gate runs locally exactly as in CI.
No other module reads `GITHUB_*` variables.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: GitHub rejects issue and PR comments longer than this many characters.
COMMENT_LIMIT = 65_536
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def comment_marker(gate: str, key: str) -> str:
    """The hidden, labelled marker that identifies one gate's comment for one key (directory, env, …)."""
    return f"<!-- mlgate:{gate}:{key} -->"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render_comment(
    marker: str,
    summary: str,
    details: str,
    *,
    limit: int = COMMENT_LIMIT,
    overflow_hint: str = "the full report is in the workflow run's summary and artifacts",
) -> str:
    """Marker + summary + details, cut to fit `limit`: the summary is kept whole, the details keep their
    first and last parts with a note in between saying where the rest is."""
    head = f"{marker}\n{summary.rstrip()}\n"
    body = f"\n{details.strip()}\n" if details.strip() else ""
    if len(head) + len(body) <= limit:
        return head + body
    note = f"\n\n> ✂️ Cut to fit GitHub's {limit:,}-character comment limit: {overflow_hint}.\n\n"
    # an open code fence in a cut part would swallow the note, so close and reopen fences around it
    room = limit - len(head) - len(note) - 16
    if room <= 0:
        return (head[: limit - len(note)] + note)[:limit]
    first, last = body[: room * 2 // 3], body[len(body) - room // 3 :]
    if first.count("```") % 2:
        first += "\n```"
    if last.count("```") % 2:
        last = "```\n" + last
    return (head + first + note + last)[:limit]


def annotation_command(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
) -> str:
    """The workflow command for one annotation, properties and message escaped (one line)."""
    props = {"file": file, "line": line, "col": col, "title": title}
    rendered = ",".join(f"{k}={_escape_property(str(v))}" for k, v in props.items() if v not in (None, ""))
    head = f"::{level} {rendered}::" if rendered else f"::{level}::"
    return f"{head}{_escape_data(message)}\n"


@dataclass
class Runner:
    """Where reports go: the Actions runner when `in_actions`, the terminal and `output_dir` otherwise."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    #: seconds to sleep between API retries: (1, 2, 4, …) scaled by this factor; tests set it to 0
    backoff: float = 1.0
    max_attempts: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Runner:
        return cls(env=dict(os.environ if env is None else env))

    # -- where we are -------------------------------------------------------------------------------
    @property
    def in_actions(self) -> bool:
        return self.env.get("GITHUB_ACTIONS") == "true"

    @property
    def output_dir(self) -> Path:
        return Path(self.env.get("MLGATE_OUTPUT_DIR", ".mlgate"))

    @property
    def repository(self) -> str:
        return self.env.get("GITHUB_REPOSITORY", "")

    @property
    def run_url(self) -> str:
        server = self.env.get("GITHUB_SERVER_URL", "https://github.com")
        run_id = self.env.get("GITHUB_RUN_ID")
        return f"{server}/{self.repository}/actions/runs/{run_id}" if run_id and self.repository else ""

    @property
    def sha(self) -> str:
        return self.env.get("GITHUB_SHA", "")

    def pr_number(self) -> int | None:
        """The pull request this run belongs to, from the event payload (or `MLGATE_PR_NUMBER`)."""
        explicit = self.env.get("MLGATE_PR_NUMBER", "").strip()
        if explicit:
            if not explicit.isdigit():
                from mlgate.gate import GateInputError  # gate imports this module: import at call time

                raise GateInputError(
                    f"must be a pull request number (got {explicit!r})",
                    field="MLGATE_PR_NUMBER",
                    fix="pass the number only, e.g. `pr-number: ${{ github.event.pull_request.number }}`",
                )
            return int(explicit)
        event = self.event()
        number = (event.get("pull_request") or {}).get("number") or (event.get("issue") or {}).get("number")
        return int(number) if number else None

    def pr_labels(self) -> list[str]:
        """Names of the labels on this run's pull request, as the event payload lists them (a label added
        later reaches a run through the `labeled` event, which carries the new list)."""
        labels = (self.event().get("pull_request") or {}).get("labels") or []
        return [str(label["name"]) for label in labels if isinstance(label, dict) and "name" in label]

    def event(self) -> dict[str, Any]:
        path = self.env.get("GITHUB_EVENT_PATH")
        if not path or not Path(path).is_file():
            return {}
        loaded = json.loads(Path(path).read_text(encoding="utf-8"))
        return loaded if isinstance(loaded, dict) else {}

    # -- outputs, summary, annotations, masks ---------------------------------------------------------
    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        path = self.env.get("GITHUB_OUTPUT") if self.in_actions else None
        if path:
            with Path(path).open("a", encoding="utf-8") as fh:
                for name, value in outputs.items():
                    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
                    fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        with (self.output_dir / "outputs.env").open("a", encoding="utf-8") as fh:
            for name, value in outputs.items():
                fh.write(f"{name}={json.dumps(value)}\n")

    def write_summary(self, markdown: str, *, echo: bool = True) -> None:
        """Append to the step summary (locally: to `output_dir/summary.md`, echoed unless `echo=False`)."""
        path = self.env.get("GITHUB_STEP_SUMMARY") if self.in_actions else None
        if path:
            with Path(path).open("a", encoding="utf-8") as fh:
                fh.write(markdown.rstrip() + "\n\n")
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        with (self.output_dir / "summary.md").open("a", encoding="utf-8") as fh:
            fh.write(markdown.rstrip() + "\n\n")
        if echo:
            sys.stdout.write(markdown.rstrip() + "\n")
            sys.stdout.flush()

    def annotate(
        self,
        level: str,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        title: str | None = None,
    ) -> None:
        """Emit an `error`/`warning`/`notice` annotation (a plain `level: file:line: message` locally)."""
        if self.in_actions:
            sys.stdout.write(annotation_command(level, message, file=file, line=line, col=col, title=title))
            sys.stdout.flush()
            return
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        sys.stderr.write(f"{level}: {where}{message}\n")

    def error(self, message: str, **where: Any) -> None:
        self.annotate("error", message, **where)

    def warning(self, message: str, **where: Any) -> None:
        self.annotate("warning", message, **where)

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsible group in the Actions log (plain output locally)."""
        if self.in_actions:
            sys.stdout.write(f"::group::{_escape_data(title)}\n")
            sys.stdout.flush()
        try:
            yield
        finally:
            if self.in_actions:
                sys.stdout.write("::endgroup::\n")
                sys.stdout.flush()

    def echo_untrusted(self, text: str, *, title: str) -> None:
        """Print tool output in a collapsible group, with workflow commands in it disabled.

        Output of linters and hooks can contain text from the pull request (file contents, messages);
        between `::stop-commands::<random token>` and `::<token>::` the runner does not interpret any
        `::set-output` / `::add-mask` / `::error` lines it contains.
        """
        with self.group(title):
            token = secrets.token_hex(16) if self.in_actions else ""
            if token:
                sys.stdout.write(f"::stop-commands::{token}\n")
            sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
            if token:
                sys.stdout.write(f"::{token}::\n")
            sys.stdout.flush()

    def mask(self, value: str) -> None:
        if self.in_actions and value:
            for line in value.splitlines():
                if line.strip():
                    sys.stdout.write(f"::add-mask::{line}\n")
            sys.stdout.flush()

    # -- pull request comments ------------------------------------------------------------------------
    def upsert_pr_comment(
        self, *, gate: str, key: str, summary: str, details: str = "", pr: int | None = None
    ) -> str:
        """Create or update this gate's comment on the PR; return `created`, `updated` or `skipped`.

        Skipped (with the body written to `output_dir/comments/`) when there is no PR, no token or we are
        not in Actions; the body is still rendered so it can be read locally.
        """
        marker = comment_marker(gate, key)
        body = render_comment(marker, summary, details, overflow_hint=self._overflow_hint())
        pr = pr if pr is not None else self.pr_number()
        token = self.env.get("GITHUB_TOKEN", "")
        if not (self.in_actions and pr and token and self.repository):
            self.output_dir.mkdir(parents=True, exist_ok=True)
            safe_key = key.replace("/", "_") or "default"
            target = self.output_dir / "comments" / f"{gate}-{safe_key}.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
            return "skipped"
        existing = self.find_comment(pr, marker)
        if existing is None:
            self.api("POST", f"/repos/{self.repository}/issues/{pr}/comments", json_body={"body": body})
            return "created"
        comment_path = f"/repos/{self.repository}/issues/comments/{existing['id']}"
        self.api("PATCH", comment_path, json_body={"body": body})
        return "updated"

    def find_comment(self, pr: int, marker: str) -> dict[str, Any] | None:
        """The first comment on the PR whose body starts with `marker`, following pagination."""
        page = 1
        while True:
            comments = self.api(
                "GET",
                f"/repos/{self.repository}/issues/{pr}/comments",
                params={"per_page": 100, "page": page},
            )
            if not isinstance(comments, list) or not comments:
                return None
            for comment in comments:
                if str(comment.get("body", "")).startswith(marker):
                    return dict(comment)
            if len(comments) < 100:
                return None
            page += 1

    # -- issues (one issue per episode of a condition, e.g. data drift) ------------------------------------
    def can_call_api(self) -> bool:
        return bool(self.in_actions and self.env.get("GITHUB_TOKEN") and self.repository)

    def find_open_issue(self, marker: str, label: str) -> dict[str, Any] | None:
        """The open issue labelled `label` whose body starts with `marker` (pull requests excluded)."""
        page = 1
        while True:
            issues = self.api(
                "GET",
                f"/repos/{self.repository}/issues",
                params={"state": "open", "labels": label, "per_page": 100, "page": page},
            )
            if not isinstance(issues, list) or not issues:
                return None
            for issue in issues:
                if "pull_request" not in issue and str(issue.get("body", "")).startswith(marker):
                    return dict(issue)
            if len(issues) < 100:
                return None
            page += 1

    def open_or_update_issue(
        self, *, marker: str, label: str, title: str, summary: str, details: str = ""
    ) -> tuple[str, int | None]:
        """Open the issue for this episode, or update the one still open; `(action, number)` where action
        is `opened`, `updated` or `skipped` (no API access: the body goes to `output_dir/issues/`)."""
        text = render_comment(marker, summary, details, overflow_hint=self._overflow_hint())
        if not self.can_call_api():
            target = self.output_dir / "issues" / f"{label}.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"# {title}\n\n{text}", encoding="utf-8")
            return "skipped", None
        existing = self.find_open_issue(marker, label)
        if existing is None:
            payload = {"title": title, "body": text, "labels": [label]}
            created = self.api("POST", f"/repos/{self.repository}/issues", json_body=payload)
            return "opened", int(created["number"])
        number = int(existing["number"])
        self.api("PATCH", f"/repos/{self.repository}/issues/{number}", json_body={"body": text})
        return "updated", number

    def close_issue_if_open(self, *, marker: str, label: str, comment: str) -> tuple[str, int | None]:
        """Close this episode's open issue with a closing comment; `(closed|none|skipped, number)`."""
        if not self.can_call_api():
            return "skipped", None
        existing = self.find_open_issue(marker, label)
        if existing is None:
            return "none", None
        number = int(existing["number"])
        self.api("POST", f"/repos/{self.repository}/issues/{number}/comments", json_body={"body": comment})
        closing = {"state": "closed", "state_reason": "completed"}
        self.api("PATCH", f"/repos/{self.repository}/issues/{number}", json_body=closing)
        return "closed", number

    def _overflow_hint(self) -> str:
        url = self.run_url
        return (
            f"the full report is in [the run summary and artifacts]({url})"
            if url
            else ("the full report is in the workflow run's summary and artifacts")
        )

    def api(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call the GitHub REST API with retry and backoff on 429/5xx and transport errors."""
        import httpx  # a gate that never comments never imports httpx

        base = self.env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.env.get('GITHUB_TOKEN', '')}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "mlgate",
        }
        last_error = ""
        with httpx.Client(base_url=base, headers=headers, timeout=30.0) as client:
            for attempt in range(self.max_attempts):
                try:
                    response = client.request(method, path, json=json_body, params=params)
                except httpx.TransportError as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
                else:
                    wait = _rate_limit_wait(response.status_code, response.headers)
                    if response.status_code not in RETRY_STATUSES and wait is None:
                        if response.is_error:
                            raise GitHubAPIError(method, path, response.status_code, response.text[:300])
                        return response.json() if response.content else None
                    last_error = f"HTTP {response.status_code}"
                    if wait is not None:
                        if attempt + 1 < self.max_attempts:
                            time.sleep(wait * self.backoff)
                        continue
                if attempt + 1 < self.max_attempts:
                    time.sleep((2**attempt) * self.backoff)
        raise GitHubAPIError(method, path, None, f"gave up after {self.max_attempts} attempts ({last_error})")


def _rate_limit_wait(status: int, headers: Mapping[str, str]) -> float | None:
    """Seconds GitHub asks us to wait (Retry-After, or an exhausted rate limit's reset), capped at 60.

    A 403 counts as a retryable rate limit only when it carries one of those headers (secondary limits).
    """
    if status not in (403, 429):
        return None
    retry_after = headers.get("retry-after", "").strip()
    if retry_after.isdigit():
        return min(float(retry_after), 60.0)
    reset = headers.get("x-ratelimit-reset", "").strip()
    if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return min(max(float(reset) - time.time(), 1.0), 60.0)
    return None


class GitHubAPIError(RuntimeError):
    def __init__(self, method: str, path: str, status: int | None, detail: str) -> None:
        self.status = status
        super().__init__(f"GitHub API {method} {path} failed ({status or 'no response'}): {detail}")
