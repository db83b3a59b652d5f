"""Simulated production traffic: a sample of today's transactions, calm or drifted, for the drift monitor.

    python -m {{ cookiecutter.__package_name }}.simulate [--drift] [--rows 5000] [--output data/production_sample.csv]

Without `--drift` the sample comes from the same generator as the training data (a different seed), so
`mlgate drift` finds nothing. With `--drift` it looks like a shift in the business: bigger baskets, more
online and night-time spending, more traffic from new markets and new cards — `mlgate drift` then
flags the dataset, and the scheduled `monitor.yml` opens a drift issue.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .schema import MAX_AMOUNT, MAX_CARD_AGE_DAYS
from .synthetic import generate_transactions

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_OUTPUT = Path("data/production_sample.csv")


def production_sample(rows: int, *, drift: bool, seed: int = 7) -> pd.DataFrame:
    """`rows` transactions like production's; shifted in amount, hour, device, country and card age when
    `drift` is set."""
    import numpy as np

    df = generate_transactions(rows, seed=seed)
    df["transaction_id"] = [f"tx-{9_000_000 + i:07d}" for i in range(rows)]
    if not drift:
        return df
    rng = np.random.default_rng(seed + 1)
    df["amount"] = np.clip(
        np.round(df["amount"].to_numpy(float) * rng.uniform(1.5, 3.0, rows), 2), 0.5, MAX_AMOUNT
    )
    night = rng.random(rows) < 0.35
    df.loc[night, "hour"] = rng.integers(0, 6, int(night.sum()))
    online = rng.random(rows) < 0.5
    df.loc[online, "device"] = rng.choice(["web", "mobile"], int(online.sum()))
    new_markets = rng.random(rows) < 0.4
    df.loc[new_markets, "country"] = rng.choice(["BR", "IN", "NG"], int(new_markets.sum()))
    df["card_age_days"] = np.clip(
        (df["card_age_days"] * rng.uniform(0.1, 0.6, rows)).astype(int), 0, MAX_CARD_AGE_DAYS
    )
    return df


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--drift", action="store_true", help="shift the distributions (simulated drift)")
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    production_sample(args.rows, drift=args.drift, seed=args.seed).to_csv(args.output, index=False)
    print(f"{'drifted' if args.drift else 'calm'} sample of {args.rows} rows: {args.output}")  # noqa: T201 - CLI
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
