"""moto's server with the one SageMaker API it lacks, `UpdateEndpoint`, and the one CreateModel field it
drops, `EnableNetworkIsolation` (test-side stand-ins).

moto 5.2.5 serves CreateModel, CreateEndpointConfig, DescribeEndpoint and
UpdateEndpointWeightsAndCapacities, but not UpdateEndpoint, which the SageMaker deployer calls to put a new
EndpointConfig on an endpoint. This module adds it to moto's own SageMaker backend the way the real API
behaves once an update has finished: the endpoint's config name becomes the new config and its production
variants are the new config's (weights reset to the config's initial weights), read through moto's own
objects (`FakeEndpoint._process_production_variants`). An unknown endpoint or config is moto's own
`ValidationError` ("Could not find …"), as on AWS. moto's CreateModel keeps `VpcConfig` but always
answers `EnableNetworkIsolation: false`; the stand-in stores what the request asked for on moto's `Model`.

Two test switches, both off unless asked for:
- `faults`: SageMaker actions (e.g. `CreateModel`, `UpdateEndpoint`) that answer with a
  ValidationException — an AWS error at that call — once an endpoint exists (so the test can set one up);
- an image whose URI contains `:broken` makes the update fail the way SageMaker reports a failed update:
  the endpoint stays InService on its previous config with a `FailureReason`.

Run as a script (`python tests/support/moto_sagemaker.py [--fail Action,...] -H host -p port`), or use
`serve()` which starts it on a free port and stops it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

BROKEN_IMAGE_MARK = ":broken"


def install(faults: tuple[str, ...] = ()) -> None:
    """Add UpdateEndpoint (and the asked-for faults) to moto's SageMaker backend and response classes."""
    from moto.core.utils import camelcase_to_underscores, utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    def update_endpoint(self: Any, endpoint_name: str, endpoint_config_name: str) -> str:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
            raise ValidationError(message=f"Could not find endpoint '{arn}'.")
        config = self.describe_endpoint_config(endpoint_config_name)  # moto's "Could not find" if missing
        images = [
            (self._models[v["ModelName"]].primary_container or {}).get("Image", "")
            for v in config["ProductionVariants"]
        ]
        endpoint.last_modified_time = utcnow()
        if any(BROKEN_IMAGE_MARK in image for image in images):
            endpoint.failure_reason = "The primary container for production variant challenger did not pass "
            endpoint.failure_reason += "the ping health check."
            return str(endpoint.arn)
        endpoint.endpoint_config_name = endpoint_config_name
        endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
        endpoint.failure_reason = None
        return str(endpoint.arn)

    def update_endpoint_response(self: Any) -> Any:
        from moto.core.responses import ActionResult

        arn = self.sagemaker_backend.update_endpoint(
            self._get_param("EndpointName"), self._get_param("EndpointConfigName")
        )
        return ActionResult({"EndpointArn": arn})

    create_model = SageMakerResponse.create_model

    def create_model_keeping_isolation(self: Any) -> Any:
        result = create_model(self)
        model = self.sagemaker_backend.describe_model(self._get_param("ModelName"))
        model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
        return result

    SageMakerModelBackend.update_endpoint = update_endpoint  # type: ignore[attr-defined]
    SageMakerResponse.update_endpoint = update_endpoint_response  # type: ignore[attr-defined]
    SageMakerResponse.create_model = create_model_keeping_isolation  # type: ignore[method-assign]

    for action in faults:
        method = camelcase_to_underscores(action)
        original = getattr(SageMakerResponse, method)

        def fail(self: Any, _action: str = action, _original: Any = original) -> Any:
            if not self.sagemaker_backend.endpoints:  # the test's own setup runs before any endpoint exists
                return _original(self)
            raise ValidationError(message=f"injected fault: {_action} refused by the test server")

        setattr(SageMakerResponse, method, fail)


@contextmanager
def serve(faults: tuple[str, ...] = ()) -> Iterator[str]:
    """moto's server with UpdateEndpoint on a free port; yields its URL."""
    import httpx

    from tests.support.canary_stack import free_port

    port = free_port()
    args = [sys.executable, __file__, "-H", "127.0.0.1", "-p", str(port)]
    if faults:
        args += ["--fail", ",".join(faults)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start (exit {proc.poll()})") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main(argv: list[str]) -> None:
    faults: tuple[str, ...] = ()
    if "--fail" in argv:
        at = argv.index("--fail")
        faults = tuple(a for a in argv[at + 1].split(",") if a)
        argv = argv[:at] + argv[at + 2 :]
    install(faults)
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
