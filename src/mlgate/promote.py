"""`mlgate promote`: move the registry's `champion` alias to exactly the model that passed the eval gate.

Inputs
    --candidate     the model the eval gate judged (local MLflow model folder or model URI)
    --result        the eval gate's JSON result (`eval-gate.json`)
    --config        mlgate.yaml (section `eval`: model_name, baseline_alias, golden_data, rules)
    --golden-data   override `eval.golden_data` (must be the file the gate read)
    --lock-file / --dvc-lock / --run-id / --pr-number / --git-sha   lineage (defaults: uv.lock, dvc.lock,
                    the run that holds the registered files, the PR from the event, the workflow's SHA)
    --rollback      instead: point `champion` back at the `previous` version in one step

Outputs
    passed, failure-reason, model-version, previous-version (and result-path / report-path)

Guarantees
    - Promotes only when the result passed AND its digest equals the digest recomputed now from the
      candidate's files, the golden data file and the `eval` rules (`digest-mismatch` otherwise).
    - Registers the candidate when it is not a version of the model yet; tags the version with lineage
      (`mlgate.git_sha`, `mlgate.pr_number`, `mlgate.dvc_data_hash`, `mlgate.run_id`, `mlgate.lock_hash`,
      `mlgate.eval_result_digest`, `mlgate.model_digest`); the old champion gets alias `previous`.
    - A failure at any point restores the aliases and tags it changed and deletes a version it created,
      so the registry is as it was (`promotion-failed`); registry outages are retried, then reported
      (`registry-unreachable`).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from mlgate.gate import GateInputError, GateResult, config_option, path_option, report_dir_option

GATE = "promote"
CHAMPION_FALLBACK = "champion"
PREVIOUS = "previous"

#: every failure-reason this gate reports -> its one-line meaning (docs/reference/failure-reasons.md
#: is generated from this: add a reason with one line here, then `uv run python tools/docgen.py --write`)
FAILURE_REASONS: dict[str, str] = {
    "not-passed": "the eval-gate result did not pass",
    "digest-mismatch": "the model, golden data or rules differ from what the eval gate judged",
    "no-previous": "rollback requested but there is no `previous` alias",
    "promotion-failed": "a registry call failed mid-way; every change was undone",
    "registry-unreachable": "the MLflow registry did not answer after bounded retries",
    "invalid-input": "missing result, candidate or configuration (one line naming file, field and fix)",
}

LINEAGE_PREFIX = "mlgate."


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


def dvc_data_hash(dvc_lock: Path) -> str:
    """sha256 over the (path, md5) of every stage output recorded in dvc.lock; '' when there is none."""
    import hashlib

    import yaml

    if not dvc_lock.is_file():
        return ""
    try:
        lock = yaml.safe_load(dvc_lock.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise GateInputError(
            "is not valid YAML", file=dvc_lock, fix="run `dvc repro` to rewrite it"
        ) from None
    outs = sorted(
        (str(out.get("path")), str(out.get("md5") or out.get("hash") or ""))
        for stage in (lock.get("stages") or {}).values()
        for out in (stage.get("outs") or [])
    )
    return hashlib.sha256(json.dumps(outs).encode()).hexdigest() if outs else ""


def pr_from_commit_message(message: str) -> str:
    """`Merge pull request #12 from …` or a squash title `… (#12)` → `12`."""
    match = re.search(r"(?:pull request #|\(#)(\d+)", message)
    return match.group(1) if match else ""


def local_git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


# ---------------------------------------------------------------------------------------------------------
# an undo log: every registry change is recorded with how to reverse it
# ---------------------------------------------------------------------------------------------------------


@dataclass
class RegistryTransaction:
    """Applies registry changes and remembers how to undo each; `rollback()` reverses them in order."""

    name: str
    undo: list[tuple[str, Callable[[], Any]]] = field(default_factory=list)

    def _client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient()

    def set_alias(self, alias: str, version: str) -> None:
        from mlgate.registry import alias_version, with_retries

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
        from mlgate.registry import with_retries

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


# ---------------------------------------------------------------------------------------------------------
# promote and rollback
# ---------------------------------------------------------------------------------------------------------


def _read_result(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise GateInputError(
            "eval-gate result not found",
            file=path,
            field="--result",
            fix="run `mlgate eval-gate` first and pass its eval-gate.json",
        )
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise GateInputError(
            "is not JSON", file=path, fix="pass the eval-gate.json written by the gate"
        ) from None
    data = result.get("data") if isinstance(result, dict) else None
    if (
        not isinstance(result, dict)
        or result.get("gate") != "eval-gate"
        or not isinstance(data, dict)
        or not isinstance(data.get("digest"), dict)
    ):
        raise GateInputError(
            "is not an eval-gate result", file=path, fix="pass the eval-gate.json written by the gate"
        )
    return result


def _register(name: str, handle: Any, candidate: str) -> tuple[str, str, bool]:
    """(version, run_id, created) for the candidate under `name`; logs a local folder to a run first.

    A version already tagged with the same model digest is reused (re-running a workflow is idempotent)."""
    import mlflow

    from mlgate.registry import is_local_model, open_model, registered_version_of, with_retries

    client = mlflow.MlflowClient()
    if handle.name == name and handle.version:
        mv = with_retries("reading the registry", lambda: client.get_model_version(name, handle.version))
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

    from mlgate.registry import with_retries

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


def promote(
    *,
    config: Path,
    candidate: str,
    result_path: Path,
    golden_data: str | None,
    lineage: Lineage,
) -> GateResult:
    from mlgate.eval_gate import combined_digest, load_eval_config, rules_digest
    from mlgate.registry import alias_version, file_digest, open_model

    section = load_eval_config(config)
    result = _read_result(result_path)
    name, alias = section.model_name, section.baseline_alias
    if not result.get("passed"):
        return _outcome(
            False,
            "not-passed",
            f"the eval gate did not pass ({result.get('failure_reason')}); nothing was changed",
            name=name,
        )

    golden = Path(golden_data or section.golden_data)
    if not golden.is_file():
        raise GateInputError(
            "golden dataset not found",
            file=golden,
            field="eval.golden_data",
            fix="promote from the checkout the eval gate ran on",
        )
    handle = open_model(candidate, field_name="candidate")
    now = {"model": handle.digest, "data": file_digest(golden), "rules": rules_digest(section)}
    now["combined"] = combined_digest(now["model"], now["data"], now["rules"])
    then = result["data"]["digest"]
    if now["combined"] != then.get("combined"):
        differs = [part for part in ("model", "data", "rules") if now[part] != then.get(part)]
        rows = "\n".join(
            f"| {p} | `{then.get(p, '')[:16]}` | `{now[p][:16]}` |" for p in ("model", "data", "rules")
        )
        return _outcome(
            False,
            "digest-mismatch",
            f"the {', '.join(differs) or 'result'} differ(s) from what the eval gate judged; "
            "nothing was changed",
            name=name,
            details=f"| part | eval gate | now |\n|---|---|---|\n{rows}",
        )

    lineage.eval_result_digest = now["combined"]
    lineage.model_digest = now["model"]
    tx = RegistryTransaction(name)
    try:
        version, run_id, created = _register(name, handle, candidate)
        if created:
            tx.created_version(version)
        old = alias_version(name, alias)
        if old == version:
            return _outcome(
                True,
                "",
                f"v{version} already is `{alias}`; nothing to do",
                name=name,
                outputs={"model-version": version, "previous-version": alias_version(name, PREVIOUS) or ""},
            )
        lineage.run_id = lineage.run_id or run_id
        for key, value in lineage.tags().items():
            tx.set_tag(version, key, value)
        if old is not None:
            tx.set_alias(PREVIOUS, old)
        tx.set_alias(alias, version)
        tx.set_tag(version, f"{LINEAGE_PREFIX}promoted_at", datetime.now(UTC).isoformat(timespec="seconds"))
    except GateInputError as exc:
        stuck = tx.rollback()
        exc.problem += _restored_note(stuck)
        if exc.reason == "invalid-input":
            exc.reason = "promotion-failed"
        raise
    except Exception as exc:  # noqa: BLE001 - any registry error: undo, then one clear line
        stuck = tx.rollback()
        raise GateInputError(
            f"promotion failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
            + _restored_note(stuck),
            fix="fix the cause and re-run; the registry is unchanged",
            reason="promotion-failed",
        ) from None
    tags = "\n".join(f"| `{k}` | `{v}` |" for k, v in lineage.tags().items())
    return _outcome(
        True,
        "",
        f"`{name}@{alias}` → v{version}" + (f" (previous: v{old})" if old else " (first champion)"),
        name=name,
        details=f"| lineage tag | value |\n|---|---|\n{tags}",
        outputs={"model-version": version, "previous-version": old or ""},
        data={"version": version, "previous": old, "lineage": lineage.tags(), "digest": now},
    )


def _restored_note(stuck: list[str]) -> str:
    return f"; could NOT undo: {'; '.join(stuck)}" if stuck else "; registry restored to its previous state"


def rollback(*, config: Path) -> GateResult:
    from mlgate.eval_gate import load_eval_config
    from mlgate.registry import alias_version

    section = load_eval_config(config)
    name, alias = section.model_name, section.baseline_alias
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
                current, f"{LINEAGE_PREFIX}rolled_back_at", datetime.now(UTC).isoformat(timespec="seconds")
            )
    except Exception as exc:  # noqa: BLE001 - undo, then one clear line
        stuck = tx.rollback()
        raise GateInputError(
            f"rollback failed ({type(exc).__name__})" + _restored_note(stuck),
            fix="re-run when the registry is reachable",
            reason="promotion-failed",
        ) from None
    return _outcome(
        True,
        "",
        f"rolled back: `{name}@{alias}` → v{previous} (was v{current})",
        name=name,
        outputs={"model-version": previous, "previous-version": current or ""},
        data={"version": previous, "previous": current, "rollback": True},
    )


def _outcome(
    passed: bool,
    reason: str,
    text: str,
    *,
    name: str,
    details: str = "",
    outputs: dict[str, str] | None = None,
    data: dict[str, Any] | None = None,
) -> GateResult:
    icon = "✅" if passed else "❌"
    return GateResult(
        gate=GATE,
        passed=passed,
        failure_reason=reason,
        summary_md=f"### mlgate promote `{name}`: {icon} {text}",
        details_md=details,
        data={"model_name": name, **(data or {})},
        outputs={"model-version": "", "previous-version": "", **(outputs or {})},
    )


@click.command(GATE)
@click.option("--candidate", envvar="MLGATE_CANDIDATE", default=None, help="The model the eval gate judged.")
@path_option(
    "--result", "result_path", default=".mlgate/reports/eval-gate.json", help="The eval gate's JSON."
)
@config_option(dest="config")
@click.option("--golden-data", envvar="MLGATE_GOLDEN_DATA", default=None, help="Override eval.golden_data.")
@path_option(
    "--lock-file",
    default="uv.lock",
    must_exist=True,
    help="Lock file whose sha256 is recorded (must exist when given; the default may be absent).",
)
@path_option(
    "--dvc-lock",
    default="dvc.lock",
    must_exist=True,
    help="dvc.lock whose outputs' hashes are recorded (must exist when given; the default may be absent).",
)
@click.option(
    "--run-id", envvar="MLGATE_RUN_ID", default="", help="Training run id (default: the registering run)."
)
@click.option(
    "--pr-number", envvar="MLGATE_PR_NUMBER", default="", help="PR number (default: from the event)."
)
@click.option("--git-sha", envvar="MLGATE_GIT_SHA", default="", help="Commit (default: the workflow's SHA).")
@click.option(
    "--rollback",
    "do_rollback",
    is_flag=True,
    envvar="MLGATE_ROLLBACK",
    help="Point champion back at the previous version.",
)
@report_dir_option()
def command(
    *,
    candidate: str | None,
    result_path: Path,
    config: Path,
    golden_data: str | None,
    lock_file: Path,
    dvc_lock: Path,
    run_id: str,
    pr_number: str,
    git_sha: str,
    do_rollback: bool,
    report_dir: Path,
) -> int:
    """Move `champion` to the candidate that passed the eval gate (or roll back to `previous`)."""
    from mlgate import github
    from mlgate.gate import finish, run_gate
    from mlgate.registry import file_digest

    def work() -> int:
        if do_rollback:
            return finish(rollback(config=config), report_dir=report_dir)
        if not candidate:
            raise GateInputError(
                "no candidate model given",
                field="--candidate",
                fix="pass the model folder or URI the eval gate judged (MLGATE_CANDIDATE)",
            )
        runner = github.Runner.from_env()
        event = runner.event()
        pr = (
            pr_number
            or str(runner.pr_number() or "")
            or pr_from_commit_message(str((event.get("head_commit") or {}).get("message", "")))
        )
        lineage = Lineage(
            git_sha=git_sha or runner.sha or local_git_sha(),
            pr_number=pr,
            dvc_data_hash=dvc_data_hash(dvc_lock),
            run_id=run_id,
            lock_hash=file_digest(lock_file) if lock_file.is_file() else "",
        )
        result = promote(
            config=config,
            candidate=candidate,
            result_path=result_path,
            golden_data=golden_data,
            lineage=lineage,
        )
        return finish(result, report_dir=report_dir)

    return run_gate(GATE, work)
