"""The drift gate's findings and their Markdown: per column (`ColumnDrift`), for the dataset
(`DriftReport`), rendered as a headline, a table with unicode sparklines and, per drifted column, bars
of the reference and new shares per bin (no images: the report reads the same in a PR comment, a step
summary and a terminal)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.data.config import DriftSection

SPARK = "▁▂▃▄▅▆▇█"


@dataclass
class ColumnDrift:
    name: str
    kind: str
    test: str
    statistic: float
    threshold: float
    drifted: bool
    psi: float | None = None
    ks_d: float | None = None
    ks_p: float | None = None
    ks_exact: bool = False
    ks_error: float = 0.0
    ks_p_range: tuple[float, float] | None = None
    chi2: float | None = None
    chi2_p: float | None = None
    null_rate_reference: float = 0.0
    null_rate_current: float = 0.0
    reference_shares: list[float] = field(default_factory=list)
    current_shares: list[float] = field(default_factory=list)
    bin_labels: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    #: the deciding test cannot judge at this sample size (or within the sketch's error): not drift,
    #: not a pass
    inconclusive: bool = False
    note: str = ""
    mean_reference: float | None = None
    mean_current: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class DriftReport:
    columns: list[ColumnDrift]
    skipped: dict[str, str]
    reference_rows: int
    current_rows: int
    share: float
    dataset_drift: bool
    settings: DriftSection

    @property
    def drifted(self) -> list[str]:
        return [c.name for c in self.columns if c.drifted]

    @property
    def inconclusive(self) -> list[str]:
        return [c.name for c in self.columns if c.inconclusive and not c.drifted]


def sparkline(shares: list[float], top: float) -> str:
    if top <= 0:
        return ""
    return "".join(SPARK[min(int(s / top * (len(SPARK) - 1) + 0.5), len(SPARK) - 1)] for s in shares)


# --- the report ---------------------------------------------------------------------------------------


def _fmt_p(p: float | None) -> str:
    if p is None:
        return ""
    return "<1e-300" if p == 0 else f"{p:.3g}"


def _headline(report: DriftReport) -> str:
    drifted, n, s = report.drifted, len(report.columns), report.settings
    if report.dataset_drift:
        return f"### ❌ mlgate drift: dataset drift — {len(drifted)} of {n} columns drifted"
    if drifted and s.fail_on == "column":
        return f"### ❌ mlgate drift: {len(drifted)} of {n} columns drifted"
    if report.inconclusive:
        mark = "❌" if s.inconclusive == "fail" else "⚠️"
        return (
            f"### {mark} mlgate drift: inconclusive — {len(report.inconclusive)} of {n} columns have too "
            "few rows to judge" + (f", {len(drifted)} drifted" if drifted else "")
        )
    if drifted:
        return f"### ⚠️ mlgate drift: {len(drifted)} of {n} columns drifted"
    return f"### ✅ mlgate drift: no drift in {n} columns"


def render(report: DriftReport, *, data: Path, profile_path: Path) -> tuple[str, str]:
    """(summary, details) Markdown; charts are unicode sparklines and bars, no images."""
    drifted = report.drifted
    s = report.settings
    head = _headline(report)
    lines = [
        head,
        "",
        f"`{data}` ({report.current_rows:,} rows) against the profile `{profile_path}` "
        f"({report.reference_rows:,} rows). Drift share {report.share:.0%} "
        f"(dataset drift at ≥ {s.dataset_drift_share:.0%}); numeric columns decided by "
        f"{s.numeric_test.upper()}, categorical by {'PSI' if s.categorical_test == 'psi' else 'chi-square'}.",
    ]
    if drifted:
        lines += ["", "Drifted: " + ", ".join(f"`{c}`" for c in drifted)]
    if report.inconclusive:
        lines += [
            "",
            "Inconclusive (neither drift nor a pass): "
            + ", ".join(f"`{c}`" for c in report.inconclusive)
            + ". Compare larger samples, or judge by KS (`drift.numeric_test: ks`), which needs fewer rows.",
        ]
    table = [
        "| column | test | value | threshold | PSI | KS D | KS p | χ² p | nulls ref → new "
        "| reference → new | |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for c in report.columns:
        top = max([*c.reference_shares, *c.current_shares, 0.0])
        chart = f"`{sparkline(c.reference_shares, top)}` → `{sparkline(c.current_shares, top)}`"
        ks_d = ""
        if c.ks_d is not None:
            ks_d = f"{c.ks_d:.4f}" + ("" if c.ks_exact else f" ±{c.ks_error:.1g}")
        verdict = "❌ drift" if c.drifted else ("❔ inconclusive" if c.inconclusive else "✅")
        table.append(
            f"| `{c.name}` | {c.test} | {c.statistic:.4g} | {c.threshold:g} | "
            f"{c.psi:.4f} | {ks_d} | {_fmt_p(c.ks_p)} | {_fmt_p(c.chi2_p)} | "
            f"{c.null_rate_reference:.1%} → {c.null_rate_current:.1%} | {chart} | {verdict} |"
        )
    details = ["#### Columns", "", *table]
    if report.skipped:
        details += ["", "Not compared: " + "; ".join(f"`{k}` ({v})" for k, v in report.skipped.items())]
    notes = [f"- `{c.name}`: {c.note}" for c in report.columns if c.note]
    if notes:
        details += ["", *notes]
    approx = [c for c in report.columns if c.ks_d is not None and not c.ks_exact]
    if approx:
        details += [
            "",
            f"KS for {len(approx)} column(s) computed from the profile's ECDF sketch: D is within "
            f"±{max(c.ks_error for c in approx):.1g} of the exact value (pass `--reference` for exact KS).",
        ]
    for c in [c for c in report.columns if c.drifted][:10]:
        details += [
            "",
            f"<details><summary><code>{c.name}</code>: {'; '.join(c.reasons)}</summary>",
            "",
            "```text",
            _bars(c),
            "```",
            "",
            "</details>",
        ]
    return "\n".join(lines), "\n".join(details)


def _bars(c: ColumnDrift, width: int = 20) -> str:
    top = max([*c.reference_shares, *c.current_shares, 1e-12])
    label_width = min(max((len(b) for b in c.bin_labels), default=4), 28)
    rows = [f"{'bin':<{label_width}}  {'reference':<{width + 7}}  new"]
    for label, ref, cur in zip(c.bin_labels, c.reference_shares, c.current_shares, strict=False):
        ref_bar = "█" * round(ref / top * width)
        cur_bar = "█" * round(cur / top * width)
        rows.append(
            f"{label[:label_width]:<{label_width}}  {ref:6.1%} {ref_bar:<{width}}  {cur:6.1%} {cur_bar}"
        )
    return "\n".join(rows)
