"""The generated `deploy/kserve/` InferenceServices are valid against KServe's own CRD schema.

The schema is the `openAPIV3Schema` of KServe v0.20.0's InferenceService CustomResourceDefinition
(kserve/kserve `config/crd/full/serving.kserve.io_inferenceservices.yaml`, Apache-2.0), the schema the
API server validates an InferenceService against. No PyPI package ships it (`kubernetes-validate` has the
core resources only), so the team keeps the unmodified file in ../shared/data/kserve/ for the tests
(`MLGATE_KSERVE_CRD` names another copy); this test skips, saying so, where it is absent. It is checked
with `jsonschema` (Draft 7 validator: the OpenAPI v3 subset a structural CRD schema uses; the
`x-kubernetes-*` extensions are annotations to it).

Both canary styles: Serverless mode (`spec.predictor.canaryTrafficPercent`) and Standard mode (KServe
0.20+ `spec.canary[].trafficPercent`); and broken variants of each must fail, so the check can fail.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CRD_NAME = "serving.kserve.io_inferenceservices.yaml"
#: MLGATE_KSERVE_CRD, else ../shared/data/kserve/ of the checkout (or of the folder holding a worktree)
CRD = next(
    (
        p
        for p in (
            Path(os.environ.get("MLGATE_KSERVE_CRD", "/nonexistent")),
            ROOT.parent / "shared" / "data" / "kserve" / CRD_NAME,
            ROOT.parent.parent / "shared" / "data" / "kserve" / CRD_NAME,
        )
        if p.is_file()
    ),
    ROOT.parent / "shared" / "data" / "kserve" / CRD_NAME,
)
KSERVE_VERSION = "v0.20.0"

pytestmark = pytest.mark.skipif(
    not CRD.is_file(), reason=f"KServe {KSERVE_VERSION} InferenceService CRD not found at {CRD}"
)


@pytest.fixture(scope="module")
def validator() -> Any:
    import jsonschema

    crd = yaml.safe_load(CRD.read_text(encoding="utf-8"))
    assert crd["kind"] == "CustomResourceDefinition" and crd["spec"]["group"] == "serving.kserve.io"
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
    schema = version["schema"]["openAPIV3Schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def errors(validator: Any, manifest: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)]


@pytest.fixture(scope="module")
def manifests(render_cached: Callable[..., Path]) -> dict[str, dict[str, Any]]:
    folder = render_cached() / "deploy" / "kserve"
    return {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml"))}


def test_both_manifests_are_valid_inference_services(validator: Any, manifests: dict[str, Any]) -> None:
    assert sorted(manifests) == ["inferenceservice-standard.yaml", "inferenceservice.yaml"]
    for name, manifest in manifests.items():
        assert (
            manifest["apiVersion"] == "serving.kserve.io/v1beta1" and manifest["kind"] == "InferenceService"
        )
        assert errors(validator, manifest) == [], name


def test_serverless_uses_canary_traffic_percent(validator: Any, manifests: dict[str, Any]) -> None:
    isvc = manifests["inferenceservice.yaml"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Serverless"
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 0
    (container,) = isvc["spec"]["predictor"]["containers"]
    assert container["image"] == "ghcr.io/acme/fraud-detection:model-1.0.0"
    assert {"name": "MODEL_VERSION", "value": "1.0.0"} in container["env"]
    broken = copy.deepcopy(isvc)
    broken["spec"]["predictor"]["canaryTrafficPercent"] = "five"
    assert any("canaryTrafficPercent" in e for e in errors(validator, broken))


def test_standard_mode_uses_spec_canary(validator: Any, manifests: dict[str, Any]) -> None:
    isvc = manifests["inferenceservice-standard.yaml"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]
    (canary,) = isvc["spec"]["canary"]
    assert canary["trafficPercent"] == 0
    assert canary["predictor"]["containers"][0]["image"].endswith(":model-2.0.0")
    for bad in ({"trafficPercent": 101}, {"trafficPercent": None}):
        broken = copy.deepcopy(isvc)
        broken["spec"]["canary"][0].update(bad)
        if bad["trafficPercent"] is None:
            del broken["spec"]["canary"][0]["trafficPercent"]
        assert errors(validator, broken), bad
    no_predictor = copy.deepcopy(isvc)
    del no_predictor["spec"]["predictor"]
    assert any("predictor" in e for e in errors(validator, no_predictor))


def test_the_service_runs_unprivileged(manifests: dict[str, Any]) -> None:
    for name, isvc in manifests.items():
        predictors = [isvc["spec"]["predictor"], *(c["predictor"] for c in isvc["spec"].get("canary", []))]
        for predictor in predictors:
            assert predictor["automountServiceAccountToken"] is False, name
            for container in predictor["containers"]:
                ctx = container["securityContext"]
                assert ctx["runAsNonRoot"] and not ctx["allowPrivilegeEscalation"], name
                assert ctx["capabilities"] == {"drop": ["ALL"]}, name
