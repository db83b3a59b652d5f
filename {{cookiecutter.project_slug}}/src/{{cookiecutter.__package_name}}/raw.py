"""Where the data comes from: `load_raw()` is the one function to replace to bring real data.

The `prepare` stage (`python -m {{ cookiecutter.__package_name }}.data`, `dvc repro`) calls `load_raw()`,
checks its frame against the contract in `schema.py`, keeps a copy in `data/raw/transactions.csv`
(a DVC output: cached, pushed with `dvc push`, its md5 in dvc.lock) and splits it into train and test.
Everything downstream (training, evaluation, the data contract, drift) reads those files only.

By default `load_raw()` returns the synthetic transactions of `synthetic.py` (seeded: `data.seed`,
`data.n_rows`, `data.fraud_rate` in params.yaml). To bring your own data, replace its body, e.g.

    def load_raw(params: DataParams) -> pd.DataFrame:
        import pandas as pd

        return pd.read_csv("data/external/transactions.csv")

and, when it reads files of this repository, track them with DVC (`uv run dvc add
data/external/transactions.csv`) and list them under `deps:` of the `prepare` stage in dvc.yaml, so
`dvc repro` re-runs when they change. A query to a warehouse works the same way; the snapshot in
`data/raw/` is then the record of what the model was trained on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from .params import DataParams


def load_raw(params: DataParams) -> pd.DataFrame:
    """All labelled transactions, one row each, with the columns of `schema.COLUMNS`.

    Replace this body to bring real data (see the module docstring): return every column of the
    contract; extra columns are dropped, and `schema.check_raw` rejects missing columns, empty values,
    non-numeric amounts, hours or card ages, labels other than 0/1 and duplicate transaction ids.
    """
    from .synthetic import generate_transactions

    return generate_transactions(params.n_rows, seed=params.seed, fraud_rate=params.fraud_rate)
