"""Run a canary plan against a traffic target: shift, bake, judge, then promote or roll back.

The controller only knows two small protocols, so the same code path drives nginx, SageMaker and
KServe:

- `Target`: `set_weights(canary_percent)`, `read_weights() -> canary_percent`, `describe()`.
- `MetricsSource`: `window(seconds) -> StepWindow` (baseline and canary over the last `seconds`).

Evidence accumulates over the whole rollout: each look judges every completed step's last window plus
the current step's window since it started (one stratum per step, see `mlgate.canary.stats`), and the
absolute guards judge the counts since the previous look.

Safety rules: the rollout starts by reading the weights and, if any traffic is on the canary (an
interrupted earlier run), moving it back to the baseline and verifying that — a clean, known state.
Any failed step, any error from the target (`target-error`), any exception while a look is taken or
judged (`judge-error`), cancellation (the `cancel` event: SIGTERM/SIGINT in the command) or
`max_inconclusive` judged bakes of a step that did not pass (`no-data` or `inconclusive`, the last look's
reason) roll back to the baseline, and the weights are read back until they show 0 % on the canary
(bounded retries). A metrics source that stops answering makes a look inconclusive, so it leads to
rollback too.

Shared outages (both arms above an absolute guard at a look): both arms breaching together is never
evidence against the canary.
- The outage look blames nothing (the judge holds any check that failed on the outage's counts).
- Its counts never enter the evidence, nor the stretches next to it where part of it may hide below the
  guard: the step keeps its window up to the look *before* the previous one (at a step's first look, the
  previous step's last stretch is cut back to the look before its passing look instead), drops the rest,
  and restarts its window after the outage look. The next look *settles* the outage: its counts (the
  outage's tail) are dropped too, nothing is passed or blamed on them (inconclusive, `outage`), and the
  window restarts after it.
- The outage pauses the step: the outage look and the settling look spend no alpha and do not count
  against `max_inconclusive`; bake k of a step that could blame the canary is judged at bake k's share,
  so the step never spends more than its share. `max_inconclusive` bakes in a row held by an outage roll
  back as `outage`.
Every failed look's report names each failed check and the seconds of the rollout it judged
(`judgement["blamed"]`, `judgement["evidence"]`; "decided on ... over 600-900 s" in the timeline).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlgate.canary.config import CanarySection
from mlgate.canary.judge import StepWindow, Verdict, judge_canary, shared_breach

#: weights read back within this many percentage points count as applied
WEIGHT_TOLERANCE = 0.51
#: before a look blames the canary, its evidence is searched for a shared outage in slices this long
ZOOM_SECONDS = 30.0


class TargetError(RuntimeError):
    """The traffic router refused or failed a call (rolls back with reason `target-error`)."""


class MetricsUnavailableError(RuntimeError):
    """The metrics source did not answer (the look is inconclusive)."""


class LookError(RuntimeError):
    """A look could not be taken or judged: the metrics source or the judge raised (`judge-error`)."""


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
    #: error-rate | latency | prediction-shift | no-data | inconclusive | outage | judge-error |
    #: target-error | cancelled
    failure_reason: str = ""
    final_canary_percent: float | None = None
    rollback_verified: bool | None = None
    would_be: str = ""  # dry-run: what the judge would have done
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.result == "promoted" or (self.result == "dry-run" and not self.failure_reason)


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
        sleep: Callable[[float, threading.Event], bool] | None = None,
    ) -> None:
        self.plan = plan
        self.target = target
        self.metrics = metrics
        self.cancel = cancel or threading.Event()
        self.clock = clock
        self.log = log
        self.verify_attempts = verify_attempts
        self.verify_interval = verify_interval
        #: waits `seconds` unless cancelled (True when cancelled); a simulation passes its own clock's
        self.sleep = sleep or _sleep_interruptibly
        self.started = clock()
        self.timeline: list[TimelineEntry] = []
        #: the last window of every completed step (the strata of the evidence so far)
        self.completed: list[StepWindow] = []
        #: the seconds of the rollout (from, to) each stratum of `completed` covers
        self.completed_spans: list[tuple[float, float]] = []
        #: the looks of the current step's window so far: (seconds of the rollout, the window then); the
        #: guards judge what came after the last one
        self.step_looks: list[tuple[float, StepWindow]] = []
        #: the last completed step's stratum cut back to the look before its passing look (None: it had
        #: none), dropped in its place when the next step's first look reports an outage
        self.completed_tail: tuple[StepWindow, tuple[float, float]] | None = None
        #: no look of the current step yet (its window starts at the shift)
        self.fresh_step = True
        #: the analysed step being judged
        self.step_percent = plan.analysed_steps[0] if plan.analysed_steps else 100.0
        #: bakes of the current step that could blame the canary and did not pass (bake `judged_bakes` + 1
        #: is judged at that bake's share of alpha); bakes held by an outage (its look and the look after
        #: it) blame nothing, spend nothing and do not count
        self.judged_bakes = 0
        #: bakes in a row held by a shared outage
        self.paused_in_row = 0
        #: the last look was held by an outage (an outage look or the look settling one)
        self.look_paused = False
        #: when the current step's window starts (the step's start, or the last outage look)
        self.step_start = self.started
        #: the current step's evidence from before a shared outage (one stratum per stretch between outages)
        self.kept: list[StepWindow] = []
        self.kept_spans: list[tuple[float, float]] = []
        #: the span of the current step's window at the last look
        self.last_span = (0.0, 0.0)
        #: the previous look was a shared outage: the next one settles it (its counts are dropped too)
        self.settling = False

    # -- bookkeeping ---------------------------------------------------------------------------------
    def _record(self, action: str, percent: float, **kwargs: Any) -> TimelineEntry:
        entry = TimelineEntry(self.clock() - self.started, action, percent, **kwargs)
        self.timeline.append(entry)
        self.log(
            f"[{entry.at_seconds:7.1f}s] {action} canary={percent:g}% {entry.verdict} {entry.why}".rstrip()
        )
        return entry

    def _read(self) -> float:
        """The target's canary share; any failure (also an unexpected exception) is a TargetError."""
        try:
            return float(self.target.read_weights())
        except TargetError:
            raise
        except Exception as exc:  # whatever the router's client raises is a target error
            raise TargetError(
                f"{self.target.describe()}: reading the weights: {type(exc).__name__}: {exc}"
            ) from exc

    def _set(self, percent: float) -> None:
        try:
            self.target.set_weights(percent)
        except TargetError:
            raise
        except Exception as exc:  # whatever the router's client raises is a target error
            raise TargetError(
                f"{self.target.describe()}: setting canary {percent:g}%: {type(exc).__name__}: {exc}"
            ) from exc

    def _apply(self, percent: float) -> None:
        """Set the canary share and read it back until it shows (bounded); TargetError otherwise."""
        self._set(percent)
        seen = float("nan")
        for _ in range(self.verify_attempts):
            seen = self._read()
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
                final = self._read()
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
            try:
                return self._run_dry()
            except TargetError as exc:
                self._record("dry-run", float("nan"), verdict="error", reason="target-error", why=str(exc))
                return CanaryOutcome("dry-run", "target-error", None, None, "unknown", self.timeline)
        try:
            current = self._read()
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

    def _start_step(self, percent: float) -> None:
        self.step_percent = percent
        self.settling = False
        self.judged_bakes = 0
        self.paused_in_row = 0
        self.step_start = self.clock()
        self.step_looks = []
        self.fresh_step = True
        self.kept = []
        self.kept_spans = []

    def _hidden_outage(self, spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """The slices (`ZOOM_SECONDS`, seconds of the rollout) of the evidence in which both arms breach
        the error-rate guard (`judge.shared_breach`): an outage too short or too split between looks for a
        look's guard to see. Each slice's counts are the difference of two windows ending now."""
        now = self.clock()
        cache: dict[float, StepWindow] = {}

        def since(at: float) -> StepWindow:  # the counts from `at` (seconds of the rollout) to now
            if at not in cache:
                cache[at] = self.metrics.window(now - (self.started + at))
            return cache[at]

        found = []
        for start, end in spans:
            at = start
            while at < end - 1e-9:
                stop = min(at + ZOOM_SECONDS, end)
                piece = since(at) if stop >= now - self.started - 1e-9 else since(at).minus(since(stop))
                if shared_breach(piece, self.plan.analysis):
                    found.append((at, stop))
                at = stop
        return found

    def _unless_hidden_outage(
        self, spans: list[tuple[float, float]], reason: str, why: str
    ) -> tuple[Verdict, str, str]:
        """A failed look, before it blames the canary: a shared outage inside its evidence, at a finer
        resolution than the looks' (one that began just before this look, below its guard), makes it an
        outage look instead, and the strata holding it are dropped."""
        try:
            hidden = self._hidden_outage(spans)
        except Exception as exc:  # noqa: BLE001 - the look's own counts decide then
            return "fail", reason, f"{why} (the evidence could not be searched for a shared outage: {exc})"
        if not hidden:
            return "fail", reason, why
        self._drop_strata(hidden)
        return (
            "outage",
            "outage",
            f"a shared outage inside the evidence ({self._seconds(hidden)}: both arms above the error-rate "
            f"guard, seen in {ZOOM_SECONDS:g}-second slices); held, not blamed: {why}",
        )

    def _drop_strata(self, hidden: list[tuple[float, float]]) -> None:
        """Drop every kept or completed stratum that holds a slice of a hidden shared outage."""

        def clean(span: tuple[float, float]) -> bool:
            return not any(span[0] < end and span[1] > start for start, end in hidden)

        kept = [(w, s) for w, s in zip(self.kept, self.kept_spans, strict=True) if clean(s)]
        self.kept, self.kept_spans = [w for w, _ in kept], [s for _, s in kept]
        done = [(w, s) for w, s in zip(self.completed, self.completed_spans, strict=True) if clean(s)]
        self.completed, self.completed_spans = [w for w, _ in done], [s for _, s in done]

    def _patience_spent(self, paused: bool) -> bool:
        """A bake ended without a pass: count it (`paused`: every look of it held by an outage) and say
        whether the step must end — `max_inconclusive` judged bakes without a pass, or that many bakes in
        a row held by an outage."""
        if paused:
            self.paused_in_row += 1
            return self.paused_in_row >= self.plan.max_inconclusive
        self.paused_in_row = 0
        self.judged_bakes += 1
        return self.judged_bakes >= self.plan.max_inconclusive

    def _patience_why(self, paused: bool) -> str:
        if paused:
            return f"{self.paused_in_row} bakes in a row held by a shared outage"
        return f"{self.judged_bakes} bakes without a pass"

    def _complete_step(self, window: StepWindow) -> None:
        """The step passed with `window` as its last look: its strata join the rollout's evidence."""
        self.completed.extend([*self.kept, window])
        self.completed_spans.extend([*self.kept_spans, self.last_span])
        earlier = self.step_looks[-2] if len(self.step_looks) >= 2 else None
        start = self.last_span[0]
        self.completed_tail = None if earlier is None else (earlier[1], (start, earlier[0]))

    def _drop_before_outage(self, step_from: float) -> None:
        """An outage look: keep the step's evidence up to the look *before* the previous one. The outage
        may have begun in the previous look's stretch without reaching the guard there, so that stretch
        goes with it; when this is the step's first look, the previous step's last stretch goes instead."""
        if len(self.step_looks) >= 2:
            at, window = self.step_looks[-2]
            self.kept.append(window)
            self.kept_spans.append((step_from, at))
        elif self.fresh_step and self.completed:
            self.completed.pop()
            self.completed_spans.pop()
            if self.completed_tail is not None:
                self.completed.append(self.completed_tail[0])
                self.completed_spans.append(self.completed_tail[1])
        self.completed_tail = None

    @staticmethod
    def _seconds(spans: list[tuple[float, float]]) -> str:
        return ", ".join(f"{start:.0f}-{end:.0f} s" for start, end in spans)

    def _blamed(
        self, checks: list[dict[str, Any]], spans: list[tuple[float, float]], recent: tuple[float, float]
    ) -> list[dict[str, Any]]:
        """What a failed look blamed: each failed check, the counts it judged and their seconds."""
        return [
            {
                "check": c["signal"],
                "window": c["window"],
                "seconds": [list(span) for span in (spans if c["window"] == "evidence" else [recent])],
            }
            for c in checks
            if c["status"] == "fail"
        ]

    def _look(
        self, percent: float, look: int, *, interim: bool = False
    ) -> tuple[str, str, str, StepWindow | None]:
        """Judge the evidence so far (completed steps + this step since `step_start`); an interim look is
        recorded but can only fail. After an outage look the step's window restarts (see the module
        docstring). LookError when the metrics source or the judge raised."""
        plan = self.plan
        now = self.clock() - self.started
        step_from = self.step_start - self.started
        spans = [*self.completed_spans, *self.kept_spans, (step_from, now)]
        previous = self.step_looks[-1] if self.step_looks else None
        recent_span = (previous[0] if previous is not None else step_from, now)
        try:
            window = self.metrics.window(self.clock() - self.step_start)
        except MetricsUnavailableError as exc:
            entry = self._record(
                "analyse",
                percent,
                verdict="inconclusive",
                reason="no-data",
                why=f"look {look}: metrics source unavailable: {exc}",
            )
            self.look_paused = False
            return entry.verdict, entry.reason, entry.why, None
        except Exception as exc:  # any other failure ends the rollout on the baseline
            raise LookError(f"look {look}: the metrics source raised {type(exc).__name__}: {exc}") from exc
        try:
            recent = window.minus(previous[1]) if previous is not None else window
            judgement = judge_canary(
                [*self.completed, *self.kept, window],
                plan.analysis,
                min_requests=plan.min_requests,
                alphas=plan.test_alphas(self.step_percent, self.judged_bakes + 1),
                beta_look=plan.beta_per_look,
                recent=recent,
            )
        except Exception as exc:  # a judge that cannot judge must not leave traffic shifted
            raise LookError(f"look {look}: the judge raised {type(exc).__name__}: {exc}") from exc
        verdict, reason, why = judgement.verdict, judgement.reason, judgement.why
        report = judgement.to_json()
        report["evidence"] = {
            "strata_seconds": [list(span) for span in spans],
            "recent_seconds": list(recent_span),
        }
        self.last_span = (step_from, now)
        if verdict == "fail" and not self.settling and plan.analysis.max_error_rate is not None:
            verdict, reason, why = self._unless_hidden_outage(spans, reason, why)
        if verdict == "outage":
            # hold: drop the counts from the look before the previous one to this look, and judge the
            # next look on what comes after this one only
            self._drop_before_outage(step_from)
            self.step_start, self.step_looks, self.settling = self.clock(), [], True
            why += (
                "; the step holds and its evidence restarts after this look (the outage's counts and the "
                "stretch before the previous look's are dropped)"
            )
            self.look_paused = True
        elif self.settling:
            # the first look after an outage settles it: its counts may hold the outage's tail below the
            # guard, so nothing is decided on them — they are dropped and the window restarts here
            if verdict in ("fail", "pass"):
                held = "held, not blamed" if verdict == "fail" else "not a pass"
                why = f"{held}: {why}"
            verdict, reason = "inconclusive", "outage"
            why = (
                f"first look after a shared outage, on counts that may hold its tail: {why}; they are "
                "dropped and the step's evidence restarts after this look"
            )
            self.step_start, self.step_looks, self.settling = self.clock(), [], False
            self.look_paused = True
        else:
            self.step_looks.append((now, window))
            self.look_paused = False
        self.fresh_step = False
        if verdict == "fail":
            # the report says what it blamed: each failed rule and the seconds of the rollout it judged
            report["blamed"] = self._blamed(report["checks"], spans, recent_span)
            why += "; decided on " + "; ".join(
                f"{b['check']} over {self._seconds([(x[0], x[1]) for x in b['seconds']])}"
                for b in report["blamed"]
            )
        self._record(
            "analyse",
            percent,
            verdict=verdict,
            reason=reason,
            why=f"{'interim ' if interim else ''}look {look}: {why}",
            judgement=report,
        )
        return verdict, reason, why, window

    def _run_steps(self) -> CanaryOutcome:  # noqa: PLR0911, PLR0912 - each way out is one rollback reason
        plan = self.plan
        try:
            for percent in plan.analysed_steps:
                if self.cancel.is_set():
                    return self._rollback("cancelled", "cancelled before shifting traffic")
                self._apply(percent)
                self._record("shift", percent, why=f"canary {percent:g}% (read back)")
                self._start_step(percent)
                interval = plan.interval_seconds or plan.bake_seconds
                look = 0
                verdict, reason, why = "inconclusive", "no-data", ""
                while True:
                    bake_end = self.clock() + plan.bake_seconds
                    paused = True
                    for index in range(plan.looks_per_bake):
                        final_look = index == plan.looks_per_bake - 1
                        wait = bake_end - self.clock() if final_look else interval
                        if self.sleep(wait, self.cancel):
                            return self._rollback("cancelled", f"cancelled during the {percent:g}% bake")
                        seen = self._read()  # the router still answers and nobody moved it
                        if abs(seen - percent) > WEIGHT_TOLERANCE:
                            raise TargetError(
                                f"weights changed outside mlgate: canary {seen:g}%, expected {percent:g}%"
                            )
                        look += 1
                        verdict, reason, why, window = self._look(percent, look, interim=not final_look)
                        paused = paused and self.look_paused
                        if verdict == "fail":
                            return self._rollback(reason, f"step {percent:g}%: {why}")
                    if verdict == "pass" and window is not None:
                        self._complete_step(window)
                        break
                    if self._patience_spent(paused):
                        return self._rollback(reason, f"{self._patience_why(paused)}: {why}")
            if self.cancel.is_set():
                return self._rollback("cancelled", "cancelled before promotion")
            self._apply(100.0)
            final = self._read()
            self._record("promote", final, verdict="promoted", why="every analysed step passed; canary 100 %")
            return CanaryOutcome("promoted", "", final, None, timeline=self.timeline)
        except TargetError as exc:
            return self._rollback("target-error", str(exc))
        except LookError as exc:
            return self._rollback("judge-error", str(exc))
        except Exception as exc:  # noqa: BLE001 - never leave traffic on the canary
            return self._rollback("judge-error", f"unexpected {type(exc).__name__}: {exc}")

    def _run_dry(self) -> CanaryOutcome:
        """Analyse the traffic as it is, with the same bakes and looks as a real rollout, one pass of the
        plan per analysed step; never shift or roll back. `would_be` says what a real run would do."""
        plan = self.plan
        start_weights = self._read()
        self._record("dry-run", start_weights, why="dry run: traffic is not shifted")
        look = 0
        try:
            for percent in plan.analysed_steps:
                self._start_step(percent)
                while True:
                    if self.sleep(plan.bake_seconds, self.cancel):
                        return self._dry_outcome("rolled-back (cancelled)")
                    look += 1
                    verdict, reason, _why, window = self._look(start_weights, look)
                    if verdict == "fail":
                        return self._dry_outcome(f"rolled-back ({reason}) at the {percent:g}% step")
                    if verdict == "pass" and window is not None:
                        self._complete_step(window)
                        break
                    if self._patience_spent(self.look_paused):
                        return self._dry_outcome(f"rolled-back ({reason})")
        except LookError as exc:
            return self._dry_outcome(f"rolled-back (judge-error: {exc})")
        return self._dry_outcome("promoted")

    def _dry_outcome(self, would_be: str) -> CanaryOutcome:
        end_weights = self._read()
        return CanaryOutcome("dry-run", "", end_weights, None, would_be=would_be, timeline=self.timeline)
