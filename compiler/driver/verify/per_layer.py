"""Per-layer divergence: every Caffe blob that equals an MXNet value, compared on the same input, in net order."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.driver.verify.checks import RelativeError


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
                                       str(value.ref), diff, float(np.abs(ref).max()), tolerance))
    return results


def first_divergence(results: list[LayerComparison]) -> LayerComparison | None:
    return next((r for r in results if not r.ok), None)


def per_layer_command(args, compiled, reference) -> int:
    """`verify --per-layer`: write `compiled` (emitted without in-place layers) to a temporary directory, compare
    every blob with an MXNet counterpart in each runtime, print them and the first divergence; 1 when there is
    one."""
    import os
    import tempfile

    from compiler.driver.verify import DEFAULT_TOLERANCE, paired_inputs
    from compiler.driver.verify.runtimes import RUNTIMES_WITH_EVERY_BLOB, runtime_names
    from compiler.errors import ConversionError

    tolerance = args.tolerance if args.tolerance is not None else DEFAULT_TOLERANCE
    # The block that was imported (a detector's cut for this target), whose nodes the IR's references name.
    imported = compiled.source.block if compiled.source is not None and compiled.source.block is not None \
        else reference
    code, by_runtime = 0, {}
    with tempfile.TemporaryDirectory() as directory:
        prototxt, caffemodel = compiled.save(os.path.join(directory, "per_layer"))
        mxnet_inputs, caffe_inputs = paired_inputs(compiled.inputs, args.seed)
        runtimes = runtime_names(args.runtime, args.target)
        if args.runtime != "all" and runtimes[0] not in RUNTIMES_WITH_EVERY_BLOB:
            raise ConversionError(f"--per-layer reads every blob, and {runtimes[0]} returns only the network's "
                                  "outputs", hint=f"use --runtime {' or '.join(RUNTIMES_WITH_EVERY_BLOB)}")
        for runtime in (r for r in runtimes if r in RUNTIMES_WITH_EVERY_BLOB):
            results = compare_layers(imported, compiled, prototxt, caffemodel, mxnet_inputs, caffe_inputs, runtime,
                                     tolerance, progress=not args.quiet)
            by_runtime[runtime] = results
            print(f"per-layer comparison in {runtime} ({len(results)} blobs with an MXNet counterpart):")
            for result in results:
                print("  " + str(result))
            first = first_divergence(results)
            if first is None:
                print("every compared blob is within tolerance")
                continue
            print(f"first divergence: layer '{first.layer}' ({first.layer_type}) from {first.origin}, op {first.op}: "
                  f"relative {first.relative:.2e} > {first.tolerance:g}")
            code = 1
    if args.plot:
        from compiler.driver.verify.plot import plot_per_layer

        drawn = plot_per_layer(by_runtime, args.plot, compiled.output_layers,
                               title=f"{os.path.basename(args.prefix)} ({args.target}): per-layer divergence")
        print(f"wrote {drawn.path}")
    return code
