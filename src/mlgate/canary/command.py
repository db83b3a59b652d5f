"""`mlgate canary`: shift traffic step by step to a candidate model, judge it against the baseline serving
at the same time, promote it or roll back automatically.

Inputs (each flag falls back to `MLGATE_<FLAG>`):
    --config          mlgate.yaml (section `canary`: steps, bake time, analysis, target settings)
    --target          override `canary.target` (local | sagemaker | kserve)
    --dry-run         analyse and report without shifting traffic
    --model-version   the version the canary must serve (checked before any traffic moves)
    --image-digest    digest of the pushed image of that version (sagemaker with `image_uri`: the new
                      Model's image is the template filled with the version and this digest)
    --image-uri       that image in the project's ECR repository by digest (sagemaker without
                      `image_uri`: the new Model's image; cd.yml: the image job's `ecr-image`)
    --environment     name used in the report title and PR-comment key (staging, prod, …)
    --report-dir      where canary.json / canary.md go (default: MLGATE_OUTPUT_DIR or .mlgate)
    --comment/--no-comment   upsert the timeline as a PR comment (on the merged PR in cd.yml)

Outputs: `passed`, `failure-reason`, `result-path`, `report-path`, `result` (promoted | rolled-back |
dry-run), `final-canary-percent`, `timeline-path` (the JSON timeline).

SIGTERM and SIGINT (a cancelled job) set a cancel flag: the controller rolls back and verifies.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import click

from mlgate.canary.config import CanarySection
from mlgate.canary.controller import CanaryOutcome, Controller, MetricsSource, Target
from mlgate.gate import GateInputError, GateResult, comment_option, config_option, report_dir_option

GATE = "canary"
#: every failure-reason this gate reports -> its one-line meaning (docs/reference/failure-reasons.md
#: is generated from this: add a reason with one line here, then `uv run python tools/docgen.py --write`)
FAILURE_REASONS: dict[str, str] = {
    "error-rate": (
        "the canary's error rate is significantly above the baseline's, or significantly above the "
        "absolute guard while the baseline is clearly below it"
    ),
    "latency": (
        "significantly more of the canary's requests are above the baseline's p95 or p99 bucket bound than "
        "the latency floor allows, or its p99 is significantly above the p99 guard"
    ),
    "prediction-shift": (
        "the prediction-score distribution or the positive-prediction rate moved away from the baseline's"
    ),
    "no-data": (
        "`max_inconclusive` bakes in a row had no traffic, NaN, a missing metric or counts that cannot be "
        "right (or the metrics source stopped answering)"
    ),
    "inconclusive": (
        "`max_inconclusive` bakes in a row without the evidence to rule out the configured regressions "
        "(2x errors, the latency tolerance): too little traffic — never promoted"
    ),
    "outage": (
        "both arms stayed above an absolute guard (`max_error_rate`, `max_p99_ms`): `max_inconclusive` "
        "bakes in a row held by a shared outage (its looks and the look settling each), not the canary's "
        "fault"
    ),
    "judge-error": (
        "a look could not be taken or judged (the metrics source or the judge raised); traffic is back on "
        "the baseline"
    ),
    "target-error": "the traffic router failed a call or showed weights mlgate did not set",
    "deploy-error": (
        "putting the promoted model on the SageMaker challenger variant (CreateModel, CreateEndpointConfig, "
        "UpdateEndpoint, the wait for InService) failed or was rolled back by SageMaker: the endpoint stays "
        "on its previous config and no traffic moved"
    ),
    "cancelled": "the job was cancelled (SIGINT / SIGTERM)",
}
TARGETS = ("local", "sagemaker", "kserve")
RESULTS = ("promoted", "rolled-back", "dry-run")

_ICON = {
    "pass": "✅",
    "fail": "❌",
    "inconclusive": "⚪",
    "skipped": "⏭️",
    "outage": "🌩️",
    "promoted": "✅",
    "rolled-back": "⏪",
}


def decision_threshold(config_file: str) -> float | None:
    """`eval.decision_threshold` of the same mlgate.yaml (None when absent); bad values are bad input."""
    from mlgate.config import read_config

    value = (read_config(Path(config_file)).get("eval") or {}).get("decision_threshold")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise GateInputError(
            f"decision threshold {value!r} is not a number in [0, 1]",
            file=config_file,
            field="eval.decision_threshold",
            fix="set the model's decision threshold (the score at or above which a prediction is positive)",
        )
    return float(value)


def build(
    plan: CanarySection,
    *,
    config_file: str,
    model_version: str | None,
    image_digest: str = "",
    image_uri: str = "",
    log: Any = None,
) -> tuple[Target, MetricsSource]:
    """Target and metrics source for `plan.target`; checked (bad input raises) before traffic moves.
    SageMaker with `image_uri`: the promoted version is first put on the challenger variant at 0 %."""
    from mlgate.canary.prometheus import PrometheusMetrics

    threshold = decision_threshold(config_file) if plan.prometheus.positive_threshold is None else None

    source: Any
    target: Any
    if plan.target == "local":
        from mlgate.canary.targets.local import LocalNginxTarget

        target = LocalNginxTarget(plan.local, config_file=config_file)
        version = target.serving_version()
        if model_version and version != model_version:
            raise GateInputError(
                f"model version {model_version!r} not found: the canary server reports {version!r}",
                file=config_file,
                field="canary.local.canary_upstream",
                fix="start the canary server with the candidate version (or pass the version it serves)",
            )
        target.ensure_running()
        source = PrometheusMetrics(plan.prometheus, config_file=config_file, decision_threshold=threshold)
    elif plan.target == "sagemaker":
        from mlgate.canary.targets.sagemaker import CloudWatchMetrics, SageMakerTarget

        target = SageMakerTarget(plan.sagemaker, config_file=config_file)
        if (plan.sagemaker.image_uri or image_uri) and not plan.dry_run:
            from mlgate.canary.targets.sagemaker_deploy import SageMakerDeployer

            deployer = SageMakerDeployer(
                plan.sagemaker,
                target.client,
                config_file=config_file,
                pushed_image=image_uri,
                log=log or print,
            )
            deployer.deploy(model_version or "", image_digest)
        target.check(model_version)
        source = CloudWatchMetrics(
            plan.sagemaker,
            latency_ratio=plan.analysis.latency_max_ratio,
            latency_delta_ms=plan.analysis.latency_min_delta_ms,
        )
    else:
        from mlgate.canary.targets.kserve import KServeTarget

        target = KServeTarget(plan.kserve, config_file=config_file)
        target.check(model_version)
        source = PrometheusMetrics(plan.prometheus, config_file=config_file, decision_threshold=threshold)
    provided: tuple[str, ...] = source.SIGNALS
    asked = plan.analysis.signals
    unsupported = [s for s in asked or () if s not in provided]
    if unsupported:
        raise GateInputError(
            f"the {plan.target} metrics source cannot provide {', '.join(unsupported)}",
            file=config_file,
            field="canary.analysis.signals",
            fix=f"judge only {', '.join(provided)}",
        )
    if asked is None:
        plan.analysis.signals = list(provided)  # type: ignore[arg-type]
    source.check()
    return target, source


def render_result(outcome: CanaryOutcome, plan: CanarySection, *, environment: str) -> GateResult:
    """The Markdown timeline and the JSON payload of a rollout."""
    where = f" ({environment})" if environment else ""
    if outcome.result == "promoted":
        headline = f"### ✅ mlgate canary{where}: promoted — canary at {outcome.final_canary_percent:g} %"
    elif outcome.result == "dry-run":
        headline = (
            f"### 🧪 mlgate canary{where}: dry run — would have been {outcome.would_be}; traffic unchanged"
        )
    else:
        verified = "weights read back: canary 0 %" if outcome.rollback_verified else "⚠️ rollback NOT verified"
        headline = f"### ⏪ mlgate canary{where}: rolled back ({outcome.failure_reason}) — {verified}"
    steps = " → ".join(f"{s:g} %" for s in plan.steps)
    summary = [
        headline,
        "",
        f"Target `{plan.target}` · steps {steps} · bake {plan.bake_seconds:g} s · min {plan.min_requests} "
        f"requests per arm · alpha {plan.analysis.alpha:g} over all looks (Bonferroni) · power "
        f"{plan.analysis.power:g}",
        "",
        "| t (s) | action | canary % | verdict | why |",
        "|---:|---|---:|---|---|",
    ]
    for e in outcome.timeline:
        icon = _ICON.get(e.verdict, "")
        why = e.why.replace("|", "\\|").replace("\n", " ")
        summary.append(
            f"| {e.at_seconds:.1f} | {e.action} | {e.canary_percent:g} | {icon} {e.verdict} | {why} |"
        )
    details = ["<details><summary>Figures per look</summary>", ""]
    for e in outcome.timeline:
        if not e.judgement:
            continue
        details += [
            f"**{e.action} at {e.canary_percent:g} % (t = {e.at_seconds:.1f} s): {e.verdict}**",
            "",
            "| signal | baseline | canary | threshold | p | status | note |",
            "|---|---|---|---|---:|---|---|",
        ]
        for c in e.judgement["checks"]:
            p = "" if c["p_value"] is None else f"{c['p_value']:.3g}"
            details.append(
                f"| {c['signal']} | {c['baseline']} | {c['canary']} | {c['threshold']} | {p} | "
                f"{_ICON.get(c['status'], '')} {c['status']} | {c['note']} |"
            )
        details.append("")
    details.append("</details>")
    data = {
        "result": outcome.result,
        "failure_reason": outcome.failure_reason,
        "final_canary_percent": outcome.final_canary_percent,
        "rollback_verified": outcome.rollback_verified,
        "would_be": outcome.would_be,
        "target": plan.target,
        "environment": environment,
        "plan": plan.model_dump(mode="json"),
        "timeline": [e.to_json() for e in outcome.timeline],
    }
    final = "" if outcome.final_canary_percent is None else f"{outcome.final_canary_percent:g}"
    return GateResult(
        gate=GATE,
        passed=outcome.passed,
        failure_reason=outcome.failure_reason,
        summary_md="\n".join(summary),
        details_md="\n".join(details),
        data=data,
        outputs={"result": outcome.result, "final-canary-percent": final},
    )


def _install_cancel_handlers(cancel: threading.Event) -> dict[int, Any]:
    """SIGTERM/SIGINT set `cancel`; returns the previous handlers so the caller can restore them."""
    if threading.current_thread() is not threading.main_thread():
        return {}  # signals are only delivered to the main thread; the caller cancels through the event

    def handler(signum: int, _frame: Any) -> None:
        click.echo(f"mlgate canary: received {signal.Signals(signum).name}: rolling back", err=True)
        cancel.set()

    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, handler)
    return previous


@click.command("canary")
@config_option(help="mlgate.yaml with the `canary` section.")
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default=None,
    envvar="MLGATE_TARGET",
    help="Override canary.target.",
)
@click.option(
    "--dry-run/--no-dry-run",
    default=None,
    envvar="MLGATE_DRY_RUN",
    help="Analyse without shifting traffic (default: canary.dry_run).",
)
@click.option(
    "--model-version",
    default="",
    envvar="MLGATE_MODEL_VERSION",
    help="Version the canary must serve; checked before traffic moves.",
)
@click.option(
    "--image-digest",
    default="",
    envvar="MLGATE_IMAGE_DIGEST",
    help="Digest of the pushed image (sagemaker image_uri's {digest}).",
)
@click.option(
    "--image-uri",
    default="",
    envvar="MLGATE_IMAGE_URI",
    help="The pushed image in ECR by digest (sagemaker: the new Model's image unless image_uri is set).",
)
@click.option(
    "--environment", default="", envvar="MLGATE_ENVIRONMENT", help="staging, prod, … (report title)."
)
@report_dir_option(None, help="Where canary.json and canary.md go (default: MLGATE_OUTPUT_DIR or .mlgate).")
@comment_option(False, help="Upsert the timeline as a PR comment.")
def command(
    *,
    config_path: Path,
    target: str | None,
    dry_run: bool | None,
    model_version: str,
    image_digest: str,
    image_uri: str,
    environment: str,
    report_dir: Path | None,
    comment: bool,
) -> int:
    """Progressive canary with analysis against the baseline and automatic rollback."""
    import json

    from mlgate import github
    from mlgate.config import load_section, validate_section
    from mlgate.gate import finish, run_gate

    def work() -> int:
        plan = load_section(config_path, GATE, CanarySection)
        overrides: dict[str, Any] = {}
        if target:
            overrides["target"] = target
        if dry_run is not None:
            overrides["dry_run"] = dry_run
        if overrides:
            plan = validate_section({**plan.model_dump(), **overrides}, GATE, CanarySection, file=config_path)
        cancel = threading.Event()
        previous = _install_cancel_handlers(cancel)
        try:
            traffic, metrics = build(
                plan,
                config_file=str(config_path),
                model_version=model_version or None,
                image_digest=image_digest,
                image_uri=image_uri,
                log=lambda line: click.echo(line, err=True),
            )
            controller = Controller(
                plan, traffic, metrics, cancel=cancel, log=lambda line: click.echo(line, err=True)
            )
            outcome = controller.run()
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
        result = render_result(outcome, plan, environment=environment)
        runner = github.Runner.from_env()
        out_dir = report_dir or runner.output_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        timeline_path = out_dir / "canary-timeline.json"
        timeline_path.write_text(json.dumps(result.data["timeline"], indent=2) + "\n", encoding="utf-8")
        result.outputs["timeline-path"] = str(timeline_path)
        if outcome.result == "rolled-back":
            runner.error(f"canary rolled back: {outcome.failure_reason}", title="mlgate canary")
        return finish(result, report_dir=out_dir, comment_key=(environment or "default") if comment else None)

    return run_gate(GATE, work)
