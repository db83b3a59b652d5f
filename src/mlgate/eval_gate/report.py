"""What the eval gate measured (`EvalOutcome`) as the gate's result and its Markdown report."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from mlgate.eval_gate.bootstrap import Interval
from mlgate.eval_gate.config import EvalSection
from mlgate.eval_gate.golden import GoldenParts
from mlgate.eval_gate.rules import GATE, RuleCheck, SegmentReport, fmt, verdict
from mlgate.gate import GateResult


@dataclass
class MetricRow:
    name: str
    greater_is_better: bool
    #: candidate and baseline on the comparison rows (the golden sample, or every row)
    candidate: float
    baseline: float | None
    candidate_interval: Interval
    delta_interval: Interval | None
    #: the candidate on the must-pass scenarios (None when the golden dataset has no parts)
    must_pass: float | None = None


@dataclass
class EvalOutcome:
    """Everything measured; `result()` turns it into the GateResult."""

    section: EvalSection
    candidate_label: str
    baseline_label: str | None
    rows: int
    parts: GoldenParts
    metrics: list[MetricRow]
    checks: list[RuleCheck]
    latency: dict[str, dict[str, dict[str, float]]]
    segments: list[SegmentReport]
    digest: dict[str, str]
    candidate_ref: str
    candidate_version: dict[str, str | None]

    def result(self) -> GateResult:
        passed, reason = verdict(self.checks)
        return GateResult(
            gate=GATE,
            passed=passed,
            failure_reason=reason,
            summary_md=render_summary(self, passed),
            details_md=render_details(self),
            data={
                "candidate": {
                    "ref": self.candidate_ref,
                    "label": self.candidate_label,
                    **self.candidate_version,
                },
                "baseline": self.baseline_label,
                "no_baseline_policy": self.section.no_baseline if self.baseline_label is None else None,
                "rows": self.rows,
                "golden_sets": (
                    {"must_pass": self.parts.must_pass_rows, "sample": self.parts.sample_rows}
                    if self.parts.configured
                    else None
                ),
                "metrics": [asdict(m) for m in self.metrics],
                "checks": [asdict(c) for c in self.checks],
                "latency_ms": self.latency,
                "segments": [asdict(s) for s in self.segments],
                "bootstrap": self.section.bootstrap.model_dump(),
                "digest": self.digest,
            },
            outputs={"result-digest": self.digest["combined"]},
        )


def _interval(iv: Interval | None, signed: bool = False) -> str:
    if iv is None or math.isnan(iv.low):
        return "—"
    f = "{:+.4f}" if signed else "{:.4f}"
    return f"[{f.format(iv.low)}, {f.format(iv.high)}]"


def render_summary(outcome: EvalOutcome, passed: bool) -> str:
    failed = [c for c in outcome.checks if c.passed is False]
    head = "✅ **passed**" if passed else f"❌ **blocked** — {len(failed)} rule(s) failed"
    base = outcome.baseline_label or "none"
    lines = [
        f"### mlgate eval-gate: {head}",
        "",
        f"Candidate **{outcome.candidate_label}** vs baseline **{base}** on {outcome.rows} golden rows"
        + (
            f" ({outcome.parts.must_pass_rows} must-pass scenarios for the absolute rules, "
            f"{outcome.parts.sample_rows} sample rows for the comparisons)."
            if outcome.parts.configured
            else "."
        ),
    ]
    if outcome.baseline_label is None:
        policy = outcome.section.no_baseline
        lines.append(
            f"\n> ⚠️ No baseline: `{outcome.section.model_name}@{outcome.section.baseline_alias}` does not "
            f"exist yet (first model). Policy `no_baseline: {policy}`"
            + (": absolute rules only, comparisons skipped." if policy == "absolute-only" else ": blocked.")
        )
    if failed:
        lines += ["", "Failed rules:"]
        lines += [f"- **{c.subject}** {c.rule}: {c.detail} (`{c.reason}`)" for c in failed]
    lines.append(f"\n<sub>result digest `{outcome.digest['combined'][:16]}…`</sub>")
    return "\n".join(lines)


def render_details(outcome: EvalOutcome) -> str:
    conf = f"{outcome.section.bootstrap.confidence:.0%}"
    parts = outcome.parts.configured
    where = " on the golden sample" if parts else ""
    out = [
        f"#### Metrics{where} ({conf} paired bootstrap intervals, {outcome.section.bootstrap.resamples} "
        "resamples)",
        "",
        ("| metric | must-pass | " if parts else "| metric | ")
        + f"candidate | {conf} CI | baseline | Δ | Δ {conf} CI | rules |",
        ("|---|---:|---:|---|---:|---:|---|---|" if parts else "|---|---:|---|---:|---:|---|---|"),
    ]
    for m in outcome.metrics:
        rules = [c for c in outcome.checks if c.subject == m.name]
        marks = (
            "<br>".join(
                f"{'✅' if c.passed else ('⏭️' if c.passed is None else '❌')} {c.rule}" for c in rules
            )
            or "—"
        )
        delta = fmt(m.candidate - m.baseline) if m.baseline is not None else "—"
        arrow = "↑" if m.greater_is_better else "↓"
        must = f"{fmt(m.must_pass)} | " if parts else ""
        out.append(
            f"| {m.name} {arrow} | {must}{fmt(m.candidate)} | {_interval(m.candidate_interval)} | "
            f"{fmt(m.baseline)} | {delta} | {_interval(m.delta_interval, signed=True)} | {marks} |"
        )
    if outcome.latency:
        lat_rules = outcome.section.latency
        out += [
            "",
            f"#### Latency ({'CPU ' if lat_rules.clock == 'cpu' else ''}ms per call, after warm-up, "
            f"calls interleaved; p95 = median of {lat_rules.rounds} rounds' p95)",
            "",
            "| model | mode | p50 | p95 | p99 | calls | vs baseline |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for model, modes in outcome.latency.items():
            for mode, p in modes.items():
                ratio = f"{p['ratio']:.2f}x" if "ratio" in p else "—"
                out.append(
                    f"| {model} | {mode.replace('_', '-')} | {p['p50']:.2f} | {p['p95']:.2f} | "
                    f"{p['p99']:.2f} | {int(p['calls'])} | {ratio} |"
                )
        lat = [c for c in outcome.checks if c.subject.startswith("latency")]
        out += [
            f"- {'✅' if c.passed else ('⏭️' if c.passed is None else '❌')} {c.subject} {c.rule}: {c.detail}"
            for c in lat
        ]
    for seg in outcome.segments:
        out += [
            "",
            f"#### Segments by `{seg.column}` ({seg.metric})",
            "",
            "| segment | rows | candidate | baseline |",
            "|---|---:|---:|---:|",
        ]
        for value, (n, cand, base) in seg.values.items():
            out.append(f"| {value} | {n} | {fmt(cand)} | {fmt(base)} |")
        out.append(f"\nLargest gap: {fmt(seg.gap)} (baseline {fmt(seg.baseline_gap)})")
    d = outcome.digest
    out += [
        "",
        "<details><summary>Digests</summary>",
        "",
        f"- candidate model `{d['model']}`",
        f"- golden data `{d['data']}`",
        f"- rules `{d['rules']}`",
        f"- result `{d['combined']}`",
        "",
        "</details>",
    ]
    return "\n".join(out)
