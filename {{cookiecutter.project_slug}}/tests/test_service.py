from __future__ import annotations

from pathlib import Path

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
