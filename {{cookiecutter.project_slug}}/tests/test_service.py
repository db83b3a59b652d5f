from __future__ import annotations

import json
import math
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from {{ cookiecutter.__package_name }}.serve import create_app

LEGIT = {
    "transaction_id": "t-1",
    "amount": 42.5,
    "merchant_category": "grocery",
    "country": "DE",
    "hour": 11,
    "card_age_days": 1200,
    "device": "pos",
}
RISKY = {
    **LEGIT,
    "amount": 2500.0,
    "merchant_category": "electronics",
    "hour": 3,
    "card_age_days": 2,
    "device": "web",
    "country": "NG",
}


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["model_version"] == "7"


def test_predict_scores_a_valid_transaction(client: TestClient) -> None:
    answer = client.post("/predict", json=LEGIT)
    assert answer.status_code == 200
    body = answer.json()
    assert body["transaction_id"] == "t-1"
    assert 0.0 <= body["fraud_probability"] <= 1.0
    assert body["model_version"] == "7"
    assert body["is_fraud"] == (body["fraud_probability"] >= body["threshold"])


def test_risky_transactions_score_higher(client: TestClient) -> None:
    legit = client.post("/predict", json=LEGIT).json()["fraud_probability"]
    risky = client.post("/predict", json=RISKY).json()["fraud_probability"]
    assert risky > legit


def test_invalid_input_gets_a_422_naming_the_field(client: TestClient) -> None:
    cases = {
        "hour": {**LEGIT, "hour": 25},
        "country": {**LEGIT, "country": "XX"},
        "amount": {**LEGIT, "amount": -3},
        "device": {k: v for k, v in LEGIT.items() if k != "device"},
        "colour": {**LEGIT, "colour": "red"},
    }
    for field, payload in cases.items():
        answer = client.post("/predict", json=payload)
        assert answer.status_code == 422, field
        assert any(field in error["loc"] for error in answer.json()["detail"]), answer.json()
    country_error = client.post("/predict", json=cases["country"]).json()["detail"][0]["msg"]
    assert "'US'" in country_error  # the message lists the allowed values


def test_metrics_expose_requests_errors_latency_and_scores(client: TestClient) -> None:
    client.post("/predict", json=LEGIT)
    client.post("/predict", json={**LEGIT, "hour": 99})
    text = client.get("/metrics").text
    assert 'model_requests_total{endpoint="/predict",method="POST",model_version="7",status="200"}' in text
    assert 'model_request_errors_total{endpoint="/predict",model_version="7",status="422"}' in text
    assert 'model_request_latency_seconds_bucket{endpoint="/predict",le="0.5",model_version="7"}' in text
    assert 'model_prediction_score_count{endpoint="/predict",model_version="7"} 1.0' in text
    assert "model_info{" in text


def test_not_ready_without_a_model(tmp_path: Path) -> None:
    with TestClient(create_app(str(tmp_path / "no-model-here"))) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "no-model-here" in ready.json()["reason"]
        assert client.post("/predict", json=LEGIT).status_code == 503


def prediction_log_config(tmp_path: Path, **settings: object) -> Path:
    section = {"directory": str(tmp_path / "predictions"), **settings}
    config = tmp_path / "log.yaml"
    config.write_text(yaml.safe_dump({"monitor": {"prediction_log": section}}), encoding="utf-8")
    return config


def logged_rows(tmp_path: Path) -> list[dict[str, object]]:
    files = sorted((tmp_path / "predictions").glob("predictions-*.jsonl"))
    return [json.loads(line) for path in files for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_prediction_log_samples_and_never_writes_sensitive_fields(
    model_dir: Path, tmp_path: Path
) -> None:
    """mlgate.yaml's monitor.prediction_log: a field in never_write never reaches the file, a masked one
    is unreadable, and the share of requests logged matches sample_rate (a 5-sigma binomial bound)."""
    config = prediction_log_config(tmp_path, sample_rate=0.3, never_write=["device"], mask=["country"])
    requests = 200  # 60 expected; logging every request (200) or none is far outside the bound
    with TestClient(create_app(str(model_dir), config=config)) as client:
        for i in range(requests):
            assert client.post("/predict", json={**LEGIT, "transaction_id": f"t-{i}"}).status_code == 200
        metrics = client.get("/metrics").text
    rows = logged_rows(tmp_path)
    spread = 5 * math.sqrt(requests * 0.3 * 0.7)
    assert requests * 0.3 - spread <= len(rows) <= requests * 0.3 + spread, len(rows)
    assert f"model_prediction_log_rows_total {float(len(rows))}" in metrics
    raw = b"".join(p.read_bytes() for p in (tmp_path / "predictions").iterdir())
    for secret in (b"device", b'"pos"', b'"DE"'):
        assert secret not in raw
    for row in rows:
        assert row["country"] == "***"
        assert "device" not in row
        assert str(row["transaction_id"]).startswith("t-")
        assert row["_model_version"] == "7"
        assert 0.0 <= float(row["_score"]) <= 1.0  # type: ignore[arg-type]


def test_the_prediction_log_is_bounded(model_dir: Path, tmp_path: Path) -> None:
    config = prediction_log_config(tmp_path, sample_rate=1.0, rows_per_file=5, max_files=2)
    with TestClient(create_app(str(model_dir), config=config)) as client:
        for i in range(40):
            client.post("/predict", json={**LEGIT, "transaction_id": f"t-{i}"})
    rows = logged_rows(tmp_path)
    assert len(list((tmp_path / "predictions").iterdir())) <= 3
    assert 5 * 2 <= len(rows) <= 5 * 3  # the newest max_files closed files (and the open one) only
    assert [row["transaction_id"] for row in rows] == [f"t-{i}" for i in range(40 - len(rows), 40)]


def test_a_bad_prediction_log_section_keeps_the_service_not_ready(model_dir: Path, tmp_path: Path) -> None:
    config = prediction_log_config(tmp_path, sample_rate=2)
    with TestClient(create_app(str(model_dir), config=config)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "monitor.prediction_log.sample_rate" in ready.json()["reason"]
