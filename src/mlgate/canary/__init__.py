"""`mlgate canary`: progressive traffic, analysis against the baseline, automatic rollback.

- `config`     the `canary` section of mlgate.yaml
- `judge`      `judge_canary_step`: one window, canary vs baseline → pass / fail / inconclusive
- `controller` the step plan against a `Target` (set / read weights) and a `MetricsSource`
- `prometheus` metrics through Prometheus' HTTP API (PromQL)
- `targets`    local (nginx), sagemaker, kserve
- `command`    the click command, the report and the timeline
"""
