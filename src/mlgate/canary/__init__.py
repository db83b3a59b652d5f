"""`mlgate canary`: progressive traffic, analysis against the baseline, automatic rollback.

- `config`     the `canary` section of mlgate.yaml
- `judge`      `judge_canary`: the evidence since the rollout started, canary vs baseline → pass / fail /
               inconclusive / outage
- `stats`      the exact tests (stratified Fisher, binomial, binned KS; PSI is `mlgate.data.statistics.psi`)
- `controller` the step plan against a `Target` (set / read weights) and a `MetricsSource`
- `prometheus` metrics through Prometheus' HTTP API (PromQL)
- `targets`    local (nginx), sagemaker, kserve
- `command`    the click command, the report and the timeline
"""
