"""`mlgate live-performance`: live precision, recall and false positive rate per model version against
delayed ground truth; the KPI judged against its band, an issue opened or updated while it is out (see
`mlgate.monitor.live`)."""

from __future__ import annotations

from pathlib import Path

import click

from mlgate.gate import config_option, report_dir_option
from mlgate.monitor.live import FAILURE_REASONS, GATE

__all__ = ["FAILURE_REASONS", "command"]


@click.command(GATE)
@config_option("monitor")
@click.option(
    "--labels",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Delayed ground truth, CSV or JSON lines [default: monitor.live.labels].",
)
@click.option(
    "--predictions",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A prediction-log file (JSON lines) instead of the configured sink (monitor.prediction_log).",
)
@click.option(
    "--eval-report",
    "eval_reports",
    type=click.Path(path_type=Path, dir_okay=False),
    multiple=True,
    help="eval-gate.json of a model version (repeatable), instead of the registry of record (offline): "
    "matched on data.candidate.version; a logged version none names fails (no-eval-result).",
)
@click.option("--issue/--no-issue", default=True, show_default=True, help="Open/update/close the KPI issue.")
@report_dir_option()
def command(
    *,
    config_path: Path,
    labels: Path | None,
    predictions: Path | None,
    eval_reports: tuple[Path, ...],
    issue: bool,
    report_dir: Path,
) -> int:
    """Live precision, recall and false positive rate per model version, with intervals, against labels."""
    from mlgate import github
    from mlgate.config import load_section
    from mlgate.gate import GateInputError, GateResult, finish, run_gate
    from mlgate.monitor import live, live_evals
    from mlgate.monitor.config import MonitorSection
    from mlgate.monitor.prediction_log import parse, read_rows

    def work() -> int:
        section = load_section(config_path, "monitor", MonitorSection)
        settings, log_settings = section.live, section.prediction_log
        truth = live.read_labels(
            labels or Path(settings.labels),
            id_field=log_settings.id_field,
            label_column=settings.label_column,
        )
        if predictions is not None:
            if not predictions.is_file():
                raise GateInputError("does not exist", file=predictions, fix="pass a prediction-log file")
            rows = parse(predictions.read_bytes(), "jsonl", str(predictions))
        else:
            rows = read_rows(log_settings)
        counts = live.tally(rows, truth, id_field=log_settings.id_field)
        if eval_reports:
            given = live_evals.from_reports(eval_reports)
            evals = {v: given.get(live_evals.normal(v)) or live_evals.not_given(v) for v in counts}
        else:
            evals = live_evals.from_registry(config_path, counts) if counts else {}
        results = live.measure(counts, settings, evals=evals)
        if truth and not results:
            raise GateInputError(
                f"none of its {len(truth)} ids is in the {len(rows)} logged predictions",
                file=labels or Path(settings.labels),
                field=log_settings.id_field,
                fix="point monitor.prediction_log at the served log (sink, directory or bucket) and label "
                "the ids the service logged",
                reason="no-matching-predictions",
            )
        summary, details = live.render(results, settings)
        out = [perf.version for perf in results if perf.kpi_status == "out"]
        unverified = [perf.version for perf in results if perf.eval_reason]
        reason = live.failure_reason(results)
        result = GateResult(
            gate=GATE,
            passed=not reason,
            failure_reason=reason,
            summary_md=summary,
            details_md=details,
            data={
                "kpi": settings.kpi,
                "versions": live.as_json(results),
                "out_of_band": out,
                "without_eval_figures": unverified,
            },
            outputs={"out-of-band-versions": ",".join(out), "unverified-versions": ",".join(unverified)},
        )
        if issue:
            runner = github.Runner.from_env()
            judged_in_band = bool(results) and all(p.kpi_status in ("ok", "watch") for p in results)
            action, number = runner.track_episode(
                marker=live.MARKER,
                label=settings.issue_label,
                open_with=(
                    f"Live {settings.kpi} out of its band: version(s) {', '.join(out)}",
                    summary,
                    details,
                )
                if out
                else None,
                close_with=f"{summary}\n\nThe KPI is back within its band: closing this episode."
                if judged_in_band
                else None,
            )
            result.outputs["issue-action"] = action
            result.outputs["issue-number"] = str(number or "")
        return finish(result, report_dir=report_dir)

    return run_gate(GATE, work)
