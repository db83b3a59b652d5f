"""`mlgate eval-gate`: the candidate model against the production model (`champion`) on the golden dataset.

Inputs
    --candidate      MLflow model URI (`runs:/…/model`, `models:/name/3`) or a local MLflow model folder
    --baseline       model URI of the baseline (default: the champion of the registry of record — the
                     `registry` section, mlgate.registry: GTO tags + GitHub release, or the MLflow alias)
    --config         mlgate.yaml; section `eval` (metrics, rules, latency, segments, bootstrap, policy)
    --golden-data    override `eval.golden_data` (CSV or Parquet with the label column)
    --report-dir     where `eval-gate.json` and `eval-gate.md` are written

Outputs
    passed, failure-reason, result-digest (sha256 of candidate model + golden data + rules),
    result-path, report-path; a PR comment upserted under `<!-- mlgate:eval-gate:<model> -->`.

What it does
    1. Scores candidate and baseline on the golden dataset; computes each configured metric.
    2. A paired bootstrap (same resampled rows for both models; seeded; resamples configurable) gives a
       confidence interval of every metric delta (candidate - baseline) and of every candidate value.
    3. Latency p50/p95/p99 for single-row and batch prediction (`mlgate.eval_gate.latency`: after warm-up,
       candidate and baseline interleaved in one process, CPU time per call, rounds, a confirmation
       measurement before a latency rule fails).
    4. Per-segment metrics for configured columns and the largest gap between segments.
    5. Every rule is evaluated and every failure reported (not just the first).

Rule semantics (MLflow `MetricThreshold` where they overlap, see docs/guides/model-gates.md)
    threshold           candidate >= threshold (<= when lower is better)      — as MLflow
    min_improvement     absolute: candidate >= baseline + a (<= baseline - a) — MLflow min_absolute_change
                        relative: (candidate - baseline)/|baseline| >= r      — MLflow min_relative_change
                        (a baseline of exactly 0 makes a relative rule "strictly better", as MLflow does)
    max_regression      absolute: candidate >= baseline - a; relative: change/|baseline| >= -r
                        ("may be at most 1 % worse": `max_regression: {relative: 0.01}`) — MLflow has none
    require_ci_lower_bound   min_improvement / max_regression use the lower bound of the bootstrap interval
                        of the improvement instead of the point estimate — MLflow has none
    A metric that is NaN fails every rule it has. No baseline: `no_baseline: absolute-only` (default; change
    rules are skipped and the report says so) or `fail`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlgate.eval_gate.bootstrap import paired_bootstraps
from mlgate.eval_gate.config import (
    EvalSection,
    MetricRule,
    combined_digest,
    load_eval_config,
    rules_digest,
)
from mlgate.eval_gate.golden import features_for, read_golden, split_golden
from mlgate.eval_gate.latency import latency_gate
from mlgate.eval_gate.metrics import build_metric
from mlgate.eval_gate.report import EvalOutcome, MetricRow
from mlgate.eval_gate.rules import (
    FAILURE_REASONS,
    GATE,
    RuleCheck,
    SegmentReport,
    judge_metric,
    judge_segment,
    segment_report,
)
from mlgate.gate import GateInputError, GateResult, comment_option, config_option, report_dir_option

if TYPE_CHECKING:
    import pandas as pd

    from mlgate.registry.models import ModelHandle

#: FAILURE_REASONS (defined beside the verdict, whose order it sets) is this command's list for docgen
__all__ = ["FAILURE_REASONS", "GATE", "command", "evaluate", "open_baseline", "predict_checked", "run"]


def predict_checked(predict: Callable[[Any], Any], features: pd.DataFrame, label: str) -> Any:
    import numpy as np

    try:
        out = predict(features)
    except Exception as exc:  # noqa: BLE001 - whatever the model raises, the gate reports it the same way
        raise GateInputError(
            f"predict raised {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
            file=label,
            fix="run the model on the golden dataset locally",
            reason="prediction-error",
        ) from None
    try:
        scores = np.asarray(out, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise GateInputError(
            "predict returned non-numeric output",
            file=label,
            fix="return one number per row",
            reason="prediction-error",
        ) from None
    if scores.size != len(features):
        raise GateInputError(
            f"predict returned {scores.size} values for {len(features)} rows",
            file=label,
            fix="return one prediction per input row",
            reason="prediction-error",
        )
    if not np.isfinite(scores).all():
        bad = int((~np.isfinite(scores)).sum())
        raise GateInputError(
            f"predict returned {bad} NaN/inf value(s)",
            file=label,
            fix="check the model's handling of missing values",
            reason="prediction-error",
        )
    return scores


def evaluate(
    section: EvalSection,
    *,
    golden: Path,
    candidate: ModelHandle,
    baseline: ModelHandle | None,
    frame: pd.DataFrame | None = None,
) -> EvalOutcome:
    """Score both models, bootstrap, time, segment and judge. The models are already opened; `frame` is
    the golden dataset when the caller has read it already (`read_golden`)."""
    import numpy as np

    from mlgate.registry.models import file_digest, load_predictor

    if frame is None:
        frame = read_golden(golden, section)
    y = frame[section.label].to_numpy(dtype=float)
    want_scores = section.task != "regression"
    models: dict[str, ModelHandle] = {"candidate": candidate}
    if baseline is not None:
        models["baseline"] = baseline
    features = {k: features_for(frame, section, h, golden) for k, h in models.items()}
    predictors = {k: load_predictor(h, want_scores=want_scores) for k, h in models.items()}
    scores = {k: predict_checked(predictors[k], features[k], models[k].label) for k in models}
    parts = split_golden(frame, section.golden_sets, golden)
    # comparisons and intervals on the sample; absolute rules on the must-pass scenarios
    cmp, must = parts.sample, parts.must_pass
    s_cand, s_base = scores["candidate"][cmp], (scores["baseline"][cmp] if "baseline" in scores else None)
    y_all, y = y, y[cmp]

    built = {
        name: build_metric(name, rule, decision_threshold=section.decision_threshold)
        for name, rule in section.metrics.items()
    }
    rows: list[MetricRow] = []
    checks: list[RuleCheck] = []
    if baseline is None and section.no_baseline == "fail":
        checks.append(
            RuleCheck(
                "baseline",
                f"alias {section.baseline_alias!r} exists",
                False,
                "no-baseline",
                "no baseline model and `no_baseline: fail`",
            )
        )
    boot = section.bootstrap
    # one pass over the resamples for all metrics: same resampled rows, counts shared between metrics
    intervals = paired_bootstraps(
        built, y, s_cand, s_base, resamples=boot.resamples, confidence=boot.confidence, seed=boot.seed
    )
    for name, metric in built.items():
        with np.errstate(all="ignore"):
            cand_value = metric.value(y, s_cand)
            base_value = metric.value(y, s_base) if s_base is not None else None
            must_value = metric.value(y_all[must], scores["candidate"][must]) if parts.configured else None
        outcome = intervals[name]
        rows.append(
            MetricRow(
                name,
                metric.greater_is_better,
                cand_value,
                base_value,
                outcome.candidate,
                outcome.delta,
                must_value,
            )
        )
        checks.extend(
            judge_metric(
                name,
                section.metrics[name],
                metric.greater_is_better,
                cand_value,
                base_value,
                delta=outcome.delta,
                confidence=boot.confidence,
                must_pass=must_value,
            )
        )
        undefined = math.isnan(cand_value) or (must_value is not None and math.isnan(must_value))
        if undefined and not any(c.subject == name and c.passed is False for c in checks):
            checks.append(RuleCheck(name, "is defined", False, "metric-threshold", "candidate metric is NaN"))

    latency: dict[str, dict[str, dict[str, float]]] = {}
    if section.latency.enabled:
        latency, latency_checks = latency_gate(predictors, features["candidate"], section.latency)
        checks.extend(RuleCheck(**asdict(c)) for c in latency_checks)

    segments: list[SegmentReport] = []
    for seg in section.segments:
        metric = built.get(seg.metric) or build_metric(
            seg.metric, MetricRule(), decision_threshold=section.decision_threshold
        )
        # a segment gap is an absolute rule: judged on the must-pass scenarios
        s_base_must = scores["baseline"][must] if "baseline" in scores else None
        column = frame[seg.column].to_numpy()[must]
        report = segment_report(
            seg, metric, column, y_all[must], scores["candidate"][must], s_base=s_base_must
        )
        segments.append(report)
        checks.extend(judge_segment(seg, report))

    model_d, data_d, rules_d = candidate.digest, file_digest(golden), rules_digest(section)
    digest = {
        "model": model_d,
        "data": data_d,
        "rules": rules_d,
        "combined": combined_digest(model_d, data_d, rules_d),
    }
    return EvalOutcome(
        section=section,
        candidate_label=candidate.label,
        baseline_label=baseline.label if baseline is not None else None,
        rows=len(frame),
        parts=parts,
        metrics=rows,
        checks=checks,
        latency=latency,
        segments=segments,
        digest=digest,
        candidate_ref=candidate.ref,
        candidate_version={"name": candidate.name, "version": candidate.version},
    )


def open_baseline(section: EvalSection, explicit: str | None, config: Path) -> ModelHandle | None:
    """The explicit baseline, else the champion of the registry of record (mlgate.record)."""
    from mlgate.registry.backend import open_registry
    from mlgate.registry.models import open_model

    if explicit:
        return open_model(explicit, field_name="baseline")
    return open_registry(config, model_name=section.model_name, alias=section.baseline_alias).open_champion()


def run(config: Path, candidate: str, baseline: str | None, golden_data: str | None) -> GateResult:
    section = load_eval_config(config, required=True)
    golden = Path(golden_data or section.golden_data)
    frame = read_golden(golden, section)  # fail fast on data problems before loading models
    from mlgate.registry.models import open_model

    cand = open_model(candidate, field_name="candidate")
    base = open_baseline(section, baseline, config)
    return evaluate(section, golden=golden, candidate=cand, baseline=base, frame=frame).result()


@click.command(GATE)
@click.option(
    "--candidate",
    envvar="MLGATE_CANDIDATE",
    required=True,
    help="Candidate model: MLflow model URI or local MLflow model folder.",
)
@click.option(
    "--baseline",
    envvar="MLGATE_BASELINE",
    default=None,
    help="Baseline model URI (default: models:/<eval.model_name>@<eval.baseline_alias>).",
)
@config_option(dest="config", help="mlgate.yaml with the `eval` section.")
@click.option("--golden-data", envvar="MLGATE_GOLDEN_DATA", default=None, help="Override eval.golden_data.")
@report_dir_option()
@comment_option(True, help="Upsert the report as a PR comment (in a pull request).")
def command(
    *,
    candidate: str,
    baseline: str | None,
    config: Path,
    golden_data: str | None,
    report_dir: Path,
    comment: bool,
) -> int:
    """Compare the candidate with the champion on the golden dataset; block when worse, slower or unfair."""
    from mlgate.gate import finish, run_gate

    def work() -> int:
        result = run(config, candidate, baseline, golden_data)
        key = load_eval_config(config).model_name
        return finish(result, report_dir=report_dir, comment_key=key if comment else None)

    return run_gate(GATE, work)
