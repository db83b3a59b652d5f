"""`mlgate drift-check`: the scheduled drift check of production data, one GitHub issue per drift episode.

Inputs: `--data` (a path, or an http(s) URL that is downloaded first), `--profile`, `--config`
(mlgate.yaml section `drift`, including `issue_label`), `--fail-on-drift/--no-fail-on-drift`.
Outputs: those of `mlgate drift` (`passed`, `failure-reason`, `dataset-drift`, `drift-share`,
`drifted-columns`) plus `issue-action` (`opened`, `updated`, `closed`, `none`, `skipped`) and
`issue-number`.

While the data drifts (the drift gate fails), one issue labelled `drift.issue_label` carries the latest
report: it is opened on the first drifted run and updated on the next ones. The first run without drift
comments and closes it, ending the episode; the next drift opens a new issue. The issue is found again
by its hidden marker (`<!-- mlgate:drift-check:<profile> -->`, the profile path normalised so
`./data/p.json` and `data/p.json` are one key), so several monitored datasets (several profiles) keep
separate issues and a rerun updates the episode's issue instead of opening a second one.

A sample too small to judge (`inconclusive`, see `mlgate drift`) is neither drift nor its end: the
episode's issue is left as it is (`issue-action: none`) and the run says why.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import click

from mlgate import github
from mlgate.data.config import DriftSection
from mlgate.data.drift import FAILURE_REASONS as DRIFT_REASONS
from mlgate.data.drift import drift_gate
from mlgate.gate import GateInputError, config_option, finish, path_option, report_dir_option, run_gate

#: every failure-reason this gate reports -> its one-line meaning (docs are generated from this)
#: the drift gate's reasons but the pull-request baseline check (a schedule has no pull request)
FAILURE_REASONS: dict[str, str] = {
    **{r: m for r, m in DRIFT_REASONS.items() if r != "baseline-change-unapproved"},
    "inconclusive": (
        "nothing drifted, but a column has too few rows for its test to judge: the episode's issue is "
        "left as it is"
    ),
    "download-failed": "the sample URL could not be downloaded",
    "github-api-error": "the drift issue could not be found, opened, updated or closed (status named)",
}


def fetch(source: str, directory: Path) -> Path:
    """A local path for `source`: the path itself, or the downloaded file of an http(s) URL."""
    parts = urlsplit(source)
    if parts.scheme not in ("http", "https"):
        return Path(source)
    import httpx

    name = PurePosixPath(parts.path).name or "sample.csv"
    target = directory / name
    try:
        with httpx.stream("GET", source, follow_redirects=True, timeout=120.0) as response:
            response.raise_for_status()
            with target.open("wb") as fh:
                for chunk in response.iter_bytes():
                    fh.write(chunk)
    except httpx.HTTPError as exc:
        raise GateInputError(
            f"cannot download the sample ({type(exc).__name__}: {str(exc)[:160]})",
            file=source,
            fix="check the URL and that the runner can reach it",
            reason="download-failed",
        ) from None
    return target


def issue_key(profile: Path) -> str:
    """The profile's part of the issue marker: one spelling per file (`./a//b.json` -> `a/b.json`)."""
    return Path(os.path.normpath(profile)).as_posix()


def issue_title(source: str, drifted: list[str], total: int) -> str:
    return f"Data drift: {len(drifted)} of {total} columns drifted in {source}"


@click.command("drift-check")
@click.option(
    "--data",
    "source",
    required=True,
    envvar="MLGATE_DATA",
    help="Production sample: a CSV/Parquet path or an http(s) URL.",
)
@path_option("--profile", "profile_path", help="Reference profile [default: drift.profile in mlgate.yaml].")
@config_option("drift")
@report_dir_option(help="Where the JSON result and report go.")
@click.option(
    "--fail-on-drift/--no-fail-on-drift",
    default=False,
    envvar="MLGATE_FAIL_ON_DRIFT",
    help="Exit 1 on drift (the issue is the alert either way).",
)
def command(
    *, source: str, profile_path: Path | None, config_path: Path, report_dir: Path, fail_on_drift: bool
) -> int:
    """Check production data for drift; open, update or close the drift issue."""

    def work() -> int:
        from mlgate.config import load_section

        settings = load_section(config_path, "drift", DriftSection)
        profile = profile_path or Path(settings.profile)
        with tempfile.TemporaryDirectory(prefix="mlgate-drift-") as tmp:
            data = fetch(source, Path(tmp))
            result = drift_gate(data, profile, settings)
        result.gate = "drift-check"
        runner = github.Runner.from_env()
        marker = github.comment_marker("drift-check", issue_key(profile))
        drifted = list(result.data["drifted_columns"])
        total = len(result.data["columns"])
        action, number = runner.track_episode(
            marker=marker,
            label=settings.issue_label,
            open_with=(issue_title(source, drifted, total), result.summary_md, result.details_md)
            if result.failure_reason == "data-drift"
            else None,
            close_with=f"{result.summary_md}\n\nDrift is gone: closing this episode."
            if result.passed and not result.data["inconclusive_columns"]
            else None,
        )
        result.outputs.update({"issue-action": action, "issue-number": str(number or "")})
        result.data.update({"issue_action": action, "issue_number": number, "source": source})
        code = finish(result, report_dir=report_dir)
        return code if fail_on_drift else 0

    return run_gate("drift-check", work)
