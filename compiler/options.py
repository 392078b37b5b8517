"""Conversion options, each declared once: its type, default, check, help text and command-line flag. The API takes
them as keywords (`compile_model(..., to_bgr=True)`), the seed API's defaults and the CLI's flags are generated
from them (compiler/driver/cli_options.py), `verify` names the flag behind a difference of files from them, and the
report lists them.

A field's metadata (OPTION) says how it shows on the command line: `flag`, `help`, `metavar`, and `category`:
  conversion  changes the written files (convert and verify take it; verify names it when files differ)
  debug       changes how the compiler runs, never the files (convert only)
  api         set by the API or a caller (the image inputs, in-place layers)
"""
from __future__ import annotations

import math

import attrs
from compiler.compat import StrEnum


class Relu6(StrEnum):
    EXACT = "exact"     # clip(0, 6) exactly
    APPROX = "approx"   # a plain ReLU (reported as an approximation)


OPTION = "gluon2caffe.option"   # the metadata key of a field's command-line form


def option(default, *, flag: str | None = None, help: str, category: str = "conversion", metavar: str | None = None,
           choices=None, converter=None, validator=None, negated: bool = False):
    """An Options field with its command-line form. `negated`: the flag turns a default-True field off
    (--no-merge-bn)."""
    metadata = {OPTION: {"flag": flag, "help": help, "category": category, "metavar": metavar, "choices": choices,
                         "negated": negated}}
    return attrs.field(default=default, converter=converter, validator=validator, metadata=metadata)


def _numbers(check, wanted: str):
    """A converter to a tuple of floats (or None), refusing values outside `check`."""
    def convert(values):
        if values is None:
            return None
        values = tuple(float(v) for v in (values if isinstance(values, (tuple, list)) else [values]))
        if not values or not all(math.isfinite(v) and check(v) for v in values):
            raise ValueError(f"{values} must be {wanted}")
        return values
    return convert


def _number(check, wanted: str):
    def convert(value):
        if value is None:
            return None
        value = float(value)
        if not (math.isfinite(value) and check(value)):
            raise ValueError(f"{value} must be {wanted}")
        return value
    return convert


@attrs.frozen(kw_only=True)
class Options:
    to_bgr: bool = option(False, flag="--to-bgr", help="the Caffe model takes BGR where the MXNet model takes RGB")
    softmax: bool = option(False, flag="--softmax", help="append a softmax over axis 1 to every output")
    mean: tuple[float, ...] | None = option(
        None, flag="--mean", metavar="R,G,B", converter=_numbers(lambda v: True, "finite numbers"),
        help="fold (x·input_scale − mean) / std into the model so that it takes raw pixels (per channel, in the "
             "MXNet model's channel order)")
    std: tuple[float, ...] | None = option(
        None, flag="--std", metavar="R,G,B", converter=_numbers(lambda v: v != 0, "non-zero finite numbers"),
        help="see --mean")
    input_scale: float | None = option(
        None, flag="--input-scale", metavar="S", converter=_number(lambda v: v != 0, "a non-zero finite number"),
        help="multiply raw pixels by S first (e.g. 1/255)")
    merge_bn: bool = option(True, flag="--no-merge-bn", negated=True,
                            help="keep BatchNorm + Scale layers (default: fold BatchNorm into the weights)")
    relu6: Relu6 = option(Relu6.EXACT, flag="--relu6", choices=tuple(r.value for r in Relu6), converter=Relu6,
                          help="clip(0,6) exactly (default) or as a plain ReLU, which is reported as an approximation")
    ssd_confidence: float | None = option(
        None, flag="--ssd-confidence", metavar="T", converter=_number(lambda v: 0 <= v <= 1, "from 0 to 1"),
        help="SSD: DetectionOutput's confidence_threshold (default: the net's own, 0.01)")
    ssd_integer_sizes: bool = option(
        False, flag="--ssd-integer-sizes",
        help="SSD: integer PriorBox sizes (scaled with img_h/img_w), exact in weiliu89 caffe-ssd, which truncates "
             "fractional sizes; OpenCV ignores img_h/img_w")
    ncnn_yolo_layer: bool = option(
        False, flag="--ncnn-yolo-layer",
        help="YOLOv3 on ncnn: end in ncnn's native Yolov3DetectionOutput (one class per box, class-agnostic NMS: an "
             "approximation of GluonCV's detections, reported) instead of the exact DetectionOutput ending")
    check_ir: bool = option(False, flag="--check-ir", category="debug",
                            help="verify the IR's invariants before the passes and after every pass")
    check_numbers: bool = option(False, flag="--check-numbers", category="debug",
                                 help="after every pass that changed the graph, compare its outputs with the "
                                      "frontend's in the NumPy interpreter and name the pass that changed them "
                                      "(slow on large models)")
    dump_ir: str | None = option(None, flag="--dump-ir", category="debug", metavar="DIR",
                                 help="write the IR text after every pass into DIR")
    disable_passes: tuple[str, ...] = option((), flag="--disable-pass", category="debug", metavar="NAME",
                                             converter=tuple, help="skip a pass (repeatable)")
    # the inputs to_bgr and the input normalisation apply to (default: see bgr_inputs_by_shape and
    # normalized_inputs_by_shape)
    image_inputs: tuple[str, ...] = option((), category="api", converter=tuple,
                                           help="the inputs to_bgr and mean/std/input_scale apply to")
    inplace: bool = option(True, category="api",
                           help="let element-wise layers write into their bottom where the target may")

    @property
    def normalizes_inputs(self) -> bool:
        return self.mean is not None or self.std is not None or self.input_scale is not None


attrs.resolve_types(Options)
DEFAULTS = Options()
# Options that act together: verify names the group when leaving all of them out reproduces the files.
RELATED = (("mean", "std", "input_scale"),)


def fields(category: str | None = None) -> list:
    """The Options fields (of one category), in declaration order."""
    return [f for f in attrs.fields(Options) if category is None or f.metadata[OPTION]["category"] == category]


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
