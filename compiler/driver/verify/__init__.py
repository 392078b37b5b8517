"""Numeric verification: run the written Caffe files in a real runtime and compare with MXNet."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.driver.verify.runtimes import RUNTIMES, run_runtime

DEFAULT_TOLERANCE = 1e-4


class RelativeError:
    """max |actual − reference| / max |reference| against a tolerance (fields max_abs_diff, max_abs_ref, tolerance)."""

    @property
    def relative(self) -> float:
        return self.max_abs_diff / self.max_abs_ref if self.max_abs_ref > 0 else self.max_abs_diff

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.max_abs_diff)) and self.relative <= self.tolerance


@attrs.frozen
class OutputComparison(RelativeError):
    name: str
    shape: tuple
    max_abs_diff: float
    max_abs_ref: float
    tolerance: float

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "FAIL"
        return (f"{self.name} {self.shape}: max|diff| {self.max_abs_diff:.3e}, max|ref| {self.max_abs_ref:.3e}, "
                f"relative {self.relative:.3e} (tolerance {self.tolerance:g}) {verdict}")


@attrs.frozen
class UnmatchedOutput:
    """An output one side has and the other lacks: a failure, since nothing was compared for it."""
    name: str
    side: str          # which side has it: "Caffe" or "MXNet"

    ok = False

    def __str__(self) -> str:
        other = "MXNet" if self.side == "Caffe" else "Caffe"
        return f"{self.name}: unmatched — the {self.side} model has this output and the {other} model has none FAIL"


def compare_outputs(names, reference, actual, tolerance: float = DEFAULT_TOLERANCE) -> list:
    """One comparison per output pair, in order; outputs left over on either side are UnmatchedOutput failures."""
    names, reference, actual = list(names), list(reference), list(actual)
    if len(names) != len(actual):
        raise ValueError(f"{len(names)} output names for {len(actual)} runtime outputs")
    results: list = []
    for name, ref, got in zip(names, reference, actual):
        ref = np.asarray(ref, np.float64)
        got = np.asarray(got, np.float64)
        if got.size != ref.size:
            results.append(OutputComparison(name, ref.shape, float("inf"), float(np.abs(ref).max()), tolerance))
            continue
        got = got.reshape(ref.shape)
        results.append(OutputComparison(name, ref.shape, float(np.abs(got - ref).max()), float(np.abs(ref).max()),
                                        tolerance))
    results += [UnmatchedOutput(names[i], "Caffe") for i in range(len(reference), len(actual))]
    results += [UnmatchedOutput(f"MXNet output {i} {tuple(np.shape(reference[i]))}", "MXNet")
                for i in range(len(actual), len(reference))]
    return results


@attrs.frozen
class RuntimeVerdict:
    """One runtime's verification of written files: what to print, whether it passed, its worst relative error."""
    runtime: str
    lines: tuple[str, ...]
    ok: bool
    worst_relative: float
    detections: bool = False      # an SSD-style check (tensors plus detection sets)


def verify_files(model, input_shapes: dict, prototxt: str, caffemodel: str, output_layers, output_names, options,
                 runtimes, seed: int = 0, tolerance: float = DEFAULT_TOLERANCE) -> list[RuntimeVerdict]:
    """Run the files in each runtime on a seeded input and compare with the MXNet model on the same input."""
    from compiler.driver.reference import input_shapes_of, run_mxnet
    from compiler.driver.verify.ssd import is_ssd, native_yolo_layer, verify_native_yolo, verify_ssd, verify_yolo

    mxnet_inputs, caffe_inputs = paired_inputs(input_shapes, seed, options, input_shapes_of(prototxt))
    ssd = is_ssd(prototxt)
    native = native_yolo_layer(prototxt) is not None
    reference = None if ssd or native else run_mxnet(model, mxnet_inputs, softmax=options.softmax)
    verdicts = []
    for runtime in runtimes:
        if native:
            results = verify_native_yolo(model, prototxt, caffemodel, mxnet_inputs, caffe_inputs, runtime, tolerance)
            lines = [str(r) for r in results] + [
                "detections: not compared (no runtime here runs ncnn's Yolov3DetectionOutput, whose semantics differ "
                "from GluonCV's; see the report)"]
            worst = max((r.relative if isinstance(r, OutputComparison) else float("inf") for r in results), default=0.0)
            verdicts.append(RuntimeVerdict(runtime, tuple(lines), all(r.ok for r in results), worst))
            continue
        if ssd:
            check = verify_yolo if hasattr(model, "finish_graph") else verify_ssd
            result = check(model, prototxt, caffemodel, mxnet_inputs, caffe_inputs, runtime, tolerance)
            worst = max((t.relative for t in result.tensors[1:]), default=0.0)
            verdicts.append(RuntimeVerdict(runtime, tuple(result.lines()), result.ok, worst, detections=True))
            continue
        actual = run_runtime(runtime, prototxt, caffemodel, caffe_inputs, output_layers)
        results = compare_outputs(output_names, reference, actual, tolerance)
        worst = max((r.relative if isinstance(r, OutputComparison) else float("inf") for r in results), default=0.0)
        verdicts.append(RuntimeVerdict(runtime, tuple(str(r) for r in results), all(r.ok for r in results), worst))
    return verdicts


def random_inputs(input_shapes: dict, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in input_shapes.items()}


def paired_inputs(input_shapes: dict, seed: int, options, caffe_shapes: dict | None = None) -> tuple[dict, dict]:
    """Seeded inputs for MXNet and the same data as the Caffe model expects it (options.Options).

    With mean/std/input_scale the Caffe model takes raw pixels: both sides get the same uniform 0..255 pixels, the
    MXNet side normalised. An input the compiler moved from NHWC to NCHW (caffe_shapes) is transposed, and with
    to_bgr the Caffe side gets the image channels reversed.
    """
    from compiler.options import image_inputs_by_shape

    caffe_shapes = {k: tuple(v) for k, v in (caffe_shapes or input_shapes).items()}
    images = image_inputs_by_shape(caffe_shapes, options.image_inputs)
    normalise = options.mean is not None or options.std is not None or options.input_scale is not None
    if not normalise:
        mxnet_side = random_inputs(input_shapes, seed)
        caffe_side = dict(mxnet_side)
    else:
        rng = np.random.RandomState(seed)
        caffe_side = {name: (rng.uniform(0, 255, shape) if name in images else rng.standard_normal(shape)).astype(
            np.float32) for name, shape in input_shapes.items()}
        mxnet_side = {}
        for name, raw in caffe_side.items():
            if name not in images:
                mxnet_side[name] = raw
                continue
            channels = raw.shape[1]
            scale = options.input_scale if options.input_scale is not None else 1.0
            mean = np.broadcast_to(np.asarray(options.mean if options.mean is not None else 0.0, np.float64), (channels,))
            std = np.broadcast_to(np.asarray(options.std if options.std is not None else 1.0, np.float64), (channels,))
            shape = (1, channels) + (1,) * (raw.ndim - 2)
            mxnet_side[name] = ((raw * scale - mean.reshape(shape)) / std.reshape(shape)).astype(np.float32)
    for name, array in caffe_side.items():
        n, *rest = array.shape
        if len(rest) == 3 and caffe_shapes.get(name) == (n, rest[2], rest[0], rest[1]) != array.shape:
            caffe_side[name] = np.ascontiguousarray(array.transpose(0, 3, 1, 2))
    if options.to_bgr:
        caffe_side = to_caffe_inputs(caffe_side, images)
    return mxnet_side, caffe_side


def to_caffe_inputs(inputs: dict, bgr_inputs) -> dict[str, np.ndarray]:
    """The same data the MXNet model sees, with the channel axis reversed for inputs converted to BGR."""
    return {k: np.ascontiguousarray(v[:, ::-1]) if k in bgr_inputs else v for k, v in inputs.items()}


__all__ = ["DEFAULT_TOLERANCE", "OutputComparison", "UnmatchedOutput", "compare_outputs", "random_inputs", "to_caffe_inputs", "paired_inputs",
           "RUNTIMES", "run_runtime"]
