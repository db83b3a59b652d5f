"""The registry of record in the repository itself (GitOps): GTO git tags and GitHub release assets.

Tags, in GTO's convention and written with the `gto` library:

    <model>@v<N>.0.0          annotated tag on the commit the model was built from: version N. Its
                              message holds the lineage as JSON (archive and model digests, eval result
                              digest, git SHA, pull request, DVC data hash, run id, lock file hash)
    <model>#<stage>#<K>       GTO stage assignment (K numbers the model's stage tags)
    <model>#<stage>!#<K>      GTO stage unassignment

Each promotion or rollback leaves exactly one version with an active assignment of the stage
(`production`): the new champion is assigned and the old one unassigned in one atomic push, so
`gto show`, `gto which` and `gto history` agree whichever order (semver or time) they use.

The GitHub release on the version tag holds the model's bytes and their digest as assets

    <model>-v<N>.0.0.tar.gz          the MLflow model folder, archived deterministically
    <model>-v<N>.0.0.tar.gz.sha256   its sha256 (`sha256sum` format)
    eval-gate.json                   the eval gate's result for that version (machine-readable; its
                                     sha256 is in the version tag as `eval_result_sha256`)

and, in its body, the promotion summary, the eval report and the model card.

Reading the champion (read-only, `contents: read`): fetch the model's tags from the remote (pruned, so
the clone sees exactly the remote's registry), read the stage with gto, download the archive, check its
sha256 against the `.sha256` asset AND the digest in the version tag (`champion-digest-mismatch`
otherwise), unpack it and check the model files' digest too. A version's eval result (`eval_result`,
for `mlgate live-performance`) is its `eval-gate.json` asset, checked against the tag's sha256.

Writing (`contents: write`): push the version tag, create the release and upload the assets, then push
the assignment tags atomically; a failure at any step undoes the earlier ones in reverse order
(`promotion-failed`), so the registry is as it was.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.gate import GateInputError
from mlgate.registry.record import (
    EVAL_RESULT_NAME,
    LINEAGE_PREFIX,
    Lineage,
    Move,
    NotesFor,
    RecordedEval,
    VersionInfo,
)

if TYPE_CHECKING:
    from mlgate.github import Runner
    from mlgate.registry.models import ModelHandle

GIT_TIMEOUT = 120
#: GTO orders events by their tag's time, to the second: a new stage event must be strictly later
CLOCK_WAIT_LIMIT = 3.0
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"


# ---------------------------------------------------------------------------------------------------------
# the model folder as one deterministic archive
# ---------------------------------------------------------------------------------------------------------


def pack_model(directory: Path) -> bytes:
    """The model folder as a .tar.gz whose bytes depend only on the files' paths and contents (sorted
    entries, zero times, owners and modes normalised, no gzip timestamp); MLflow's registration marker
    (`registered_model_meta`) is left out, as the model digest leaves it out."""
    from mlgate.registry.models import REGISTRY_FILES

    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in sorted(directory.rglob("*")):
            rel = path.relative_to(directory).as_posix()
            if rel in REGISTRY_FILES or path.is_symlink():
                continue
            info = tarfile.TarInfo(f"model/{rel}")
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif path.is_file():
                data = path.read_bytes()
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def unpack_model(archive: bytes, dest: Path) -> Path:
    """Unpack an archive written by `pack_model` into `dest`; returns the model folder."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")
    return dest / "model"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------------------
# git
# ---------------------------------------------------------------------------------------------------------


class GitError(RuntimeError):
    pass


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]}: {exc}") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise GitError(f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout.strip()


def local_fallback_reason(runner: Runner, repo: Path, remote: str) -> str | None:
    """Why a local run cannot use the GitHub registry (no git clone, no GitHub remote, no token), or
    None when it can."""
    try:
        url = git(repo, "remote", "get-url", remote)
    except GitError:
        return f"no git remote `{remote}`"
    if not runner.repository_of_remote(url):
        return f"remote `{remote}` is not on {runner.server_url}"
    if not runner.token:
        return "no GITHUB_TOKEN or GH_TOKEN"
    return None


def _registry_error(what: str, exc: Exception, reason: str = "registry-unreachable") -> GateInputError:
    return GateInputError(
        f"{what} failed ({str(exc).splitlines()[0][:240] if str(exc) else type(exc).__name__})",
        field="registry",
        fix="check the remote and that the token may read the repository (contents: read); "
        "promotion and rollback need contents: write",
        reason=reason,
    )


@dataclass
class Undo:
    """Steps taken so far and how to reverse each (newest first on `run()`)."""

    steps: list[tuple[str, Callable[[], Any]]] = field(default_factory=list)

    def add(self, what: str, action: Callable[[], Any]) -> None:
        self.steps.append((what, action))

    def run(self) -> list[str]:
        problems = []
        for what, action in reversed(self.steps):
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - keep undoing the rest, report what stuck
                problems.append(f"{what}: {exc}")
        self.steps.clear()
        return problems


# ---------------------------------------------------------------------------------------------------------
# the registry
# ---------------------------------------------------------------------------------------------------------


@dataclass
class GitTagRegistry:
    name: str
    stage: str
    repo: Path
    remote: str
    runner: Runner
    kind: str = "github"
    _fetched: bool = field(default=False, repr=False)

    @classmethod
    def open(
        cls, *, name: str, stage: str, remote: str, runner: Runner, repo: Path | None = None
    ) -> GitTagRegistry:
        repo = (repo or Path.cwd()).resolve()
        try:
            top = Path(git(repo, "rev-parse", "--show-toplevel"))
            url = git(top, "remote", "get-url", remote)
        except GitError as exc:
            raise GateInputError(
                f"the GitHub registry needs a git clone with the remote `{remote}` ({exc})",
                field="registry.remote",
                fix="run from the repository's checkout, or set `registry.backend: mlflow`",
            ) from None
        if not runner.repository:
            slug = runner.repository_of_remote(url)
            if not slug:
                raise GateInputError(
                    f"remote `{remote}` ({url}) is not a repository on {runner.server_url}",
                    field="registry.remote",
                    fix="name the remote of the GitHub repository in `registry.remote`",
                )
            runner = runner.for_repository(slug)
        return cls(name=name, stage=stage, repo=top, remote=remote, runner=runner)

    # -- names ----------------------------------------------------------------------------------------
    @property
    def where(self) -> str:
        return f"GTO tags and GitHub releases of {self.runner.repository} (`{self.name}#{self.stage}`)"

    def version_tag(self, version: str) -> str:
        return f"{self.name}@v{version}"

    def asset_name(self, version: str) -> str:
        return f"{self.name}-v{version}.tar.gz"

    def _refspecs(self) -> list[str]:
        return [f"+refs/tags/{self.name}{sep}*:refs/tags/{self.name}{sep}*" for sep in ("@", "#")]

    # -- git with the token ---------------------------------------------------------------------------
    def _git(self, *args: str) -> str:
        return git(self.repo, *args, env=self.runner.git_auth_env())

    def sync(self) -> None:
        """Make the clone's tags of this model exactly the remote's (fetched, pruned) — once."""
        if self._fetched:
            return
        shallow = git(self.repo, "rev-parse", "--is-shallow-repository") == "true"
        try:
            self._git(
                "fetch",
                "--quiet",
                "--prune",
                "--no-tags",
                *(["--depth=1"] if shallow else []),
                self.remote,
                *self._refspecs(),
            )
        except GitError as exc:
            raise _registry_error(f"fetching the registry's tags from `{self.remote}`", exc) from None
        self._fetched = True

    def _push(self, *refs: str) -> None:
        self._git("push", "--atomic", "--quiet", self.remote, *(f"refs/tags/{r}" for r in refs))

    def _delete_remote(self, *refs: str) -> None:
        self._git("push", "--atomic", "--quiet", self.remote, *(f":refs/tags/{r}" for r in refs))

    def _delete_local(self, *refs: str) -> None:
        for ref in refs:
            git(self.repo, "tag", "-d", ref)

    # -- reading --------------------------------------------------------------------------------------
    def _versions(self) -> list[dict[str, Any]]:
        """Every registered version of the model as `gto show <model>` lists it (none yet: empty)."""
        import gto.api
        from gto.exceptions import ArtifactNotFound

        try:
            return list(gto.api.show(str(self.repo), self.name))
        except ArtifactNotFound:
            return []

    def champion_version(self) -> str | None:
        """The version `gto show` lists in the stage (the one with the active assignment)."""
        import gto.api

        self.sync()
        state = gto.api.show(str(self.repo))
        held = ((state.get(self.name) or {}).get("stage") or {}).get(self.stage)
        return str(held).removeprefix("v") if held else None

    def stage_history(self) -> list[str]:
        """Versions assigned the stage, newest assignment first (as `gto history` lists them)."""
        import gto.api

        self.sync()
        events = gto.api.history(str(self.repo), self.name)
        return [
            str(e["version"]).removeprefix("v")
            for e in events
            if e.get("event") == "assignment" and e.get("stage") == self.stage
        ]

    def previous_version(self) -> str | None:
        current = self.champion_version()
        return next((v for v in self.stage_history() if v != current), None)

    def record(self, version: str) -> dict[str, str]:
        """The lineage recorded in the version tag's message (empty when it has none)."""
        try:
            message = git(self.repo, "tag", "-l", "--format=%(contents)", self.version_tag(version))
        except GitError:
            return {}
        start = message.find("{")
        try:
            loaded = json.loads(message[start:]) if start >= 0 else {}
        except json.JSONDecodeError:
            return {}
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}

    def _release(self, version: str) -> dict[str, Any] | None:
        from mlgate.github import GitHubAPIError

        try:
            return self.runner.release_by_tag(self.version_tag(version))
        except GitHubAPIError as exc:
            raise _registry_error(f"reading the release of {self.version_tag(version)}", exc) from None

    def download(self, version: str) -> bytes:
        """The archive of `version`, checked against its `.sha256` asset and the version tag's digest."""
        from mlgate.github import GitHubAPIError

        tag = self.version_tag(version)
        release = self._release(version)
        assets = {a.get("name"): a for a in (release or {}).get("assets", [])}
        archive_name = self.asset_name(version)
        if archive_name not in assets or f"{archive_name}.sha256" not in assets:
            raise GateInputError(
                f"the release of {tag} has no {archive_name} and {archive_name}.sha256 assets",
                field="registry",
                fix="re-run the promotion (cd.yml) or roll back to a version with a complete release",
                reason="registry-unreachable",
            )
        try:
            data = self.runner.download_release_asset(assets[archive_name])
            listed = self.runner.download_release_asset(assets[f"{archive_name}.sha256"]).decode(
                errors="replace"
            )
        except GitHubAPIError as exc:
            raise _registry_error(f"downloading {archive_name}", exc) from None
        actual = sha256_hex(data)
        expected = {
            f"{archive_name}.sha256": (listed.split() or [""])[0].lower(),
            f"the tag {tag}": self.record(version).get("archive_sha256", ""),
        }
        for source, digest in expected.items():
            if digest != actual:
                raise GateInputError(
                    f"the champion's bytes do not match the digest in {source} (expected "
                    f"{digest[:16] or 'none'}…, downloaded {actual[:16]}…): refusing to use it",
                    file=archive_name,
                    field="registry",
                    fix="re-upload the version's assets from its promotion run, or roll back",
                    reason="champion-digest-mismatch",
                )
        return data

    def open_champion(self) -> ModelHandle | None:
        from mlgate.registry.models import model_files_digest, open_model

        version = self.champion_version()
        if version is None:
            return None
        data = self.download(version)
        folder = unpack_model(data, Path(tempfile.mkdtemp(prefix="mlgate-champion-")))
        recorded = self.record(version).get("model_digest", "")
        if recorded and recorded != model_files_digest(folder):
            raise GateInputError(
                "the champion's model files do not match the model digest in its version tag",
                file=self.asset_name(version),
                field="registry",
                fix="re-upload the version's assets from its promotion run, or roll back",
                reason="champion-digest-mismatch",
            )
        handle = open_model(str(folder), field_name="baseline")
        handle.ref = f"{self.version_tag(version)} ({self.runner.repository})"
        handle.name, handle.version = self.name, version
        return handle

    def eval_result(self, version: str) -> RecordedEval:
        """The `eval-gate.json` asset of the version's release and what its tag records of it (checked by
        the reader, `mlgate.monitor.live_evals`)."""
        from mlgate.github import GitHubAPIError

        self.sync()
        tag = self.version_tag(version)
        source = f"{EVAL_RESULT_NAME} on the release of {tag} ({self.runner.repository})"
        if not git(self.repo, "tag", "-l", tag):
            return RecordedEval(version, source, None, missing=f"no version tag {tag} in the registry")
        record = self.record(version)
        release = self._release(version)
        assets = (release or {}).get("assets", [])
        asset = next((a for a in assets if a.get("name") == EVAL_RESULT_NAME), None)
        if asset is None:
            return RecordedEval(
                version,
                source,
                None,
                missing=f"the release of {tag} has no {EVAL_RESULT_NAME} asset (published before eval "
                "results were recorded, or its release is gone)",
            )
        if not record.get("eval_result_sha256"):
            # promote writes the asset and its sha256 in the tag together: an asset the tag does not vouch
            # for was added later by someone else, and its bytes cannot be checked
            return RecordedEval(
                version,
                source,
                None,
                missing=f"the tag {tag} records no eval_result_sha256 for its {EVAL_RESULT_NAME} asset: "
                "the asset cannot be verified",
            )
        try:
            data = self.runner.download_release_asset(asset)
        except GitHubAPIError as exc:
            raise _registry_error(f"downloading {EVAL_RESULT_NAME} of {tag}", exc) from None
        return RecordedEval(
            version,
            source,
            data,
            expected_digest=record.get("eval_result_digest", ""),
            expected_sha256=record.get("eval_result_sha256", ""),
        )

    def version_info(self, version: str | None) -> VersionInfo:
        chosen = version or self.champion_version()
        if chosen is None:
            raise GateInputError(
                f"model {self.name!r} has no version in stage `{self.stage}` yet",
                field="--version",
                fix="promote a model first (mlgate promote) or pass --version",
            )
        self.sync()
        found = next((v for v in self._versions() if str(v["version"]) == f"v{chosen}"), None)
        if found is None:
            raise GateInputError(
                f"version v{chosen} of {self.name!r} is not registered (no tag {self.version_tag(chosen)})",
                field="--version",
                fix="pass a registered version (gto show " + self.name + ")",
            )
        record = self.record(chosen)
        created = found.get("created_at")
        return VersionInfo(
            name=self.name,
            version=chosen,
            stages=[self.stage] if self.champion_version() == chosen else [],
            tags={f"{LINEAGE_PREFIX}{k}": v for k, v in record.items()},
            run_id=record.get("run_id", ""),
            created=created.isoformat(timespec="seconds")
            if isinstance(created, datetime)
            else str(created or ""),
            description=f"git tag {self.version_tag(chosen)}; assets on its GitHub release",
        )

    # -- writing --------------------------------------------------------------------------------------
    def _author(self) -> tuple[str, str]:
        try:
            name = git(self.repo, "config", "user.name")
            email = git(self.repo, "config", "user.email")
        except GitError:
            return BOT_NAME, BOT_EMAIL
        return (name, email) if name and email else (BOT_NAME, BOT_EMAIL)

    def _wait_for_a_later_second(self) -> None:
        """GTO orders a model's events by tag time in seconds: wait until now is past the newest one."""
        stamps = git(
            self.repo,
            "for-each-ref",
            "--format=%(taggerdate:unix)",
            f"refs/tags/{self.name}@*",
            f"refs/tags/{self.name}#*",
        ).split()
        newest = max((int(s) for s in stamps if s.isdigit()), default=0)
        deadline = time.monotonic() + CLOCK_WAIT_LIMIT
        while int(time.time()) <= newest:
            if time.monotonic() > deadline:
                raise GitError(
                    f"the newest registry tag is dated {datetime.fromtimestamp(newest, UTC).isoformat()}, "
                    "in the future of this machine's clock"
                )
            time.sleep(0.05)

    def _move_stage(self, version: str, undo: Undo) -> list[str]:
        """Assign the stage to `version` and unassign it from every other version holding it; push the
        new tags in one atomic push. Returns the tags written."""
        import gto.api

        author, email = self._author()
        holders = [v for v in self._stage_holders() if v != version]
        before = set(git(self.repo, "tag", "-l", f"{self.name}#*").split())
        self._wait_for_a_later_second()
        for old in holders:
            gto.api.unassign(
                str(self.repo),
                self.name,
                stage=self.stage,
                version=f"v{old}",
                message=f"mlgate: {self.name} v{old} leaves {self.stage} (v{version} takes over)",
                author=author,
                author_email=email,
            )
        gto.api.assign(
            str(self.repo),
            self.name,
            self.stage,
            version=f"v{version}",
            force=True,
            message=f"mlgate: {self.name} v{version} is the {self.stage} model",
            author=author,
            author_email=email,
        )
        written = sorted(set(git(self.repo, "tag", "-l", f"{self.name}#*").split()) - before)
        undo.add("delete the local stage tags", lambda: self._delete_local(*written))
        self._push(*written)
        undo.add("delete the pushed stage tags", lambda: self._delete_remote(*written))
        return written

    def _stage_holders(self) -> list[str]:
        """Every version whose latest event in the stage is an assignment (normally one)."""
        holders = []
        for v in self._versions():
            events = sorted(
                [
                    ("a", s)
                    for st in v.get("stages", [])
                    if st.get("stage") == self.stage
                    for s in st.get("assignments", [])
                ]
                + [
                    ("u", s)
                    for st in v.get("stages", [])
                    if st.get("stage") == self.stage
                    for s in st.get("unassignments", [])
                ],
                key=lambda e: e[1]["created_at"],
            )
            if events and events[-1][0] == "a":
                holders.append(str(v["version"]).removeprefix("v"))
        return holders

    def _existing_version(self, digest: str) -> str | None:
        for v in self._versions():
            version = str(v["version"]).removeprefix("v")
            if self.record(version).get("model_digest") == digest:
                return version
        return None

    def _next_version(self) -> str:
        majors = []
        for v in self._versions():
            head = str(v["version"]).removeprefix("v").split(".", 1)[0]
            if head.isdigit():
                majors.append(int(head))
        return f"{max(majors, default=0) + 1}.0.0"

    def _publish(
        self,
        version: str,
        handle: ModelHandle,
        lineage: Lineage,
        notes: NotesFor,
        undo: Undo,
        *,
        eval_result: bytes | None,
    ) -> None:
        """Version tag (pushed), release with the archive, its digest and the eval result as assets."""
        import gto.api

        archive = pack_model(handle.local_path)
        digest = sha256_hex(archive)
        tag = self.version_tag(version)
        commit = lineage.git_sha or git(self.repo, "rev-parse", "HEAD")
        record = {
            **{k.removeprefix(LINEAGE_PREFIX): v for k, v in lineage.tags().items()},
            "archive_sha256": digest,
            "model_digest": handle.digest,
            **({"eval_result_sha256": sha256_hex(eval_result)} if eval_result is not None else {}),
        }
        author, email = self._author()
        gto.api.register(
            str(self.repo),
            self.name,
            commit,
            version=f"v{version}",
            message=f"mlgate: {self.name} v{version}\n\n{json.dumps(record, indent=2, sort_keys=True)}\n",
            author=author,
            author_email=email,
        )
        undo.add(f"delete the local tag {tag}", lambda: self._delete_local(tag))
        self._push(tag)
        undo.add(f"delete the pushed tag {tag}", lambda: self._delete_remote(tag))
        release = self.runner.create_release(
            tag=tag,
            name=f"{self.name} v{version}",
            summary=f"## {self.name} v{version}\n\n"
            f"Model archive `{self.asset_name(version)}` (sha256 `{digest}`).",
            details=notes(version),
        )
        undo.add(f"delete the release of {tag}", lambda: self.runner.delete_release(int(release["id"])))
        name = self.asset_name(version)
        self.runner.upload_release_asset(release, name=name, data=archive, content_type="application/gzip")
        self.runner.upload_release_asset(
            release, name=f"{name}.sha256", data=f"{digest}  {name}\n".encode(), content_type="text/plain"
        )
        if eval_result is not None:
            self.runner.upload_release_asset(
                release, name=EVAL_RESULT_NAME, data=eval_result, content_type="application/json"
            )

    def _transaction(self, what: str, work: Callable[[Undo], Move]) -> Move:
        from mlgate.github import GitHubAPIError

        undo = Undo()
        try:
            return work(undo)
        except GateInputError as exc:
            stuck = undo.run()
            exc.problem += _restored(stuck)
            exc.reason = "promotion-failed" if exc.reason == "invalid-input" else exc.reason
            raise
        except (GitError, GitHubAPIError, OSError) as exc:
            stuck = undo.run()
            raise GateInputError(
                f"{what} failed ({str(exc).splitlines()[0][:240]})" + _restored(stuck),
                field="registry",
                fix="fix the cause (token permissions: contents: write) and re-run",
                reason="promotion-failed",
            ) from None
        except Exception as exc:  # noqa: BLE001 - gto and friends raise their own types: undo, then one line
            stuck = undo.run()
            raise GateInputError(
                f"{what} failed ({type(exc).__name__}: {str(exc).splitlines()[0][:240] if str(exc) else ''})"
                + _restored(stuck),
                field="registry",
                fix="fix the cause and re-run",
                reason="promotion-failed",
            ) from None

    def promote(
        self,
        handle: ModelHandle,
        candidate: str,
        lineage: Lineage,
        notes: NotesFor,
        eval_result: bytes | None = None,
    ) -> Move:
        self.sync()

        def work(undo: Undo) -> Move:
            current = self.champion_version()
            version = self._existing_version(handle.digest)
            if version is not None and version == current:
                return Move(version, self.previous_version(), changed=False)
            if version is None:
                version = self._next_version()
                self._publish(version, handle, lineage, notes, undo, eval_result=eval_result)
            self._move_stage(version, undo)
            return Move(
                version,
                current,
                changed=True,
                details_md=f"Release: {self.runner.server_url}/{self.runner.repository}/releases/tag/"
                f"{self.version_tag(version).replace('#', '%23')}",
                data={"tag": self.version_tag(version)},
            )

        return self._transaction("promotion", work)

    def rollback(self) -> Move:
        self.sync()
        current = self.champion_version()
        previous = self.previous_version()
        if previous is None:
            raise GateInputError(
                f"model {self.name!r} has no earlier version in stage `{self.stage}`",
                field="--rollback",
                fix="promote at least twice before rolling back (gto history " + self.name + ")",
                reason="no-previous",
            )

        def work(undo: Undo) -> Move:
            self._move_stage(previous, undo)
            return Move(previous, current, changed=True)

        return self._transaction("rollback", work)


def _restored(stuck: list[str]) -> str:
    return f"; could NOT undo: {'; '.join(stuck)}" if stuck else "; registry restored to its previous state"
