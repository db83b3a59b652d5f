"""The MLflow registry as registry of record: the champion is `<model>@<alias>` (default `champion`).

- promote: register the candidate when it is not a version yet (a version tagged with the same model
  digest is reused), tag it with lineage (`mlgate.*`), move `previous` to the old champion and the
  alias to the new one; every change goes through `RegistryTransaction`, so a failure undoes them all.
- rollback: the alias back to `previous`, `previous` to the demoted version, in one step.
- open_champion: download the champion and check its files against the `mlgate.model_digest` tag
  written at promotion (`champion-digest-mismatch` when they differ).
- eval result: promote logs the eval gate's `eval-gate.json` as an artifact of the version's run
  (`mlgate/eval-gate.json`; a version without a run gets a run of its own) and tags the version with its
  URI (`mlgate.eval_result`); `eval_result()` reads it back. An artifact, not run metrics: the document
  keeps the digests that tie it to the version (metrics would not), and the training run's own metrics of
  the same names (measured on validation data) stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    from mlgate.registry.models import ModelHandle

PREVIOUS = "previous"
#: the version tag naming the artifact that holds its eval result
EVAL_RESULT_TAG = f"{LINEAGE_PREFIX}eval_result"


def log_eval_result(name: str, version: str, run_id: str, document: bytes) -> str:
    """Log `document` as `mlgate/eval-gate.json` of the version's run (a run of its own when the version
    has none); returns the artifact's URI."""
    import mlflow

    from mlgate.registry.models import with_retries

    client = mlflow.MlflowClient()
    if not run_id:
        with mlflow.start_run(run_name=f"eval-gate {name} v{version}") as run:
            run_id = run.info.run_id
    text = document.decode("utf-8")
    with_retries(
        "logging the eval result",
        lambda: client.log_text(run_id, text, f"mlgate/{EVAL_RESULT_NAME}"),
    )
    return f"runs:/{run_id}/mlgate/{EVAL_RESULT_NAME}"


@dataclass
class RegistryTransaction:
    """Applies registry changes and remembers how to undo each; `rollback()` reverses them in order."""

    name: str
    undo: list[tuple[str, Callable[[], Any]]] = field(default_factory=list)

    def _client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient()

    def set_alias(self, alias: str, version: str) -> None:
        from mlgate.registry.models import alias_version, with_retries

        before = alias_version(self.name, alias)
        client = self._client()
        with_retries("setting an alias", lambda: client.set_registered_model_alias(self.name, alias, version))
        if before is None:
            self.undo.append(
                (f"delete alias {alias}", lambda: client.delete_registered_model_alias(self.name, alias))
            )
        else:
            self.undo.append(
                (
                    f"alias {alias} -> v{before}",
                    lambda: client.set_registered_model_alias(self.name, alias, before),
                )
            )

    def set_tag(self, version: str, key: str, value: str) -> None:
        from mlgate.registry.models import with_retries

        client = self._client()
        old = dict(client.get_model_version(self.name, version).tags).get(key)
        with_retries(
            "tagging the version", lambda: client.set_model_version_tag(self.name, version, key, value)
        )
        if old is None:
            self.undo.append(
                (f"delete tag {key}", lambda: client.delete_model_version_tag(self.name, version, key))
            )
        else:
            self.undo.append(
                (f"tag {key}", lambda: client.set_model_version_tag(self.name, version, key, old))
            )

    def created_version(self, version: str) -> None:
        client = self._client()
        self.undo.append((f"delete v{version}", lambda: client.delete_model_version(self.name, version)))

    def rollback(self) -> list[str]:
        """Undo everything, newest first; returns what could not be undone (empty when all went back)."""
        problems = []
        for what, action in reversed(self.undo):
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - keep undoing the rest, report what stuck
                problems.append(f"{what}: {exc}")
        self.undo.clear()
        return problems


def restored_note(stuck: list[str]) -> str:
    return f"; could NOT undo: {'; '.join(stuck)}" if stuck else "; registry restored to its previous state"


def _register(name: str, handle: ModelHandle, candidate: str) -> tuple[str, str, bool]:
    """(version, run_id, created) for the candidate under `name`; logs a local folder to a run first.

    A version already tagged with the same model digest is reused (re-running a workflow is idempotent)."""
    import mlflow

    from mlgate.registry.models import is_local_model, open_model, registered_version_of, with_retries

    client = mlflow.MlflowClient()
    if handle.name == name and handle.version:
        version = handle.version
        mv = with_retries("reading the registry", lambda: client.get_model_version(name, version))
        return str(mv.version), str(mv.run_id or ""), False
    # the same files registered before (a re-run of the workflow): reuse that version, don't add another
    existing = with_retries("reading the registry", lambda: client.search_model_versions(f"name='{name}'"))
    for mv in existing:
        if dict(mv.tags).get(f"{LINEAGE_PREFIX}model_digest") == handle.digest:
            return str(mv.version), str(mv.run_id or ""), False
    # a folder downloaded from the registry (training registered it) names its version: reuse it when
    # that version's files are exactly these files
    known = registered_version_of(handle.local_path)
    if known is not None and known[0] == name:
        try:
            same = open_model(f"models:/{name}/{known[1]}").digest == handle.digest
        except GateInputError:
            same = False
        if same:
            mv = with_retries("reading the registry", lambda: client.get_model_version(name, known[1]))
            return str(mv.version), str(mv.run_id or ""), False
    if is_local_model(candidate):
        with mlflow.start_run(run_name=f"promote {name}") as run:
            mlflow.log_artifacts(str(handle.local_path), "model")
        source = f"runs:/{run.info.run_id}/model"
    else:
        source = candidate
    mv = register_once(client, source, name)
    return str(mv.version), str(getattr(mv, "run_id", "") or ""), True


def register_once(client: Any, source: str, name: str) -> Any:
    """`mlflow.register_model(source, name)`, retried only when the failed attempt did not land.

    A register call can fail after the registry saved the version (a lost response); retrying blindly
    would add a second version of the same files. Before each retry the versions created since the first
    attempt are searched for this source (or this run): one found is the version the attempt created.
    """
    import mlflow

    from mlgate.registry.models import with_retries

    def versions() -> list[Any]:
        try:
            return list(client.search_model_versions(f"name='{name}'"))
        except mlflow.exceptions.MlflowException as exc:
            if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                return []
            raise

    before = {str(mv.version) for mv in with_retries("reading the registry", versions)}
    run_id = source.split("/")[1] if source.startswith("runs:/") else ""
    attempted = False

    def attempt() -> Any:
        nonlocal attempted
        if attempted:
            for mv in versions():
                same = mv.source == source or (run_id and mv.run_id == run_id)
                if str(mv.version) not in before and same:
                    return mv
        attempted = True
        return mlflow.register_model(source, name)

    return with_retries("registering the model", attempt)


@dataclass
class MlflowAliasRegistry:
    name: str
    alias: str
    kind: str = "mlflow"

    @property
    def where(self) -> str:
        from mlgate.registry.models import tracking_uri

        return f"MLflow registry at {tracking_uri()} (`{self.name}@{self.alias}`)"

    def champion_version(self) -> str | None:
        from mlgate.registry.models import alias_version

        return alias_version(self.name, self.alias)

    def open_champion(self) -> ModelHandle | None:
        from mlflow import MlflowClient

        from mlgate.registry.models import open_model, with_retries

        version = self.champion_version()
        if version is None:
            return None
        handle = open_model(f"models:/{self.name}@{self.alias}", field_name="baseline")
        client = MlflowClient()
        tags = with_retries("reading the registry", lambda: client.get_model_version(self.name, version)).tags
        recorded = dict(tags).get(f"{LINEAGE_PREFIX}model_digest")
        if recorded and recorded != handle.digest:
            raise GateInputError(
                f"the champion's files do not match the digest recorded at promotion "
                f"(recorded {recorded[:16]}…, downloaded {handle.digest[:16]}…): refusing to compare "
                "against a model that is not the one promoted",
                file=f"models:/{self.name}/{version}",
                field=f"{LINEAGE_PREFIX}model_digest",
                fix="restore the version's artifacts or promote a new champion",
                reason="champion-digest-mismatch",
            )
        return handle

    def promote(
        self,
        handle: ModelHandle,
        candidate: str,
        lineage: Lineage,
        notes: NotesFor,
        eval_result: bytes | None = None,
    ) -> Move:
        from mlgate.registry.models import alias_version

        name, alias = self.name, self.alias
        tx = RegistryTransaction(name)
        try:
            version, run_id, created = _register(name, handle, candidate)
            if created:
                tx.created_version(version)
            old = alias_version(name, alias)
            if old == version:
                return Move(version, alias_version(name, PREVIOUS), changed=False)
            lineage.run_id = lineage.run_id or run_id
            for key, value in lineage.tags().items():
                tx.set_tag(version, key, value)
            if eval_result is not None:
                tx.set_tag(version, EVAL_RESULT_TAG, log_eval_result(name, version, run_id, eval_result))
            if old is not None:
                tx.set_alias(PREVIOUS, old)
            tx.set_alias(alias, version)
            tx.set_tag(
                version, f"{LINEAGE_PREFIX}promoted_at", datetime.now(UTC).isoformat(timespec="seconds")
            )
        except GateInputError as exc:
            stuck = tx.rollback()
            exc.problem += restored_note(stuck)
            if exc.reason == "invalid-input":
                exc.reason = "promotion-failed"
            raise
        except Exception as exc:  # noqa: BLE001 - any registry error: undo, then one clear line
            stuck = tx.rollback()
            raise GateInputError(
                f"promotion failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
                + restored_note(stuck),
                fix="fix the cause and re-run; the registry is unchanged",
                reason="promotion-failed",
            ) from None
        return Move(version, old, changed=True)

    def rollback(self) -> Move:
        from mlgate.registry.models import alias_version

        name, alias = self.name, self.alias
        previous = alias_version(name, PREVIOUS)
        current = alias_version(name, alias)
        if previous is None:
            raise GateInputError(
                f"model {name!r} has no `{PREVIOUS}` alias",
                field="--rollback",
                fix="promote at least twice before rolling back, or set the alias by hand",
                reason="no-previous",
            )
        tx = RegistryTransaction(name)
        try:
            tx.set_alias(alias, previous)
            if current is not None:
                tx.set_alias(PREVIOUS, current)
                tx.set_tag(
                    current,
                    f"{LINEAGE_PREFIX}rolled_back_at",
                    datetime.now(UTC).isoformat(timespec="seconds"),
                )
        except Exception as exc:  # noqa: BLE001 - undo, then one clear line
            stuck = tx.rollback()
            raise GateInputError(
                f"rollback failed ({type(exc).__name__})" + restored_note(stuck),
                fix="re-run when the registry is reachable",
                reason="promotion-failed",
            ) from None
        return Move(previous, current, changed=True)

    def eval_result(self, version: str) -> RecordedEval:
        """The artifact the version's `mlgate.eval_result` tag names (read-only)."""
        import tempfile
        from pathlib import Path

        import mlflow
        from mlflow.exceptions import MlflowException

        from mlgate.registry.models import tracking_uri, with_retries

        client = mlflow.MlflowClient()
        where = f"models:/{self.name}/{version} at {tracking_uri()}"
        try:
            mv = with_retries("reading the registry", lambda: client.get_model_version(self.name, version))
        except MlflowException as exc:
            return RecordedEval(version, where, None, missing=f"not a registered version ({exc.error_code})")
        tags = dict(mv.tags)
        uri = tags.get(EVAL_RESULT_TAG, "")
        if not uri:
            return RecordedEval(
                version,
                where,
                None,
                missing=f"the version has no `{EVAL_RESULT_TAG}` tag (promoted before eval results were "
                "recorded, or not by mlgate promote)",
            )
        with tempfile.TemporaryDirectory(prefix="mlgate-eval-result-") as tmp:
            try:
                local = with_retries(
                    "downloading the eval result",
                    lambda: mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp),
                )
                data = Path(local).read_bytes()
            except (MlflowException, OSError) as exc:
                return RecordedEval(
                    version, uri, None, missing=f"its artifact cannot be read ({type(exc).__name__})"
                )
        return RecordedEval(
            version, uri, data, expected_digest=tags.get(f"{LINEAGE_PREFIX}eval_result_digest", "")
        )

    def version_info(self, version: str | None) -> VersionInfo:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        from mlgate.registry.models import with_retries

        chosen = version or self.champion_version()
        if chosen is None:
            raise GateInputError(
                f"model {self.name!r} has no `{self.alias}` alias yet",
                field="--version",
                fix="promote a model first (mlgate promote) or pass --version",
            )
        client = MlflowClient()
        try:
            mv = with_retries("reading the registry", lambda: client.get_model_version(self.name, chosen))
            model = with_retries("reading the registry", lambda: client.get_registered_model(self.name))
        except MlflowException as exc:
            raise GateInputError(
                f"version {chosen} of {self.name!r} not found ({exc.error_code})",
                field="--version",
                fix="pass a registered version",
            ) from None
        created = (
            datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC).isoformat(timespec="seconds")
            if mv.creation_timestamp
            else ""
        )
        return VersionInfo(
            name=self.name,
            version=str(mv.version),
            stages=[alias for alias, v in model.aliases.items() if str(v) == str(mv.version)],
            tags=dict(mv.tags),
            run_id=str(mv.run_id or ""),
            created=created,
            description=str(mv.description or ""),
        )
