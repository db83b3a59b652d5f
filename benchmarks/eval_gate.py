"""What the eval gate costs, and whether its confidence requirement keeps noise from passing.

    uv run python benchmarks/eval_gate.py            # full sizes (several minutes on 2 cores)
    uv run python benchmarks/eval_gate.py --quick    # small sizes (about a minute)

Prints three groups of figures, each with its baseline measured in the same run:

1. Gate overhead: wall time of the gate's work on a golden dataset (load both MLflow models, score,
   metrics, paired bootstrap, segments, digests; latency timing off, since it is deliberate extra
   inference) against the pure inference time of both models on the same rows. `import mlflow` is
   reported separately (it is paid once per job whatever the gate does).
2. Bootstrap cost: 1,000 paired resamples on 100k rows for ROC AUC, PR AUC and recall — the gate's
   vectorised weighted-count bootstrap against the obvious loop of scikit-learn metric calls on
   resampled rows (timed on a few resamples and scaled; the ratio is the point).
3. Statistical check: pairs of models that differ only by training seed, judged by a "PR AUC must
   improve by >= 3 % relative" rule with and without `require_ci_lower_bound`: how often does noise
   pass? And a truly better model (one informative feature more): how often does it pass?
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mlgate import eval_gate as eg  # noqa: E402 - the checkout's package, importable without install


def population(rows: int, seed: int, features: int = 12) -> tuple[Any, Any]:
    """Synthetic tabular data: a rare positive class driven by the first four features."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    logit = 1.4 * x[:, 0] + 1.0 * x[:, 1] - 0.8 * x[:, 2] + 0.6 * x[:, 3] - 3.0
    y = (logit + rng.logistic(size=rows) > 0).astype(int)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(features)])
    frame["segment"] = rng.choice(["a", "b", "c", "d"], size=rows)
    return frame, y


def timed(func: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return time.perf_counter() - start, out


# -- 1. gate overhead -----------------------------------------------------------------------------------


def gate_overhead(rows: int) -> None:
    import_s, _ = timed(__import__, "mlflow")
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    from mlgate.registry import load_predictor, open_model

    train, y_train = population(20_000, seed=1)
    features = [c for c in train.columns if c != "segment"]
    golden, y_golden = population(rows, seed=2)
    golden["label"] = y_golden
    models = {
        "candidate": HistGradientBoostingClassifier(max_iter=100, random_state=0),
        "baseline": LogisticRegression(max_iter=500),
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, model in models.items():
            model.fit(train[features], y_train)
            mlflow.sklearn.save_model(
                model,
                str(root / name),
                pip_requirements=["scikit-learn"],
                skops_trusted_types=["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"],
                signature=infer_signature(head := train[features].head(50), model.predict_proba(head)[:, 1]),
            )
        golden_path = root / "golden.csv"
        golden.to_csv(golden_path, index=False)
        section = eg.EvalSection.model_validate(
            {
                "golden_data": str(golden_path),
                "label": "label",
                "exclude_columns": ["segment"],
                "metrics": {"pr_auc": {"max_regression": {"relative": 0.01}}, "roc_auc": {}, "recall": {}},
                "latency": {"enabled": False},
                "segments": [{"column": "segment", "metric": "recall", "max_gap": 0.5}],
                "bootstrap": {"resamples": 1000},
            }
        )
        # pure inference of both models on the golden rows (models already in memory): the floor
        est = {n: mlflow.sklearn.load_model(str(root / n)) for n in models}
        inference = min(
            sum(timed(est[n].predict_proba, golden[features])[0] for n in models) for _ in range(3)
        )
        gate_times = []
        for _ in range(3):
            start = time.perf_counter()
            cand, base = open_model(str(root / "candidate")), open_model(str(root / "baseline"))
            for handle in (cand, base):
                load_predictor(handle, want_scores=True)
            eg.evaluate(section, golden=golden_path, candidate=cand, baseline=base)
            gate_times.append(time.perf_counter() - start)
        gate = min(gate_times)
        # the same gate without the bootstrap: what the statistics add on top of loading + scoring
        no_boot = section.model_copy(update={"bootstrap": eg.BootstrapConfig(resamples=50)})
        start = time.perf_counter()
        cand, base = open_model(str(root / "candidate")), open_model(str(root / "baseline"))
        eg.evaluate(no_boot, golden=golden_path, candidate=cand, baseline=base)
        light = time.perf_counter() - start
    print(
        f"\n1. Gate overhead on {rows:,} golden rows (HistGradientBoosting candidate vs LogisticRegression)"
    )
    print(f"   import mlflow (once per job)                  {import_s:8.2f} s")
    print(f"   pure inference of both models (baseline)       {inference:8.3f} s")
    print(
        f"   gate, 1,000 bootstrap resamples, 3 metrics     {gate:8.3f} s   = "
        f"{gate / inference:6.1f}x inference (+{(gate - inference) / inference:.0%})"
    )
    print(
        f"   gate, 50 resamples (load+score+digest+segments){light:8.3f} s   = "
        f"{light / inference:6.1f}x inference (+{(light - inference) / inference:.0%})"
    )


# -- 2. bootstrap cost -----------------------------------------------------------------------------------


def bootstrap_cost(rows: int, resamples: int, loop_resamples: int) -> None:
    from sklearn import metrics as skm

    rng = np.random.default_rng(0)
    y = (rng.random(rows) < 0.05).astype(float)
    s_c = np.clip(y * 0.3 + rng.random(rows), 0, 1)
    s_b = np.clip(y * 0.25 + rng.random(rows), 0, 1)
    sk = {
        "roc_auc": skm.roc_auc_score,
        "pr_auc": skm.average_precision_score,
        "recall": lambda t, s: skm.recall_score(t, s >= 0.5),
    }
    print(f"\n2. Paired bootstrap, {resamples:,} resamples on {rows:,} rows (both models per resample)")
    print("   metric     vectorised (gate)   sklearn loop (scaled)   speed-up")
    for name, fn in sk.items():
        metric = eg.build_metric(name, eg.MetricRule(), decision_threshold=0.5)
        fast, _ = timed(
            eg.paired_bootstrap, metric, y, s_c, s_b, resamples=resamples, confidence=0.95, seed=0
        )
        idx_sets = [i for chunk in eg.resample_indices(0, rows, loop_resamples) for i in chunk]
        slow_part, _ = timed(
            lambda fn=fn, idx_sets=idx_sets: [fn(y[i], s_c[i]) - fn(y[i], s_b[i]) for i in idx_sets]
        )
        slow = slow_part * resamples / loop_resamples
        print(f"   {name:<9} {fast:10.2f} s {slow:18.2f} s {slow / fast:16.1f}x")


# -- 3. statistical check --------------------------------------------------------------------------------


def statistical_check(trials: int, golden_rows: int, resamples: int) -> None:
    from sklearn.ensemble import RandomForestClassifier

    train, y_train = population(4_000, seed=11)
    features = [c for c in train.columns if c != "segment"]
    weaker = [c for c in features if c != "f1"]  # one informative feature fewer
    rule_point = eg.MetricRule.model_validate({"min_improvement": {"relative": 0.03}})
    rule_ci = rule_point.model_copy(update={"require_ci_lower_bound": True})
    metric = eg.build_metric("pr_auc", eg.MetricRule(), decision_threshold=0.5)

    def forest(seed: int, cols: list[str]) -> Any:
        model = RandomForestClassifier(
            n_estimators=30, max_depth=10, min_samples_leaf=5, max_features=0.5, n_jobs=1, random_state=seed
        )
        return model.fit(train[cols], y_train), cols

    counts = {"same-point": 0, "same-ci": 0, "better-point": 0, "better-ci": 0}
    start = time.perf_counter()
    for t in range(trials):
        golden, y = population(golden_rows, seed=1000 + t)
        yf = y.astype(float)
        (m_a, ca), (m_b, cb) = forest(2 * t, features), forest(2 * t + 1, features)
        (m_w, cw) = forest(5000 + t, weaker)
        s_a = m_a.predict_proba(golden[ca])[:, 1]
        s_b = m_b.predict_proba(golden[cb])[:, 1]
        s_w = m_w.predict_proba(golden[cw])[:, 1]
        for kind, cand, base in (("same", s_a, s_b), ("better", s_a, s_w)):
            c, b = metric.value(yf, cand), metric.value(yf, base)
            boot = eg.paired_bootstrap(metric, yf, cand, base, resamples=resamples, confidence=0.95, seed=t)
            point_ok = eg.verdict(eg.judge_metric("pr_auc", rule_point, True, c, b))[0]
            ci_ok = eg.verdict(eg.judge_metric("pr_auc", rule_ci, True, c, b, delta=boot.delta))[0]
            counts[f"{kind}-point"] += point_ok
            counts[f"{kind}-ci"] += ci_ok
    took = time.perf_counter() - start
    print(
        f"\n3. 'PR AUC must improve by >= 3 % relative', {trials} trials, {golden_rows} golden rows, "
        f"{resamples} resamples ({took:.0f} s)"
    )
    print("   pair of models                         point estimate   with CI lower bound")
    print(
        f"   differ only by training seed (noise)   {counts['same-point'] / trials:13.1%}   "
        f"{counts['same-ci'] / trials:18.1%}"
    )
    print(
        f"   truly better (one more feature)        {counts['better-point'] / trials:13.1%}   "
        f"{counts['better-ci'] / trials:18.1%}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes for a fast run")
    args = parser.parse_args(argv)
    if args.quick:
        gate_overhead(rows=5_000)
        bootstrap_cost(rows=20_000, resamples=200, loop_resamples=10)
        statistical_check(trials=20, golden_rows=500, resamples=300)
    else:
        gate_overhead(rows=50_000)
        bootstrap_cost(rows=100_000, resamples=1_000, loop_resamples=20)
        statistical_check(trials=100, golden_rows=500, resamples=1_000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
