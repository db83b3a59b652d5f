"""The raw data contract: the columns every data source must deliver, and the values the model knows.

`raw.load_raw()` returns a frame with exactly these columns (extra columns are dropped); `check_raw()`
enforces it before anything is written, so a source that breaks the contract fails the `prepare` stage
with one line naming the column and the fix, never later inside training.

    transaction_id      str     unique per row
    amount              float   > 0, in the card's currency
    merchant_category   str     one of MerchantCategory (others are scored as "unknown" by the model)
    country             str     ISO 3166-1 alpha-2, one of Country (others: "unknown")
    hour                int     0-23, local hour of the transaction
    card_age_days       int     >= 0, days since the card was issued
    device              str     one of Device (others: "unknown")
    is_fraud            int     the label: 1 fraud, 0 legitimate

The enums are also what the service accepts (`serve.py`) and what the model one-hot encodes
(`features.py`): when your data has other categories, edit them here, then rebuild the data contract
(gx/) and the reference profile (`make profile`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

ID_COLUMN = "transaction_id"
TARGET = "is_fraud"
COLUMNS = (
    ID_COLUMN,
    "amount",
    "merchant_category",
    "country",
    "hour",
    "card_age_days",
    "device",
    TARGET,
)
NUMERIC_COLUMNS = ("amount", "hour", "card_age_days", TARGET)
INTEGER_COLUMNS = ("hour", "card_age_days", TARGET)
MAX_AMOUNT = 50_000.0
MAX_CARD_AGE_DAYS = 3_650


class MerchantCategory(StrEnum):
    GROCERY = "grocery"
    RESTAURANT = "restaurant"
    FUEL = "fuel"
    ONLINE_RETAIL = "online_retail"
    TRAVEL = "travel"
    ELECTRONICS = "electronics"
    GAMING = "gaming"
    CASH_ADVANCE = "cash_advance"


class Country(StrEnum):
    US = "US"
    GB = "GB"
    DE = "DE"
    FR = "FR"
    ES = "ES"
    BR = "BR"
    IN = "IN"
    NG = "NG"


class Device(StrEnum):
    POS = "pos"
    MOBILE = "mobile"
    WEB = "web"
    ATM = "atm"


class RawDataError(ValueError):
    """The raw data breaks the contract; the message names the column and the fix."""


def check_raw(df: pd.DataFrame) -> pd.DataFrame:
    """The contract's columns of `df`, in order and typed; RawDataError names the first violation."""
    import pandas as pd

    fix = "fix load_raw() in raw.py (the contract is in schema.py)"
    missing = [column for column in COLUMNS if column not in df.columns]
    if missing:
        raise RawDataError(f"raw data lacks column(s) {', '.join(missing)}: {fix}")
    if df.empty:
        raise RawDataError(f"raw data has no rows: {fix}")
    frame = df.loc[:, list(COLUMNS)].reset_index(drop=True)
    for column in COLUMNS:
        empty = int(frame[column].isna().sum())
        if empty:
            raise RawDataError(f"raw data column {column} has {empty} empty values: {fix}")
    for column in NUMERIC_COLUMNS:
        converted = pd.to_numeric(frame[column], errors="coerce")
        if converted.isna().any():
            raise RawDataError(f"raw data column {column} is not numeric: {fix}")
        frame[column] = converted.astype(int) if column in INTEGER_COLUMNS else converted.astype(float)
    if not frame[TARGET].isin([0, 1]).all():
        raise RawDataError(f"raw data column {TARGET} holds values other than 0 and 1: {fix}")
    if frame[TARGET].nunique() < 2:
        raise RawDataError(f"raw data column {TARGET} needs both classes (0 and 1) to train on: {fix}")
    if not frame[ID_COLUMN].is_unique:
        raise RawDataError(f"raw data column {ID_COLUMN} has duplicate values: {fix}")
    frame[ID_COLUMN] = frame[ID_COLUMN].astype(str)
    return frame
