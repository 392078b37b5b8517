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
    rows: tuple = ()              # with detections: the first image's rows (GluonCV, this runtime)


def verify_files(model, input_shapes: dict, prototxt: str, caffemodel: str, output_layers, output_names, options,
                 runtimes, seed: int = 0, tolerance: float = DEFAULT_TOLERANCE, image=None,
                 progress: bool = False, decode: dict | None = None) -> list[RuntimeVerdict]:
    """Run the files in each runtime on a seeded input (or on `image`, RGB uint8, resized to the input and
    preprocessed as the options say) and compare with the MXNet model on the same input. With an image, a
    classifier's verdict also lists the top-5 classes of both sides, a detector's the best detections. `progress`
    shows a bar over the runtimes on stderr when it is a terminal. `decode` is PREFIX.decode.json: a model that
    ends in boxes and scores for the application's NMS ("box_nms") is compared by its detections."""
    import sys

    from tqdm import tqdm
    from compiler.driver.verify.image import classification_lines, detection_lines, is_classifier_output

    from compiler.driver.heads import yolo_heads_class
    from compiler.driver.reference import input_shapes_of, run_mxnet
    from compiler.driver.verify.ssd import is_ssd, native_yolo_layer, verify_native_yolo, verify_ssd, verify_yolo

    from compiler.driver.verify.detections import verify_decoded

    mxnet_inputs, caffe_inputs = paired_inputs(input_shapes, seed, options, input_shapes_of(prototxt), image)
    ssd = is_ssd(prototxt)
    native = native_yolo_layer(prototxt) is not None
    decoded = decode is not None and decode.get("model") == "box_nms"
    reference = None if ssd or native or decoded else run_mxnet(model, mxnet_inputs, softmax=options.softmax)
    verdicts = []
    for runtime in tqdm(runtimes, desc="verifying", unit="runtime", file=sys.stderr,
                        disable=not progress or not sys.stderr.isatty()):
        if native:
            results = verify_native_yolo(model, prototxt, caffemodel, mxnet_inputs, caffe_inputs, runtime, tolerance)
            lines = [str(r) for r in results] + [
                "detections: not compared (no runtime here runs ncnn's Yolov3DetectionOutput, whose semantics differ "
                "from GluonCV's; see the report)"]
            worst = _worst(results)
            verdicts.append(RuntimeVerdict(runtime, tuple(lines), all(r.ok for r in results), worst))
            continue
        if ssd or decoded:
            if decoded:
                result = verify_decoded(model, decode, prototxt, caffemodel, mxnet_inputs, caffe_inputs, runtime,
                                        tolerance)
            else:
                check = verify_yolo if isinstance(model, yolo_heads_class()) else verify_ssd
                result = check(model, prototxt, caffemodel, mxnet_inputs, caffe_inputs, runtime, tolerance)
            worst = result.worst
            lines = result.lines() + (detection_lines(*result.rows, runtime) if image is not None else [])
            verdicts.append(RuntimeVerdict(runtime, tuple(lines), result.ok, worst, detections=True,
                                           rows=result.rows))
            continue
        actual = run_runtime(runtime, prototxt, caffemodel, caffe_inputs, output_layers)
        results = compare_outputs(output_names, reference, actual, tolerance)
        worst = _worst(results)
        lines = [str(r) for r in results]
        if image is not None:
            for name, ref, got in zip(output_names, reference, actual):
                if is_classifier_output(ref) and np.size(got) == np.size(ref):
                    lines += classification_lines(name, ref, np.reshape(got, np.shape(ref)), runtime)
        verdicts.append(RuntimeVerdict(runtime, tuple(lines), all(r.ok for r in results), worst))
    return verdicts


def _worst(results) -> float:
    """The largest relative difference among output comparisons; an unmatched output counts as infinite."""
    return max((r.relative if isinstance(r, OutputComparison) else float("inf") for r in results), default=0.0)


def random_inputs(input_shapes: dict, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in input_shapes.items()}


def paired_inputs(input_shapes: dict, seed: int, options, caffe_shapes: dict | None = None,
                  image=None) -> tuple[dict, dict]:
    """Seeded inputs for MXNet and the same data as the Caffe model expects it (options.Options).

    With mean/std/input_scale the Caffe model takes raw pixels: both sides get the same uniform 0..255 pixels, the
    MXNet side normalised. An input the compiler moved from NHWC to NCHW (caffe_shapes) is transposed, and with
    to_bgr the Caffe side gets the image channels reversed. With `image` (RGB uint8), the image inputs get its
    pixels resized to their size instead of random ones (0..255, normalised for MXNet as above when asked).
    """
    from compiler.driver.verify.image import image_pixels
    from compiler.options import bgr_inputs_by_shape, normalized_inputs_by_shape, normalizes_inputs

    caffe_shapes = {k: tuple(v) for k, v in (caffe_shapes or input_shapes).items()}
    images = normalized_inputs_by_shape(caffe_shapes, options.image_inputs)
    normalise = normalizes_inputs(options)
    if image is not None:
        images = bgr_inputs_by_shape(caffe_shapes, options.image_inputs)
        if not images:
            from compiler.errors import ConversionError

            raise ConversionError("--image needs an (N, 3, H, W) image input; this model has "
                                  + ", ".join(f"{k} {tuple(v)}" for k, v in input_shapes.items()))
        rng = np.random.RandomState(seed)
        caffe_side = {name: image_pixels(image, shape) if name in images else
                      rng.standard_normal(shape).astype(np.float32) for name, shape in input_shapes.items()}
        mxnet_side = dict(caffe_side)
    elif not normalise:
        mxnet_side = random_inputs(input_shapes, seed)
        caffe_side = dict(mxnet_side)
    if normalise:
        rng = np.random.RandomState(seed)
        caffe_side = caffe_side if image is not None else {
            name: (rng.uniform(0, 255, shape) if name in images else rng.standard_normal(shape)).astype(np.float32)
            for name, shape in input_shapes.items()}
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
        caffe_side = to_caffe_inputs(caffe_side, bgr_inputs_by_shape(caffe_shapes, options.image_inputs))
    return mxnet_side, caffe_side


def to_caffe_inputs(inputs: dict, bgr_inputs) -> dict[str, np.ndarray]:
    """The same data the MXNet model sees, with the channel axis reversed for inputs converted to BGR."""
    return {k: np.ascontiguousarray(v[:, ::-1]) if k in bgr_inputs else v for k, v in inputs.items()}


__all__ = ["DEFAULT_TOLERANCE", "OutputComparison", "UnmatchedOutput", "compare_outputs", "random_inputs", "to_caffe_inputs", "paired_inputs",
           "RUNTIMES", "run_runtime"]
