"""A tiny production-style model repository, written without the ``onnx`` package.

Tests of the stand-ins need a model whose outputs can be computed by hand and that loads in
milliseconds; the real models are megabytes and their values are not hand-checkable. The
``onnx`` package is not a dependency of the service, so the ONNX protobuf is encoded here
directly (a few message types of onnx.proto, wire format only). The repository mirrors the
production layout: platform ``onnxruntime_onnx``, ``KIND_GPU``, dynamic batching, a labels file.

The model ``tiny``: ``x [B,4] FP32`` -> ``y = x @ WEIGHTS + BIAS [B,3]`` and ``r = relu(y) [B,3]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

TINY_MODEL = "tiny"
WEIGHTS = np.array(
    [[1.0, 0.0, -1.0], [2.0, 1.0, 0.0], [0.0, -3.0, 0.5], [-1.0, 0.25, 2.0]], dtype=np.float32
)
BIAS = np.array([0.5, -1.0, 0.0], dtype=np.float32)
LABELS = ("alpha", "beta", "gamma")

_FLOAT = 1  # onnx TensorProto.FLOAT
_IR_VERSION = 8
_OPSET = 13

TINY_CONFIG = f"""\
name: "{TINY_MODEL}"
platform: "onnxruntime_onnx"
max_batch_size: 16
input [
  {{ name: "x" data_type: TYPE_FP32 dims: [ 4 ] }}
]
output [
  {{ name: "y" data_type: TYPE_FP32 dims: [ 3 ] label_filename: "labels.txt" }},
  {{ name: "r" data_type: TYPE_FP32 dims: [ 3 ] }}
]
instance_group [ {{ kind: KIND_GPU count: 1 }} ]
dynamic_batching {{
  preferred_batch_size: [ 8, 16 ]
  max_queue_delay_microseconds: 5000
}}
version_policy: {{ latest: {{ num_versions: 1 }} }}
"""


def tiny_reference(x: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
    """The outputs ``tiny`` must produce for ``x``, computed with numpy."""
    y = (x @ WEIGHTS + BIAS).astype(np.float32)
    return {"y": y, "r": np.maximum(y, np.float32(0.0))}


def write_tiny_repository(root: Path) -> Path:
    """Create ``root/tiny/{config.pbtxt,labels.txt,1/model.onnx}``; return ``root``."""
    model_dir = root / TINY_MODEL
    (model_dir / "1").mkdir(parents=True, exist_ok=True)
    (model_dir / "config.pbtxt").write_text(TINY_CONFIG, encoding="utf-8")
    (model_dir / "labels.txt").write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    (model_dir / "1" / "model.onnx").write_bytes(tiny_onnx())
    return root


def tiny_onnx() -> bytes:
    """The serialized ONNX ModelProto of ``tiny``."""
    graph = b"".join(
        (
            _message(1, _node(("x", "W"), "xw", "MatMul")),
            _message(1, _node(("xw", "B"), "y", "Add")),
            _message(1, _node(("y",), "r", "Relu")),
            _string(2, "tiny"),
            _message(5, _tensor("W", WEIGHTS)),
            _message(5, _tensor("B", BIAS)),
            _message(11, _value_info("x", ("batch", 4))),
            _message(12, _value_info("y", ("batch", 3))),
            _message(12, _value_info("r", ("batch", 3))),
        )
    )
    opset = _string(1, "") + _varint_field(2, _OPSET)
    return b"".join(
        (
            _varint_field(1, _IR_VERSION),
            _string(2, "devstack.tiny_model"),
            _message(7, graph),
            _message(8, opset),
        )
    )


def _node(inputs: tuple[str, ...], output: str, op_type: str) -> bytes:
    return (
        b"".join(_string(1, name) for name in inputs)
        + _string(2, output)
        + _string(3, output)
        + _string(4, op_type)
    )


def _tensor(name: str, values: npt.NDArray[np.float32]) -> bytes:
    dims = b"".join(_varint_field(1, dim) for dim in values.shape)
    raw = np.ascontiguousarray(values, dtype="<f4").tobytes()
    return dims + _varint_field(2, _FLOAT) + _string(8, name) + _bytes(9, raw)


def _value_info(name: str, shape: tuple[str | int, ...]) -> bytes:
    dims = b"".join(
        _message(1, _string(2, dim) if isinstance(dim, str) else _varint_field(1, dim))
        for dim in shape
    )
    tensor_type = _varint_field(1, _FLOAT) + _message(2, dims)
    return _string(1, name) + _message(2, _message(1, tensor_type))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string(number: int, text: str) -> bytes:
    return _bytes(number, text.encode("utf-8"))


_message = _bytes
