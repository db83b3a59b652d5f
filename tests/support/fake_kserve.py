"""A local stand-in for the Kubernetes API serving one KServe InferenceService (v1beta1).

It implements the documented request and response shapes mlgate uses — not a cluster:
- `GET  /apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/{name}` → the object;
  an unknown name → 404 with a `kind: Status` body, as the API server answers.
- `PATCH` of the same path with `Content-Type: application/merge-patch+json` (RFC 7386); any other
  content type → 415. After `spec.predictor.canaryTrafficPercent` changes, the status traffic split is
  recomputed the way KServe reports it: the latest revision (`latestRevision: true`, tag `latest`) gets
  the canary percent and the previously rolled-out revision (tag `prev`) the rest; no
  `canaryTrafficPercent` → the latest revision takes 100 %.
- A bearer token is required when `token` is set (401 otherwise).
`fail_patches` makes the next N PATCH calls answer 500 (a failing API server).
"""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/{name}"


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def inference_service(name: str, namespace: str, storage_uri: str) -> dict[str, Any]:
    isvc: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1", "generation": 2},
        "spec": {
            "predictor": {
                "model": {"modelFormat": {"name": "sklearn"}, "storageUri": storage_uri},
                "canaryTrafficPercent": 0,
            }
        },
        "status": {
            "components": {
                "predictor": {
                    "latestCreatedRevision": f"{name}-predictor-00002",
                    "latestReadyRevision": f"{name}-predictor-00002",
                    "previousRolledoutRevision": f"{name}-predictor-00001",
                }
            },
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    _recompute(isvc)
    return isvc


def _recompute(isvc: dict[str, Any]) -> None:
    predictor = isvc["status"]["components"]["predictor"]
    percent = isvc["spec"]["predictor"].get("canaryTrafficPercent")
    latest, previous = predictor["latestReadyRevision"], predictor["previousRolledoutRevision"]
    if percent is None or percent >= 100:
        predictor["traffic"] = [
            {"revisionName": latest, "percent": 100, "latestRevision": True, "tag": "latest"}
        ]
        predictor["latestRolledoutRevision"] = latest
    else:
        predictor["traffic"] = [
            {"revisionName": latest, "percent": int(percent), "latestRevision": True, "tag": "latest"},
            {"revisionName": previous, "percent": 100 - int(percent), "latestRevision": False, "tag": "prev"},
        ]


class FakeKServe:
    def __init__(
        self,
        *,
        name: str = "fraud-detection",
        namespace: str = "models",
        storage_uri: str = "s3://models/fraud-detection/2",
        token: str = "",
    ) -> None:
        self.objects = {(namespace, name): inference_service(name, namespace, storage_uri)}
        self.token = token
        self.fail_patches = 0
        self.patches: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def canary_percent(self, namespace: str = "models", name: str = "fraud-detection") -> float:
        with self.lock:
            traffic = self.objects[(namespace, name)]["status"]["components"]["predictor"]["traffic"]
        return float(sum(t["percent"] for t in traffic if t["latestRevision"]))

    def __enter__(self) -> FakeKServe:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _status(self, code: int, reason: str, message: str) -> None:
                self._send(
                    code,
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "metadata": {},
                        "status": "Failure",
                        "message": message,
                        "reason": reason,
                        "code": code,
                    },
                )

            def _key(self) -> tuple[str, str] | None:
                parts = self.path.split("?")[0].strip("/").split("/")
                # apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/{name}
                if (
                    len(parts) == 7
                    and parts[:3] == ["apis", "serving.kserve.io", "v1beta1"]
                    and parts[3] == "namespaces"
                    and parts[5] == "inferenceservices"
                ):
                    return parts[4], parts[6]
                return None

            def _authorised(self) -> bool:
                if fake.token and self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._status(401, "Unauthorized", "Unauthorized")
                    return False
                return True

            def do_GET(self) -> None:
                key = self._key()
                if not self._authorised():
                    return
                with fake.lock:
                    obj = fake.objects.get(key) if key else None
                    if obj is None:
                        name = key[1] if key else self.path
                        self._status(
                            404, "NotFound", f'inferenceservices.serving.kserve.io "{name}" not found'
                        )
                        return
                    self._send(200, copy.deepcopy(obj))

            def do_PATCH(self) -> None:
                key = self._key()
                if not self._authorised():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                patch = json.loads(self.rfile.read(length) or b"{}")
                if self.headers.get("Content-Type") != "application/merge-patch+json":
                    self._status(
                        415, "UnsupportedMediaType", "the body of the request was in an unknown format"
                    )
                    return
                with fake.lock:
                    if fake.fail_patches > 0:
                        fake.fail_patches -= 1
                        self._status(
                            500, "InternalError", "Internal error occurred: etcdserver: request timed out"
                        )
                        return
                    obj = fake.objects.get(key) if key else None
                    if obj is None or key is None:
                        self._status(404, "NotFound", "inferenceservices.serving.kserve.io not found")
                        return
                    fake.patches.append(patch)
                    updated = merge_patch(obj, patch)
                    updated["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
                    _recompute(updated)
                    fake.objects[key] = updated
                    self._send(200, copy.deepcopy(updated))

        return Handler
