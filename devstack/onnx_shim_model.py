"""Triton python-backend model that serves an ONNX file with onnxruntime on the CPU.

Production serves ONNX models with Triton's native onnxruntime backend on a GPU; the Triton from
the nvidia-pytriton wheel has only the python backend. ``devstack.shim_repository`` copies this
file as ``model.py`` next to the production ``model.onnx`` so the same file, the same names,
shapes and dynamic batching are exercised on a CPU machine.

It batches for real: Triton's dynamic batcher hands ``execute`` several requests at once, and
they are stacked along the batch dimension and run in one onnxruntime call, so
``execution_count < inference_count`` under concurrency, as on the GPU. Requests whose
non-batch shapes differ cannot be stacked and run as separate groups.

This file runs inside Triton's Python stub, not in the service: ``triton_python_backend_utils``
exists only there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

# The stub serializes outputs with the numpy 1 C API: under numpy 2 every output silently comes
# back with its shape and zero bytes of data. Refuse to load instead.
if int(np.__version__.split(".", maxsplit=1)[0]) >= 2:
    raise ImportError(
        f"numpy {np.__version__} in the Triton stub's environment; the python backend needs numpy<2"
    )

_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int8)": np.int8,
    "tensor(int16)": np.int16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(uint8)": np.uint8,
    "tensor(uint16)": np.uint16,
    "tensor(uint32)": np.uint32,
    "tensor(uint64)": np.uint64,
    "tensor(bool)": np.bool_,
}

Array = npt.NDArray[Any]


class TritonPythonModel:
    """One onnxruntime session per model instance; ``execute`` runs each shape group once."""

    def initialize(self, args: dict[str, str]) -> None:
        """Open the ONNX file and check it against the Triton config, as the GPU backend would."""
        config = json.loads(args["model_config"])
        parameters = config.get("parameters", {})
        filename = _parameter(parameters, "onnx_filename", "model.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(_parameter(parameters, "intra_op_threads", "1"))
        options.inter_op_num_threads = 1
        path = Path(args["model_repository"]) / args["model_version"] / filename
        self._session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = tuple(str(item["name"]) for item in config["input"])
        self._outputs = tuple(
            (str(item["name"]), pb_utils.triton_string_to_numpy(item["data_type"]))
            for item in config["output"]
        )
        self._check_signature(config, path)

    def execute(self, requests: list[Any]) -> list[Any]:
        """Answer every request, stacking those with equal non-batch shapes into one run."""
        responses: list[Any] = [None] * len(requests)
        groups: dict[tuple[tuple[int, ...], ...], list[tuple[int, dict[str, Array]]]] = {}
        for index, request in enumerate(requests):
            try:
                feeds = self._feeds(request)
            except ValueError as exc:
                responses[index] = _error(str(exc))
                continue
            key = tuple(feeds[name].shape[1:] for name in self._inputs)
            groups.setdefault(key, []).append((index, feeds))
        for members in groups.values():
            self._run_group(members, responses)
        return responses

    def _feeds(self, request: Any) -> dict[str, Array]:
        feeds: dict[str, Array] = {}
        for name in self._inputs:
            tensor = pb_utils.get_input_tensor_by_name(request, name)
            if tensor is None:
                raise ValueError(f"input {name!r} is missing")
            feeds[name] = tensor.as_numpy()
        if len({array.shape[0] for array in feeds.values()}) != 1:
            raise ValueError("inputs disagree on the batch size")
        return feeds

    def _run_group(self, members: list[tuple[int, dict[str, Array]]], responses: list[Any]) -> None:
        batch = {
            name: np.concatenate([feeds[name] for _, feeds in members], axis=0)
            for name in self._inputs
        }
        names = [name for name, _ in self._outputs]
        try:
            results = self._session.run(names, batch)
        except Exception as exc:  # onnxruntime raises several unrelated types
            for index, _ in members:
                responses[index] = _error(f"onnxruntime: {exc}")
            return
        sizes = [feeds[self._inputs[0]].shape[0] for _, feeds in members]
        bounds = np.cumsum(sizes)[:-1]
        parts = [np.split(np.asarray(result), bounds) for result in results]
        for position, (index, _) in enumerate(members):
            tensors = [
                pb_utils.Tensor(name, np.ascontiguousarray(split[position], dtype=dtype))
                for (name, dtype), split in zip(self._outputs, parts, strict=True)
            ]
            responses[index] = pb_utils.InferenceResponse(output_tensors=tensors)

    def _check_signature(self, config: dict[str, Any], path: Path) -> None:
        declared = {
            str(item["name"]): pb_utils.triton_string_to_numpy(item["data_type"])
            for item in (*config["input"], *config["output"])
        }
        actual = {
            node.name: _ORT_TYPES.get(node.type)
            for node in (*self._session.get_inputs(), *self._session.get_outputs())
        }
        problems = [
            f"{name}: config {np.dtype(dtype).name}, onnx "
            + (np.dtype(actual[name]).name if actual.get(name) else "missing or unsupported")
            for name, dtype in declared.items()
            if actual.get(name) is None or np.dtype(actual[name]) != np.dtype(dtype)
        ]
        if problems:
            raise ValueError(f"{path} does not match config.pbtxt: " + "; ".join(problems))


def _parameter(parameters: dict[str, Any], key: str, default: str) -> str:
    return str(parameters.get(key, {}).get("string_value", default))


def _error(message: str) -> Any:
    return pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(message))
