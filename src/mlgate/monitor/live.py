"""Live performance against delayed ground truth: `mlgate live-performance`.

    mlgate live-performance --labels data/labels.csv

The prediction log (`monitor.prediction_log`: what the service answered, with `_decision` and
`_model_version`) is joined with the labels that arrive later on the request id (`id_field`,
`transaction_id` in the example). Per model version it counts true and false positives and negatives and
gives precision, recall and false positive rate with Wilson score intervals (`monitor.live.confidence`).

- The business KPI (`monitor.live.kpi`, the false positive rate by default) is judged against its band
  (`kpi_min` / `kpi_max`) on the interval: **out** when the whole interval lies outside the band, **watch**
  when only the estimate does, **ok** otherwise; a version with fewer than `min_labelled` labelled
  predictions is **too few** (not judged).
- Precision and recall are compared with the eval gate's figures for the same version, read from the
  registry of record (the `eval-gate.json` stored with the version at promotion, verified to be that
  version's result; `--eval-report` files instead, offline: see `mlgate.monitor.live_evals`): a live
  interval entirely more than `max_drop` below the eval figure is reported as a regression. A version
  without its eval figures fails (`no-eval-result`, or `eval-result-mismatch` when the stored result is
  not that version's); a registry that does not answer fails too (`registry-unreachable`).

A KPI out of its band fails (exit 1, `failure-reason` `kpi-out-of-band`) and opens the issue labelled
`monitor.live.issue_label`, or updates the one still open; a run with every judged version back in band closes
it. Outside GitHub Actions the issue text goes to `.mlgate/issues/`.

Nothing judged is no pass: labels of which no logged prediction carries an id fail
(`no-matching-predictions`: the log is not reachable from the runner, or the ids differ), and an id
labelled both ways is refused.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

from mlgate.errors import GateInputError
from mlgate.monitor.config import LivePerformanceSettings
from mlgate.monitor.live_evals import EvalFigures

GATE = "live-performance"
FAILURE_REASONS = {
    "kpi-out-of-band": "the live KPI of a model version lies outside its band (`monitor.live`), interval "
    "included",
    "github-api-error": "opening, updating or closing the KPI issue failed (the GitHub API error is shown)",
    "no-matching-predictions": "there are labels, but no logged prediction carries one of their ids (the "
    "prediction log is not reachable from here, or the labels use another id)",
    "no-eval-result": "a logged model version has no eval-gate result in its registry record (published "
    "before results were recorded, or not a registered version) or in the --eval-report files",
    "eval-result-mismatch": "the eval-gate result stored with a version is not that version's (its digest "
    "or sha256 differs from the one recorded at promotion)",
    "registry-unreachable": "the registry of record (GitHub API, git remote or MLflow tracking server) did "
    "not answer after bounded retries",
}
#: which failure wins the single failure-reason when several versions fail differently
PRECEDENCE = ("kpi-out-of-band", "eval-result-mismatch", "no-eval-result")
MARKER = "<!-- mlgate:live-performance -->"
METRICS = ("precision", "recall", "false_positive_rate")
TRUE = {"1", "true", "yes", "y", "t"}
FALSE = {"0", "false", "no", "n", "f"}


def wilson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion; (0, 1) without trials."""
    if trials == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Estimate:
    value: float | None
    low: float
    high: float
    successes: int
    trials: int


@dataclass
class VersionPerformance:
    version: str
    labelled: int
    tp: int
    fp: int
    fn: int
    tn: int
    metrics: dict[str, Estimate] = field(default_factory=dict)
    kpi_status: str = "too few"  # ok | watch | out | too few
    eval_metrics: dict[str, float] = field(default_factory=dict)
    regressions: list[str] = field(default_factory=list)
    eval_source: str = ""
    eval_reason: str = ""  # "" (verified figures) | no-eval-result | eval-result-mismatch
    eval_problem: str = ""


def _flag(value: object, *, file: str, field_name: str, row: int) -> bool:
    text = str(value).strip().lower()
    if isinstance(value, bool):
        return value
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    try:
        return float(text) >= 0.5  # a 0/1 label written as a float
    except ValueError:
        raise GateInputError(
            f"value {value!r} on row {row} is not a 0/1 label",
            file=file,
            field=field_name,
            fix="write 1 or 0",
        ) from None


def read_labels(path: Path, *, id_field: str, label_column: str) -> dict[str, bool]:
    """id -> label from a CSV or JSON-lines file."""
    if not path.is_file():
        raise GateInputError("does not exist", file=path, fix="pass the delayed ground truth with --labels")
    rows: list[Mapping[str, Any]]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GateInputError(f"cannot be read ({exc})", file=path, fix="save it as UTF-8 text") from None
    if path.suffix in (".jsonl", ".ndjson"):
        try:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise GateInputError(
                f"is not JSON lines ({exc})", file=path, fix="one JSON object a line"
            ) from None
    else:
        rows = list(csv.DictReader(text.splitlines()))
    labels: dict[str, bool] = {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping) or id_field not in row or label_column not in row:
            raise GateInputError(
                f"row {number} lacks `{id_field}` or `{label_column}`",
                file=path,
                field=label_column,
                fix="set monitor.live.label_column and monitor.prediction_log.id_field to the file's columns",
            )
        key, label = (
            str(row[id_field]),
            _flag(row[label_column], file=str(path), field_name=label_column, row=number),
        )
        if labels.setdefault(key, label) != label:
            raise GateInputError(
                f"row {number} labels `{key}` {label} after an earlier row labelled it {not label}",
                file=path,
                field=id_field,
                fix="keep one label per id (the corrected one)",
            )
    return labels


def tally(
    rows: Iterable[Mapping[str, Any]], labels: Mapping[str, bool], *, id_field: str
) -> dict[str, list[int]]:
    """version -> [TP, FP, FN, TN] of the logged predictions that have a label."""
    counts: dict[str, list[int]] = {}
    seen: set[tuple[str, str]] = set()
    for row in rows:
        request_id = row.get(id_field)
        if request_id is None or str(request_id) not in labels:
            continue
        version = str(row.get("_model_version", "unknown"))
        if (version, str(request_id)) in seen:
            continue  # a request logged twice (a retried request) counts once
        seen.add((version, str(request_id)))
        decision = _flag(row.get("_decision"), file="prediction log", field_name="_decision", row=0)
        truth = labels[str(request_id)]
        counts.setdefault(version, [0, 0, 0, 0])[
            (0 if truth else 1) if decision else (2 if truth else 3)
        ] += 1
    return counts


def measure(
    counts: Mapping[str, list[int]],
    settings: LivePerformanceSettings,
    *,
    evals: Mapping[str, EvalFigures],
) -> list[VersionPerformance]:
    """Per-version intervals, the KPI's status and the comparison with the eval gate's figures (`evals`
    must hold every version of `counts`)."""
    results = []
    for version, (tp, fp, fn, tn) in sorted(counts.items()):
        perf = VersionPerformance(version, tp + fp + fn + tn, tp, fp, fn, tn)
        for name, successes, trials in (
            ("precision", tp, tp + fp),
            ("recall", tp, tp + fn),
            ("false_positive_rate", fp, fp + tn),
        ):
            low, high = wilson(successes, trials, settings.confidence)
            perf.metrics[name] = Estimate(
                successes / trials if trials else None, low, high, successes, trials
            )
        judge(perf, settings, evals[version])
        results.append(perf)
    return results


def judge(perf: VersionPerformance, settings: LivePerformanceSettings, figures: EvalFigures) -> None:
    kpi = perf.metrics[settings.kpi]
    if perf.labelled >= settings.min_labelled and kpi.value is not None:
        above = settings.kpi_max is not None and kpi.low > settings.kpi_max
        below = settings.kpi_min is not None and kpi.high < settings.kpi_min
        outside = (settings.kpi_max is not None and kpi.value > settings.kpi_max) or (
            settings.kpi_min is not None and kpi.value < settings.kpi_min
        )
        perf.kpi_status = "out" if above or below else "watch" if outside else "ok"
    perf.eval_source, perf.eval_reason, perf.eval_problem = figures.source, figures.reason, figures.problem
    evals = figures.metrics
    perf.eval_metrics = {name: evals[name] for name in METRICS if name in evals}
    for name in ("precision", "recall"):
        estimate = perf.metrics[name]
        if name in evals and estimate.trials and estimate.high < evals[name] - settings.max_drop:
            perf.regressions.append(name)


def _band(settings: LivePerformanceSettings) -> str:
    low = "" if settings.kpi_min is None else f"≥ {settings.kpi_min:g}"
    high = "" if settings.kpi_max is None else f"≤ {settings.kpi_max:g}"
    return " and ".join(part for part in (low, high) if part)


def render(results: list[VersionPerformance], settings: LivePerformanceSettings) -> tuple[str, str]:
    """(summary, details) Markdown."""
    out = [p.version for p in results if p.kpi_status == "out"]
    unverified = [p.version for p in results if p.eval_reason]
    icon = "❌" if out or unverified else "✅"
    verdict = (
        f"{settings.kpi} of version(s) {', '.join(out)} outside its band ({_band(settings)})"
        if out
        else f"{settings.kpi} within its band ({_band(settings)}) for every judged version"
    )
    if unverified:
        verdict += f"; no eval-gate figures of version(s) {', '.join(unverified)}"
    if not results:
        verdict = "no logged prediction has a label yet: nothing to judge"
    summary = [f"### {icon} mlgate live-performance: {verdict}", ""]
    summary += [
        f"| version | labelled | {settings.kpi} (KPI) | status | precision | recall | eval gate "
        "| regression |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for perf in results:
        kpi = perf.metrics[settings.kpi]
        evals = (
            f"❌ {perf.eval_reason}"
            if perf.eval_reason
            else ", ".join(f"{k} {v:.3f}" for k, v in perf.eval_metrics.items()) or "—"
        )
        summary.append(
            f"| {perf.version} | {perf.labelled} | {_fmt(kpi)} | {perf.kpi_status} | "
            f"{_fmt(perf.metrics['precision'])} | {_fmt(perf.metrics['recall'])} | {evals} | "
            f"{', '.join(perf.regressions) or '—'} |"
        )
    details = [
        f"Intervals: Wilson score at {settings.confidence:.0%}. `out`: the whole interval is outside the "
        "band; "
        f"`watch`: only the estimate; `too few`: under {settings.min_labelled} labelled predictions. A "
        f"regression: the live interval lies more than {settings.max_drop:g} below the eval gate's figure.",
        "",
        "| version | TP | FP | FN | TN |",
        "|---|---|---|---|---|",
        *(f"| {p.version} | {p.tp} | {p.fp} | {p.fn} | {p.tn} |" for p in results),
        "",
        "| version | eval-gate figures from | problem |",
        "|---|---|---|",
        *(f"| {p.version} | {p.eval_source} | {p.eval_problem or '—'} |" for p in results),
    ]
    return "\n".join(summary) + "\n", "\n".join(details) + "\n"


def _fmt(estimate: Estimate) -> str:
    if estimate.value is None:
        return "n/a"
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]"


def as_json(results: list[VersionPerformance]) -> list[dict[str, Any]]:
    return [asdict(perf) for perf in results]


def failure_reason(results: list[VersionPerformance]) -> str:
    """The failure-reason of a run ('' when it passes): a KPI out of its band first, then a version
    whose eval figures are not its own, then a version without eval figures."""
    found = {p.eval_reason for p in results} | {"kpi-out-of-band" for p in results if p.kpi_status == "out"}
    return next((reason for reason in PRECEDENCE if reason in found), "")
