"""Image, tensor and output steps on tiny pictures: exact pixels, shapes, dtypes and frames."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image as PILImage
from pydantic import ValidationError

from orchestrator.errors import ImageUndecodable, LimitExceeded
from orchestrator.settings import Limits
from orchestrator.steps.context import StepContext
from orchestrator.steps.image import (
    CenterCropParams,
    CropBoxesParams,
    DecodeParams,
    LetterboxParams,
    PyramidParams,
    ResizeParams,
    center_crop,
    crop_boxes,
    decode,
    letterbox,
    pyramid,
    pyramid_scales,
    resize,
)
from orchestrator.steps.output import DrawDetectionsParams, EncodeParams, draw_detections, encode
from orchestrator.steps.tensor import FromImageParams, from_image
from orchestrator.values import (
    Detections,
    Encoded,
    Frame,
    Image,
    Pyramid,
    SourceBytes,
    Tensor,
    Value,
)

EXIF_ORIENTATION = 0x0112
ROTATE_90_CW = 6


def context(**limits: int) -> StepContext:
    """A step context for CPU steps (they never touch Triton)."""
    return StepContext(step="t", triton=None, limits=Limits(**limits))  # type: ignore[arg-type]


def frozen(rows: Any, dtype: type[np.generic] = np.uint8) -> NDArray[Any]:
    """A read-only array, so any step that writes to its inputs fails loudly."""
    array = np.array(rows, dtype=dtype)
    array.setflags(write=False)
    return array


def ramp(height: int, width: int) -> NDArray[np.uint8]:
    """An HWC picture whose every value is distinct: 0, 1, 2, ... in row-major order."""
    return frozen(np.arange(height * width * 3).reshape(height, width, 3))


def encoded(pixels: NDArray[np.uint8], fmt: str, orientation: int | None = None) -> bytes:
    picture = PILImage.fromarray(np.asarray(pixels))
    exif = PILImage.Exif()
    if orientation is not None:
        exif[EXIF_ORIENTATION] = orientation
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt, exif=exif)
    return buffer.getvalue()


def image_of(outputs: dict[str, Value], port: str = "image") -> Image:
    value = outputs[port]
    assert isinstance(value, Image)
    return value


def tensor_of(outputs: dict[str, Value], port: str) -> NDArray[Any]:
    value = outputs[port]
    assert isinstance(value, Tensor)
    return value.data


def detections(*boxes: Sequence[float]) -> Detections:
    return Detections(
        frozen(np.reshape(boxes, (-1, 4)), np.float32), frozen([0.5] * len(boxes), np.float32)
    )


# image.decode

WHOLE_JPEG = encoded(ramp(8, 8), "JPEG")
TRUNCATED_JPEG = WHOLE_JPEG[: len(WHOLE_JPEG) // 2]


def test_decode_round_trips_png_pixels_exactly() -> None:
    """A lossless PNG decodes to the same HWC uint8 pixels, in the identity frame of its size."""
    pixels = ramp(2, 3)
    data = SourceBytes(encoded(pixels, "PNG"))

    decoded = image_of(decode(DecodeParams(), {"data": data}, context()))

    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.shape == (2, 3, 3)
    assert decoded.pixels.tolist() == pixels.tolist()
    assert decoded.frame == Frame(source_size=(3, 2))


def test_decode_makes_greyscale_rgb() -> None:
    """A one-channel picture comes out as three equal channels."""
    grey = np.array([[0, 128, 255]], dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(grey, mode="L").save(buffer, format="PNG")

    decoded = image_of(decode(DecodeParams(), {"data": SourceBytes(buffer.getvalue())}, context()))

    assert decoded.pixels.tolist() == [[[0, 0, 0], [128, 128, 128], [255, 255, 255]]]


def test_decode_applies_exif_orientation_to_jpeg() -> None:
    """A 4x2 JPEG tagged 'rotate 90 clockwise' decodes 2 wide and 4 tall."""
    data = SourceBytes(encoded(np.zeros((2, 4, 3), np.uint8), "JPEG", ROTATE_90_CW))

    decoded = image_of(decode(DecodeParams(), {"data": data}, context()))

    assert decoded.pixels.shape == (4, 2, 3)


def test_decode_rotates_pixels_clockwise_for_orientation_6() -> None:
    """With a lossless PNG, orientation 6 gives exactly the pixels turned 90 degrees clockwise."""
    pixels = ramp(2, 3)
    data = SourceBytes(encoded(pixels, "PNG", ROTATE_90_CW))

    decoded = image_of(decode(DecodeParams(), {"data": data}, context()))

    assert decoded.pixels.tolist() == np.rot90(pixels, k=-1).tolist()
    assert decoded.frame == Frame(source_size=(2, 3))


@pytest.mark.parametrize(
    ("fmt", "shape", "frame"),
    [
        ("JPEG", (8, 16, 3), Frame(scale_x=4.0, scale_y=4.0, source_size=(64, 32))),
        ("PNG", (32, 64, 3), Frame(source_size=(64, 32))),
    ],
)
def test_decode_max_side_shrinks_only_jpeg(
    fmt: str, shape: tuple[int, int, int], frame: Frame
) -> None:
    """max_side=16 decodes a 64x32 JPEG at 1/4 (frame scale 4); a PNG stays full size."""
    data = SourceBytes(encoded(np.zeros((32, 64, 3), np.uint8), fmt))

    decoded = image_of(decode(DecodeParams(max_side=16), {"data": data}, context()))

    assert decoded.pixels.shape == shape
    assert decoded.frame == frame


def test_decode_accepts_exactly_the_pixel_limit() -> None:
    """A 2x3 picture (6 pixels) passes a 6-pixel limit."""
    data = SourceBytes(encoded(ramp(2, 3), "PNG"))

    decoded = image_of(decode(DecodeParams(), {"data": data}, context(max_image_pixels=6)))

    assert decoded.pixels.shape == (2, 3, 3)


def test_decode_refuses_more_pixels_than_the_limit() -> None:
    """A 2x3 picture (6 pixels) is LimitExceeded under a 5-pixel limit."""
    data = SourceBytes(encoded(ramp(2, 3), "PNG"))

    with pytest.raises(LimitExceeded, match="at most 5 pixels"):
        decode(DecodeParams(), {"data": data}, context(max_image_pixels=5))


@pytest.mark.parametrize(
    "data",
    [b"", b"definitely not a picture", TRUNCATED_JPEG],
    ids=["empty", "garbage", "truncated jpeg"],
)
def test_decode_refuses_bytes_that_are_not_a_picture(data: bytes) -> None:
    """Bytes Pillow cannot decode are ImageUndecodable, never a raw Pillow error."""
    with pytest.raises(ImageUndecodable):
        decode(DecodeParams(), {"data": SourceBytes(data)}, context())


# image.resize


@pytest.mark.parametrize(
    ("params", "shape"),
    [
        ({"short_side": 2}, (2, 3, 3)),
        ({"short_side": 8}, (8, 12, 3)),
        ({"width": 3, "height": 5}, (5, 3, 3)),
        ({"width": 3}, (2, 3, 3)),
        ({"height": 2}, (2, 3, 3)),
        ({"max_side": 3}, (2, 3, 3)),
        ({"max_side": 12}, (4, 6, 3)),
        ({"width": 7, "multiple_of": 4}, (4, 8, 3)),
    ],
    ids=str,
)
def test_resize_produces_the_target_size(params: dict[str, int], shape: tuple[int, ...]) -> None:
    """A 6x4 picture gets exactly the size each mode asks for (max_side never enlarges)."""
    image = Image(ramp(4, 6))

    resized = image_of(resize(ResizeParams(**params), {"image": image}, context()))

    assert resized.pixels.dtype == np.uint8
    assert resized.pixels.shape == shape


@pytest.mark.parametrize(
    "params", [{}, {"short_side": 2, "max_side": 3}, {"width": 2, "short_side": 2}], ids=str
)
def test_resize_needs_exactly_one_mode(params: dict[str, int]) -> None:
    """No mode, or two at once, is a validation error rather than a silent choice."""
    with pytest.raises(ValidationError, match="exactly one of"):
        ResizeParams(**params)


def test_area_resize_averages_the_pixels_it_covers() -> None:
    """2x2 -> 1x1 with area interpolation is the mean of the four pixels per channel."""
    pixels = frozen([[[0, 1, 100], [10, 2, 100]], [[20, 3, 100], [30, 6, 104]]])

    resized = image_of(resize(ResizeParams(width=1, height=1), {"image": Image(pixels)}, context()))

    assert resized.pixels.tolist() == [[[15, 3, 101]]]


def test_resize_records_the_scale_in_the_frame() -> None:
    """Halving a picture doubles the frame scale, composed with the frame it already had."""
    image = Image(ramp(4, 6), Frame(scale_x=3.0, scale_y=3.0, offset_x=1.0, offset_y=2.0))

    resized = image_of(resize(ResizeParams(width=3, height=4), {"image": image}, context()))

    assert resized.frame == Frame(scale_x=6.0, scale_y=3.0, offset_x=1.0, offset_y=2.0)


# image.center_crop and image.letterbox


def test_center_crop_cuts_the_central_window() -> None:
    """A 3x2 window of a 5x4 picture starts at row 1, column 1; the frame shifts by (1, 1)."""
    pixels = ramp(4, 5)

    cropped = image_of(
        center_crop(CenterCropParams(width=3, height=2), {"image": Image(pixels)}, context())
    )

    assert cropped.pixels.tolist() == pixels[1:3, 1:4].tolist()
    assert cropped.pixels.flags.c_contiguous
    assert cropped.frame == Frame(offset_x=1.0, offset_y=1.0)


def test_center_crop_larger_than_the_picture_keeps_it_whole() -> None:
    """Asking for more than there is returns the whole picture."""
    pixels = ramp(2, 3)

    cropped = image_of(
        center_crop(CenterCropParams(width=10, height=10), {"image": Image(pixels)}, context())
    )

    assert cropped.pixels.tolist() == pixels.tolist()


def test_letterbox_pads_around_the_fitted_picture() -> None:
    """A 4x2 picture in a 4x4 box keeps its size, sits on rows 1-2, and the frame shifts by -1."""
    pixels = ramp(2, 4)
    params = LetterboxParams(width=4, height=4, fill=(7, 8, 9))

    boxed = image_of(letterbox(params, {"image": Image(pixels)}, context()))

    assert boxed.pixels.shape == (4, 4, 3)
    assert boxed.pixels[1:3].tolist() == pixels.tolist()
    assert boxed.pixels[[0, 3]].tolist() == [[[7, 8, 9]] * 4] * 2
    assert boxed.frame == Frame(offset_y=-1.0)


# image.pyramid


@pytest.mark.parametrize(
    ("width", "height", "min_size", "expected"),
    [(40, 40, 20, [0.6, 0.3]), (100, 30, 12, [1.0, 0.5]), (10, 10, 20, [])],
)
def test_pyramid_scales_shrink_while_a_cell_fits(
    width: int, height: int, min_size: int, expected: list[float]
) -> None:
    """From 12/min_size, halving while the short side still holds a 12 px cell."""
    scales = pyramid_scales(width, height, min_size, factor=0.5, cell_size=12)

    assert scales == expected


def test_pyramid_levels_are_sized_int_side_times_scale_plus_one() -> None:
    """A 64x48 picture at scales 0.5 and 0.25 gives 33x25 and 17x13 NCHW float32 levels."""
    image = Image(frozen(np.full((48, 64, 3), 255)))

    built = pyramid(PyramidParams(min_size=24, factor=0.5), {"image": image}, context())["pyramid"]

    assert isinstance(built, Pyramid)
    assert [level.scale for level in built.levels] == [0.5, 0.25]
    assert [level.data.shape for level in built.levels] == [(1, 3, 25, 33), (1, 3, 13, 17)]
    assert all(level.data.dtype == np.float32 for level in built.levels)


@pytest.mark.parametrize(
    ("value", "expected"), [(255, 0.99609375), (0, -0.99609375), (191, 0.49609375)]
)
def test_pyramid_normalises_as_mtcnn(value: int, expected: float) -> None:
    """Every pixel becomes (x - 127.5) * 0.0078125, exactly."""
    image = Image(frozen(np.full((24, 32, 3), value)))

    built = pyramid(PyramidParams(min_size=24, factor=0.5), {"image": image}, context())["pyramid"]

    assert isinstance(built, Pyramid)
    [level] = built.levels
    assert np.unique(level.data).tolist() == [expected]


def test_pyramid_keeps_the_frame_of_its_image() -> None:
    """Level scales are relative to the image; its frame travels with the pyramid."""
    frame = Frame(scale_x=2.0, scale_y=2.0)
    image = Image(frozen(np.zeros((24, 32, 3))), frame)

    built = pyramid(PyramidParams(min_size=24, factor=0.5), {"image": image}, context())["pyramid"]

    assert isinstance(built, Pyramid)
    assert built.frame == frame


def test_pyramid_refuses_more_levels_than_the_limit() -> None:
    """Two levels against max_pyramid_levels=1 raise LimitExceeded."""
    image = Image(frozen(np.zeros((48, 64, 3))))

    with pytest.raises(LimitExceeded, match="2 levels"):
        pyramid(
            PyramidParams(min_size=24, factor=0.5), {"image": image}, context(max_pyramid_levels=1)
        )


# image.crop_boxes

RAW = {"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}


@pytest.mark.parametrize(
    ("box", "rows", "cols"),
    [
        ([2, 2, 5, 5], slice(1, 5), slice(1, 5)),
        ([2.9, 2.9, 5.9, 5.9], slice(1, 5), slice(1, 5)),
        ([-3, -3, 4, 4], slice(0, 4), slice(0, 4)),
        ([3, 3, 100, 100], slice(2, 6), slice(2, 6)),
        ([1, 3, 4, 6], slice(2, 6), slice(0, 4)),
    ],
    ids=["inside", "fractions truncate", "clipped top-left", "clipped bottom-right", "x and y"],
)
def test_crop_boxes_cut_one_based_inclusive_windows(
    box: list[float], rows: slice, cols: slice
) -> None:
    """Box (x1, y1, x2, y2) is truncated, read as 1-based inclusive, and clipped to the picture."""
    pixels = ramp(6, 6)
    inputs: dict[str, Value] = {"image": Image(pixels), "detections": detections(box)}

    crops = tensor_of(crop_boxes(CropBoxesParams(size=4, **RAW), inputs, context()), "crops")

    assert crops.dtype == np.float32
    assert crops.shape == (1, 3, 4, 4)
    assert crops[0].tolist() == pixels[rows, cols].transpose(2, 0, 1).tolist()


@pytest.mark.parametrize("box", [[10, 10, 12, 12], [5, 5, 3, 3]], ids=["outside", "inverted"])
def test_crop_of_a_degenerate_box_is_a_zero_picture(box: list[float]) -> None:
    """A box with no pixels inside the picture gives black, normalised: (0 - 127.5) / 128."""
    inputs: dict[str, Value] = {"image": Image(ramp(6, 6)), "detections": detections(box)}

    crops = tensor_of(crop_boxes(CropBoxesParams(size=4), inputs, context()), "crops")

    assert crops.shape == (1, 3, 4, 4)
    assert np.unique(crops).tolist() == [-0.99609375]


def test_crop_boxes_map_original_pixels_into_the_image_frame() -> None:
    """On a half-size image, source box [4, 4, 10, 10] is image box [2, 2, 5, 5]."""
    pixels = ramp(6, 6)
    image = Image(pixels, Frame(scale_x=2.0, scale_y=2.0))
    inputs: dict[str, Value] = {"image": image, "detections": detections([4, 4, 10, 10])}

    crops = tensor_of(crop_boxes(CropBoxesParams(size=4, **RAW), inputs, context()), "crops")

    assert crops[0].tolist() == pixels[1:5, 1:5].transpose(2, 0, 1).tolist()


@pytest.mark.parametrize(
    ("options", "box", "rows", "cols"),
    [
        ({"square": True}, [2, 2, 5, 3], slice(0, 4), slice(1, 5)),
        ({"margin": 1.0}, [3, 3, 4, 4], slice(1, 5), slice(1, 5)),
    ],
    ids=["square", "margin"],
)
def test_crop_boxes_square_and_grow_before_cutting(
    options: dict[str, Any], box: list[float], rows: slice, cols: slice
) -> None:
    """square=True makes [2, 2, 5, 3] into [2, 1, 5, 4]; margin=1 grows [3, 3, 4, 4] by 1 a side."""
    pixels = ramp(6, 6)
    inputs: dict[str, Value] = {"image": Image(pixels), "detections": detections(box)}

    crops = tensor_of(
        crop_boxes(CropBoxesParams(size=4, **RAW, **options), inputs, context()), "crops"
    )

    assert crops[0].tolist() == pixels[rows, cols].transpose(2, 0, 1).tolist()


def test_crop_boxes_of_no_detections_is_an_empty_batch() -> None:
    """Zero detections give a (0, 3, size, size) float32 tensor."""
    inputs: dict[str, Value] = {"image": Image(ramp(6, 6)), "detections": detections()}

    crops = tensor_of(crop_boxes(CropBoxesParams(size=4), inputs, context()), "crops")

    assert crops.shape == (0, 3, 4, 4)
    assert crops.dtype == np.float32


def crops_of(count: int) -> dict[str, Value]:
    return {"image": Image(ramp(6, 6)), "detections": detections(*[[1, 1, 4, 4]] * count)}


def test_crop_boxes_allow_exactly_max_fan_out() -> None:
    """max_fan_out=2 allows two crops."""
    inputs = crops_of(2)

    crops = tensor_of(crop_boxes(CropBoxesParams(size=4), inputs, context(max_fan_out=2)), "crops")

    assert crops.shape == (2, 3, 4, 4)


def test_crop_boxes_refuse_more_crops_than_max_fan_out() -> None:
    """max_fan_out=2 refuses three crops with LimitExceeded."""
    inputs = crops_of(3)

    with pytest.raises(LimitExceeded, match="3 crops requested; at most 2"):
        crop_boxes(CropBoxesParams(size=4), inputs, context(max_fan_out=2))


# tensor.from_image

PIXELS = [[[10, 20, 30], [40, 50, 60]]]
NORMALISE = {"mean": (1.0, 2.0, 3.0), "std": (2.0, 4.0, 8.0)}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, [[[4.5, 19.5]], [[4.5, 12.0]], [[3.375, 7.125]]]),
        ({"channels": "bgr"}, [[[14.5, 29.5]], [[4.5, 12.0]], [[0.875, 4.625]]]),
    ],
    ids=["rgb", "bgr"],
)
def test_from_image_normalises_per_channel_in_channel_order(
    options: dict[str, str], expected: list[Any]
) -> None:
    """(pixel - mean) / std per output channel; bgr reverses channels before mean and std."""
    image = Image(frozen(PIXELS))

    tensor = tensor_of(
        from_image(FromImageParams(**NORMALISE, **options), {"image": image}, context()), "tensor"
    )

    assert tensor.dtype == np.float32
    assert tensor.shape == (1, 3, 1, 2)
    assert tensor[0].tolist() == expected


def test_from_image_nhwc_keeps_channels_last() -> None:
    """layout=nhwc gives (1, H, W, 3) with the same values."""
    image = Image(frozen(PIXELS))
    params = FromImageParams(**NORMALISE, layout="nhwc")

    tensor = tensor_of(from_image(params, {"image": image}, context()), "tensor")

    assert tensor.shape == (1, 1, 2, 3)
    assert tensor[0].tolist() == [[[4.5, 4.5, 3.375], [19.5, 12.0, 7.125]]]


def test_from_image_fp16_has_the_same_values_in_half_precision() -> None:
    """dtype=fp16 gives float16 values equal to the float32 ones (all exact here)."""
    image = Image(frozen(PIXELS))
    params = FromImageParams(**NORMALISE, dtype="fp16")

    tensor = tensor_of(from_image(params, {"image": image}, context()), "tensor")

    assert tensor.dtype == np.float16
    assert tensor[0].tolist() == [[[4.5, 19.5]], [[4.5, 12.0]], [[3.375, 7.125]]]


def test_from_image_uint8_passes_raw_pixels() -> None:
    """dtype=uint8 skips normalisation: the model gets the pixels as they are."""
    image = Image(frozen(PIXELS))
    params = FromImageParams(**NORMALISE, dtype="uint8")

    tensor = tensor_of(from_image(params, {"image": image}, context()), "tensor")

    assert tensor.dtype == np.uint8
    assert tensor[0].tolist() == [[[10, 40]], [[20, 50]], [[30, 60]]]


# output.encode and output.draw_detections


def test_encode_png_round_trips_exactly() -> None:
    """PNG is lossless: decoding the file gives back the same pixels."""
    pixels = ramp(3, 4)

    file = encode(EncodeParams(format="png"), {"image": Image(pixels)}, context())["file"]

    assert isinstance(file, Encoded)
    assert np.asarray(PILImage.open(io.BytesIO(file.data))).tolist() == pixels.tolist()


@pytest.mark.parametrize(
    ("fmt", "media_type", "extension", "magic"),
    [
        ("jpeg", "image/jpeg", "jpg", b"\xff\xd8\xff"),
        ("png", "image/png", "png", b"\x89PNG"),
        ("webp", "image/webp", "webp", b"RIFF"),
    ],
)
def test_encode_names_the_media_type_and_extension(
    fmt: str, media_type: str, extension: str, magic: bytes
) -> None:
    """Each format carries its media type, file extension and the matching file signature."""
    params = EncodeParams(format=fmt)

    file = encode(params, {"image": Image(ramp(3, 4))}, context())["file"]

    assert isinstance(file, Encoded)
    assert (file.media_type, file.extension) == (media_type, extension)
    assert file.data.startswith(magic)


RED = [255, 0, 0]
BLACK = [0, 0, 0]
BOX_ONLY = DrawDetectionsParams(colour="#ff0000", line_width=1, show_scores=False)


def test_draw_detections_leaves_its_input_unchanged() -> None:
    """The picture is drawn on a copy; the input array keeps its pixels."""
    pixels = frozen(np.zeros((8, 8, 3)))
    inputs: dict[str, Value] = {"image": Image(pixels), "detections": detections([1, 1, 5, 5])}

    drawn = image_of(draw_detections(BOX_ONLY, inputs, context()))

    assert drawn.pixels is not pixels
    assert not pixels.any()


@pytest.mark.parametrize(
    ("y", "x", "colour"),
    [(1, 1, RED), (1, 3, RED), (5, 5, RED), (3, 1, RED), (3, 3, BLACK), (0, 0, BLACK)],
    ids=["corner", "top edge", "far corner", "left edge", "inside", "outside"],
)
def test_draw_detections_colours_the_box_edge(y: int, x: int, colour: list[int]) -> None:
    """A 1 px rectangle (1, 1, 5, 5) colours its edge pixels and nothing inside or outside."""
    inputs: dict[str, Value] = {
        "image": Image(frozen(np.zeros((8, 8, 3)))),
        "detections": detections([1, 1, 5, 5]),
    }

    drawn = image_of(draw_detections(BOX_ONLY, inputs, context()))

    assert drawn.pixels.dtype == np.uint8
    assert drawn.pixels.shape == (8, 8, 3)
    assert drawn.pixels[y, x].tolist() == colour


def test_draw_detections_maps_boxes_into_the_image_frame() -> None:
    """On a half-size image, source box (2, 2, 10, 10) is drawn at (1, 1, 5, 5)."""
    image = Image(frozen(np.zeros((8, 8, 3))), Frame(scale_x=2.0, scale_y=2.0))
    inputs: dict[str, Value] = {"image": image, "detections": detections([2, 2, 10, 10])}

    drawn = image_of(draw_detections(BOX_ONLY, inputs, context()))

    assert drawn.pixels[5, 5].tolist() == RED
    assert drawn.pixels[3, 3].tolist() == BLACK
    assert drawn.frame == image.frame


def test_draw_detections_marks_landmarks() -> None:
    """A landmark at (6, 6) with radius 1 fills that pixel with the landmark colour."""
    found = detections([1, 1, 3, 3])
    marked = Detections(found.boxes, found.scores, frozen([[[6, 6]] * 5], np.float32))
    params = DrawDetectionsParams(line_width=1, show_scores=False, landmark_radius=1)
    inputs: dict[str, Value] = {"image": Image(frozen(np.zeros((8, 8, 3)))), "detections": marked}

    drawn = image_of(draw_detections(params, inputs, context()))

    assert drawn.pixels[6, 6].tolist() == RED
