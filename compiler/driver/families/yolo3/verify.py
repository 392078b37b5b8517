"""Verifying a converted YOLOv3 that ends in a detection layer."""
from __future__ import annotations

from compiler.driver.verify.checks import RuntimeVerdict, compare_outputs


def verify_yolo(run) -> RuntimeVerdict:
    """A YOLOv3 that ends in DetectionOutput: its loc, conf and priors blobs against the heads block run in MXNet
    (tolerance, relative; the priors are 0, ±½ and 1, so relative is absolute there), and the detections against
    GluonCV's own (the full net, box_nms included) as (class, score, box) sets."""
    from compiler.driver.reference import run_mxnet
    from compiler.driver.verify.detections import compare_batch

    compiled = run.compiled
    detection = compiled.graph.outputs[0].producer
    caffe = run.run_caffe([compiled.layer_of(detection.result)] + [compiled.layer_of(v) for v in detection.operands])
    loc, conf, priors = run_mxnet(compiled.source.block, run.mxnet_inputs)
    tensors = compare_outputs(["priors", "loc", "conf"], [priors, loc, conf], [caffe[3], caffe[1], caffe[2]],
                              run.tolerance, run.min_cosine)
    image_hw = next(iter(run.caffe_inputs.values())).shape[2:]
    detections, rows = compare_batch(run_mxnet(run.reference, run.mxnet_inputs), caffe[0], image_hw, run.tolerance)
    return RuntimeVerdict(run.runtime, tuple(tensors), detections, rows=rows)


def verify_native_yolo(run) -> RuntimeVerdict:
    """A YOLOv3 ending in ncnn's Yolov3DetectionOutput: the prediction blobs that feed it against the same blobs in
    MXNet (relative tolerance). In the ncnn runtime, which runs the layer, its detections too: against what ncnn's
    layer computes (compiler/ops/ncnn_yolo.py) on MXNet's predictions, as (label, score, box) sets — not GluonCV's
    detections, which the layer approximates. Elsewhere the predictions come from a copy of the network without
    the layer."""
    import os
    import tempfile

    import attrs
    import numpy as np

    from backends.writer import net_message, prototxt_text, write_text_atomically
    from compiler.driver.reference import run_mxnet
    from compiler.driver.verify.detections import compare_detections
    from compiler.driver.verify.runtimes import run_runtime

    compiled = run.compiled
    native = compiled.graph.outputs[0].producer
    heads = [compiled.layer_of(v) for v in native.operands]
    reference = run_mxnet(compiled.source.block, run.mxnet_inputs)
    tops = {layer.name: layer.tops[0] for layer in compiled.layers}
    names = [f"prediction {tops[layer]}" for layer in heads]
    if run.runtime == "ncnn":
        found = run_runtime(run.runtime, run.prototxt, run.caffemodel, run.caffe_inputs,
                            heads + [compiled.layer_of(native.result)])
        results = compare_outputs(names, reference, found[:-1], run.tolerance, run.min_cosine)
        expected = native.attrs.evaluate(*(np.asarray(level, np.float32) for level in reference))
        detections = attrs.evolve(compare_detections(np.asarray(expected, np.float64).reshape(-1, 6),
                                                     np.asarray(found[-1], np.float64).reshape(-1, 6), run.tolerance),
                                  reference="the layer's semantics on MXNet's predictions")
        return RuntimeVerdict(run.runtime, tuple(results), detections, notes=(
            "detections: ncnn's Yolov3DetectionOutput approximates GluonCV's; see the report",))
    layers = [layer for layer in compiled.layers if layer.source != native.result.name]
    with tempfile.TemporaryDirectory() as directory:
        path = write_text_atomically(os.path.join(directory, "heads.prototxt"),
                                     prototxt_text(net_message(layers, compiled.target, compiled.name)))
        actual = run_runtime(run.runtime, path, run.caffemodel, run.caffe_inputs, heads)
    results = compare_outputs(names, reference, actual, run.tolerance, run.min_cosine)
    return RuntimeVerdict(run.runtime, tuple(results), notes=(
        "detections: not compared (only the ncnn runtime runs ncnn's Yolov3DetectionOutput, whose semantics differ "
        "from GluonCV's; see the report)",))
