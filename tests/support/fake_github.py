"""A local recording stand-in for the parts of the GitHub REST API that mlgate uses.

Start it with `FakeGitHub()` as a context manager; point `GITHUB_API_URL` at `server.url`. It keeps
issues, issue/PR comments and labels in memory, records every request, and can be told to fail the
next N requests with a status (for retry tests), or to fail requests of one method with a status *after*
doing them (`fail_after_saving`: GitHub saved the comment, the proxy answered 502). It binds 127.0.0.1
on a free port, serves at most `max_requests` requests, and stops when the context exits.

Releases and release assets, as GitHub serves them: `POST /repos/o/r/releases` (the tag must already
exist in the repository — `FakeGitHub(git_dir=bare)` checks the bare repository standing in for the
GitHub remote that tags are pushed to), `GET .../releases/tags/{tag}`, `DELETE .../releases/{id}`,
uploads to the release's `upload_url` (`/uploads/repos/o/r/releases/{id}/assets?name=`, raw bytes), and
`GET .../releases/assets/{id}` answering a 302 to the asset's bytes when asked for
`Accept: application/octet-stream` (its JSON otherwise). `tamper_asset()` swaps an asset's bytes.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass
class State:
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> comment (with issue number)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> issue
    commit_pulls: dict[str, list[int]] = field(default_factory=dict)  # sha -> PR numbers
    releases: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> release (with its assets)
    asset_bytes: dict[int, bytes] = field(default_factory=dict)  # asset id -> content
    rulesets: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> repository ruleset
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> environment (GET shape)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # login or org/slug -> user or team
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> pull request
    next_id: int = 1000
    next_number: int = 100
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    #: (method, status): the next request of that method is done, then answered with that status
    failures_after: list[tuple[str, int]] = field(default_factory=list)


class FakeGitHub:
    def __init__(
        self, *, login: str = "github-actions[bot]", max_requests: int = 5000, git_dir: Path | None = None
    ) -> None:
        self.login = login
        self.git_dir = git_dir
        self.max_requests = max_requests
        self.requests: list[Recorded] = []
        self.state = State()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True

    # -- lifecycle ------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def actions_env(self, directory: Path) -> dict[str, str]:
        """The variables of a GitHub Actions step talking to this fake, its outputs and summary files in
        `directory` (set them with monkeypatch.setenv)."""
        return {
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": self.url,
            "GITHUB_TOKEN": "t0ken",
            "GITHUB_REPOSITORY": "acme/fraud-detection",
            "GITHUB_RUN_ID": "42",
            "GITHUB_OUTPUT": str(directory / "gh_output"),
            "GITHUB_STEP_SUMMARY": str(directory / "gh_summary"),
        }

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- scripting ------------------------------------------------------------------------------------
    def fail_next(self, count: int, status: int = 502, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self.state.failures.extend([(status, headers or {})] * count)

    def fail_after_saving(self, count: int, status: int = 502, method: str = "POST") -> None:
        """The next `count` requests of `method` are done (saved), then answered with `status`."""
        with self._lock:
            self.state.failures_after.extend([(method, status)] * count)

    def add_comment(self, issue: int, body: str, login: str | None = None) -> dict[str, Any]:
        with self._lock:
            return self._new_comment(issue, body, login or self.login)

    def link_commit(self, sha: str, pr: int) -> None:
        with self._lock:
            self.state.commit_pulls.setdefault(sha, []).append(pr)

    def labels_on(self, issue: int) -> list[str]:
        with self._lock:
            return [lbl["name"] for lbl in self.state.issues.get(issue, {}).get("labels", [])]

    def comments_on(self, issue: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self.state.comments.values() if c["issue_number"] == issue]

    def add_account(self, name: str, *, kind: str = "User") -> dict[str, Any]:
        """A user (`login`), an organisation (`login`, kind="Organization") or a team (`org/slug`)."""
        with self._lock:
            self.state.next_id += 1
            account = {"id": self.state.next_id, "type": kind}
            account.update({"slug": name.split("/", 1)[1]} if "/" in name else {"login": name})
            self.state.accounts[name] = account
            return account

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    def releases(self) -> dict[str, dict[str, Any]]:
        """tag -> release (with `assets`)."""
        with self._lock:
            return {r["tag_name"]: json.loads(json.dumps(r)) for r in self.state.releases.values()}

    def asset_content(self, tag: str, name: str) -> bytes:
        with self._lock:
            for release in self.state.releases.values():
                for asset in release["assets"]:
                    if release["tag_name"] == tag and asset["name"] == name:
                        return self.state.asset_bytes[asset["id"]]
        raise KeyError(f"{tag}: {name}")

    def tamper_asset(self, tag: str, name: str, content: bytes) -> None:
        """Replace an asset's bytes (what a compromised or corrupted upload looks like)."""
        with self._lock:
            for release in self.state.releases.values():
                for asset in release["assets"]:
                    if release["tag_name"] == tag and asset["name"] == name:
                        self.state.asset_bytes[asset["id"]] = content
                        asset["size"] = len(content)
                        return
        raise KeyError(f"{tag}: {name}")

    # -- internals ------------------------------------------------------------------------------------
    def _new_comment(self, issue: int, body: str, login: str) -> dict[str, Any]:
        self.state.next_id += 1
        comment = {"id": self.state.next_id, "issue_number": issue, "body": body, "user": {"login": login}}
        self.state.comments[comment["id"]] = comment
        return comment

    def _tag_exists(self, tag: str) -> bool:
        if self.git_dir is None:
            return True
        proc = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"],
            cwd=self.git_dir,
            capture_output=True,
            check=False,
        )
        return proc.returncode == 0

    def _release_json(self, release: dict[str, Any]) -> dict[str, Any]:
        return json.loads(json.dumps(release))

    def _route_release(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, headers: dict[str, str]
    ) -> tuple[int, Any] | None:
        st = self.state
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/releases", path):
            if method == "POST":
                tag = body.get("tag_name", "")
                if any(r["tag_name"] == tag for r in st.releases.values()):
                    return 422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]}
                if not self._tag_exists(tag):
                    return 422, {"message": f"tag {tag} does not exist in the repository"}
                st.next_id += 1
                release = {
                    "id": st.next_id,
                    "tag_name": tag,
                    "name": body.get("name", tag),
                    "body": body.get("body", ""),
                    "draft": bool(body.get("draft")),
                    "html_url": f"https://github.com/{m.group(1)}/releases/tag/{tag}",
                    "upload_url": f"{self.url}/uploads/repos/{m.group(1)}/releases/{st.next_id}/assets"
                    "{?name,label}",
                    "assets": [],
                }
                st.releases[release["id"]] = release
                return 201, self._release_json(release)
            return 200, [self._release_json(r) for r in st.releases.values()]
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/releases/tags/(.+)", path):
            tag = unquote(m.group(1))
            found = [r for r in st.releases.values() if r["tag_name"] == tag]
            return (200, self._release_json(found[0])) if found else (404, {"message": "Not Found"})
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/releases/(\d+)", path):
            release = st.releases.get(int(m.group(1)))
            if release is None:
                return 404, {"message": "Not Found"}
            if method == "DELETE":
                for asset in release["assets"]:
                    st.asset_bytes.pop(asset["id"], None)
                del st.releases[release["id"]]
                return 204, None
            return 200, self._release_json(release)
        if m := re.fullmatch(r"/uploads/repos/[^/]+/[^/]+/releases/(\d+)/assets", path):
            release = st.releases.get(int(m.group(1)))
            name = query.get("name", [""])[0]
            if release is None or method != "POST":
                return 404, {"message": "Not Found"}
            if not name or any(a["name"] == name for a in release["assets"]):
                return 422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]}
            st.next_id += 1
            asset = {
                "id": st.next_id,
                "name": name,
                "size": len(body or b""),
                "content_type": headers.get("Content-Type", ""),
                "state": "uploaded",
            }
            release["assets"].append(asset)
            st.asset_bytes[asset["id"]] = bytes(body or b"")
            return 201, dict(asset)
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/releases/assets/(\d+)", path):
            asset_id = int(m.group(1))
            owner = next(
                (r for r in st.releases.values() if any(a["id"] == asset_id for a in r["assets"])), None
            )
            if owner is None:
                return 404, {"message": "Not Found"}
            if method == "DELETE":
                owner["assets"] = [a for a in owner["assets"] if a["id"] != asset_id]
                st.asset_bytes.pop(asset_id, None)
                return 204, None
            if headers.get("Accept") == "application/octet-stream":  # GitHub redirects to its storage
                return 302, {"__redirect__": f"{self.url}/storage/assets/{asset_id}"}
            return 200, next(dict(a) for a in owner["assets"] if a["id"] == asset_id)
        if m := re.fullmatch(r"/storage/assets/(\d+)", path):
            content = st.asset_bytes.get(int(m.group(1)))
            return (200, content) if content is not None else (404, {"message": "Not Found"})
        return None

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        st = self.state
        if "/releases" in path or path.startswith("/storage/"):
            routed = self._route_release(method, path, query, body, headers or {})
            if routed is not None:
                return routed
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", path):
            issue = int(m.group(1))
            if method == "GET":
                per_page = int(query.get("per_page", ["30"])[0])
                page = int(query.get("page", ["1"])[0])
                items = [c for c in st.comments.values() if c["issue_number"] == issue]
                return 200, items[(page - 1) * per_page : page * per_page]
            if method == "POST":
                return 201, self._new_comment(issue, body["body"], self.login)
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", path):
            comment = st.comments.get(int(m.group(1)))
            if comment is None:
                return 404, {"message": "Not Found"}
            if method == "PATCH":
                comment["body"] = body["body"]
                return 200, comment
            if method == "DELETE":
                del st.comments[comment["id"]]
                return 204, None
            return 200, comment
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/labels/([^/]+)", path):
            issue_obj = st.issues.setdefault(int(m.group(1)), {"number": int(m.group(1)), "labels": []})
            name = unquote(m.group(2))
            if method == "DELETE":
                before = issue_obj.get("labels", [])
                issue_obj["labels"] = [lbl for lbl in before if lbl["name"] != name]
                if len(before) == len(issue_obj["labels"]):
                    return 404, {"message": "Label does not exist"}
            return 200, issue_obj.get("labels", [])
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/labels", path):
            issue_obj = st.issues.setdefault(int(m.group(1)), {"number": int(m.group(1)), "labels": []})
            if method == "POST":
                names = body["labels"] if isinstance(body, dict) else body
                issue_obj["labels"] = [*issue_obj.get("labels", []), *({"name": n} for n in names)]
            return 200, issue_obj.get("labels", [])
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)", path):
            issue_obj = st.issues.get(int(m.group(1)))
            if issue_obj is None:
                return 404, {"message": "Not Found"}
            if method == "PATCH":
                issue_obj.update({k: v for k, v in body.items() if k != "labels"})
                if "labels" in body:
                    issue_obj["labels"] = [{"name": n} for n in body["labels"]]
            return 200, issue_obj
        if re.fullmatch(r"/repos/[^/]+/[^/]+/issues", path):
            if method == "POST":
                st.next_number += 1
                issue_obj = {
                    "number": st.next_number,
                    "title": body.get("title", ""),
                    "body": body.get("body", ""),
                    "state": "open",
                    "labels": [{"name": n} for n in body.get("labels", [])],
                    "user": {"login": self.login},
                }
                st.issues[st.next_number] = issue_obj
                return 201, issue_obj
            state = query.get("state", ["open"])[0]
            labels = set(filter(None, query.get("labels", [""])[0].split(",")))
            items = [
                i
                for i in st.issues.values()
                if (state == "all" or i.get("state") == state)
                and labels <= {lbl["name"] for lbl in i.get("labels", [])}
            ]
            return 200, items
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/commits/([0-9a-f]+)/pulls", path):
            return 200, [
                {"number": n, "merged_at": "2026-01-01T00:00:00Z"}
                for n in st.commit_pulls.get(m.group(1), [])
            ]
        if (settings := self._route_settings(method, path, body)) is not None:
            return settings
        if (pulls := self._route_pulls(method, path, query, body)) is not None:
            return pulls
        return 404, {"message": f"FakeGitHub has no route for {method} {path}"}

    def _route_pulls(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any] | None:
        """Pull requests: list (filtered by `head=owner:branch` and `state`), open, update."""
        st = self.state
        if re.fullmatch(r"/repos/[^/]+/[^/]+/pulls", path):
            if method == "POST":
                st.next_number += 1
                pull = {**body, "number": st.next_number, "state": "open", "head": {"ref": body["head"]}}
                st.pulls[st.next_number] = pull
                return 201, pull
            head = query.get("head", [""])[0].split(":")[-1]
            state = query.get("state", ["open"])[0]
            found = [
                p
                for p in st.pulls.values()
                if (not head or p["head"]["ref"] == head) and (state == "all" or p["state"] == state)
            ]
            return 200, found
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/pulls/(\d+)", path):
            pull = st.pulls.get(int(m.group(1)))
            if pull is None:
                return 404, {"message": "Not Found"}
            if method == "PATCH":
                pull.update(body)
            return 200, pull
        return None

    def _route_settings(self, method: str, path: str, body: Any) -> tuple[int, Any] | None:
        """Repository rulesets, environments (protection rules as GitHub returns them), users, teams."""
        st = self.state
        if re.fullmatch(r"/repos/[^/]+/[^/]+/rulesets", path):
            if method == "POST":
                st.next_id += 1
                st.rulesets[st.next_id] = {**body, "id": st.next_id, "source_type": "Repository"}
                return 201, st.rulesets[st.next_id]
            return 200, [
                {k: r[k] for k in ("id", "name", "target", "enforcement")} for r in st.rulesets.values()
            ]
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/rulesets/(\d+)", path):
            ruleset = st.rulesets.get(int(m.group(1)))
            if ruleset is None:
                return 404, {"message": "Not Found"}
            if method == "PUT":
                ruleset.clear()
                ruleset.update({**body, "id": int(m.group(1)), "source_type": "Repository"})
            return 200, ruleset
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/environments/([^/]+)", path):
            name = unquote(m.group(1))
            if method == "PUT":
                by_id = {a["id"]: a for a in st.accounts.values()}
                rules: list[dict[str, Any]] = []
                if body.get("wait_timer"):
                    rules.append({"type": "wait_timer", "wait_timer": body["wait_timer"]})
                if body.get("reviewers"):
                    rules.append(
                        {
                            "type": "required_reviewers",
                            "prevent_self_review": body.get("prevent_self_review", False),
                            "reviewers": [
                                {"type": r["type"], "reviewer": by_id.get(r["id"], {"id": r["id"]})}
                                for r in body["reviewers"]
                            ],
                        }
                    )
                st.environments[name] = {
                    "name": name,
                    "protection_rules": rules,
                    "deployment_branch_policy": body.get("deployment_branch_policy"),
                }
            if name not in st.environments:
                return 404, {"message": "Not Found"}
            return 200, st.environments[name]
        if m := re.fullmatch(r"/users/([^/]+)", path):
            account = st.accounts.get(unquote(m.group(1)))
            return (200, account) if account and "login" in account else (404, {"message": "Not Found"})
        if m := re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)", path):
            account = st.accounts.get(f"{m.group(1)}/{m.group(2)}")
            return (200, account) if account else (404, {"message": "Not Found"})
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                is_json = raw and not parts.path.startswith("/uploads/")
                body: Any = json.loads(raw) if is_json else (raw or None)
                with fake._lock:
                    if len(fake.requests) >= fake.max_requests:
                        status, payload, extra = 503, {"message": "FakeGitHub request budget spent"}, {}
                    else:
                        fake.requests.append(
                            Recorded(
                                self.command, parts.path, parse_qs(parts.query), body, dict(self.headers)
                            )
                        )
                        if fake.state.failures:
                            status, extra = fake.state.failures.pop(0)
                            payload = {"message": "scripted failure"}
                        else:
                            status, payload = fake._route(
                                self.command, parts.path, parse_qs(parts.query), body, dict(self.headers)
                            )
                            extra = {}
                            after = fake.state.failures_after
                            if after and after[0][0] == self.command:
                                status, payload = after.pop(0)[1], {"message": "saved, then failed"}
                content_type = "application/json"
                if isinstance(payload, dict) and "__redirect__" in payload:
                    extra, payload = {"Location": payload["__redirect__"]}, None
                if isinstance(payload, bytes):
                    data, content_type = payload, "application/octet-stream"
                else:
                    data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server naming

        return Handler
