"""SSD verification: priors, loc and softmaxed conf tensors, and the final detections, GluonCV against Caffe."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.ops.detection import normalised_corners


@attrs.frozen
class DetectionComparison:
    reference_count: int
    caffe_count: int
    matched: int
    max_score_diff: float
    max_box_diff: float          # normalised coordinates
    tolerance: float

    @property
    def equal(self) -> bool:
        return self.matched == self.reference_count == self.caffe_count

    @property
    def prefix(self) -> bool:
        """Every GluonCV detection is also a Caffe one (what per-class top_k guarantees)."""
        return self.matched == self.reference_count

    def __str__(self) -> str:
        verdict = "equal" if self.equal else ("GluonCV's are a subset" if self.prefix else "DIFFERENT")
        return (f"detections: GluonCV {self.reference_count}, Caffe {self.caffe_count}, matched {self.matched} "
                f"(max |score diff| {self.max_score_diff:.2e}, max |box diff| {self.max_box_diff:.2e} normalised, "
                f"tolerance {self.tolerance:g}): {verdict}")


def gluon_detections(ids, scores, boxes, image_hw) -> np.ndarray:
    """Rows [class, score, xmin, ymin, xmax, ymax] (boxes normalised) of one image's valid GluonCV detections."""
    ids, scores, boxes = (np.asarray(a, np.float64).reshape(-1, k) for a, k in ((ids, 1), (scores, 1), (boxes, 4)))
    keep = ids[:, 0] >= 0
    h, w = image_hw
    return np.hstack([ids[keep], scores[keep], boxes[keep] / np.array([w, h, w, h])])


def caffe_detections(output, image: int = 0) -> np.ndarray:
    """Rows [class, score, box] of one image from DetectionOutput's (1, 1, K, 7) [image, label, score, box]; label 0
    is the background, so class = label − 1."""
    rows = np.asarray(output, np.float64).reshape(-1, 7)
    keep = (rows[:, 0] == image) & (rows[:, 1] >= 1) & (rows[:, 2] > 0)
    return np.hstack([rows[keep, 1:2] - 1, rows[keep, 2:3], rows[keep, 3:7]])


def compare_detections(reference: np.ndarray, caffe: np.ndarray, tolerance: float = 1e-4) -> DetectionComparison:
    used = np.zeros(len(caffe), bool)
    matched, score_diff, box_diff = 0, 0.0, 0.0
    for row in reference[np.argsort(-reference[:, 1], kind="stable")]:
        candidates = np.where(~used & (caffe[:, 0] == row[0]) & (np.abs(caffe[:, 1] - row[1]) <= tolerance)
                              & (np.abs(caffe[:, 2:] - row[2:]).max(axis=1, initial=0) <= tolerance))[0]
        if len(candidates):
            best = candidates[np.argmin(np.abs(caffe[candidates, 2:] - row[2:]).sum(axis=1))]
            used[best] = True
            matched += 1
            score_diff = max(score_diff, abs(caffe[best, 1] - row[1]))
            box_diff = max(box_diff, float(np.abs(caffe[best, 2:] - row[2:]).max()))
    return DetectionComparison(len(reference), len(caffe), matched, score_diff, box_diff, tolerance)


def compare_batch(gluoncv_outputs, detection_output, image_hw, tolerance: float):
    """GluonCV's (ids, scores, boxes) for N images against one DetectionOutput result, image by image; the counts
    add up over the batch and the differences are the worst of any image. Returns the DetectionComparison and the
    first image's rows [class, score, box] of both sides."""
    ids, scores, boxes = gluoncv_outputs
    tables = [(gluon_detections(ids[i], scores[i], boxes[i], image_hw), caffe_detections(detection_output, i))
              for i in range(len(ids))]
    parts = [compare_detections(reference, caffe, tolerance) for reference, caffe in tables]
    comparison = DetectionComparison(sum(p.reference_count for p in parts), sum(p.caffe_count for p in parts),
                                     sum(p.matched for p in parts), max(p.max_score_diff for p in parts),
                                     max(p.max_box_diff for p in parts), tolerance)
    return comparison, tables[0]


@attrs.frozen
class SSDVerification:
    tensors: list            # OutputComparison for priors, loc and conf
    detections: DetectionComparison
    rows: tuple = ()         # the first image's detections [class, score, box normalised]: (GluonCV, Caffe)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tensors) and self.detections.equal

    @property
    def worst(self) -> float:
        """The largest relative difference of the tensors after the priors (compared absolutely), or, without
        tensors, the largest score or normalised box difference of the matched detections."""
        if self.tensors:
            return max((t.relative for t in self.tensors[1:]), default=0.0)
        return max(self.detections.max_score_diff, self.detections.max_box_diff)

    def lines(self) -> list[str]:
        return [str(t) for t in self.tensors] + [str(self.detections)]


def _ssd_layers(prototxt: str):
    from compiler.driver.reference import _read_net

    net = _read_net(prototxt)
    producer = {top: layer for layer in net.layer for top in layer.top}
    detection = [layer for layer in net.layer if layer.type == "DetectionOutput"]
    return (producer, detection[0]) if detection else (producer, None)


def is_ssd(prototxt: str) -> bool:
    return _ssd_layers(prototxt)[1] is not None


def _anchor_node(model, inputs) -> str | None:
    """The MXNet node whose value is the (1, P, 4) anchors fed to box_decode; None for a net whose boxes are decoded
    by elementary ops (its DetectionOutput then runs as NMS only, on boxes the net's own layers decode)."""
    import json

    from compiler.frontend import trace

    nodes = json.loads(trace(getattr(model, "block", model), list(inputs)).tojson())["nodes"]
    decode = [n for n in nodes if n["op"] == "_contrib_box_decode"]
    return nodes[decode[0]["inputs"][1][0]]["name"] if decode else None


def verify_ssd(model, prototxt: str, caffemodel: str, mxnet_inputs: dict, caffe_inputs: dict, runtime: str,
               tolerance: float) -> SSDVerification:
    """Priors against the net's anchors (1e-6), loc and softmaxed conf against MXNet (tolerance, relative), and the
    detections as (class, score, box) sets (tolerance, absolute in score and normalised box units)."""
    from compiler.driver.reference import mxnet_internals, run_mxnet
    from compiler.driver.verify import compare_outputs
    from compiler.driver.verify.runtimes import run_runtime

    producer, detection = _ssd_layers(prototxt)
    loc_blob, conf_blob, prior_blob = detection.bottom
    softmax_blob = producer[conf_blob].bottom[0]
    image = next(iter(caffe_inputs.values()))
    image_hw = image.shape[2:]
    caffe = run_runtime(runtime, prototxt, caffemodel, caffe_inputs,
                        [detection.name, producer[loc_blob].name, producer[conf_blob].name, producer[prior_blob].name])
    det, loc, conf, priors = caffe
    anchor_node = _anchor_node(model, mxnet_inputs)
    tensors = []
    if anchor_node is not None:   # PriorBoxes from GluonCV's anchors: priors, loc and conf are MXNet's own values
        anchors, mx_loc, mx_conf = mxnet_internals(model, mxnet_inputs, [anchor_node, loc_blob, softmax_blob])
        corners = normalised_corners(anchors.reshape(-1, 4).astype(np.float64), image_hw)
        prior_check = compare_outputs(["priors vs anchors"], [corners.reshape(-1)], [priors.reshape(2, -1)[0]],
                                      1e-6)[0]
        # Priors are compared in absolute terms: normalised coordinates are their own scale.
        prior_check = attrs.evolve(prior_check, max_abs_ref=1.0)
        tensors = [prior_check] + compare_outputs(["loc", "conf (softmax)"],
                                                  [mx_loc, mx_conf.reshape(mx_conf.shape[0], -1)], [loc, conf],
                                                  tolerance)
    detections, rows = compare_batch(run_mxnet(model, mxnet_inputs), det, image_hw, tolerance)
    return SSDVerification(tensors, detections, rows)


def verify_yolo(model, prototxt: str, caffemodel: str, mxnet_inputs: dict, caffe_inputs: dict, runtime: str,
                tolerance: float) -> SSDVerification:
    """A YOLOv3 that ends in DetectionOutput: its loc and conf blobs against the same wrapper run in MXNet
    (tolerance, relative), its priors against the identity-decode priors (exact), and the detections against
    GluonCV's own (the full net, box_nms included) as (class, score, box) sets."""
    from compiler.driver.heads import yolo_heads_class
    from compiler.driver.reference import run_mxnet
    from compiler.driver.verify import compare_outputs
    from compiler.driver.verify.runtimes import run_runtime

    producer, detection = _ssd_layers(prototxt)
    code = detection.detection_output_param.code_type
    code_name = type(detection.detection_output_param).DESCRIPTOR.fields_by_name["code_type"].enum_type \
        .values_by_number[code].name
    image = next(iter(caffe_inputs.values()))
    reference = yolo_heads_class()(model.net, image.shape, code_name)
    caffe = run_runtime(runtime, prototxt, caffemodel, caffe_inputs,
                        [detection.name] + [producer[blob].name for blob in detection.bottom])
    loc, conf, priors = run_mxnet(reference, mxnet_inputs)
    # Priors first, as for SSD: their values are 0, ±½ and 1, so relative is absolute here.
    tensors = compare_outputs(["priors", "loc", "conf"], [priors, loc, conf], [caffe[3], caffe[1], caffe[2]],
                              tolerance)
    detections, rows = compare_batch(run_mxnet(model.net, mxnet_inputs), caffe[0], image.shape[2:], tolerance)
    return SSDVerification(tensors, detections, rows)


def native_yolo_layer(prototxt: str):
    """The Yolov3DetectionOutput layer of a prototxt (ncnn's native YOLOv3 ending), or None."""
    from compiler.driver.reference import _read_net

    return next((layer for layer in _read_net(prototxt).layer if layer.type == "Yolov3DetectionOutput"), None)


def verify_native_yolo(model, prototxt: str, caffemodel: str, mxnet_inputs: dict, caffe_inputs: dict, runtime: str,
                       tolerance: float) -> list:
    """A YOLOv3 ending in ncnn's Yolov3DetectionOutput, which no runtime here runs: the prediction blobs that feed
    it, from a copy of the prototxt without that layer, against the same blobs in MXNet (relative tolerance)."""
    import os
    import tempfile

    from google.protobuf import text_format

    from compiler.driver.heads import NCNN_NATIVE, yolo_heads_class
    from compiler.driver.reference import _read_net, run_mxnet
    from compiler.driver.verify import compare_outputs
    from compiler.driver.verify.runtimes import run_runtime

    net = _read_net(prototxt)
    native = [layer for layer in net.layer if layer.type == "Yolov3DetectionOutput"]
    producers = {top: layer.name for layer in net.layer for top in layer.top}
    heads = list(native[0].bottom)
    kept = [layer for layer in net.layer if layer.type != "Yolov3DetectionOutput"]
    del net.layer[:]
    net.layer.extend(kept)
    image = next(iter(caffe_inputs.values()))
    reference = run_mxnet(yolo_heads_class()(model.net, image.shape, NCNN_NATIVE), mxnet_inputs)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "heads.prototxt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text_format.MessageToString(net))
        actual = run_runtime(runtime, path, caffemodel, caffe_inputs, [producers[b] for b in heads])
    return compare_outputs([f"prediction {b}" for b in heads], reference, actual, tolerance)
