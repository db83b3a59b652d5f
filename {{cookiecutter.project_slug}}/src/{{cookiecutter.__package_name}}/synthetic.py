"""The default data source: synthetic card transactions with a learnable fraud signal, and the golden dataset.

`raw.load_raw()` returns `generate_transactions()` until you replace it with your own data (see raw.py);
the golden dataset the eval gate judges models on (`golden_dataset()`, written to `data/golden.csv` by
the `prepare` stage) stays synthetic until you replace it too. Its column `golden_set` says which of two
parts a row belongs to:

    must-pass   500 hand-designed rows of key scenarios whose labels never change: every model must get
                them right (the absolute rules in mlgate.yaml: thresholds, segment gaps)
    sample      8,000 rows drawn from the same population as the training data (its own fixed seed, the
                default 2 % fraud rate): hard, representative cases on which a better and a worse model
                score differently (the comparisons with the champion and their bootstrap intervals)

Everything is seeded: the same parameters give byte-identical files, so DVC only re-runs later stages
when something really changed; the golden dataset does not depend on params.yaml at all.

Ground truth: every row gets a fraud probability from `fraud_logit()` (amount unusual for its merchant
category, night hours, new cards, risky categories, devices and countries, and an interaction of them),
shifted so that the dataset's mean matches `data.fraud_rate` (~2 %); the label is drawn from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .schema import COLUMNS, MAX_AMOUNT, MAX_CARD_AGE_DAYS, Country, Device, MerchantCategory

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

GOLDEN_ROWS = 500  # must-pass scenario rows
GOLDEN_SAMPLE_ROWS = 8_000  # representative sample rows (about 120 frauds at the default 2 %)
GOLDEN_SEED = 20_240_501
GOLDEN_SET_COLUMN = "golden_set"
KEY_SCENARIOS = "must-pass"
REPRESENTATIVE_SAMPLE = "sample"

# category -> (share of transactions, median amount, fraud log-odds shift)
CATEGORY_PROFILE: dict[MerchantCategory, tuple[float, float, float]] = {
    MerchantCategory.GROCERY: (0.25, 40.0, -0.6),
    MerchantCategory.RESTAURANT: (0.18, 35.0, -0.3),
    MerchantCategory.FUEL: (0.12, 50.0, -0.3),
    MerchantCategory.ONLINE_RETAIL: (0.17, 70.0, 0.6),
    MerchantCategory.TRAVEL: (0.08, 300.0, 0.4),
    MerchantCategory.ELECTRONICS: (0.08, 250.0, 0.9),
    MerchantCategory.GAMING: (0.05, 30.0, 1.0),
    MerchantCategory.CASH_ADVANCE: (0.07, 150.0, 1.1),
}
# country -> (share, fraud log-odds shift)
COUNTRY_PROFILE: dict[Country, tuple[float, float]] = {
    Country.US: (0.35, 0.0),
    Country.GB: (0.15, 0.0),
    Country.DE: (0.12, -0.2),
    Country.FR: (0.10, 0.0),
    Country.ES: (0.08, 0.1),
    Country.BR: (0.08, 0.5),
    Country.IN: (0.07, 0.3),
    Country.NG: (0.05, 0.8),
}
# device -> (share, fraud log-odds shift)
DEVICE_PROFILE: dict[Device, tuple[float, float]] = {
    Device.POS: (0.45, -0.6),
    Device.MOBILE: (0.30, 0.2),
    Device.WEB: (0.20, 0.6),
    Device.ATM: (0.05, 0.5),
}
# relative activity per hour of day (people shop in the day, fraudsters don't mind the night)
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 10, 11, 10, 10, 10, 10, 11, 12, 11, 9, 6, 4, 2)


def fraud_logit(df: pd.DataFrame) -> np.ndarray:
    """Log-odds of fraud for each row before the intercept (the generator's ground truth)."""
    import numpy as np

    median = df["merchant_category"].map({c.value: p[1] for c, p in CATEGORY_PROFILE.items()})
    unusual_amount = np.log(df["amount"].to_numpy(float) / median.to_numpy(float))
    night = df["hour"].between(0, 5).to_numpy()
    new_card = (df["card_age_days"] < 30).to_numpy()
    young_card = (df["card_age_days"] < 180).to_numpy()
    card_not_present = df["device"].isin([Device.WEB.value, Device.MOBILE.value]).to_numpy()
    logit = (
        1.1 * np.clip(unusual_amount, -2.0, 4.0)
        + 1.2 * night
        + 1.5 * new_card
        + 0.6 * young_card
        + df["merchant_category"].map({c.value: p[2] for c, p in CATEGORY_PROFILE.items()}).to_numpy(float)
        + df["country"].map({c.value: p[1] for c, p in COUNTRY_PROFILE.items()}).to_numpy(float)
        + df["device"].map({d.value: p[1] for d, p in DEVICE_PROFILE.items()}).to_numpy(float)
        + 1.0 * (night & new_card & card_not_present)
    )
    return np.asarray(logit, dtype=float)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=float)


def _intercept_for(logit: np.ndarray, fraud_rate: float) -> float:
    """The shift that makes the mean fraud probability equal `fraud_rate` (bisection, deterministic)."""
    low, high = -30.0, 30.0
    for _ in range(80):
        mid = (low + high) / 2
        if float(_sigmoid(logit + mid).mean()) > fraud_rate:
            high = mid
        else:
            low = mid
    return (low + high) / 2


def _sample_features(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    categories = [c.value for c in CATEGORY_PROFILE]
    category = rng.choice(categories, size=n_rows, p=[p[0] for p in CATEGORY_PROFILE.values()])
    country = rng.choice(
        [c.value for c in COUNTRY_PROFILE], size=n_rows, p=[p[0] for p in COUNTRY_PROFILE.values()]
    )
    device = rng.choice(
        [d.value for d in DEVICE_PROFILE], size=n_rows, p=[p[0] for p in DEVICE_PROFILE.values()]
    )
    cash = category == MerchantCategory.CASH_ADVANCE.value
    device = np.where(cash & (rng.random(n_rows) < 0.7), Device.ATM.value, device)
    weights = np.asarray(HOUR_WEIGHTS, dtype=float)
    hour = rng.choice(24, size=n_rows, p=weights / weights.sum())
    card_age = np.clip(rng.gamma(1.2, 500.0, size=n_rows), 0, MAX_CARD_AGE_DAYS).astype(int)
    median = np.array([CATEGORY_PROFILE[MerchantCategory(c)][1] for c in category])
    amount = np.clip(np.round(median * rng.lognormal(0.0, 0.8, size=n_rows), 2), 0.5, MAX_AMOUNT)
    return pd.DataFrame(
        {
            "transaction_id": [f"tx-{i:07d}" for i in range(n_rows)],
            "amount": amount,
            "merchant_category": category,
            "country": country,
            "hour": hour.astype(int),
            "card_age_days": card_age,
            "device": device,
        }
    )


def _fraudster_behaviour(df: pd.DataFrame, rng: np.random.Generator, share: float) -> pd.DataFrame:
    """Rewrite a share of rows the way card testers and account takeovers look (nights, new cards)."""
    import numpy as np

    picked = rng.random(len(df)) < share
    n = int(picked.sum())
    df.loc[picked, "hour"] = rng.integers(0, 6, size=n)
    df.loc[picked, "card_age_days"] = rng.integers(0, 30, size=n)
    df.loc[picked, "amount"] = np.round(
        df.loc[picked, "amount"].to_numpy(float) * rng.uniform(2, 8, size=n), 2
    )
    df.loc[picked, "amount"] = df.loc[picked, "amount"].clip(upper=MAX_AMOUNT)
    return df


def generate_transactions(n_rows: int, seed: int = 42, fraud_rate: float = 0.02) -> pd.DataFrame:
    """`n_rows` synthetic transactions; the same arguments always give the same frame."""
    import numpy as np

    rng = np.random.default_rng(seed)
    df = _fraudster_behaviour(_sample_features(n_rows, rng), rng, share=fraud_rate / 2)
    probability = _sigmoid(fraud_logit(df) + _intercept_for(fraud_logit(df), fraud_rate))
    df["is_fraud"] = (rng.random(n_rows) < probability).astype(int)
    return df.loc[:, list(COLUMNS)]


@lru_cache(maxsize=1)
def reference_intercept() -> float:
    """The intercept of the default 2 % population (a fixed reference, so golden labels never move)."""
    import numpy as np

    sample = _fraudster_behaviour(
        _sample_features(50_000, np.random.default_rng(0)), np.random.default_rng(1), 0.01
    )
    return _intercept_for(fraud_logit(sample), 0.02)


@dataclass(frozen=True)
class Scenario:
    """A key situation of the golden dataset; unnamed fields vary within ranges that keep its meaning."""

    merchant_category: MerchantCategory
    device: Device
    hours: tuple[int, int]
    card_age_days: tuple[int, int]
    amount_vs_median: tuple[float, float]
    countries: tuple[Country, ...]
    is_fraud: int


_WESTERN = (Country.US, Country.GB, Country.DE, Country.FR, Country.ES)
SCENARIOS: dict[str, Scenario] = {
    "everyday_grocery_at_till": Scenario(
        MerchantCategory.GROCERY, Device.POS, (8, 20), (400, 3000), (0.3, 1.5), _WESTERN, 0
    ),
    "evening_restaurant": Scenario(
        MerchantCategory.RESTAURANT, Device.POS, (18, 22), (200, 3000), (0.5, 2.0), (*_WESTERN, Country.IN), 0
    ),
    "fuel_station": Scenario(
        MerchantCategory.FUEL, Device.POS, (6, 21), (100, 3000), (0.5, 1.5), (*_WESTERN[:4], Country.BR), 0
    ),
    "established_travel_booking": Scenario(
        MerchantCategory.TRAVEL, Device.WEB, (9, 20), (700, 3000), (0.5, 1.2), _WESTERN[:4], 0
    ),
    "big_electronics_in_store": Scenario(
        MerchantCategory.ELECTRONICS, Device.POS, (10, 19), (900, 3000), (0.5, 1.5), _WESTERN[:3], 0
    ),
    "tiny_amount_old_card": Scenario(
        MerchantCategory.RESTAURANT, Device.MOBILE, (11, 14), (1500, 3650), (0.02, 0.1), _WESTERN[:4], 0
    ),
    "night_new_card_online_electronics": Scenario(
        MerchantCategory.ELECTRONICS,
        Device.WEB,
        (0, 4),
        (0, 10),
        (4.0, 12.0),
        (Country.US, Country.GB, Country.NG, Country.BR),
        1,
    ),
    "night_cash_advance_new_card": Scenario(
        MerchantCategory.CASH_ADVANCE,
        Device.ATM,
        (0, 5),
        (0, 14),
        (4.0, 10.0),
        (Country.NG, Country.BR, Country.IN, Country.US),
        1,
    ),
    "gaming_burst_new_mobile_card": Scenario(
        MerchantCategory.GAMING,
        Device.MOBILE,
        (0, 5),
        (0, 7),
        (6.0, 15.0),
        (Country.NG, Country.BR, Country.IN, Country.GB),
        1,
    ),
    "high_value_online_retail_new_card": Scenario(
        MerchantCategory.ONLINE_RETAIL,
        Device.WEB,
        (1, 5),
        (0, 20),
        (8.0, 20.0),
        (Country.NG, Country.BR, Country.ES, Country.FR),
        1,
    ),
}


def golden_scenarios() -> pd.DataFrame:
    """500 rows of key scenarios with fixed labels: the cases a model must always get right."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(GOLDEN_SEED)
    per_scenario = GOLDEN_ROWS // len(SCENARIOS)
    rows: list[dict[str, object]] = []
    for name, spec in SCENARIOS.items():
        median = CATEGORY_PROFILE[spec.merchant_category][1]
        for _ in range(per_scenario):
            amount = median * float(rng.uniform(*spec.amount_vs_median))
            rows.append(
                {
                    "transaction_id": f"golden-{len(rows):04d}",
                    "amount": round(min(MAX_AMOUNT, max(0.5, amount)), 2),
                    "merchant_category": spec.merchant_category.value,
                    "country": spec.countries[int(rng.integers(len(spec.countries)))].value,
                    "hour": int(rng.integers(spec.hours[0], spec.hours[1] + 1)),
                    "card_age_days": int(rng.integers(spec.card_age_days[0], spec.card_age_days[1] + 1)),
                    "device": spec.device.value,
                    "is_fraud": spec.is_fraud,
                    "scenario": name,
                    GOLDEN_SET_COLUMN: KEY_SCENARIOS,
                }
            )
    return pd.DataFrame(rows)


def golden_sample() -> pd.DataFrame:
    """GOLDEN_SAMPLE_ROWS transactions from the training population (a seed of its own, the default 2 %
    fraud rate): the hard, representative part of the golden dataset that tells models apart."""
    sample = generate_transactions(GOLDEN_SAMPLE_ROWS, seed=GOLDEN_SEED + 1, fraud_rate=0.02)
    sample["transaction_id"] = [f"golden-sample-{i:05d}" for i in range(len(sample))]
    sample["scenario"] = REPRESENTATIVE_SAMPLE
    sample[GOLDEN_SET_COLUMN] = REPRESENTATIVE_SAMPLE
    return sample


def golden_dataset() -> pd.DataFrame:
    """The golden dataset: the must-pass scenarios, then the representative sample (column `golden_set`)."""
    import pandas as pd

    return pd.concat([golden_scenarios(), golden_sample()], ignore_index=True)
