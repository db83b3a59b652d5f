"""Pure parts of the Prometheus metrics source (the queries themselves run in test_canary_kserve.py /
test_canary_local.py against a real Prometheus)."""

from __future__ import annotations

import math

import pytest

from mlgate.canary.prometheus import histogram_quantile

INF = math.inf


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        (0.5, [(0.1, 10.0), (0.2, 30.0), (INF, 30.0)], 0.125),  # interpolated inside (0.1, 0.2]
        (0.2, [(0.1, 10.0), (0.2, 30.0), (INF, 30.0)], 0.06),  # first bucket starts at 0
        (0.99, [(0.1, 10.0), (0.2, 20.0), (INF, 30.0)], 0.2),  # in +Inf: the highest finite bound
        (0.5, [(0.1, 10.0), (0.2, 8.0), (INF, 20.0)], 0.1),  # non-monotonic counts made monotonic
    ],
)
def test_histogram_quantile_matches_promql(
    q: float, buckets: list[tuple[float, float]], expected: float
) -> None:
    value = histogram_quantile(q, buckets)
    assert value is not None and value == pytest.approx(expected)


@pytest.mark.parametrize(
    "buckets",
    [[], [(0.1, 0.0), (INF, 0.0)], [(0.1, 3.0), (0.2, 5.0)]],
    ids=["no-series", "no-observations", "no-inf-bucket"],
)
def test_histogram_quantile_is_missing_where_promql_gives_nan(buckets: list[tuple[float, float]]) -> None:
    assert histogram_quantile(0.95, buckets) is None


def test_requests_errors_latency_and_scores_of_an_arm_are_filtered_alike() -> None:
    from mlgate.canary.config import PrometheusSettings
    from mlgate.canary.prometheus import PrometheusMetrics

    source = PrometheusMetrics(PrometheusSettings())
    queries = source.queries('job="canary"', "1m")
    for name in ("requests", "errors", "latency", "scores"):
        assert 'job="canary",endpoint="/predict"' in queries[name], (name, queries[name])
    own = PrometheusMetrics(PrometheusSettings(score_matchers='handler="/score"'))
    assert own.matchers('job="canary"') == (
        'job="canary",endpoint="/predict"',
        'job="canary",handler="/score"',
    )


@pytest.mark.parametrize(
    ("threshold", "decision", "expected"),
    [(None, 0.2, 30.0), (0.5, 0.2, 10.0), (None, None, 10.0), (None, 0.25, None)],
    ids=["eval-decision-threshold", "explicit-threshold-wins", "default-0.5", "threshold-not-a-bound"],
)
def test_positives_are_successful_predictions_above_the_decision_threshold(
    threshold: float | None, decision: float | None, expected: float | None
) -> None:
    from mlgate.canary.config import PrometheusSettings
    from mlgate.canary.prometheus import PrometheusMetrics

    source = PrometheusMetrics(PrometheusSettings(positive_threshold=threshold), decision_threshold=decision)
    buckets = [(0.1, 50.0), (0.2, 70.0), (0.5, 90.0), (1.0, 100.0), (INF, 100.0)]
    assert source._positives(buckets) == expected
