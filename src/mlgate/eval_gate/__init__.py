"""`mlgate eval-gate`: the candidate model against the production model (`champion`) on the golden dataset.

- `config`    the `eval` section of mlgate.yaml (metrics and their rules, golden sets, latency, segments,
              bootstrap); `promote` and `model-card` read it from here without importing the gate
- `metrics`   the metrics: plain, resample-weighted, and from the bootstrap's tallies
- `bootstrap` the paired bootstrap: percentile intervals of each metric and of its delta
- `golden`    reading the golden dataset; its two parts (must-pass scenarios, representative sample)
- `latency`   the latency rule: interleaved, CPU-timed rounds, confirmation before failing
- `rules`     the rules (pure): thresholds, changes against the baseline, segment gaps, the verdict
- `report`    what was measured (`EvalOutcome`) as the gate's result and its Markdown report
- `command`   scoring both models and running everything above; the click command
"""
