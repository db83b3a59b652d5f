"""Build a small GX 1.x file project (gx/) the way a user would, through GX's own API.

    build_gx_project(root)   # gx/ with a `transactions` suite, a validation definition on a pandas
                             # dataframe asset and a `data-contract` checkpoint that updates Data Docs

Importing great_expectations costs 10-15 s: call this from one module-scoped fixture per test module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["transaction_id", "amount", "channel", "email"]


def good_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "transaction_id": np.arange(1, n + 1),
            "amount": rng.uniform(1, 500, n).round(2),
            "channel": rng.choice(["web", "pos", "atm"], n),
            "email": [f"user{i}@example.com" for i in range(n)],
        }
    )


def build_gx_project(root: Path) -> Path:
    import great_expectations as gx
    from great_expectations import expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.variables.save()
    source = context.data_sources.add_or_update_pandas(name="mlgate")
    asset = source.add_dataframe_asset(name="dataset")
    batch = asset.add_batch_definition_whole_dataframe(name="whole")
    suite = context.suites.add(gx.ExpectationSuite(name="transactions"))
    for expectation in (
        gxe.ExpectTableColumnsToMatchSet(column_set=COLUMNS, exact_match=True),
        gxe.ExpectTableRowCountToBeBetween(min_value=10, max_value=100_000),
        gxe.ExpectColumnValuesToBeUnique(column="transaction_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="amount"),
        gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=1000),
        gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=["web", "pos", "atm"]),
        gxe.ExpectColumnValuesToMatchRegex(column="email", regex=r"^[^@\s]+@[^@\s]+\.[a-z]+$"),
        gxe.ExpectColumnMeanToBeBetween(column="amount", min_value=150, max_value=350),
    ):
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="transactions", data=batch, suite=suite)
    )
    context.checkpoints.add(
        gx.Checkpoint(
            name="data-contract",
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update-data-docs")],
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": 5,
                "unexpected_index_column_names": ["transaction_id"],
            },
        )
    )
    return root / "gx"
