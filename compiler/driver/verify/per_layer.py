"""Per-layer divergence: every Caffe blob that equals an MXNet value, compared on the same input, in net order."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.driver.verify import RelativeError


@attrs.frozen
class LayerComparison(RelativeError):
    layer: str
    layer_type: str
    op: str                  # the IR op that emitted the layer, with its attributes
    origin: str              # the MXNet node it came from
    mxnet_output: str
    max_abs_diff: float
    max_abs_ref: float
    tolerance: float

    def __str__(self) -> str:
        return (f"{'ok  ' if self.ok else 'FAIL'} {self.layer} ({self.layer_type}) vs {self.mxnet_output}: "
                f"relative {self.relative:.2e} (max|diff| {self.max_abs_diff:.2e}, max|ref| {self.max_abs_ref:.2e})")


def compare_layers(model, compiled, prototxt: str, caffemodel: str, mxnet_inputs: dict, caffe_inputs: dict,
                   runtime: str = "opencv", tolerance: float = 1e-4, progress: bool = False) -> list[LayerComparison]:
    """`compiled` must be emitted without in-place layers, so that every top keeps its own value. `progress`
    shows a bar on stderr (when it is a terminal) over the three steps: MXNet, the runtime, the comparison."""
    import sys

    from tqdm import tqdm

    from compiler.driver.reference import mxnet_internals
    from compiler.driver.verify.runtimes import run_runtime

    values = {v.name: v for v in compiled.graph.values()}
    chosen = [(layer, values[layer.source]) for layer in compiled.layers
              if layer.source in values and values[layer.source].ref is not None
              and values[layer.source].producer is not None]
    if not chosen:
        return []
    bar = tqdm(total=3, unit="step", file=sys.stderr, disable=not progress or not sys.stderr.isatty(),
               desc=f"per-layer {runtime}: MXNet, {len(chosen)} blobs")
    with bar:
        reference = mxnet_internals(model, mxnet_inputs, [value.ref for _, value in chosen])
        bar.set_description(f"per-layer {runtime}: {runtime}, {len(chosen)} blobs")
        bar.update(1)
        actual = run_runtime(runtime, prototxt, caffemodel, caffe_inputs, [layer.name for layer, _ in chosen])
        bar.set_description(f"per-layer {runtime}: comparing")
        bar.update(1)
        results = _compared(chosen, reference, actual, tolerance)
        bar.update(1)
    return results


def _compared(chosen, reference, actual, tolerance: float) -> list[LayerComparison]:
    from compiler.ir.printer import format_attrs

    results = []
    for (layer, value), ref, got in zip(chosen, reference, actual):
        op = value.producer
        ref = np.asarray(ref, np.float64)
        got = np.asarray(got, np.float64)
        diff = float(np.abs(got.reshape(ref.shape) - ref).max()) if got.size == ref.size else float("inf")
        origin = f"{op.origin.node} ({op.origin.op})" if op.origin else op.name
        results.append(LayerComparison(layer.name, layer.type, f"{op.kind} {{{format_attrs(op.attrs)}}}", origin,
                                       value.ref, diff, float(np.abs(ref).max()), tolerance))
    return results


def first_divergence(results: list[LayerComparison]) -> LayerComparison | None:
    return next((r for r in results if not r.ok), None)
