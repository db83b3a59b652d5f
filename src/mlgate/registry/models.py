"""The MLflow model registry as the model gates see it: load a model, resolve an alias, hash a model.

Shared by `mlgate eval-gate`, `mlgate promote` and `mlgate model-card`. MLflow is imported lazily inside
each function (it costs ~10 s), so importing this module is cheap.

- A *model reference* is an MLflow model URI (`models:/name/3`, `models:/name@champion`, `runs:/id/model`,
  `models:/m-…`) or a local MLflow model directory (a folder with an `MLmodel` file).
- The *model digest* is a sha256 over the model's files (relative path + content), with the volatile
  metadata in `MLmodel` (`utc_time_created`, `model_uuid`, `run_id`, `model_id`, `artifact_path`)
  and the `registered_model_meta` file MLflow adds on registration removed, so the same trained model
  has the same digest whether it sits in a local folder, in a run's
  artifacts or behind a registry version.
- Registry calls are retried a bounded number of times (3, with MLflow's own HTTP retries capped at 1
  and a 30 s timeout unless `MLFLOW_HTTP_REQUEST_*` say otherwise); then a `GateInputError` with reason
  `registry-unreachable` names the tracking URI.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from mlgate.gate import GateInputError

#: libyaml's safe loader when installed (same objects as `yaml.safe_load`, ~10x faster)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

T = TypeVar("T")

#: keys of `MLmodel` that change every time the same model is saved or logged
VOLATILE_MLMODEL_KEYS = ("utc_time_created", "model_uuid", "run_id", "model_id", "artifact_path")
#: files MLflow adds next to a model when it is registered (not part of the trained model)
REGISTRY_FILES = frozenset({"registered_model_meta"})
REGISTRY_ATTEMPTS = 3


def is_local_model(ref: str) -> bool:
    return "://" not in ref and not ref.startswith(("models:", "runs:"))


def tracking_uri() -> str:
    import mlflow

    return str(mlflow.get_tracking_uri())


def with_retries(
    what: str, call: Callable[[], T], *, attempts: int = REGISTRY_ATTEMPTS, delay: float = 0.5
) -> T:
    """Run a registry call; retry connection-like failures, then raise `registry-unreachable`.

    MLflow's "not found" and "invalid parameter" answers are returned to the caller at once (they are
    answers, not outages).
    """
    from mlflow.exceptions import MlflowException

    # MLflow's own HTTP retries (7, exponential backoff) would multiply ours into many minutes
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            return call()
        except MlflowException as exc:
            code = getattr(exc, "error_code", "")
            if code in {
                "RESOURCE_DOES_NOT_EXIST",
                "INVALID_PARAMETER_VALUE",
                "RESOURCE_ALREADY_EXISTS",
                "BAD_REQUEST",
                "INVALID_STATE",
                "NOT_FOUND",
            }:
                raise
            last = exc
        except (OSError, ConnectionError) as exc:  # network / filesystem trouble: worth another try
            last = exc
        if attempt + 1 < attempts:
            time.sleep(delay * 2**attempt)
    raise GateInputError(
        f"{what} failed after {attempts} attempts ({type(last).__name__}: {str(last).splitlines()[0][:200]})",
        field="MLFLOW_TRACKING_URI",
        fix=f"check that the tracking server at {tracking_uri()} is reachable",
        reason="registry-unreachable",
    )


def model_files_digest(directory: Path) -> str:
    """sha256 over (relative path, content) of every file, `MLmodel`'s volatile keys removed."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        if rel in REGISTRY_FILES:
            continue
        content = path.read_bytes()
        if rel == "MLmodel":
            # libyaml's parser when present (same objects, ~10x faster); the dump stays the pure-Python
            # one so the digest never depends on whether libyaml is installed
            meta = yaml.load(content, Loader=_SAFE_LOADER) or {}  # noqa: S506 - a safe loader
            for key in VOLATILE_MLMODEL_KEYS:
                meta.pop(key, None)
            content = yaml.safe_dump(meta, sort_keys=True).encode()
        digest.update(rel.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def registered_version_of(directory: Path) -> tuple[str, str] | None:
    """(name, version) from `registered_model_meta`, which MLflow writes into a registered model's folder."""
    meta_file = directory / "registered_model_meta"
    if not meta_file.is_file():
        return None
    try:
        meta = yaml.safe_load(meta_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return None
    name, version = meta.get("model_name"), meta.get("model_version")
    return (str(name), str(version)) if name and version else None


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ModelHandle:
    """A model downloaded (or found) on local disk, with what the gates need to know about it."""

    ref: str
    local_path: Path
    digest: str
    flavors: dict[str, Any]
    input_names: list[str] | None
    #: registry name and version when the model came from the registry
    name: str | None = None
    version: str | None = None
    _predictor: Any = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}" if self.name and self.version else self.ref


def _resolve_registry_ref(ref: str) -> tuple[str | None, str | None]:
    """`models:/name/3` or `models:/name@alias` → (name, version) from the registry, else (None, None)."""
    if not ref.startswith("models:/"):
        return None, None
    body = ref.removeprefix("models:/")
    if body.startswith("m-"):
        return None, None
    from mlflow import MlflowClient

    client = MlflowClient()
    if "@" in body:
        name, alias = body.split("@", 1)
        mv = with_retries("reading the registry", lambda: client.get_model_version_by_alias(name, alias))
        return name, str(mv.version)
    name, _, version = body.partition("/")
    if version and version.isdigit():
        mv = with_retries("reading the registry", lambda: client.get_model_version(name, version))
        return name, str(mv.version)
    return None, None


def open_model(ref: str, *, field_name: str = "candidate") -> ModelHandle:
    """Find (and download when remote) the model behind `ref`; bad or missing models are input errors."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    name: str | None = None
    version: str | None = None
    if is_local_model(ref):
        local = Path(ref)
        if not (local / "MLmodel").is_file():
            raise GateInputError(
                "is not an MLflow model directory (no MLmodel file)" if local.exists() else "does not exist",
                file=ref,
                field=field_name,
                fix="pass the folder written by mlflow.<flavor>.save_model, or a models:/ or runs:/ URI",
            )
    else:
        import mlflow

        try:
            name, version = _resolve_registry_ref(ref)
            local = Path(
                with_retries(
                    "downloading the model", lambda: mlflow.artifacts.download_artifacts(artifact_uri=ref)
                )
            )
        except MlflowException as exc:
            raise GateInputError(
                f"cannot be resolved ({str(exc).splitlines()[0][:200]})",
                field=field_name,
                file=ref,
                fix="check the model name, version or alias in the registry",
            ) from None
        if not (local / "MLmodel").is_file():
            raise GateInputError(
                "has no MLmodel file",
                file=ref,
                field=field_name,
                fix="point at the model folder inside the run's artifacts",
            )
    try:
        meta = Model.load(str(local))
    except Exception as exc:  # noqa: BLE001 - any parse failure of a corrupt MLmodel is the same input error
        raise GateInputError(
            f"has a corrupt MLmodel file ({exc})", file=ref, field=field_name, fix="re-save the model"
        ) from None
    schema = meta.get_input_schema()  # type: ignore[no-untyped-call, unused-ignore]  # mlflow typed only when installed
    input_names = list(schema.input_names()) if schema is not None and schema.has_input_names() else None
    return ModelHandle(
        ref=ref,
        local_path=local,
        digest=model_files_digest(local),
        flavors=dict(meta.flavors),
        input_names=input_names,
        name=name,
        version=version,
    )


def load_predictor(handle: ModelHandle, *, want_scores: bool) -> Callable[[Any], Any]:
    """A function DataFrame → 1-D numpy scores (positive-class probability when `want_scores`)."""
    import numpy as np

    if handle._predictor is not None:
        return handle._predictor  # type: ignore[no-any-return]
    try:
        if want_scores and "sklearn" in handle.flavors:
            import mlflow.sklearn

            estimator = mlflow.sklearn.load_model(str(handle.local_path))
            if hasattr(estimator, "predict_proba"):

                def predict(frame: Any) -> Any:
                    proba = np.asarray(estimator.predict_proba(frame))
                    return proba[:, -1] if proba.ndim == 2 else proba

                handle._predictor = predict
                return predict
        import mlflow.pyfunc

        pyfunc_model = mlflow.pyfunc.load_model(str(handle.local_path))
    except Exception as exc:  # noqa: BLE001 - unpickling can fail in many ways; all mean a broken model
        raise GateInputError(
            f"cannot be loaded ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})",
            file=handle.ref,
            fix="check that the model was saved with the project's current dependencies",
            reason="prediction-error",
        ) from None

    def predict_pyfunc(frame: Any) -> Any:
        out = np.asarray(pyfunc_model.predict(frame))
        if out.ndim == 2:
            out = out[:, -1]
        return out

    handle._predictor = predict_pyfunc
    return predict_pyfunc


def registered_model_exists(name: str) -> bool:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        with_retries("reading the registry", lambda: client.get_registered_model(name))
    except MlflowException as exc:
        if is_not_found(exc):
            return False
        raise registry_error(f"reading model {name!r}", exc) from None
    return True


#: MLflow's answers for "no such model / version / alias" (any other error is a failure, not an absence)
NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"})


def is_not_found(exc: Exception) -> bool:
    return getattr(exc, "error_code", "") in NOT_FOUND_CODES


def registry_error(what: str, exc: Exception) -> GateInputError:
    """A registry answer that is neither a result nor "not found": one line, `registry-unreachable`."""
    first = (str(exc).splitlines() or [""])[0][:200]
    return GateInputError(
        f"{what} failed ({getattr(exc, 'error_code', type(exc).__name__)}: {first})",
        field="MLFLOW_TRACKING_URI",
        fix=f"check the registry at {tracking_uri()} and re-run",
        reason="registry-unreachable",
    )


def alias_version(name: str, alias: str) -> str | None:
    """The version behind `name@alias`, or None when the model or the alias does not exist."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        mv = with_retries("reading the registry", lambda: client.get_model_version_by_alias(name, alias))
    except MlflowException as exc:
        if is_not_found(exc):
            return None
        # a registry that fails is not a registry without the alias
        raise registry_error(f"reading alias {name}@{alias}", exc) from None
    return str(mv.version)
