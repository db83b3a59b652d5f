"""The registry of record and the model commands around it: `mlgate promote` and `mlgate model-card`.

- `config`         the `registry` section of mlgate.yaml (which backend holds the champion)
- `record`         the interface every backend implements (`RegistryOfRecord`) and the shared types
- `backend`        `open_registry()`: picks and opens the configured backend
- `gitops`         GTO git tags + GitHub release assets (`backend: github`)
- `mlflow_aliases` MLflow registry aliases (`backend: mlflow`)
- `models`         opening a model (local folder or MLflow URI), its digest and its predict function
- `promote`        `mlgate promote`: publish a gated version as the champion, or roll back
- `model_card`     `mlgate model-card`: the card of a version from its eval result and lineage

`promote` and `model-card` read the `eval` section from `mlgate.eval_gate.config` only.
"""
