"""Benchmark: `mlgate drift` (stored profile) vs Evidently's drift preset vs numpy/scipy without a profile.

    uv run --with "evidently>=0.7,<0.8" --with "pandas>=2.2,<3" python benchmarks/drift.py [--quick]
    uv run python benchmarks/drift.py --cols 100 --skip-evidently   # mlgate vs numpy/scipy only

(Evidently 0.7 needs pandas < 3; without Evidently installed, or with `--skip-evidently`, its rows are
skipped.) For each size
(default 1M rows x 20 and x 100 numeric columns; `--quick`: 100k rows x 20 and x 100) it writes a
reference and a current Parquet file in which 40 % of the columns are shifted by 0.5 standard
deviations, then times, in the same run:

- mlgate: `mlgate profile` once (not part of a check), then `mlgate drift` against the profile: read the
  current file, PSI + KS (from the profile's sketch) + report, for every column — in this process
  (imports done, like the baselines') and once more as a fresh `mlgate drift` process (imports and
  writing the report files included: what a CI step costs);
- numpy/scipy without a profile: read both files, PSI on the reference's decile bins, `ks_2samp`;
- Evidently `DataDriftPreset(method="psi")` and `(method="ks")` on the two DataFrames (files read first).

It prints seconds, the speed-up of mlgate over each, and the column-by-column agreement of the drift
decisions (PSI ≥ 0.1; KS p ≤ 0.05). Imports (Evidently, scipy.stats) are timed once, first, and not
counted in the rows.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_data(directory: Path, rows: int, cols: int, seed: int = 0) -> tuple[Path, Path, list[str]]:
    rng = np.random.default_rng(seed)
    names = [f"f{i:03d}" for i in range(cols)]
    shifted = {n for i, n in enumerate(names) if i % 5 < 2}  # 40 % of the columns drift
    kinds = ["normal", "lognormal", "uniform", "exponential"]
    ref, cur = {}, {}
    for i, name in enumerate(names):
        kind = kinds[i % len(kinds)]
        draw = getattr(rng, kind)
        args = {"normal": (0, 1), "lognormal": (0, 0.5), "uniform": (0, 1), "exponential": (1.0,)}[kind]
        ref[name] = draw(*args, rows)
        values = draw(*args, rows)
        if name in shifted:
            values = values + 0.5 * float(np.std(ref[name]))
        cur[name] = values
    ref_path, cur_path = directory / f"ref_{rows}_{cols}.parquet", directory / f"cur_{rows}_{cols}.parquet"
    pd.DataFrame(ref).to_parquet(ref_path, row_group_size=250_000)
    pd.DataFrame(cur).to_parquet(cur_path, row_group_size=250_000)
    return ref_path, cur_path, names


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_mlgate(ref: Path, cur: Path, work: Path) -> tuple[dict[str, tuple[bool, bool]], float, float]:
    import json

    from mlgate.data.config import DriftSection, ProfileSettings
    from mlgate.data.drift import drift_gate
    from mlgate.data.profile_core import build_profile

    profile, t_profile = timed(lambda: build_profile(ref, ProfileSettings()))
    (work / "profile.json").write_text(json.dumps(profile))
    result, t_drift = timed(lambda: drift_gate(cur, work / "profile.json", DriftSection()))
    decisions = {c["name"]: (c["psi"] >= 0.1, c["ks_p"] <= 0.05) for c in result.data["columns"]}
    return decisions, t_profile, t_drift


def run_mlgate_cli(cur: Path, work: Path) -> float:
    """`mlgate drift` as a fresh process (what a CI step runs): imports, reading, checking, report files."""
    env = {**os.environ, "MLGATE_OUTPUT_DIR": str(work / "out")}
    command = [sys.executable, "-c", "from mlgate.cli import main; raise SystemExit(main())", "drift"]
    args = [
        "--data",
        str(cur),
        "--profile",
        str(work / "profile.json"),
        "--report-dir",
        str(work / "reports"),
    ]
    proc, seconds = timed(
        lambda: subprocess.run(
            [*command, *args], env=env, cwd=work, capture_output=True, text=True, check=False
        )
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"mlgate drift failed:\n{proc.stdout}\n{proc.stderr}")
    return seconds


def run_numpy(ref: Path, cur: Path) -> tuple[dict[str, tuple[bool, bool]], float]:
    from scipy.stats import ks_2samp

    from mlgate.data.statistics import psi

    def work() -> dict[str, tuple[bool, bool]]:
        r, c = pd.read_parquet(ref), pd.read_parquet(cur)
        out = {}
        for name in r.columns:
            a, b = r[name].to_numpy(), c[name].to_numpy()
            edges = np.quantile(a, np.linspace(0.1, 0.9, 9))
            pa = np.bincount(np.searchsorted(edges, a), minlength=10)
            pb = np.bincount(np.searchsorted(edges, b), minlength=10)
            out[name] = (psi(pa, pb) >= 0.1, ks_2samp(a, b).pvalue <= 0.05)
        return out

    return timed(work)


def run_evidently(ref: Path, cur: Path, method: str) -> tuple[dict[str, bool], float]:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    def work() -> dict[str, bool]:
        r, c = pd.read_parquet(ref), pd.read_parquet(cur)
        evaluation = Report([DataDriftPreset(method=method)]).run(c, r)
        out = {}
        for metric in evaluation.dict()["metrics"]:
            config = metric["config"]
            if config.get("type", "").endswith("ValueDrift"):
                value = float(metric["value"])
                out[config["column"]] = value >= 0.1 if method == "psi" else value <= 0.05
        return out

    return timed(work)


def agreement(ours: dict[str, tuple[bool, bool]], theirs: dict[str, bool], index: int) -> str:
    same = sum(ours[n][index] == theirs[n] for n in theirs)
    drifted = sum(theirs.values())
    return f"{same}/{len(theirs)} decisions identical ({drifted} drifted)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows instead of 1M")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--cols", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--skip-evidently", action="store_true", help="leave Evidently out even if installed")
    args = parser.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    has_evidently = not args.skip_evidently and importlib.util.find_spec("evidently") is not None
    if has_evidently:
        _, t_import = timed(lambda: __import__("evidently.presets"))
        print(f"import evidently: {t_import:.1f} s (not counted below)")
    else:
        print("Evidently skipped (not installed or --skip-evidently): its rows are left out")
    _, t_scipy = timed(lambda: __import__("scipy.stats"))
    print(f"import scipy.stats: {t_scipy:.1f} s (not counted below; mlgate and numpy/scipy both use it)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for cols in args.cols:
            ref, cur, _ = make_data(work, rows, cols)
            print(f"\n== {rows:,} rows x {cols} numeric columns")
            ours, t_profile, t_drift = run_mlgate(ref, cur, work)
            print(f"mlgate profile (once, reference)     {t_profile:8.2f} s")
            print(f"mlgate drift (profile; PSI + KS)     {t_drift:8.2f} s")
            t_cli = run_mlgate_cli(cur, work)
            print(
                f"mlgate drift, fresh process          {t_cli:8.2f} s   (imports and report files included)"
            )
            baseline, t_np = run_numpy(ref, cur)
            print(
                f"numpy/scipy, no profile (PSI + KS)   {t_np:8.2f} s   "
                f"mlgate is {t_np / t_drift:5.1f}x faster; "
                f"PSI {agreement(ours, {k: v[0] for k, v in baseline.items()}, 0)}, "
                f"KS {agreement(ours, {k: v[1] for k, v in baseline.items()}, 1)}"
            )
            if has_evidently:
                for index, method in enumerate(("psi", "ks")):
                    theirs, t_ev = run_evidently(ref, cur, method)
                    print(
                        f"Evidently DataDriftPreset({method:>3})     {t_ev:8.2f} s   mlgate is "
                        f"{t_ev / t_drift:5.1f}x faster; {agreement(ours, theirs, index)}"
                    )


if __name__ == "__main__":
    main()
