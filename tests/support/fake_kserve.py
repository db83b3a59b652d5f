"""A local stand-in for the Kubernetes API serving one KServe InferenceService (v1beta1).

It implements the documented request and response shapes mlgate uses — not a cluster:
- `GET  /apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/{name}` → the object;
  an unknown name → 404 with a `kind: Status` body, as the API server answers.
- `PATCH` of the same path with `Content-Type: application/merge-patch+json` (RFC 7386); any other
  content type → 415. After `spec.predictor.canaryTrafficPercent` changes, the status traffic split is
  recomputed the way KServe reports it: the latest revision (`latestRevision: true`, tag `latest`) gets
  the canary percent and the previously rolled-out revision (tag `prev`) the rest; no
  `canaryTrafficPercent` → the latest revision takes 100 %.
- A bearer token is required when `token` is set (401 otherwise, with a `kind: Status` body).
  `rotate_after_patches=N` expires the token after the N-th PATCH, the way a short-lived token (an EKS
  token lives 15 minutes) or a rotated service-account token expires mid-rollout: from then on only a new
  token is accepted, and it is written to `token_file` — where the test's exec credential plugin or the
  pod's mounted token reads it — so only a client that refreshes its credentials on 401 carries on.
- Standard mode (KServe 0.20+): `spec.canary` entries are kept as patched (a merge patch replaces the
  list whole); no status traffic is computed for them (Standard mode has no revisions).
- `tls=True` serves HTTPS with a certificate for 127.0.0.1 signed by a CA of its own (`ca_path`), as an
  API server's certificate is signed by the cluster CA.
`fail_patches` makes the next N PATCH calls answer 500 (a failing API server).
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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


def make_tls(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca.crt, server.crt, server.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake cluster CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (folder / "ca.crt", folder / "server.crt", folder / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def _recompute(isvc: dict[str, Any]) -> None:
    if "status" not in isvc or isvc["spec"].get("canary"):
        return  # Standard mode: no revisions, the split is what spec.canary says
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
        token_file: Path | None = None,
        rotate_after_patches: int = 0,
        tls_dir: Path | None = None,
    ) -> None:
        self.objects = {(namespace, name): inference_service(name, namespace, storage_uri)}
        self.token = token
        self.token_file = token_file
        self.rotate_after_patches = rotate_after_patches
        self.rotations = 0
        self.unauthorised = 0
        self.fail_patches = 0
        self.patches: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        if token_file is not None:
            token_file.write_text(token, encoding="utf-8")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.ca_path: Path | None = None
        if tls_dir is not None:
            self.ca_path, cert, key = make_tls(tls_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.ca_path is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def _rotate(self) -> None:
        """Expire the current token; only the next one (also written to token_file) is accepted."""
        self.rotations += 1
        self.token = f"{self.token}-r{self.rotations}"
        if self.token_file is not None:
            self.token_file.write_text(self.token, encoding="utf-8")

    def put(self, obj: dict[str, Any]) -> None:
        """Replace (or add) an InferenceService, e.g. one in Standard mode."""
        with self.lock:
            self.objects[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = copy.deepcopy(obj)

    def get(self, namespace: str = "models", name: str = "fraud-detection") -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.objects[(namespace, name)])

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
                with fake.lock:
                    expected = fake.token
                if expected and self.headers.get("Authorization") != f"Bearer {expected}":
                    with fake.lock:
                        fake.unauthorised += 1
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
                if (self.headers.get("Content-Type") or "").split(";")[0] != "application/merge-patch+json":
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
                    if fake.rotate_after_patches and len(fake.patches) == fake.rotate_after_patches:
                        fake._rotate()  # the token this call used expires right after it
                    updated = merge_patch(obj, patch)
                    updated["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
                    _recompute(updated)
                    fake.objects[key] = updated
                    self._send(200, copy.deepcopy(updated))

        return Handler


#: an exec credential plugin (as `aws eks get-token` is one): prints an ExecCredential with the token
#: currently in the file named by its argument
EXEC_PLUGIN = (
    "import json, sys; token = open(sys.argv[1]).read().strip(); "
    "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential', "
    "'status': {'token': token}}))"
)


def write_kubeconfig(
    path: Path,
    server: str,
    *,
    token: str | None = None,
    exec_token_file: Path | None = None,
    ca: Path | None = None,
    namespace: str = "models",
) -> Path:
    """A kubeconfig for `server`: a static token, or an exec credential plugin reading `exec_token_file`."""
    import sys

    import yaml

    user: dict[str, Any] = {}
    if token is not None:
        user["token"] = token
    if exec_token_file is not None:
        user["exec"] = {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": ["-c", EXEC_PLUGIN, str(exec_token_file)],
            "interactiveMode": "Never",
        }
    cluster: dict[str, Any] = {"server": server}
    if ca is not None:
        cluster["certificate-authority"] = str(ca)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": cluster}],
        "users": [{"name": "fake", "user": user}],
        "contexts": [
            {"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": namespace}}
        ],
        "current-context": "fake",
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
