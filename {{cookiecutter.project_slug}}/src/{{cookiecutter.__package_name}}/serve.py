"""The prediction service: FastAPI with health, readiness, predictions and Prometheus metrics.

    make serve        (python -m <package>.serve; or any ASGI server on `<package>.serve:app`)

Endpoints
    GET  /healthz   the process is alive (always 200)
    GET  /readyz    200 once the model is loaded, 503 with the reason otherwise
    POST /predict   one transaction -> fraud probability and decision; invalid input -> 422 naming the field
    GET  /metrics   Prometheus text format

Environment
    MODEL_URI            a local directory holding `model.joblib` (+ `model.json`), as written by training
                         (default `models`), or any MLflow model URI: `models:/<name>/<version>`,
                         `models:/<name>@<alias>`, `runs:/<run id>/model` or an MLflow model directory
    MODEL_VERSION        label of the served version in metrics and responses (default: from model.json
                         or the URI)
    PREDICTION_THRESHOLD score at or above which `is_fraud` is true (default: from model.json, else 0.5)
    HOST, PORT           where `python -m <package>.serve` listens (default 127.0.0.1:8000)
    FAULT_ERROR_RATE     share of /predict requests answered 500 on purpose (default 0): the switch that
                         makes a canary bad in `make canary-local CANARY_BAD=1`; never set it in production
    MLGATE_CONFIG        the mlgate.yaml whose `monitor.prediction_log` section describes the prediction
                         log (default `mlgate.yaml`)

Prediction log
    A sampled, bounded log of the requests answered and their scores (mlgate.monitor.prediction_log):
    sample rate, fields never written or masked, sink (a local directory, or the data bucket) and bounds
    come from `monitor.prediction_log` in mlgate.yaml. A bad section keeps the service not ready (the
    reason names the field); a failing write never fails a prediction (it counts in
    `model_prediction_log_errors_total`).

Metrics (every series labelled by `model_version`)
    model_requests_total{endpoint,method,status}     counter
    model_request_errors_total{endpoint,status}      counter of 4xx/5xx answers
    model_request_latency_seconds{endpoint}          histogram
    model_prediction_score{endpoint}                 histogram of predicted fraud probabilities (successful
                                                     predictions; labelled like the requests so `mlgate
                                                     canary` filters requests, errors and scores alike)
    model_info{model_name,model_uri}                 gauge, 1 for the loaded model
    model_prediction_log_rows_total                  counter of rows written to the prediction log
    model_prediction_log_errors_total                counter of failed prediction-log writes
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from mlgate.errors import GateInputError
from mlgate.monitor.prediction_log import PredictionLog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, ConfigDict, Field

from . import __version__
from .features import FEATURE_COLUMNS
from .schema import MAX_AMOUNT, MAX_CARD_AGE_DAYS, Country, Device, MerchantCategory

log = logging.getLogger(__name__)

SERVICE_TITLE = "{{ cookiecutter.project_name }}"
DEFAULT_MODEL_URI = "models"
#: latency buckets (seconds) about 15 % apart from 10 ms to 1 s: `mlgate canary` judges latency as the
#: share of requests above the baseline's p95 / p99 bucket bound, so the bounds must be close together
#: where the service's latency lies (keep them in step with `canary.analysis.latency_max_ratio`)
LATENCY_BUCKETS = (
    0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.010, 0.0115, 0.013, 0.015, 0.0175,
    0.020, 0.023, 0.026, 0.030, 0.035, 0.040, 0.045, 0.050, 0.0575, 0.065, 0.075, 0.085, 0.100, 0.115,
    0.130, 0.150, 0.175, 0.200, 0.230, 0.260, 0.300, 0.350, 0.400, 0.450, 0.500, 0.575, 0.650, 0.750,
    0.850, 1.0, 1.25, 1.5, 2.0, 2.5, 5.0, 10.0,
)  # fmt: skip
#: score buckets; the decision threshold (eval.decision_threshold, 0.2) must be one of them: the canary's
#: positive rate is the share of successful predictions above it
SCORE_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


class Transaction(BaseModel):
    """One card transaction to score. Unknown fields are rejected so client typos surface as 422s."""

    model_config = ConfigDict(extra="forbid")

    transaction_id: str | None = Field(None, max_length=64, description="caller's id, echoed back")
    amount: float = Field(..., gt=0, le=MAX_AMOUNT, description="amount in the card's currency")
    merchant_category: MerchantCategory
    country: Country
    hour: int = Field(..., ge=0, le=23, description="hour of day, 0-23, local time")
    card_age_days: int = Field(..., ge=0, le=MAX_CARD_AGE_DAYS, description="days since the card was issued")
    device: Device


class Prediction(BaseModel):
    transaction_id: str | None
    fraud_probability: float
    is_fraud: bool
    threshold: float
    model_version: str


@dataclass
class LoadedModel:
    model: Any
    name: str
    version: str
    uri: str
    threshold: float


def load_model(uri: str) -> LoadedModel:
    """Load a model from a local training output directory or from any MLflow model URI."""
    path = Path(uri)
    info: dict[str, Any] = {}
    if (path / "model.json").is_file():
        info = json.loads((path / "model.json").read_text(encoding="utf-8"))
    if (path / "model.joblib").is_file():
        import joblib

        model = joblib.load(path / "model.joblib")
    elif not re.match(r"^[A-Za-z][\w+.-]+:", uri) and not (path / "MLmodel").is_file():
        raise FileNotFoundError(f"{uri} holds neither model.joblib nor an MLflow model (MLmodel)")
    else:
        import mlflow.sklearn

        model = mlflow.sklearn.load_model(uri)
        if uri.startswith("models:/"):
            info.setdefault("version", uri.removeprefix("models:/").split("/", 1)[-1].lstrip("@"))
            info.setdefault("name", uri.removeprefix("models:/").split("/")[0].split("@")[0])
    return LoadedModel(
        model=model,
        name=str(info.get("name", "{{ cookiecutter.project_slug }}")),
        version=os.environ.get("MODEL_VERSION") or str(info.get("version", "local")),
        uri=uri,
        threshold=float(os.environ.get("PREDICTION_THRESHOLD") or info.get("threshold", 0.5)),
    )


class ServiceMetrics:
    """The service's Prometheus series, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "model_requests",
            "HTTP requests answered.",
            ["endpoint", "method", "status", "model_version"],
            registry=self.registry,
        )
        self.errors = Counter(
            "model_request_errors",
            "Requests answered with a 4xx or 5xx status.",
            ["endpoint", "status", "model_version"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "model_request_latency_seconds",
            "Time to answer a request.",
            ["endpoint", "model_version"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.scores = Histogram(
            "model_prediction_score",
            "Predicted fraud probabilities.",
            ["endpoint", "model_version"],
            buckets=SCORE_BUCKETS,
            registry=self.registry,
        )
        self.logged = Counter(
            "model_prediction_log_rows", "Rows written to the prediction log.", registry=self.registry
        )
        self.log_errors = Counter(
            "model_prediction_log_errors", "Failed prediction-log writes.", registry=self.registry
        )
        self.info = Gauge(
            "model_info",
            "The loaded model (value 1).",
            ["model_name", "model_version", "model_uri"],
            registry=self.registry,
        )


def open_prediction_log(config: Path) -> tuple[PredictionLog | None, str | None]:
    """The prediction log `monitor.prediction_log` of `config` describes (None when disabled), or the
    problem with that section (one line naming the file and field)."""
    try:
        return PredictionLog.from_config(config), None
    except GateInputError as exc:
        return None, f"prediction log: {exc}"


def record_prediction(
    prediction_log: PredictionLog | None,
    metrics: ServiceMetrics,
    request: dict[str, Any],
    *,
    score: float,
    loaded: LoadedModel,
) -> None:
    """Offer one prediction to the (sampled) log; a failing write never fails a prediction."""
    if prediction_log is None:
        return
    try:
        written = prediction_log.record(
            request, score=score, decision=score >= loaded.threshold, model_version=loaded.version
        )
    except Exception:
        metrics.log_errors.inc()
        log.exception("prediction log write failed")
    else:
        metrics.logged.inc(written)


def create_app(  # noqa: PLR0915 - the app factory defines the routes as closures over its state
    model_uri: str | None = None, config: Path | None = None
) -> FastAPI:
    """The service; the model (from `model_uri`, else `MODEL_URI`) and the prediction log (from `config`,
    else `MLGATE_CONFIG`, else mlgate.yaml) load at startup."""
    state: dict[str, Any] = {"model": None, "problem": "model not loaded yet", "log": None}
    fault_rate = float(os.environ.get("FAULT_ERROR_RATE") or 0.0)
    fault_random = secrets.SystemRandom()
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        uri = model_uri or os.environ.get("MODEL_URI") or DEFAULT_MODEL_URI
        try:
            loaded = load_model(uri)
        except Exception as exc:  # noqa: BLE001 - stay up and report not-ready instead of crash-looping
            state["problem"] = f"cannot load model from {uri}: {exc}"
            log.error(state["problem"])
        else:
            state["model"], state["problem"] = loaded, None
            metrics.info.labels(loaded.name, loaded.version, loaded.uri).set(1)
        config_file = config or Path(os.environ.get("MLGATE_CONFIG") or "mlgate.yaml")
        state["log"], problem = open_prediction_log(config_file)
        if problem:  # a bad monitor section: not ready, and the reason names the field
            state["model"], state["problem"] = None, problem
            log.error(problem)
        yield
        if state["log"] is not None:
            state["log"].close()

    app = FastAPI(title=SERVICE_TITLE, version=__version__, lifespan=lifespan)

    def version() -> str:
        loaded: LoadedModel | None = state["model"]
        return loaded.version if loaded else "none"

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
        finally:
            route = request.scope.get("route")
            endpoint = getattr(route, "path", "unmatched")
            if endpoint != "/metrics":
                metrics.latency.labels(endpoint, version()).observe(time.perf_counter() - start)
                metrics.requests.labels(endpoint, request.method, str(status), version()).inc()
                if status >= 400:
                    metrics.errors.labels(endpoint, str(status), version()).inc()
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz(response: Response) -> dict[str, str]:
        loaded: LoadedModel | None = state["model"]
        if loaded is None:
            response.status_code = 503
            return {"status": "not ready", "reason": str(state["problem"])}
        return {"status": "ready", "model_name": loaded.name, "model_version": loaded.version}

    @app.post("/predict")
    def predict(transaction: Transaction) -> Prediction:
        import pandas as pd

        loaded: LoadedModel | None = state["model"]
        if loaded is None:
            raise HTTPException(status_code=503, detail=str(state["problem"]))
        if fault_rate and fault_random.random() < fault_rate:
            raise HTTPException(status_code=500, detail="injected fault (FAULT_ERROR_RATE)")
        row = pd.DataFrame([transaction.model_dump(mode="json")]).loc[:, list(FEATURE_COLUMNS)]
        score = float(loaded.model.predict_proba(row)[0, 1])
        metrics.scores.labels("/predict", loaded.version).observe(score)
        request = transaction.model_dump(mode="json")
        record_prediction(state["log"], metrics, request, score=score, loaded=loaded)
        return Prediction(
            transaction_id=transaction.transaction_id,
            fraud_probability=score,
            is_fraud=score >= loaded.threshold,
            threshold=loaded.threshold,
            model_version=loaded.version,
        )

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


app = create_app()


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
