"""Conversion options shared by the API, the CLI and the passes."""
from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class Options:
    to_bgr: bool = False                     # the Caffe model takes BGR where the MXNet model takes RGB
    merge_bn: bool = True                    # fold BatchNorm into weights; False keeps BatchNorm + Scale layers
    softmax: bool = False                    # append a softmax over axis 1 to every output
    # the inputs to_bgr and the input normalisation apply to (default: see bgr_inputs_by_shape and
    # normalized_inputs_by_shape)
    image_inputs: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    check_ir: bool = False                   # verify the IR after every pass
    inplace: bool = True                     # let element-wise layers write into their bottom where the target may
    dump_ir: str | None = None               # directory for the IR text after every pass
    disable_passes: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    relu6: str = attrs.field(default="exact", validator=attrs.validators.in_(("exact", "approx")))
    # Raw-pixel preprocessing folded into the model: y = (x·input_scale − mean) / std per channel, in the
    # channel order the MXNet model sees (RGB for zoo models).
    mean: tuple[float, ...] | None = attrs.field(default=None, converter=attrs.converters.optional(tuple))
    std: tuple[float, ...] | None = attrs.field(default=None, converter=attrs.converters.optional(tuple))
    input_scale: float | None = None
    # DetectionOutput's confidence_threshold; None takes the one the GluonCV net uses.
    ssd_confidence: float | None = None
    # PriorBox sizes scaled to integers, with img_h/img_w scaled alike: exact in weiliu89's caffe-ssd, which
    # truncates sizes to int, but not in OpenCV, which ignores img_h/img_w.
    ssd_integer_sizes: bool = False
    # A YOLOv3 on ncnn ends in ncnn's native Yolov3DetectionOutput (its own semantics, not GluonCV's; reported)
    # instead of the exact DetectionOutput ending.
    ncnn_yolo_layer: bool = False


def bgr_inputs_by_shape(input_shapes: dict, names=()) -> list[str]:
    """The inputs to_bgr applies to: those named, else every rank-4 3-channel input."""
    if names:
        return [n for n in input_shapes if n in names]
    return [n for n, shape in input_shapes.items() if len(shape) == 4 and shape[1] == 3]


def normalized_inputs_by_shape(input_shapes: dict, names=()) -> list[str]:
    """The inputs mean/std/input_scale apply to: those named, else every rank-4 input (grey, colour, stacked
    frames: the values given say per channel what to do)."""
    if names:
        return [n for n in input_shapes if n in names]
    return [n for n, shape in input_shapes.items() if len(shape) == 4]


def _chosen(graph, chooser, options) -> list:
    chosen = chooser({v.name: v.type.shape for v in graph.inputs}, options.image_inputs)
    return [v for v in graph.inputs if v.name in chosen]


def bgr_inputs(graph, options) -> list:
    """The graph inputs (IR values) to_bgr applies to."""
    return _chosen(graph, bgr_inputs_by_shape, options)


def normalized_inputs(graph, options) -> list:
    """The graph inputs (IR values) the input normalisation applies to."""
    return _chosen(graph, normalized_inputs_by_shape, options)


def normalizes_inputs(options) -> bool:
    return options.mean is not None or options.std is not None or options.input_scale is not None
