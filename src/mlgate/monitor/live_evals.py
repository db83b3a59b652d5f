"""The eval gate's figures of each served model version, for `mlgate live-performance`.

By default they come from the registry of record (`mlgate.registry`, read-only): the `eval-gate.json`
stored with the version when `mlgate promote` published it — a release asset on the version's GitHub release
(`backend: github`, read through the GitHub API with `contents: read`) or an artifact of the version's run
(`backend: mlflow`, read from the tracking server). A stored result is used only when it is that version's
result: its `data.digest.combined` equals the eval result digest recorded with the version
(`mlgate.eval_result_digest`), it passed, and (github) its bytes match the sha256 in the version tag.

Fail closed, per version: a version whose record holds no result is `no-eval-result`, one whose stored
result is not its own `eval-result-mismatch`; a registry that does not answer fails the whole run
(`registry-unreachable`). `--eval-report` files replace the registry (offline or local use): they are
matched on `data.candidate.version`, and a version none of them names is `no-eval-result` too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.errors import GateInputError


@dataclass
class EvalFigures:
    """The eval gate's figures of one version and where they come from; `reason` is empty when they are
    that version's verified figures, else `no-eval-result` or `eval-result-mismatch` (`problem` says why)."""

    source: str
    metrics: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    problem: str = ""


def _metrics(result: Mapping[str, Any]) -> dict[str, float]:
    return {str(m["name"]): float(m["candidate"]) for m in result["data"]["metrics"]}


def from_reports(reports: Iterable[Path]) -> dict[str, EvalFigures]:
    """version -> figures of the given eval-gate.json files (matched on `data.candidate.version`)."""
    figures: dict[str, EvalFigures] = {}
    for path in reports:
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
            version = str(result["data"]["candidate"]["version"])
            metrics = _metrics(result)
        except FileNotFoundError:
            raise GateInputError(
                "does not exist", file=path, fix="pass the eval gate's eval-gate.json"
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GateInputError(
                f"is not an eval-gate result with a candidate version ({type(exc).__name__}: {exc})",
                file=path,
                field="data.candidate.version",
                fix="pass the eval-gate.json the eval gate wrote for a registered version",
            ) from None
        figures[normal(version)] = EvalFigures(source=str(path), metrics=metrics)
    return figures


def not_given(version: str) -> EvalFigures:
    return EvalFigures(
        source="--eval-report",
        reason="no-eval-result",
        problem=f"no --eval-report names version {version} (data.candidate.version)",
    )


def normal(version: str) -> str:
    """`v1.0.0` and `1.0.0` are the same version (GTO tags carry the `v`, MLflow versions are numbers)."""
    return version[1:] if version[:1] in "vV" and version[1:2].isdigit() else version


def verify(document: bytes, *, source: str, expected_digest: str, expected_sha256: str) -> EvalFigures:
    """The figures of a stored result when it is the version's own result; else why it is not."""

    def mismatch(problem: str) -> EvalFigures:
        return EvalFigures(source=source, reason="eval-result-mismatch", problem=problem)

    if expected_sha256 and hashlib.sha256(document).hexdigest() != expected_sha256:
        return mismatch("its bytes do not match the sha256 recorded with the version (eval_result_sha256)")
    try:
        result = json.loads(document)
        digest = result["data"]["digest"]["combined"]
        metrics = _metrics(result)
    except (ValueError, KeyError, TypeError) as exc:
        return mismatch(f"it is not an eval-gate result ({type(exc).__name__}: {exc})")
    if result.get("gate") != "eval-gate" or result.get("passed") is not True:
        return mismatch("it is not a passed eval-gate result")
    if not expected_digest:
        return mismatch("the version records no eval result digest (mlgate.eval_result_digest) to check it")
    if digest != expected_digest:
        return mismatch(
            f"its digest {str(digest)[:16]}… is not the one recorded with the version "
            f"({expected_digest[:16]}…): the result of another model, data or rules"
        )
    return EvalFigures(source=source, metrics=metrics)


def from_registry(config: Path, versions: Iterable[str]) -> dict[str, EvalFigures]:
    """version -> the eval figures its registry record holds, verified (see the module docstring)."""
    from mlgate.eval_gate.config import load_eval_config
    from mlgate.registry.backend import open_registry

    section = load_eval_config(config)
    registry = open_registry(config, model_name=section.model_name, alias=section.baseline_alias)
    figures: dict[str, EvalFigures] = {}
    for version in versions:
        recorded = registry.eval_result(normal(version))
        if recorded.document is None:
            figures[version] = EvalFigures(
                source=recorded.source, reason="no-eval-result", problem=recorded.missing
            )
        else:
            figures[version] = verify(
                recorded.document,
                source=recorded.source,
                expected_digest=recorded.expected_digest,
                expected_sha256=recorded.expected_sha256,
            )
    return figures
