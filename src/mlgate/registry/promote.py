"""`mlgate promote`: make exactly the model that passed the eval gate the champion of the registry of record.

Inputs
    --candidate     the model the eval gate judged (local MLflow model folder or model URI)
    --result        the eval gate's JSON result (`eval-gate.json`)
    --config        mlgate.yaml (section `eval`: model_name, baseline_alias, golden_data, rules)
    --golden-data   override `eval.golden_data` (must be the file the gate read)
    --lock-file / --dvc-lock / --run-id / --pr-number / --git-sha   lineage (defaults: uv.lock, dvc.lock,
                    the run that holds the registered files, the PR from the event, the workflow's SHA)
    --rollback      instead: make the previous champion the champion again, in one step
    --expect-champion V   with --rollback: only while V is the champion (after a failed canary of V);
                    another champion: `champion-moved`, nothing changed
    --comment       upsert the result on the pull request (`--pr-number`): after a failed canary, the
                    merged one; a rollback that fails says there that the registry still names V

The registry of record is the `registry` section of mlgate.yaml (`record`): GTO git tags and GitHub
release assets (`backend: github`: a version tag `<model>@vN.0.0` with the lineage, a release with the
model archive and its sha256, the eval report and the model card, then the `production` assignment) or
MLflow aliases (`backend: mlflow`: `champion` and `previous`).

Outputs
    passed, failure-reason, model-version, previous-version (and result-path / report-path)

Guarantees
    - Promotes only when the result passed AND its digest equals the digest recomputed now from the
      candidate's files, the golden data file and the `eval` rules (`digest-mismatch` otherwise).
    - Publishes the candidate as a new version unless a version with the same model digest exists;
      records lineage (`git_sha`, `pr_number`, `dvc_data_hash`, `run_id`, `lock_hash`,
      `eval_result_digest`, `model_digest`) with it; the old champion stays reachable for rollback.
    - Stores the eval gate's `eval-gate.json` with the published version, machine-readable (a release
      asset, or an artifact of the version's run), where `mlgate live-performance` reads that version's
      figures.
    - A failure at any point undoes what it changed (aliases, tags, versions, releases), so the registry
      is as it was (`promotion-failed`); registry outages are retried, then reported
      (`registry-unreachable`).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import click

from mlgate.gate import (
    GateInputError,
    GateResult,
    comment_option,
    config_option,
    path_option,
    report_dir_option,
)
from mlgate.registry.record import Lineage

GATE = "promote"

#: every failure-reason this gate reports -> its one-line meaning (docs/reference/failure-reasons.md
#: is generated from this: add a reason with one line here, then `uv run python tools/docgen.py --write`)
FAILURE_REASONS: dict[str, str] = {
    "not-passed": "the eval-gate result did not pass",
    "digest-mismatch": "the model, golden data or rules differ from what the eval gate judged",
    "no-previous": (
        "rollback requested but there is no earlier champion (no `previous` alias, no earlier "
        "`production` assignment)"
    ),
    "promotion-failed": (
        "a registry change failed mid-way (a tag push, the release, an alias); every change was undone"
    ),
    "champion-moved": (
        "rollback with `expect-champion`: another version than the one the canary judged is the champion; "
        "nothing was changed"
    ),
    "rollback-failed": (
        "rollback after a failed canary could not move the champion back (the registry still names the "
        "rolled-back version; serving does not): run CD with `rollback: true` once the registry answers"
    ),
    "registry-unreachable": (
        "the registry (git remote, GitHub API or MLflow) did not answer after bounded retries"
    ),
    "invalid-input": "missing result, candidate or configuration (one line naming file, field and fix)",
}


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


def promote(
    *,
    config: Path,
    candidate: str,
    result_path: Path,
    golden_data: str | None,
    lineage: Lineage,
) -> GateResult:
    from mlgate.eval_gate.config import combined_digest, load_eval_config, rules_digest
    from mlgate.registry.backend import open_registry
    from mlgate.registry.models import file_digest, open_model

    section = load_eval_config(config)
    result = _read_result(result_path)
    name = section.model_name
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
    registry = open_registry(config, model_name=name, alias=section.baseline_alias)
    report = result_path.with_suffix(".md")
    report_md = report.read_text(encoding="utf-8") if report.is_file() else ""

    def notes(version: str) -> str:
        return release_notes(
            config, name=name, version=version, lineage=lineage, result=result, report=report_md
        )

    move = registry.promote(handle, candidate, lineage, notes, eval_result=result_path.read_bytes())
    label = f"`{name}` v{move.version}"
    if not move.changed:
        return _outcome(
            True,
            "",
            f"{label} already is the champion in {registry.where}; nothing to do",
            name=name,
            outputs={"model-version": move.version, "previous-version": move.previous or ""},
        )
    tags = "\n".join(f"| `{k}` | `{v}` |" for k, v in lineage.tags().items())
    return _outcome(
        True,
        "",
        f"{label} is the champion in {registry.where}"
        + (f" (previous: v{move.previous})" if move.previous else " (first champion)"),
        name=name,
        details=f"| lineage | value |\n|---|---|\n{tags}"
        + (f"\n\n{move.details_md}" if move.details_md else ""),
        outputs={"model-version": move.version, "previous-version": move.previous or ""},
        data={
            "version": move.version,
            "previous": move.previous,
            "registry": registry.kind,
            "lineage": lineage.tags(),
            "digest": now,
            **move.data,
        },
    )


def release_notes(
    config: Path, *, name: str, version: str, lineage: Lineage, result: dict[str, Any], report: str
) -> str:
    """The eval report and the model card of `version`, for the release body."""
    from datetime import UTC, datetime

    from mlgate.eval_gate.config import load_eval_config
    from mlgate.registry.model_card import render_card

    section = load_eval_config(config)
    card = render_card(
        name=name,
        version=version,
        aliases=[],
        version_info={
            "tags": lineage.tags(),
            "run_id": lineage.run_id,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        intended_use=section.model_card.intended_use,
        limitations=section.model_card.limitations,
        result=result,
        profile=None,
    )
    parts = [f"<details><summary>Eval report</summary>\n\n{report.strip()}\n\n</details>"] if report else []
    parts.append(f"<details><summary>Model card</summary>\n\n{card.strip()}\n\n</details>")
    return "\n\n".join(parts)


def rollback(*, config: Path, expect: str | None = None) -> GateResult:
    from mlgate.eval_gate.config import load_eval_config
    from mlgate.registry.backend import open_registry

    section = load_eval_config(config)
    name = section.model_name
    registry = open_registry(config, model_name=name, alias=section.baseline_alias)
    if expect:
        current = registry.champion_version()
        if current != expect:
            return _outcome(
                False,
                "champion-moved",
                f"the champion in {registry.where} is "
                f"{f'v{current}' if current else 'no version'}, not v{expect} (the version the canary "
                "judged): nothing was changed",
                name=name,
                outputs={"model-version": current or ""},
            )
    try:
        move = registry.rollback()
    except GateInputError as exc:
        if not expect:
            raise
        return _outcome(
            False,
            "rollback-failed",
            f"⚠️ the canary of v{expect} rolled serving back, but the registry still names v{expect} as "
            f"the champion: {exc.message} — run CD with `rollback: true` once {registry.where} answers",
            name=name,
            outputs={"model-version": expect},
        )
    after = f" after the failed canary of v{expect}" if expect else ""
    return _outcome(
        True,
        "",
        f"rolled back{after}: `{name}` v{move.version} is the champion again in {registry.where} "
        f"(was v{move.previous})",
        name=name,
        outputs={"model-version": move.version, "previous-version": move.previous or ""},
        data={
            "version": move.version,
            "previous": move.previous,
            "rollback": True,
            "registry": registry.kind,
        },
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
    help="Make the previous champion the champion again.",
)
@click.option(
    "--expect-champion",
    envvar="MLGATE_EXPECT_CHAMPION",
    default="",
    help="With --rollback: roll back only while this version is the champion (after its failed canary).",
)
@comment_option(False, help="Upsert the result as a comment on the pull request (--pr-number).")
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
    expect_champion: str,
    comment: bool,
    report_dir: Path,
) -> int:
    """Make the candidate that passed the eval gate the champion (or roll back to the previous one)."""
    from mlgate import github
    from mlgate.gate import finish, run_gate
    from mlgate.registry.models import file_digest

    def work() -> int:
        key = "rollback" if do_rollback else "promote"
        if do_rollback:
            result = rollback(config=config, expect=expect_champion.strip().removeprefix("v") or None)
            if result.failure_reason:
                github.Runner.from_env().error(result.summary_md.split(": ", 1)[-1], title="mlgate promote")
            return finish(result, report_dir=report_dir, comment_key=key if comment else None)
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
        return finish(result, report_dir=report_dir, comment_key=key if comment else None)

    return run_gate(GATE, work)
