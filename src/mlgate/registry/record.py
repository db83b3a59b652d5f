"""The registry of record: where the champion lives, behind one interface for every model command.

`mlgate eval-gate` reads the champion, `mlgate promote` publishes a gated version and assigns it the
production stage (or rolls back to the previous version), `mlgate model-card` describes a version —
against either backend, chosen by the `registry` section of mlgate.yaml:

    registry:
      backend: github     # GTO git tags + GitHub release assets, in the repository itself (GitOps)
      # backend: mlflow   # MLflow registry aliases (a tracking server shared by every job)
      stage: production   # the GTO stage of the champion (github backend)

- `github` (`gitops`): versions and stage assignments are git tags in GTO's convention, the model
  bytes and their sha256 are assets of the GitHub release on the version tag. Outside GitHub Actions,
  when the clone has no GitHub remote or no token (`GITHUB_TOKEN` / `GH_TOKEN`), the commands fall back
  to the local MLflow registry (`MLFLOW_TRACKING_URI`) and say so; in Actions they never fall back.
- `mlflow` (`mlflow_aliases`): the `eval.baseline_alias` alias (`champion`) and `previous`.

Each published version also holds the eval gate's result for it (`eval_result`, `EVAL_RESULT_NAME`),
which `mlgate live-performance` reads back. Every command prints which registry it used
(`RegistryOfRecord.where`). This module holds the interface and the shared types;
`mlgate.registry.backend.open_registry()` picks and opens the backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mlgate.registry.models import ModelHandle

LINEAGE_PREFIX = "mlgate."
#: the eval gate's result as stored with a published version: a GitHub release asset (github backend), an
#: artifact of the version's run under `mlgate/` (mlflow backend)
EVAL_RESULT_NAME = "eval-gate.json"


@dataclass
class Lineage:
    git_sha: str = ""
    pr_number: str = ""
    dvc_data_hash: str = ""
    run_id: str = ""
    lock_hash: str = ""
    eval_result_digest: str = ""
    model_digest: str = ""

    def tags(self) -> dict[str, str]:
        return {f"{LINEAGE_PREFIX}{k}": v for k, v in self.__dict__.items() if v}


@dataclass
class Move:
    """What a promotion or rollback did: the champion now, the one before it, and where to see it."""

    version: str
    previous: str | None
    changed: bool
    details_md: str = ""
    data: dict[str, object] = field(default_factory=dict)


@dataclass
class VersionInfo:
    """One registered version as the model card describes it."""

    name: str
    version: str
    stages: list[str]
    tags: dict[str, str]
    run_id: str = ""
    created: str = ""
    description: str = ""


@dataclass
class RecordedEval:
    """A version's eval-gate result as its registry record holds it (read-only).

    `document` is None when the record holds none (`missing` says why: a version published before results
    were recorded, or no such version); `expected_digest` is the eval result digest recorded with the
    version at promotion (`mlgate.eval_result_digest`), which the document's `data.digest.combined` must
    equal for it to be that version's result; `expected_sha256` (github backend: the version tag's
    `eval_result_sha256`) is the document's own sha256 as published, when the record holds one.
    """

    version: str
    source: str
    document: bytes | None
    expected_digest: str = ""
    expected_sha256: str = ""
    missing: str = ""


#: version -> Markdown for the release notes (the eval report and the model card of that version)
NotesFor = Callable[[str], str]


class RegistryOfRecord(Protocol):
    kind: str

    @property
    def where(self) -> str: ...

    def champion_version(self) -> str | None: ...

    def open_champion(self) -> ModelHandle | None: ...

    def promote(
        self,
        handle: ModelHandle,
        candidate: str,
        lineage: Lineage,
        notes: NotesFor,
        eval_result: bytes | None = None,
    ) -> Move: ...

    def eval_result(self, version: str) -> RecordedEval: ...

    def rollback(self) -> Move: ...

    def version_info(self, version: str | None) -> VersionInfo: ...
