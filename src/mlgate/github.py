"""The one module that talks to the GitHub Actions runner and the GitHub REST API.

- outputs: `name<<DELIM` heredocs with a random delimiter in `$GITHUB_OUTPUT`
- step summary: Markdown appended to `$GITHUB_STEP_SUMMARY`
- annotations: `::error file=…,line=…,title=…::message` on stdout, properties and data escaped
- masks: `::add-mask::value`
- PR comments: upserted through `$GITHUB_API_URL` under a hidden marker `<!-- mlgate:<gate>:<key> -->`,
  with retry and exponential backoff on 429 and 5xx, and the 65,536-character limit handled by keeping
  the summary, cutting the detail (first and last parts) and pointing at the run summary.
- releases: create, find by tag, delete; release assets uploaded to the release's upload URL and
  downloaded as bytes (`Accept: application/octet-stream`, following GitHub's redirect to storage).
- git over HTTPS with the token: `git_auth_env()` gives git an `Authorization` header for the server
  through `GIT_CONFIG_*` variables, so a checkout with `persist-credentials: false` can still fetch and
  push tags, and the token never appears on a command line.
- retries only where a repeat is harmless: GET, PATCH, PUT and DELETE are retried; a POST (a new comment,
  a new issue) is retried after an ambiguous failure (5xx, a timeout after sending) only when the caller
  says how to check that the first attempt did not land (`landed=`: search for the marker comment or the
  issue); rate-limit answers (429, secondary 403) and connection failures were never processed, so any
  request is retried after them.
- every failure is a `GitHubAPIError` naming the request, the status and the number of attempts; gates
  turn it into the `github-api-error` failure reason (`mlgate.gate.run_gate`).
- the event payload (`$GITHUB_EVENT_PATH`) is validated (`mlgate.event_payload`): a missing file, text
  that is not JSON or a field of the wrong type is one `GateInputError` line, never a traceback.

Outside Actions (no `GITHUB_ACTIONS=true`) the same reports go to the terminal and to files under
`MLGATE_OUTPUT_DIR` (default `.mlgate/`), so every gate runs locally exactly as in CI.
No other module reads `GITHUB_*` variables.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.errors import GateInputError

#: GitHub rejects issue and PR comments longer than this many characters.
COMMENT_LIMIT = 65_536
#: GitHub rejects release bodies longer than this many characters.
RELEASE_BODY_LIMIT = 125_000
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: methods whose repeat leaves the same state as one call (RFC 9110 §9.2.2; PATCH as mlgate uses it)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


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

    @property
    def server_url(self) -> str:
        return self.env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")

    @property
    def token(self) -> str:
        """The API token: `GITHUB_TOKEN` (Actions, or exported locally) or `GH_TOKEN` (GitHub's CLI)."""
        return self.env.get("GITHUB_TOKEN", "") or self.env.get("GH_TOKEN", "")

    @property
    def actor(self) -> str:
        return self.env.get("GITHUB_ACTOR", "")

    def for_repository(self, repository: str) -> Runner:
        """The same runner aimed at another `owner/name` (e.g. the one a local clone's remote names)."""
        return Runner(
            env={**self.env, "GITHUB_REPOSITORY": repository},
            backoff=self.backoff,
            max_attempts=self.max_attempts,
        )

    def repository_of_remote(self, url: str) -> str:
        """`owner/name` when `url` is a remote on this GitHub server (https or ssh), else ''."""
        host = self.server_url.split("://", 1)[-1]
        for prefix in (f"https://{host}/", f"http://{host}/", f"git@{host}:", f"ssh://git@{host}/"):
            if url.startswith(prefix):
                path = url[len(prefix) :].removesuffix("/").removesuffix(".git")
                return path if path.count("/") == 1 and all(path.split("/")) else ""
        return ""

    def git_auth_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for a git subprocess that authenticates to this server with the token.

        The header goes through git's `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`
        (appended to any already set), scoped to the server's URL: never on a command line, never in a
        config file. Without a token the environment is returned unchanged (public read)."""
        env = dict(os.environ if base is None else base)
        if not self.token:
            return env
        count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
        basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        env["GIT_CONFIG_COUNT"] = str(count + 1)
        env[f"GIT_CONFIG_KEY_{count}"] = f"http.{self.server_url}/.extraheader"
        env[f"GIT_CONFIG_VALUE_{count}"] = f"AUTHORIZATION: basic {basic}"
        return env

    def pr_number(self) -> int | None:
        """The pull request this run belongs to, from the event payload (or `MLGATE_PR_NUMBER`)."""
        explicit = self.env.get("MLGATE_PR_NUMBER", "").strip()
        if explicit:
            if not explicit.isdigit():
                raise GateInputError(
                    f"must be a pull request number (got {explicit!r})",
                    field="MLGATE_PR_NUMBER",
                    fix="pass the number only, e.g. `pr-number: ${{ github.event.pull_request.number }}`",
                )
            return int(explicit)
        event = self.event()  # validated: a present `number` is a positive integer
        number = (event.get("pull_request") or {}).get("number") or (event.get("issue") or {}).get("number")
        return int(number) if number else None

    def pr_labels(self) -> list[str]:
        """Names of the labels on this run's pull request, as the event payload lists them (a label added
        later reaches a run through the `labeled` event, which carries the new list)."""
        labels = (self.event().get("pull_request") or {}).get("labels") or []
        return [str(label["name"]) for label in labels if isinstance(label, dict) and "name" in label]

    def event(self) -> dict[str, Any]:
        """The event payload at `GITHUB_EVENT_PATH` (empty when unset), validated where mlgate reads it.

        A path that is set but missing, unreadable, not JSON or with a field of the wrong type is a
        `GateInputError` naming the file and the field.
        """
        path = self.env.get("GITHUB_EVENT_PATH", "").strip()
        if not path:
            return {}
        from mlgate.event_payload import EventPayloadError, read_event  # pydantic only when needed

        try:
            return read_event(Path(path))
        except EventPayloadError as exc:
            raise GateInputError(
                exc.problem,
                file=path,
                field=exc.field,
                fix="GITHUB_EVENT_PATH must name the runner's event payload (a JSON object); "
                "unset it outside GitHub Actions",
            ) from None

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

    def notice(self, message: str) -> None:
        self.annotate("notice", message)

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
            self.api(
                "POST",
                f"/repos/{self.repository}/issues/{pr}/comments",
                json_body={"body": body},
                landed=lambda: self.find_comment(pr, marker),
            )
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
                if isinstance(comment, dict) and str(comment.get("body", "")).startswith(marker):
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
                if not isinstance(issue, dict) or "pull_request" in issue:
                    continue
                if str(issue.get("body", "")).startswith(marker):
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
            created = self.api(
                "POST",
                f"/repos/{self.repository}/issues",
                json_body=payload,
                landed=lambda: self.find_open_issue(marker, label),
            )
            return "opened", _number(created, "POST", f"/repos/{self.repository}/issues")
        number = _number(existing, "GET", f"/repos/{self.repository}/issues")
        self.api("PATCH", f"/repos/{self.repository}/issues/{number}", json_body={"body": text})
        return "updated", number

    def track_episode(
        self,
        *,
        marker: str,
        label: str,
        open_with: tuple[str, str, str] | None = None,
        close_with: str | None = None,
    ) -> tuple[str, int | None]:
        """One issue per episode of a scheduled check (drift, a live KPI): `open_with` = (title, summary,
        details) opens it or updates the open one, `close_with` = a comment closes the open one, neither
        changes nothing (`none`). The run's URL is added to what is written. A failed API call raises
        `GitHubAPIError` (its method and path name the issue), which `run_gate` reports as
        `github-api-error`."""
        run = f"\n\nRun: {self.run_url}" if self.run_url else ""
        if open_with is not None:
            title, summary, details = open_with
            return self.open_or_update_issue(
                marker=marker, label=label, title=title, summary=summary + run, details=details
            )
        if close_with is not None:
            return self.close_issue_if_open(marker=marker, label=label, comment=close_with + run)
        return "none", None

    def close_issue_if_open(self, *, marker: str, label: str, comment: str) -> tuple[str, int | None]:
        """Close this episode's open issue with a closing comment; `(closed|none|skipped, number)`."""
        if not self.can_call_api():
            return "skipped", None
        existing = self.find_open_issue(marker, label)
        if existing is None:
            return "none", None
        number = _number(existing, "GET", f"/repos/{self.repository}/issues")
        self.api(
            "POST",
            f"/repos/{self.repository}/issues/{number}/comments",
            json_body={"body": comment},
            landed=lambda: self._comment_with_body(number, comment),
        )
        closing = {"state": "closed", "state_reason": "completed"}
        self.api("PATCH", f"/repos/{self.repository}/issues/{number}", json_body=closing)
        return "closed", number

    # -- releases and release assets (the model registry of record with the default answers) ----------
    def release_by_tag(self, tag: str) -> dict[str, Any] | None:
        """The release on `tag`, or None when there is none."""
        from urllib.parse import quote

        try:
            found = self.api("GET", f"/repos/{self.repository}/releases/tags/{quote(tag, safe='')}")
        except GitHubAPIError as exc:
            if exc.status == 404:
                return None
            raise
        return dict(found) if isinstance(found, dict) else None

    def create_release(self, *, tag: str, name: str, summary: str, details: str = "") -> dict[str, Any]:
        """Publish a release on the existing `tag`; the body is `summary` + `details`, cut to GitHub's
        limit the way comments are."""
        marker = f"<!-- mlgate:release:{tag} -->"
        body = render_comment(
            marker, summary, details, limit=RELEASE_BODY_LIMIT, overflow_hint=self._overflow_hint()
        )
        payload = {"tag_name": tag, "name": name, "body": body, "draft": False, "make_latest": "true"}
        created = self.api(
            "POST",
            f"/repos/{self.repository}/releases",
            json_body=payload,
            landed=lambda: self.release_by_tag(tag),
        )
        return dict(created)

    def delete_release(self, release_id: int) -> None:
        self.api("DELETE", f"/repos/{self.repository}/releases/{release_id}")

    def upload_release_asset(
        self, release: Mapping[str, Any], *, name: str, data: bytes, content_type: str
    ) -> dict[str, Any]:
        """Upload `data` as asset `name` of `release` (to the release's `upload_url`)."""
        url = str(release["upload_url"]).split("{", 1)[0]

        def landed() -> dict[str, Any] | None:
            now = self.release_by_tag(str(release["tag_name"])) or {}
            return next((dict(a) for a in now.get("assets", []) if a.get("name") == name), None)

        uploaded = self.api(
            "POST",
            url,
            params={"name": name},
            content=data,
            headers={"Content-Type": content_type},
            landed=landed,
        )
        return dict(uploaded)

    def download_release_asset(self, asset: Mapping[str, Any]) -> bytes:
        """The bytes of a release asset (GitHub answers with a redirect to its storage; followed)."""
        data = self.api(
            "GET",
            f"/repos/{self.repository}/releases/assets/{asset['id']}",
            headers={"Accept": "application/octet-stream"},
            raw=True,
        )
        return bytes(data)

    # -- branches and pull requests (template updates) ----------------------------------------------
    def push_branch(self, project: Path, branch: str) -> None:
        """Force-push HEAD of `project` to `branch` of this repository; the token travels in an HTTP
        header for this one command, never in a URL, a remote or the git config."""
        import base64
        import subprocess

        url = f"{self.server_url}/{self.repository}.git"
        basic = base64.b64encode(f"x-access-token:{self.env.get('GITHUB_TOKEN', '')}".encode()).decode()
        self.mask(basic)
        header = f"http.extraheader=AUTHORIZATION: basic {basic}"
        proc = subprocess.run(
            ["git", "-c", header, "push", "--force", url, f"HEAD:refs/heads/{branch}"],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if proc.returncode != 0:
            detail = (proc.stderr.strip().splitlines() or ["no output"])[-1].replace(basic, "***")
            raise GitHubAPIError("git push", url, None, detail)

    def open_or_update_pull_request(self, *, head: str, base: str, title: str, body: str) -> int:
        """The open pull request from `head` (refreshed with `title` and `body`) or a new one: its number."""
        owner = self.repository.split("/", 1)[0]
        pulls = f"/repos/{self.repository}/pulls"
        existing = self.api("GET", pulls, params={"head": f"{owner}:{head}", "state": "open"}) or []
        if existing:
            number = int(existing[0]["number"])
            self.api("PATCH", f"{pulls}/{number}", json_body={"title": title, "body": body})
            return number

        def opened() -> Any:  # a POST that failed ambiguously may have opened it: never open two
            return (self.api("GET", pulls, params={"head": f"{owner}:{head}", "state": "open"}) or [None])[0]

        body_json = {"head": head, "base": base, "title": title, "body": body}
        created = self.api("POST", pulls, json_body=body_json, landed=opened)
        return int(created["number"])

    def _comment_with_body(self, issue: int, body: str) -> dict[str, Any] | None:
        """The comment on `issue` whose body is exactly `body` (how a repeated POST is detected)."""
        page = 1
        while True:
            comments = self.api(
                "GET",
                f"/repos/{self.repository}/issues/{issue}/comments",
                params={"per_page": 100, "page": page},
            )
            if not isinstance(comments, list) or not comments:
                return None
            for comment in comments:
                if isinstance(comment, dict) and comment.get("body") == body:
                    return dict(comment)
            if len(comments) < 100:
                return None
            page += 1

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
        landed: Callable[[], Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        raw: bool = False,
    ) -> Any:
        """Call the GitHub REST API with retry and backoff where a repeat is harmless.

        Idempotent methods are retried on 429/5xx and transport errors. A POST is retried after an
        ambiguous failure (a 5xx, or a transport error once the request may have been sent) only when
        `landed` is given: before each repeat it is called, and what it finds (the comment or issue the
        first attempt created) is returned instead of posting again. Every failure is a
        `GitHubAPIError` with the status and the number of attempts.

        `path` is relative to `GITHUB_API_URL` or a full URL (a release's upload URL); `content` sends
        bytes instead of JSON; `raw` returns the response's bytes (redirects are followed, and httpx
        drops the token when a redirect leaves the API's host).
        """
        import httpx  # a gate that never comments never imports httpx

        base = self.env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
        sent = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "mlgate",
            **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            **(headers or {}),
        }
        idempotent = method.upper() in IDEMPOTENT_METHODS
        last_error, last_status, may_have_landed = "", None, False
        with httpx.Client(base_url=base, headers=sent, timeout=60.0, follow_redirects=True) as client:
            for attempt in range(self.max_attempts):
                if may_have_landed and landed is not None:
                    found = landed()
                    if found is not None:
                        return found
                try:
                    response = client.request(method, path, json=json_body, params=params, content=content)
                except httpx.TransportError as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
                    # a refused or timed-out connection never sent the request
                    ambiguous = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                else:
                    wait = _rate_limit_wait(response.status_code, response.headers)
                    if response.status_code not in RETRY_STATUSES and wait is None:
                        if response.is_error:
                            raise GitHubAPIError(
                                method, path, response.status_code, _describe(response), attempt + 1
                            )
                        return response.content if raw else _json_body(response, method, path, attempt + 1)
                    last_error, last_status = f"HTTP {response.status_code}", response.status_code
                    # a rate-limited request was not processed
                    ambiguous = response.status_code != 429 and wait is None
                    if wait is not None:
                        if attempt + 1 < self.max_attempts:
                            time.sleep(wait * self.backoff)
                        continue
                if ambiguous and not idempotent:
                    if landed is None:
                        raise GitHubAPIError(
                            method,
                            path,
                            last_status,
                            f"{last_error}; not retried, since the first {method} may have landed",
                            attempt + 1,
                        )
                    may_have_landed = True
                if attempt + 1 < self.max_attempts:
                    time.sleep((2**attempt) * self.backoff)
        raise GitHubAPIError(
            method,
            path,
            last_status,
            f"gave up after {self.max_attempts} attempts ({last_error})",
            self.max_attempts,
        )


def _describe(response: Any) -> str:
    """One line about an error answer: GitHub's `message`, or what the body is (an HTML page, …)."""
    content_type = str(response.headers.get("content-type", ""))
    if "json" in content_type:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("message"), str):
            return " ".join(payload["message"].split())[:200]
    if "html" in content_type or response.text.lstrip()[:1] == "<":
        return "the answer is an HTML page, not GitHub's JSON (a proxy or an outage page?)"
    return " ".join(response.text.split())[:200] or "empty answer"


def _json_body(response: Any, method: str, path: str, attempts: int) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise GitHubAPIError(
            method, path, response.status_code, "the answer is not JSON: " + _describe(response), attempts
        ) from None


def _number(item: Any, method: str, path: str) -> int:
    """An issue's `number` from an API answer, or a `GitHubAPIError` when the answer has none."""
    number = item.get("number") if isinstance(item, dict) else None
    if isinstance(number, int) and not isinstance(number, bool):
        return number
    raise GitHubAPIError(method, path, None, f"the answer has no issue number: {str(item)[:100]}", 1)


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
    """A GitHub API call that failed: the request, the last HTTP status (None: no answer), the attempts."""

    def __init__(self, method: str, path: str, status: int | None, detail: str, attempts: int = 1) -> None:
        self.method, self.path, self.status, self.attempts = method, path, status, attempts
        status_text = f"HTTP {status}" if status else "no response"
        retries = f"{attempts - 1} retr{'y' if attempts == 2 else 'ies'}"
        super().__init__(f"GitHub API {method} {path} failed ({status_text}, {retries}): {detail}")

    @property
    def retries(self) -> int:
        return self.attempts - 1
