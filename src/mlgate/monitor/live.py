"""Live performance against delayed ground truth: `mlgate live-performance`.

    mlgate live-performance --labels data/labels.csv --eval-report reports/eval-gate.json

The prediction log (`monitor.prediction_log`: what the service answered, with `_decision` and
`_model_version`) is joined with the labels that arrive later on the request id (`id_field`,
`transaction_id` in the example). Per model version it counts true and false positives and negatives and
gives precision, recall and false positive rate with Wilson score intervals (`monitor.live.confidence`).

- The business KPI (`monitor.live.kpi`, the false positive rate by default) is judged against its band
  (`kpi_min` / `kpi_max`) on the interval: **out** when the whole interval lies outside the band, **watch**
  when only the estimate does, **ok** otherwise; a version with fewer than `min_labelled` labelled
  predictions is **too few** (not judged).
- Precision and recall are compared with the eval gate's figures for the same version (the `eval-gate.json`
  results given with `--eval-report`, matched on `data.candidate.version`): a live interval entirely more than
  `max_drop` below the eval figure is reported as a regression.

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

GATE = "live-performance"
FAILURE_REASONS = {
    "kpi-out-of-band": "the live KPI of a model version lies outside its band (`monitor.live`), interval "
    "included",
    "github-api-error": "opening, updating or closing the KPI issue failed (the GitHub API error is shown)",
    "no-matching-predictions": "there are labels, but no logged prediction carries one of their ids (the "
    "prediction log is not reachable from here, or the labels use another id)",
}
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


def eval_figures(reports: Iterable[Path]) -> dict[str, dict[str, float]]:
    """version -> metric -> the eval gate's figure for it (on the golden sample)."""
    figures: dict[str, dict[str, float]] = {}
    for path in reports:
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
            data = result["data"]
            version = str(data["candidate"]["version"])
            metrics = {str(m["name"]): float(m["candidate"]) for m in data["metrics"]}
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
        figures[version] = metrics
    return figures


def measure(
    rows: Iterable[Mapping[str, Any]],
    labels: Mapping[str, bool],
    settings: LivePerformanceSettings,
    *,
    id_field: str,
    evals: Mapping[str, Mapping[str, float]],
) -> list[VersionPerformance]:
    """Per-version confusion counts, intervals, the KPI's status and the comparison with the eval gate."""
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
        tally = counts.setdefault(version, [0, 0, 0, 0])
        tally[(0 if truth else 1) if decision else (2 if truth else 3)] += 1
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
        judge(perf, settings, evals.get(version, {}))
        results.append(perf)
    return results


def judge(perf: VersionPerformance, settings: LivePerformanceSettings, evals: Mapping[str, float]) -> None:
    kpi = perf.metrics[settings.kpi]
    if perf.labelled >= settings.min_labelled and kpi.value is not None:
        above = settings.kpi_max is not None and kpi.low > settings.kpi_max
        below = settings.kpi_min is not None and kpi.high < settings.kpi_min
        outside = (settings.kpi_max is not None and kpi.value > settings.kpi_max) or (
            settings.kpi_min is not None and kpi.value < settings.kpi_min
        )
        perf.kpi_status = "out" if above or below else "watch" if outside else "ok"
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
    icon = "❌" if out else "✅"
    verdict = (
        f"{settings.kpi} of version(s) {', '.join(out)} outside its band ({_band(settings)})"
        if out
        else f"{settings.kpi} within its band ({_band(settings)}) for every judged version"
    )
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
        evals = ", ".join(f"{k} {v:.3f}" for k, v in perf.eval_metrics.items()) or "—"
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
    ]
    return "\n".join(summary) + "\n", "\n".join(details) + "\n"


def _fmt(estimate: Estimate) -> str:
    if estimate.value is None:
        return "n/a"
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]"


def as_json(results: list[VersionPerformance]) -> list[dict[str, Any]]:
    return [asdict(perf) for perf in results]
