"""Numeric verification: run the written Caffe files in a real runtime and compare with MXNet on the same input.

Both models get the same data through the compilation's input contract (compiler/contract.py); what is compared
follows from the compilation: its source's own verification (a family's, e.g. YOLOv3's detection endings), a
DetectionOutput ending that a pass made (detection sets, and the tensors that feed it where MXNet has them), boxes
and scores left for the application's NMS (detection sets after that NMS), or else every output tensor."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.driver.verify.checks import (DEFAULT_TOLERANCE, ClassAgreement, DetectionComparison, OutputComparison,
                                           RelativeError, RuntimeVerdict, UnmatchedOutput, compare_outputs)
from compiler.driver.verify.runtimes import FLOAT16_TOLERANCE, RUNTIMES, run_runtime


@attrs.frozen
class Run:
    """One runtime's verification of one compilation's files: what every check reads."""
    compiled: object             # compiler.driver.api.Compilation
    reference: object            # the MXNet model as the user has it (a Gluon block, or a SymbolModel)
    prototxt: str
    caffemodel: str
    mxnet_inputs: dict
    caffe_inputs: dict
    runtime: str
    tolerance: float
    on_image: bool = False       # the inputs are a real image: a classifier's top classes are compared too
    min_cosine: float | None = None   # a float16 runtime: the cosine similarity every output must reach

    @property
    def imported(self):
        """The MXNet model whose nodes the IR came from (a family's cut, or the reference itself)."""
        source = self.compiled.source
        return source.block if source is not None and source.block is not None else self.reference

    def run_caffe(self, layers) -> list[np.ndarray]:
        return run_runtime(self.runtime, self.prototxt, self.caffemodel, self.caffe_inputs, list(layers))


def random_inputs(input_shapes: dict, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in input_shapes.items()}


def paired_inputs(contracts: dict, seed: int, image=None) -> tuple[dict, dict]:
    """Seeded inputs for MXNet and the same data as the Caffe model takes it, through each input's contract
    (compiler.contract.InputContract): random values in the MXNet input's layout and channel order — uniform 0..255
    pixels where the Caffe model takes raw pixels — or, with `image` (RGB uint8), its pixels resized to every colour
    image input."""
    from compiler.driver.verify.image import image_pixels
    from compiler.errors import ConversionError

    rng = np.random.RandomState(seed)
    raw = {}
    if image is not None:
        if not any(c.is_colour_image for c in contracts.values()):
            raise ConversionError("--image needs an (N, 3, H, W) image input; this model has "
                                  + ", ".join(f"{k} {c.shape}" for k, c in contracts.items()))
        for name, contract in contracts.items():
            raw[name] = image_pixels(image, contract.shape) if contract.is_colour_image else \
                rng.standard_normal(contract.mxnet_shape).astype(np.float32)
            if contract.is_colour_image and contract.channels_last:
                raw[name] = np.ascontiguousarray(raw[name].transpose(0, 2, 3, 1))
    elif any(c.raw_pixels for c in contracts.values()):
        raw = {name: (rng.uniform(0, 255, c.mxnet_shape) if c.raw_pixels else rng.standard_normal(c.mxnet_shape))
               .astype(np.float32) for name, c in contracts.items()}
    else:
        raw = random_inputs({name: c.mxnet_shape for name, c in contracts.items()}, seed)
    mxnet_side = {name: contracts[name].mxnet_input(array) for name, array in raw.items()}
    caffe_side = {name: contracts[name].caffe_input(array) for name, array in raw.items()}
    return mxnet_side, caffe_side


def verify_compilation(compiled, reference, prototxt: str, caffemodel: str, runtimes, seed: int = 0,
                       tolerance: float = DEFAULT_TOLERANCE, image=None, progress: bool = False) -> list[RuntimeVerdict]:
    """Run the files of `compiled` in each runtime on a seeded input (or on `image`, RGB uint8, resized to the input)
    and compare with `reference` (the MXNet model) on the same input. With an image, a classifier's verdict also
    holds the top-5 classes of both sides. `progress` shows a bar over the runtimes on stderr when it is a
    terminal."""
    import sys

    from tqdm import tqdm

    mxnet_inputs, caffe_inputs = paired_inputs(compiled.inputs, seed, image)
    check = _check_for(compiled)
    verdicts = []
    for runtime in tqdm(runtimes, desc="verifying", unit="runtime", file=sys.stderr,
                        disable=not progress or not sys.stderr.isatty()):
        relative, min_cosine = FLOAT16_TOLERANCE.get(runtime, (tolerance, None))
        verdicts.append(check(Run(compiled, reference, prototxt, caffemodel, mxnet_inputs, caffe_inputs, runtime,
                                  max(tolerance, relative), on_image=image is not None, min_cosine=min_cosine)))
    return verdicts


def _check_for(compiled):
    """How this compilation's files are verified (see the module docstring)."""
    from compiler.driver.verify import detections

    family_check = compiled.source.verification() if compiled.source is not None else None
    if family_check is not None:
        return family_check
    if compiled.detections is not None:
        return detections.verify_detection_output
    if compiled.decode is not None and compiled.decode.get("model") == "box_nms":
        return detections.verify_decoded
    return verify_tensors


def mxnet_outputs(run: Run) -> list[np.ndarray]:
    """The outputs of the model that was imported, as the compilation's outputs are (softmaxed with --softmax)."""
    from compiler.driver.reference import run_mxnet

    return run_mxnet(run.imported, run.mxnet_inputs, softmax=run.compiled.options.softmax)


def verify_tensors(run: Run) -> RuntimeVerdict:
    """Every output of the converted model against the MXNet model's; on an image, a classifier output's top
    classes too."""
    from compiler.driver.verify.image import is_classifier_output, top_classes

    names = [v.name for v in run.compiled.graph.outputs]
    reference, actual = mxnet_outputs(run), run.run_caffe(run.compiled.output_layers)
    classes = tuple(ClassAgreement(name, tuple(top_classes(ref)), tuple(top_classes(np.reshape(got, np.shape(ref)))),
                                   run.runtime)
                    for name, ref, got in zip(names, reference, actual)
                    if run.on_image and is_classifier_output(ref) and np.size(got) == np.size(ref))
    return RuntimeVerdict(run.runtime, tuple(compare_outputs(names, reference, actual, run.tolerance,
                                                             run.min_cosine)), classes=classes)


__all__ = ["DEFAULT_TOLERANCE", "ClassAgreement", "DetectionComparison", "OutputComparison", "RelativeError",
           "RuntimeVerdict", "Run", "UnmatchedOutput", "compare_outputs", "random_inputs", "paired_inputs",
           "verify_compilation", "verify_tensors", "RUNTIMES", "run_runtime"]
