"""Run a canary plan against a traffic target: shift, bake, judge, then promote or roll back.

The controller only knows two small protocols, so the same code path drives nginx, SageMaker and
KServe:

- `Target`: `set_weights(canary_percent)`, `read_weights() -> canary_percent`, `describe()`.
- `MetricsSource`: `window(seconds) -> StepWindow` (baseline and canary over the last `seconds`).

Safety rules: the rollout starts by reading the weights and, if any traffic is on the canary (an
interrupted earlier run), moving it back to the baseline and verifying that — a clean, known state.
Any failed step, any error from the target, cancellation (the `cancel` event: SIGTERM/SIGINT in the
command) or `max_inconclusive` inconclusive looks in a row roll back to the baseline, and the weights
are read back until they show 0 % on the canary (bounded retries). A metrics source that stops answering
makes a look inconclusive, so it leads to rollback too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlgate.canary.config import CanarySection
from mlgate.canary.judge import StepWindow, judge_canary_step

#: weights read back within this many percentage points count as applied
WEIGHT_TOLERANCE = 0.51


class TargetError(RuntimeError):
    """The traffic router refused or failed a call (rolls back with reason `target-error`)."""


class MetricsUnavailableError(RuntimeError):
    """The metrics source did not answer (the look is inconclusive)."""


class Target(Protocol):
    def set_weights(self, canary_percent: float) -> None: ...

    def read_weights(self) -> float: ...

    def describe(self) -> str: ...


class MetricsSource(Protocol):
    def window(self, seconds: float) -> StepWindow: ...


@dataclass
class TimelineEntry:
    at_seconds: float
    action: str  # reset | shift | analyse | rollback | promote | dry-run
    canary_percent: float
    verdict: str = ""
    reason: str = ""
    why: str = ""
    judgement: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "at_seconds": round(self.at_seconds, 3),
            "action": self.action,
            "canary_percent": self.canary_percent,
            "verdict": self.verdict,
            "reason": self.reason,
            "why": self.why,
        }
        if self.judgement is not None:
            data["judgement"] = self.judgement
        return data


@dataclass
class CanaryOutcome:
    result: str  # promoted | rolled-back | dry-run
    failure_reason: str = ""  # error-rate | latency | prediction-shift | no-data | target-error | cancelled
    final_canary_percent: float | None = None
    rollback_verified: bool | None = None
    would_be: str = ""  # dry-run: what the judge would have done
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.result in ("promoted", "dry-run")


def _sleep_interruptibly(seconds: float, cancel: threading.Event) -> bool:
    """Sleep up to `seconds`; True when cancelled."""
    return cancel.wait(timeout=max(0.0, seconds))


class Controller:
    def __init__(
        self,
        plan: CanarySection,
        target: Target,
        metrics: MetricsSource,
        *,
        cancel: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = lambda _message: None,
        verify_attempts: int = 20,
        verify_interval: float = 0.25,
    ) -> None:
        self.plan = plan
        self.target = target
        self.metrics = metrics
        self.cancel = cancel or threading.Event()
        self.clock = clock
        self.log = log
        self.verify_attempts = verify_attempts
        self.verify_interval = verify_interval
        self.started = clock()
        self.timeline: list[TimelineEntry] = []

    # -- bookkeeping ---------------------------------------------------------------------------------
    def _record(self, action: str, percent: float, **kwargs: Any) -> TimelineEntry:
        entry = TimelineEntry(self.clock() - self.started, action, percent, **kwargs)
        self.timeline.append(entry)
        self.log(
            f"[{entry.at_seconds:7.1f}s] {action} canary={percent:g}% {entry.verdict} {entry.why}".rstrip()
        )
        return entry

    def _apply(self, percent: float) -> None:
        """Set the canary share and read it back until it shows (bounded); TargetError otherwise."""
        self.target.set_weights(percent)
        seen = float("nan")
        for _ in range(self.verify_attempts):
            seen = self.target.read_weights()
            if abs(seen - percent) <= WEIGHT_TOLERANCE:
                return
            time.sleep(self.verify_interval)
        raise TargetError(f"{self.target.describe()}: set canary to {percent:g}% but read back {seen:g}%")

    def _rollback(self, reason: str, why: str) -> CanaryOutcome:
        verified = False
        final: float | None = None
        detail = why
        for _attempt in range(3):
            try:
                self._apply(0.0)
                final = self.target.read_weights()
                verified = True
                break
            except Exception as exc:  # noqa: BLE001 - every failure here is reported, then retried
                detail = f"{why}; rollback attempt failed: {exc}"
        self._record(
            "rollback",
            final if final is not None else float("nan"),
            verdict="rolled-back",
            reason=reason,
            why=detail if not verified else f"{why}; weights read back: canary 0 %",
        )
        return CanaryOutcome("rolled-back", reason, final, verified, timeline=self.timeline)

    # -- the plan --------------------------------------------------------------------------------------
    def run(self) -> CanaryOutcome:
        plan = self.plan
        if plan.dry_run:
            return self._run_dry()
        try:
            current = self.target.read_weights()
            if current > WEIGHT_TOLERANCE:
                self._apply(0.0)
                self._record(
                    "reset",
                    0.0,
                    why=f"found {current:g}% on the canary (an earlier run?): "
                    "moved it back to the baseline before starting",
                )
            else:
                self._record("reset", current, why="starting from the baseline (canary 0 %)")
        except TargetError as exc:
            return self._rollback("target-error", str(exc))
        return self._run_steps()

    def _look(
        self, percent: float, step_start: float, look: int, *, interim: bool = False
    ) -> tuple[str, str, str]:
        """Judge the window since `step_start`; an interim look is recorded but can only fail."""
        plan = self.plan
        alpha = plan.alpha_per_test
        try:
            window = self.metrics.window(self.clock() - step_start)
        except MetricsUnavailableError as exc:
            entry = self._record(
                "analyse",
                percent,
                verdict="inconclusive",
                reason="no-data",
                why=f"look {look}: metrics source unavailable: {exc}",
            )
            return entry.verdict, entry.reason, entry.why
        judgement = judge_canary_step(window, plan.analysis, min_requests=plan.min_requests, alpha_test=alpha)
        self._record(
            "analyse",
            percent,
            verdict=judgement.verdict,
            reason=judgement.reason,
            why=f"{'interim ' if interim else ''}look {look}: {judgement.why}",
            judgement=judgement.to_json(),
        )
        return judgement.verdict, judgement.reason, judgement.why

    def _run_steps(self) -> CanaryOutcome:  # noqa: PLR0911 - each way out is one rollback reason
        plan = self.plan
        inconclusive_in_row = 0
        try:
            for percent in plan.analysed_steps:
                if self.cancel.is_set():
                    return self._rollback("cancelled", "cancelled before shifting traffic")
                self._apply(percent)
                self._record("shift", percent, why=f"canary {percent:g}% (read back)")
                step_start = self.clock()
                interval = plan.interval_seconds or plan.bake_seconds
                look = 0
                for _bake in range(plan.max_inconclusive):
                    bake_end = self.clock() + plan.bake_seconds
                    for index in range(plan.looks_per_bake):
                        final_look = index == plan.looks_per_bake - 1
                        wait = bake_end - self.clock() if final_look else interval
                        if _sleep_interruptibly(wait, self.cancel):
                            return self._rollback("cancelled", f"cancelled during the {percent:g}% bake")
                        seen = self.target.read_weights()  # the router still answers and nobody moved it
                        if abs(seen - percent) > WEIGHT_TOLERANCE:
                            raise TargetError(
                                f"weights changed outside mlgate: canary {seen:g}%, expected {percent:g}%"
                            )
                        look += 1
                        verdict, reason, why = self._look(percent, step_start, look, interim=not final_look)
                        if verdict == "fail":
                            return self._rollback(reason, f"step {percent:g}%: {why}")
                    if verdict == "pass":
                        inconclusive_in_row = 0
                        break
                    inconclusive_in_row += 1
                    if inconclusive_in_row >= plan.max_inconclusive:
                        return self._rollback(
                            "no-data", f"{inconclusive_in_row} inconclusive looks in a row: {why}"
                        )
            if self.cancel.is_set():
                return self._rollback("cancelled", "cancelled before promotion")
            self._apply(100.0)
            final = self.target.read_weights()
            self._record("promote", final, verdict="promoted", why="every analysed step passed; canary 100 %")
            return CanaryOutcome("promoted", "", final, None, timeline=self.timeline)
        except TargetError as exc:
            return self._rollback("target-error", str(exc))

    def _run_dry(self) -> CanaryOutcome:
        """Analyse the traffic as it is, with the same bakes and looks as a real rollout, one pass of the
        plan per analysed step; never shift or roll back. `would_be` says what a real run would do."""
        plan = self.plan
        start_weights = self.target.read_weights()
        self._record("dry-run", start_weights, why="dry run: traffic is not shifted")
        would_be = "promoted"
        inconclusive_in_row = 0
        look = 0
        for percent in plan.analysed_steps:
            step_start = self.clock()
            verdict = "inconclusive"
            for _bake in range(plan.max_inconclusive):
                if _sleep_interruptibly(plan.bake_seconds, self.cancel):
                    return self._dry_outcome("rolled-back (cancelled)")
                look += 1
                verdict, reason, _why = self._look(start_weights, step_start, look)
                if verdict == "fail":
                    return self._dry_outcome(f"rolled-back ({reason}) at the {percent:g}% step")
                if verdict == "pass":
                    inconclusive_in_row = 0
                    break
                inconclusive_in_row += 1
                if inconclusive_in_row >= plan.max_inconclusive:
                    return self._dry_outcome("rolled-back (no-data)")
        return self._dry_outcome(would_be)

    def _dry_outcome(self, would_be: str) -> CanaryOutcome:
        end_weights = self.target.read_weights()
        return CanaryOutcome("dry-run", "", end_weights, None, would_be=would_be, timeline=self.timeline)
