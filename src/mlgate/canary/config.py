"""The `canary` section of mlgate.yaml: traffic plan, analysis thresholds and the target to drive.

Light imports only (pydantic): `mlgate config schema` imports this module.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Literal

from pydantic import Field, field_validator, model_validator

from mlgate.config import Section

TargetName = Literal["local", "sagemaker", "kserve"]
SignalName = Literal["error-rate", "latency", "prediction-shift", "positive-rate"]
ALL_SIGNALS: tuple[SignalName, ...] = ("error-rate", "latency", "prediction-shift", "positive-rate")


class AlphaWeights(Section):
    """How each look's share of `alpha` is divided between the tests judged at it: a test gets its weight
    over the sum of the judged tests' weights (tests of signals not judged, and guards that are off, take
    none). The error-rate and p95 tests get the most (3 each with the defaults): they must catch the
    regressions a step has to rule out (2x errors, a 1.25x p95) on the first step's small sample; p99 gets
    2; the guards and the prediction tests, which fail only on large effects (an error rate above the
    guard, PSI above 0.2, 5 points of positive rate), 1 each."""

    error_rate: float = Field(3.0, gt=0, description="The error-rate test against the baseline.")
    error_rate_guard: float = Field(
        1.0, gt=0, description="The absolute error-rate guard (`max_error_rate`)."
    )
    latency_p95: float = Field(3.0, gt=0, description="The p95 latency test.")
    latency_p99: float = Field(2.0, gt=0, description="The p99 latency test.")
    latency_p99_guard: float = Field(1.0, gt=0, description="The absolute p99 guard (`max_p99_ms`).")
    prediction_shift: float = Field(1.0, gt=0, description="The prediction-shift (PSI and KS) test.")
    positive_rate: float = Field(1.0, gt=0, description="The positive-rate test.")


class AnalysisSettings(Section):
    """How the canary is judged: exact tests against the baseline on the counts since the rollout started,
    absolute guards that tell a shared outage from a bad canary, and the evidence a step needs to pass."""

    alpha: float = Field(
        0.05,
        gt=0,
        lt=0.5,
        description="Bound on the probability of rolling back a healthy canary over the whole rollout. "
        "Split (Bonferroni) evenly over every possible look (analysed steps x max_inconclusive x looks per "
        "bake) and, at each look, over the tests judged there in proportion to `alpha_weights`.",
    )
    step_alpha: Literal["inverse-share", "even"] = Field(
        "inverse-share",
        description="How `alpha` is split over the analysed steps. inverse-share: in proportion to 1 / the "
        "step's traffic percentage — the first step, where the canary's sample is smallest and a regression "
        "must be caught before it gets more traffic, gets the most (77 % with steps 5/25/50), and the later "
        "steps, with many times its sample, little; even: the same to every step. Within a step, bake b "
        "of max_inconclusive gets b / (1 + 2 + ... + max_inconclusive) of the step's share (a later bake "
        "judges more evidence), and its looks the same each.",
    )
    alpha_weights: AlphaWeights = Field(
        default_factory=AlphaWeights,  # type: ignore[arg-type]
        description="How each look's share of `alpha` is divided between its tests.",
    )
    power: float = Field(
        0.95,
        gt=0.5,
        lt=1,
        description="A step passes only when the data rule out the regressions the canary must be able to "
        "detect (`error_rate_regression` x the baseline's errors; the latency tolerance) at this "
        "confidence: a canary with exactly that regression is promoted with probability at most 1 - power. "
        "Until then the step waits; after max_inconclusive bakes it ends inconclusive (rollback).",
    )
    error_rate_tolerance: float = Field(
        1.0,
        ge=1.0,
        description="Canary error odds may be this many times the baseline's before the test counts it as "
        "worse (1.0: any significant increase fails).",
    )
    error_rate_regression: float = Field(
        2.0,
        gt=1.0,
        description="The error-rate regression (canary / baseline) a step must rule out before it passes.",
    )
    error_rate_min_delta: float = Field(
        0.001,
        ge=0,
        lt=1,
        description="…unless it is smaller than this many errors per request (0.001: 0.1 percentage "
        "points): a canary shown to stay below this error rate has ruled the regression out too, so a "
        "service without errors can pass.",
    )
    max_error_rate: float | None = Field(
        0.05,
        gt=0,
        le=1,
        description="Absolute guard on the 5xx rate since the previous look: the canary significantly above "
        "it while the baseline is clearly below fails; both arms at it is a shared outage (the rollout "
        "holds and reports `outage`, never blames the canary). Null: off.",
    )
    latency_max_ratio: float = Field(
        1.25,
        gt=1.0,
        description="Latency tolerance: a step passes only when the data rule out a canary this many times "
        "slower than the baseline (or latency_min_delta_ms slower, whichever is larger) at p95.",
    )
    latency_min_delta_ms: float = Field(
        10.0,
        ge=0,
        description="A canary significantly slower than the baseline by more than this at p95 or p99 fails "
        "(the share of canary requests above the baseline's quantile bucket, exact test).",
    )
    max_p99_ms: float | None = Field(
        None,
        gt=0,
        description="Absolute guard: canary p99 significantly above this fails (both arms: outage). "
        "Null: off.",
    )
    psi_max: float = Field(
        0.2,
        gt=0,
        description="Prediction-score PSI (canary vs baseline) above this, when significant (KS), fails.",
    )
    positive_rate_max_delta: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="Absolute difference in positive-prediction rate (at the decision threshold, over "
        "successful predictions) that fails, when significant.",
    )
    signals: list[SignalName] | None = Field(
        None,
        min_length=1,
        description="Signals judged (null: every signal the metrics source provides — Prometheus all four, "
        "CloudWatch error-rate and latency). A judged signal with no data makes a step inconclusive.",
    )


#: test name (as in the judge's checks) -> its field in `AlphaWeights`
TEST_WEIGHT_FIELDS: dict[str, str] = {
    "error-rate": "error_rate",
    "error-rate guard": "error_rate_guard",
    "latency p95": "latency_p95",
    "latency p99": "latency_p99",
    "latency p99 guard": "latency_p99_guard",
    "prediction-shift": "prediction_shift",
    "positive-rate": "positive_rate",
}


def look_tests(settings: AnalysisSettings) -> list[str]:
    """The statistical tests one look runs among the judged signals (names as in the judge's checks)."""
    tests: list[str] = []
    for signal in settings.signals or ALL_SIGNALS:
        if signal == "error-rate":
            tests += ["error-rate"] + (["error-rate guard"] if settings.max_error_rate is not None else [])
        elif signal == "latency":
            tests += ["latency p95", "latency p99"]
            tests += ["latency p99 guard"] if settings.max_p99_ms is not None else []
        else:
            tests.append(signal)
    return tests


def look_test_count(settings: AnalysisSettings) -> int:
    """Statistical tests one look runs among the judged signals."""
    return len(look_tests(settings))


def alpha_shares(settings: AnalysisSettings) -> dict[str, float]:
    """Each judged test's share of a look's alpha: its weight over the judged tests' weights (sums to 1)."""
    weights = {
        test: getattr(settings.alpha_weights, TEST_WEIGHT_FIELDS[test]) for test in look_tests(settings)
    }
    total = sum(weights.values())
    return {test: weight / total for test, weight in weights.items()}


class PrometheusSettings(Section):
    """Where metrics come from when the source is Prometheus (local and kserve targets).

    The defaults match the generated project's service (`model_requests_total`,
    `model_request_latency_seconds`, `model_prediction_score`, all labelled by `model_version`).
    """

    url: str = Field("http://127.0.0.1:9090", description="Prometheus base URL (HTTP API at /api/v1/query).")
    baseline_selector: str = Field(
        'job="baseline"', description="Label matchers selecting the baseline's series."
    )
    canary_selector: str = Field('job="canary"', description="Label matchers selecting the canary's series.")
    requests_metric: str = Field(
        "model_requests_total",
        description="Counter of answered requests with a `status` label (5xx = error).",
    )
    request_matchers: str = Field(
        'endpoint="/predict"',
        description="Extra label matchers for the request counter, the latency histogram and the score "
        "histogram (empty: none): every series of an arm is filtered the same way.",
    )
    score_matchers: str | None = Field(
        None,
        description="Label matchers for the score histogram when it lacks the request labels (null: "
        "request_matchers).",
    )
    latency_metric: str = Field(
        "model_request_latency_seconds", description="Histogram of request latency in seconds."
    )
    score_metric: str = Field(
        "model_prediction_score", description="Histogram of predicted scores in [0, 1]."
    )
    positive_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Decision threshold: scores above this score-histogram bucket boundary are positive "
        "predictions (null: `eval.decision_threshold` of the same mlgate.yaml, else 0.5).",
    )
    timeout_seconds: float = Field(10.0, gt=0, description="HTTP timeout of one query.")


class LocalSettings(Section):
    """Two model servers behind nginx with weighted upstreams (the `make canary-local` setup)."""

    nginx_conf: str = Field(".mlgate/canary/nginx.conf", description="nginx config file mlgate writes.")
    listen: str = Field("127.0.0.1:8080", description="Address nginx listens on (traffic enters here).")
    baseline_upstream: str = Field("127.0.0.1:8001", description="host:port of the baseline model server.")
    canary_upstream: str = Field("127.0.0.1:8002", description="host:port of the canary model server.")
    nginx_bin: str = Field("nginx", description="nginx executable.")


class SageMakerSettings(Section):
    """A SageMaker endpoint with two production variants."""

    endpoint_name: str = Field("", description="Endpoint name.")
    baseline_variant: str = Field("champion", description="Variant serving the current model.")
    canary_variant: str = Field("challenger", description="Variant serving the candidate model.")
    region: str | None = Field(None, description="AWS region (default: the SDK's).")
    metrics_period_seconds: int = Field(60, ge=1, description="CloudWatch period for metric statistics.")
    image_uri: str | None = Field(
        None,
        description="Image of the promoted model, a template with `{version}` and `{digest}` (e.g. "
        "`123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud@{digest}`; SageMaker pulls from ECR). Set, "
        "or null with an image CD pushed to ECR (`--image-uri`, cd.yml's ECR_REPOSITORY): before the "
        "rollout mlgate creates the Model `<endpoint>-<version>` on it, an EndpointConfig of the same name "
        "(the current one with the challenger variant on the new model at weight 0) and updates the "
        "endpoint; null and no pushed image: the variants already serve the models, nothing is deployed.",
    )
    execution_role_arn: str = Field(
        "",
        description="IAM role the new Model runs with; empty: the production model's role (the new Model "
        "also keeps its VPC config and network isolation).",
    )
    deploy_timeout_seconds: float = Field(
        1800.0,
        gt=0,
        description="How long the endpoint may take to come back InService after UpdateEndpoint.",
    )

    @model_validator(mode="after")
    def _deploy_settings(self) -> SageMakerSettings:
        if self.image_uri is None:
            return self
        import string

        fields = {name for _, name, _, _ in string.Formatter().parse(self.image_uri) if name is not None}
        unknown = sorted(fields - {"version", "digest"})
        if unknown or "" in fields:
            raise ValueError(
                f"image_uri may use only {{version}} and {{digest}}, got {{{', '.join(unknown) or ''}}}"
            )
        return self


class KServeSettings(Section):
    """An InferenceService whose predictor is rolled out in KServe's Serverless or Standard canary style,
    reached through a kubeconfig (exec credential plugins refreshed on 401) or, in a pod, the service
    account's token and the cluster CA."""

    namespace: str = Field("default", description="Namespace of the InferenceService.")
    name: str = Field("", description="InferenceService name.")
    mode: Literal["serverless", "standard"] = Field(
        "serverless",
        description="serverless: spec.predictor.canaryTrafficPercent (Knative revisions); standard: "
        "spec.canary[0].trafficPercent (KServe 0.20+ Standard mode).",
    )
    kubeconfig: str | None = Field(
        None,
        description="kubeconfig file (exec plugins such as `aws eks get-token` are run again when a token "
        "expires). Null: in a pod, the service account's token and cluster CA; else $KUBECONFIG or "
        "~/.kube/config.",
    )
    context: str | None = Field(None, description="kubeconfig context (null: the current context).")
    service_account_dir: str = Field(
        "/var/run/secrets/kubernetes.io/serviceaccount",
        description="Where a pod's service account token, namespace and ca.crt are mounted.",
    )
    timeout_seconds: float = Field(30.0, gt=0, description="HTTP timeout of one Kubernetes API call.")


class CanarySection(Section):
    """Progressive traffic, analysis against the baseline, automatic rollback."""

    target: TargetName = Field("local", description="Which traffic router to drive.")
    steps: list[float] = Field(
        default_factory=lambda: [5.0, 25.0, 50.0, 100.0],
        min_length=1,
        description="Canary traffic percentages, strictly increasing, at most 100. Steps below 100 are "
        "analysed; the rollout then moves to 100 % (promotion).",
    )
    bake_seconds: float = Field(300.0, description="Time at each step before it is judged.")
    interval_seconds: float | None = Field(
        None,
        description="Look at the data this often during a bake: an interim look can only fail (early "
        "rollback); the pass is decided at the end of the bake. Null: one look per bake. Every look counts "
        "in the Bonferroni split.",
    )
    min_requests: int = Field(
        100, ge=1, description="Requests each arm needs in a step's window before the step can pass."
    )
    max_inconclusive: int = Field(
        3,
        ge=1,
        description="Bakes of a step without a pass (too little evidence, no traffic, NaN, missing metric) "
        "that roll back; as many bakes in a row held by a shared outage (its look and the look settling it, "
        "which do not count otherwise) roll back as `outage`.",
    )
    dry_run: bool = Field(False, description="Analyse and report without shifting traffic.")
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)  # type: ignore[arg-type]
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)  # type: ignore[arg-type]
    local: LocalSettings = Field(default_factory=LocalSettings)  # type: ignore[arg-type]
    sagemaker: SageMakerSettings = Field(default_factory=SageMakerSettings)  # type: ignore[arg-type]
    kserve: KServeSettings = Field(default_factory=KServeSettings)  # type: ignore[arg-type]

    @field_validator("steps")
    @classmethod
    def _steps_increasing(cls, steps: list[float]) -> list[float]:
        for step in steps:
            if not 0 < step <= 100:
                raise ValueError(f"each step must be above 0 and at most 100, got {step:g}")
        for before, after in pairwise(steps):
            if after <= before:
                raise ValueError(f"steps must be strictly increasing, got {before:g} then {after:g}")
        return steps

    @field_validator("bake_seconds")
    @classmethod
    def _bake_positive(cls, bake: float) -> float:
        if not bake > 0:
            raise ValueError(f"bake time must be positive, got {bake:g}")
        return bake

    @model_validator(mode="after")
    def _target_settings(self) -> CanarySection:
        if self.interval_seconds is not None and not 0 < self.interval_seconds <= self.bake_seconds:
            raise ValueError(
                f"interval_seconds must be above 0 and at most bake_seconds, got {self.interval_seconds:g}"
            )
        if self.target == "sagemaker" and not self.sagemaker.endpoint_name:
            raise ValueError("target sagemaker needs sagemaker.endpoint_name")
        if self.target == "kserve" and not self.kserve.name:
            raise ValueError("target kserve needs kserve.name")
        return self

    @property
    def looks_per_bake(self) -> int:
        if self.interval_seconds is None:
            return 1
        return max(1, math.ceil(self.bake_seconds / self.interval_seconds - 1e-9))

    @property
    def looks(self) -> int:
        """The most looks a rollout can take: analysed steps x bakes per step x looks per bake."""
        return max(1, len(self.analysed_steps)) * self.max_inconclusive * self.looks_per_bake

    def step_alpha_share(self, step: float) -> float:
        """The share of `analysis.alpha` spent on an analysed step's looks (see `analysis.step_alpha`)."""
        steps = self.analysed_steps or [step]
        if self.analysis.step_alpha == "even":
            return 1 / len(steps)
        return (1 / step) / sum(1 / s for s in steps)

    def bake_alpha_share(self, bake: int) -> float:
        """The share of a step's alpha spent on its bake `bake` (1 .. max_inconclusive): in proportion to
        the bake's number, as the evidence a bake judges grows with it."""
        if not 1 <= bake <= self.max_inconclusive:
            raise ValueError(f"bake {bake} outside 1..{self.max_inconclusive}")
        return bake / (self.max_inconclusive * (self.max_inconclusive + 1) / 2)

    def test_alphas(self, step: float, bake: int = 1) -> dict[str, float]:
        """Each judged test's level at one look of bake `bake` of `step`: `analysis.alpha` x the step's
        share (`step_alpha_share`) x the bake's share (`bake_alpha_share`) / looks per bake x the test's
        share of a look (`alpha_shares`). Over every possible look and test they add up to
        `analysis.alpha` (Bonferroni)."""
        per_look = (
            self.analysis.alpha
            * self.step_alpha_share(step)
            * self.bake_alpha_share(bake)
            / self.looks_per_bake
        )
        return {test: per_look * share for test, share in alpha_shares(self.analysis).items()}

    @property
    def beta_per_look(self) -> float:
        """Level of the tests that rule a regression out, at each of a step's (at most max_inconclusive)
        passing looks: a canary with the regression passes its last step with probability <= 1 - power."""
        return (1 - self.analysis.power) / self.max_inconclusive

    @property
    def analysed_steps(self) -> list[float]:
        return [step for step in self.steps if step < 100]
