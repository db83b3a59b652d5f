"""A local MLflow model's `MLmodel` file and its scikit-learn estimator, read without importing MLflow.

Importing MLflow costs ~3 s of CPU, about a quarter of the eval gate's whole run on the generated
project's models. The model gates need little of it for a local model folder: the flavours and input
column names from `MLmodel`, and the estimator of the `sklearn` flavour. This module reads exactly
those, the way MLflow reads them, and only what it verifies: anything else — a YAML error, a key or a
signature it does not know, `code` paths, a serialisation format MLflow may add, MLflow's
`MLFLOW_ALLOW_PICKLE_DESERIALIZATION` switched off — returns None, and the caller asks MLflow itself
(`Model.load`, `mlflow.sklearn.load_model`), so an unusual model is judged by MLflow, never guessed at.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
from pathlib import Path
from typing import Any

import yaml

#: libyaml's safe loader when installed (same objects as `yaml.safe_load`)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: top-level keys MLflow 3 writes into `MLmodel` that `Model.from_dict` takes as plain values
_PLAIN_MLMODEL_KEYS = frozenset(
    {
        "artifact_path",
        "databricks_runtime",
        "flavors",
        "is_signature_from_type_hint",
        "metadata",
        "mlflow_version",
        "model_id",
        "model_size_bytes",
        "model_uuid",
        "prompts",
        "run_id",
        "saved_input_example_info",
        "signature",
        "type_hint_from_example",
        "utc_time_created",
    }
)
#: MLflow's column types (`mlflow.types.DataType`) and the tensor dtypes its signatures use
_COLUMN_TYPES = frozenset({"boolean", "integer", "long", "float", "double", "string", "binary", "datetime"})
_TENSOR_DTYPES = frozenset(
    {"bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64", "object"}
)
#: the keys `mlflow.sklearn.save_model` writes into the `sklearn` flavour, and its serialisation formats
_SKLEARN_KEYS = frozenset(
    {"pickled_model", "serialization_format", "sklearn_version", "code", "skops_trusted_types"}
)
_SKLEARN_FORMATS = frozenset({"pickle", "cloudpickle", "skops"})


class UnverifiedError(Exception):
    """Something this module does not verify: the caller asks MLflow instead."""


def _check(condition: bool) -> None:
    if not condition:
        raise UnverifiedError


def _is_plain_tensor(spec: dict[str, Any]) -> bool:
    tensor = spec.get("tensor-spec")
    return (
        spec.get("type") == "tensor"
        and set(spec) <= {"type", "name", "tensor-spec"}
        and isinstance(tensor, dict)
        and set(tensor) == {"dtype", "shape"}
        and tensor["dtype"] in _TENSOR_DTYPES
        and isinstance(tensor["shape"], list)
        and all(isinstance(d, int) and not isinstance(d, bool) for d in tensor["shape"])
    )


def _plain_specs(text: Any) -> list[dict[str, Any]]:
    """The specs of a signature's `inputs`/`outputs` JSON when each is a plain column or tensor."""
    _check(isinstance(text, str))
    try:
        specs = json.loads(text)
    except ValueError:
        raise UnverifiedError from None
    _check(isinstance(specs, list))
    for spec in specs:
        _check(isinstance(spec, dict))
        _check(isinstance(spec.get("name", ""), str) and isinstance(spec.get("required", True), bool))
        column = spec.get("type") in _COLUMN_TYPES and set(spec) <= {"type", "name", "required"}
        _check(column or _is_plain_tensor(spec))
    return specs  # type: ignore[no-any-return]


def _read(local: Path) -> tuple[dict[str, Any], list[Any] | None]:
    try:
        meta = yaml.load((local / "MLmodel").read_bytes(), Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError):
        raise UnverifiedError from None
    _check(isinstance(meta, dict) and set(meta) <= _PLAIN_MLMODEL_KEYS)
    flavors = meta.get("flavors")
    _check(isinstance(flavors, dict))
    _check(all(isinstance(k, str) and isinstance(v, dict) for k, v in flavors.items()))
    signature = meta.get("signature")
    if not isinstance(signature, dict):  # MLflow ignores a signature that is not a mapping
        return flavors, None
    _check(set(signature) <= {"inputs", "outputs", "params"} and not signature.get("params"))
    inputs = _plain_specs(signature["inputs"]) if signature.get("inputs") else []
    if signature.get("outputs"):
        _plain_specs(signature["outputs"])
    if not inputs or inputs[0].get("name") is None:  # `Schema.has_input_names()`
        return flavors, None
    return flavors, [spec.get("name") or i for i, spec in enumerate(inputs)]  # `Schema.input_names()`


def read_mlmodel(local: Path) -> tuple[dict[str, Any], list[Any] | None] | None:
    """(flavours, input names) of the model folder `local` as `Model.load(local)` gives them (input names
    only when the signature names its first input column), or None when MLflow must read it."""
    try:
        return _read(local)
    except UnverifiedError:
        return None


def _sklearn_file(local: Path, conf: Any) -> tuple[Path, str, list[str] | None]:
    _check(isinstance(conf, dict) and set(conf) <= _SKLEARN_KEYS and conf.get("code") is None)
    allow = os.environ.get("MLFLOW_ALLOW_PICKLE_DESERIALIZATION")  # MLflow's default: allowed
    _check(allow is None or allow.lower() in ("true", "1"))
    file_name, fmt = conf.get("pickled_model"), conf.get("serialization_format", "pickle")
    trusted = conf.get("skops_trusted_types")
    _check(isinstance(file_name, str) and fmt in _SKLEARN_FORMATS)
    _check(trusted is None or (isinstance(trusted, list) and all(isinstance(x, str) for x in trusted)))
    path = local / file_name
    _check(path.resolve().is_relative_to(local.resolve()) and path.is_file())
    return path, fmt, trusted


def load_sklearn(local: Path, conf: Any) -> Any:
    """The estimator of the `sklearn` flavour `conf` of the model folder `local`, deserialised as
    `mlflow.sklearn.load_model` does it (`skops.io.load` with the flavour's trusted types, `pickle.load`
    or `cloudpickle.load` of the same file); a flavour this module does not verify goes to MLflow."""
    try:
        path, fmt, trusted = _sklearn_file(local, conf)
    except UnverifiedError:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(local))
    if fmt == "skops":
        skops_io: Any = importlib.import_module("skops.io")  # untyped: imported by name
        return skops_io.load(path, trusted=trusted)
    with path.open("rb") as fh:
        if fmt == "pickle":
            return pickle.load(fh)  # noqa: S301 - the load MLflow itself does, under MLflow's own switch
        cloudpickle: Any = importlib.import_module("cloudpickle")
        return cloudpickle.load(fh)
