"""Latency budgets for tests that run the eval gate, from a measurement on this machine, never a fixed number.

A test that runs a generated project's eval gate judges the model's latency too. The template ships a
fixed budget (`single_row_p95_ms: 50`), which says nothing about how fast this machine is, or how loaded
it is while the suite runs. So such a test first measures the generated project's default model here,
with the gate's own procedure, and sets the budget to a multiple of what it measured:

    budget = measured_single_row_budget_ms(project)     # factor x the p95 measured in this process
    set_single_row_budget(project, budget)               # rewrites mlgate.yaml's eval.latency budget

The latency rule stays on (a model that became `FACTOR` times slower than this one still fails); load on
the machine cannot fail it, because the gate times CPU time, in rounds, confirmed before failing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: the budget is this many times the p95 measured here (and at least MIN_BUDGET_MS)
FACTOR = 20.0
MIN_BUDGET_MS = 5.0


def measured_single_row_budget_ms(project: Path, *, factor: float = FACTOR) -> float:
    """Train the generated project's default model with its own code on a small sample, time single-row
    predicts on its golden rows with the gate's procedure in this process, return factor x the p95."""
    import importlib

    from mlgate.eval_gate.config import LatencyRules
    from mlgate.eval_gate.latency import measure_latency

    src = str(project / "src")
    package = next(p.name for p in (project / "src").iterdir() if (p / "train.py").exists())
    sys.path.insert(0, src)
    try:
        data = importlib.import_module(f"{package}.data")
        train = importlib.import_module(f"{package}.train")
        params = importlib.import_module(f"{package}.params").load_params(project / "params.yaml")
        frame = data.generate_transactions(5_000, seed=params.data.seed)
        model = train.fit(frame, params.train)
        golden = data.golden_scenarios()
        features = golden.drop(columns=["transaction_id", "scenario", "is_fraud", data.GOLDEN_SET_COLUMN])
    finally:
        sys.path.remove(src)
        for name in [m for m in sys.modules if m.split(".")[0] == package]:
            del sys.modules[name]
    rules = LatencyRules(single_row_calls=100, batch_calls=3)  # the gate's clock, rounds and warm-up
    measured = measure_latency({"candidate": lambda f: model.predict_proba(f)[:, -1]}, features, rules)
    return max(MIN_BUDGET_MS, round(factor * measured["candidate"]["single_row"]["p95"], 1))


def set_single_row_budget(project: Path, budget_ms: float) -> None:
    """Rewrite `single_row_p95_ms` in the project's mlgate.yaml (the line the template ships)."""
    config = project / "mlgate.yaml"
    text, count = re.subn(
        r"(?m)^(\s*single_row_p95_ms:\s*)[0-9.]+", rf"\g<1>{budget_ms:g}", config.read_text(encoding="utf-8")
    )
    if count != 1:
        raise AssertionError(f"{config}: expected one `single_row_p95_ms:` line, found {count}")
    config.write_text(text, encoding="utf-8")
