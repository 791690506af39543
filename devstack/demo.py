"""The quick-start job: real Triton, GCS emulator and callback receiver, two tasks end to end.

``python -m devstack.demo`` starts everything on free loopback ports, uploads two sample
pictures, pushes one face-detection and one classification task through ``POST /tasks``,
prints the results and leaves the annotated picture and the result JSON under ``out/``.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from skimage import data as samples

from devstack.callback_receiver import CallbackReceiver
from devstack.gcs import LocalGcs
from devstack.pictures import encoded
from devstack.serve import ServedApp
from devstack.triton import LocalTriton
from orchestrator.app import create_app
from orchestrator.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TENANT = "demo-tenant"
BUCKET = "mlworker-demo"


@dataclass(frozen=True, slots=True)
class DemoTask:
    """One sample picture and the example pipeline to run on it."""

    picture: str
    pipeline: str


TASKS = (DemoTask("astronaut", "face_detection"), DemoTask("chelsea", "classification"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "out", help="where results go")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    print("starting Triton (CPU shim of model_repository/) and the GCS emulator ...")
    with LocalTriton(ROOT / "model_repository") as triton, LocalGcs() as gcs:
        gcs_client = gcs.client()
        bucket = gcs_client.create_bucket(BUCKET)
        receiver = CallbackReceiver()
        settings = Settings(triton_url=triton.grpc_url, bucket=BUCKET, gcs_endpoint=gcs.endpoint)
        with ServedApp(receiver.app) as callbacks, ServedApp(create_app(settings)) as worker:
            print(
                f"ready in {time.monotonic() - started:.1f}s: MLWorker {worker.url}, "
                f"Triton gRPC {triton.grpc_url}, GCS {gcs.endpoint}\n"
            )
            for task in TASKS:
                key = f"{TENANT}/originals/{task.picture}.jpg"
                bucket.blob(key).upload_from_string(
                    encoded(getattr(samples, task.picture)()), content_type="image/jpeg"
                )
                body = {
                    "tenant_id": TENANT,
                    "session_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "demo-session")),
                    "image_id": str(uuid.uuid5(uuid.NAMESPACE_URL, task.picture)),
                    "image_url": f"gs://{BUCKET}/{key}",
                    "pipeline_definition": json.loads(
                        (ROOT / "examples" / f"{task.pipeline}.json").read_text()
                    ),
                    "settings": {},
                    "callback_url": f"{callbacks.url}/results",
                }
                response = httpx.post(f"{worker.url}/tasks", json=body, timeout=120)
                print(f"POST /tasks ({task.pipeline} on {task.picture}) -> {response.status_code}")
                result = response.json()
                (out / f"{task.picture}_result.json").write_text(json.dumps(result, indent=2))
                _print_outputs(result)
                for name, output in result.get("outputs", {}).items():
                    if isinstance(output, dict) and "uri" in output:
                        path = out / f"{task.picture}_{name}.{output['uri'].rsplit('.', 1)[1]}"
                        key = output["uri"].removeprefix(f"gs://{BUCKET}/")
                        path.write_bytes(bucket.blob(key).download_as_bytes())
                        print(f"  {name}: {output['uri']} -> saved to {path}")
            received = receiver.received()
            print(
                f"\ncallbacks received: {len(received)} "
                f"(X-Tenant-ID: {sorted({c.headers['x-tenant-id'] for c in received})})"
            )
    print(f"done in {time.monotonic() - started:.1f}s; open {out}/astronaut_annotated.jpg")


def _print_outputs(result: dict[str, Any]) -> None:
    if "error" in result:
        print("  error:", json.dumps(result["error"], indent=2))
        return
    for name, output in result["outputs"].items():
        if isinstance(output, list) and output and isinstance(output[0], list):
            for rank, c in enumerate(output[0], 1):
                print(f"  {name} #{rank}: {c['label']} ({c['score']:.3f})")
        elif isinstance(output, list):
            for d in output:
                print(
                    f"  {name}: box {d['box']} score {d['score']:.3f} "
                    f"landmarks {d.get('landmarks')}"
                )
    print(f"  models: {result['models']}")
    print(f"  step timings (ms): {result['timings_ms']}")


if __name__ == "__main__":
    main()
