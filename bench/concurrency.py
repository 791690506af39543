"""Throughput of whole tasks, one at a time against concurrent, measured side by side in one run.

    .venv/bin/python bench/concurrency.py [--tasks 24] [--concurrency 8]

Starts the local stack (CPU Triton over the shim repository, GCS emulator, MLWorker on uvicorn),
pushes the detect-then-classify example on the astronaut sequentially and then concurrently,
and prints tasks/s for both, their ratio, and how many Triton executions served how many
inferences (dynamic batching merging requests of different tasks). On this CPU stand-in the
ratio shows overlap of I/O, numpy and inference; on a GPU the batching gain is larger.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from skimage import data as samples

from devstack import LocalGcs, LocalTriton
from devstack.pictures import encoded
from devstack.serve import ServedApp
from orchestrator.app import create_app
from orchestrator.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "mlworker-bench"
PIPELINE = "detect_then_classify"
MODELS = ("mtcnn_rnet", "mtcnn_onet", "mobilenet_v2")


def counts(triton: LocalTriton) -> dict[str, tuple[int, int]]:
    """(inference_count, execution_count) per model, from Triton's statistics."""
    found = {}
    for model in MODELS:
        entry = httpx.get(f"{triton.http_url}/v2/models/{model}/stats").json()["model_stats"][0]
        found[model] = (int(entry["inference_count"]), int(entry["execution_count"]))
    return found


def run(url: str, body: dict[str, Any], tasks: int, concurrency: int) -> float:
    """Tasks per second for ``tasks`` pushes with at most ``concurrency`` in flight."""

    def push(_: int) -> int:
        fresh = {**body, "image_id": str(uuid.uuid4())}
        return httpx.post(f"{url}/tasks", json=fresh, timeout=120).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(push, range(tasks)))
    elapsed = time.perf_counter() - started
    if set(statuses) != {200}:
        raise SystemExit(f"unexpected answers: {sorted(set(statuses))}")
    return tasks / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=24)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    with LocalTriton(ROOT / "model_repository") as triton, LocalGcs() as gcs:
        bucket = gcs.client().create_bucket(BUCKET)
        bucket.blob("bench/originals/astronaut.jpg").upload_from_string(
            encoded(samples.astronaut())
        )
        settings = Settings(triton_url=triton.grpc_url, bucket=BUCKET, gcs_endpoint=gcs.endpoint)
        body = {
            "tenant_id": "bench",
            "session_id": str(uuid.uuid4()),
            "image_url": f"gs://{BUCKET}/bench/originals/astronaut.jpg",
            "pipeline_definition": json.loads((ROOT / "examples" / f"{PIPELINE}.json").read_text()),
        }
        with ServedApp(create_app(settings)) as worker:
            run(worker.url, body, 2, 1)  # warm-up: plan cache, metadata cache, first loads
            sequential = run(worker.url, body, args.tasks, 1)
            before = counts(triton)
            concurrent = run(worker.url, body, args.tasks, args.concurrency)
            after = counts(triton)

    print(f"{PIPELINE} on astronaut, {args.tasks} tasks each way")
    print(f"  one at a time        {sequential:6.1f} tasks/s")
    print(f"  {args.concurrency:2d} in flight         {concurrent:6.1f} tasks/s")
    print(f"  ratio                {concurrent / sequential:6.2f}x")
    for model in MODELS:
        inferences = after[model][0] - before[model][0]
        executions = after[model][1] - before[model][1]
        print(
            f"  {model:14s} {inferences:4d} inferences in {executions:3d} executions (concurrent)"
        )


if __name__ == "__main__":
    main()
