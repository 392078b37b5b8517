"""Detections of a converted detector against GluonCV's own: a model that ends in DetectionOutput (rows [image, label,
score, box]), or one that ends in boxes and scores for the application's NMS (PREFIX.decode.json, "model":
"box_nms"), compared with the detections the full MXNet model returns, as (class, score, box) sets."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.driver.verify.checks import DetectionComparison, RuntimeVerdict, compare_outputs
from compiler.ops.detection import normalised_corners


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
    return _combined(parts, tolerance), tables[0]


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x1, y1 = np.maximum(box[0], others[:, 0]), np.maximum(box[1], others[:, 1])
    x2, y2 = np.minimum(box[2], others[:, 2]), np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0)


def per_class_nms(boxes: np.ndarray, scores: np.ndarray, rule: dict) -> np.ndarray:
    """GluonCV's box_nms on one image's (P, 4) boxes and (P, C) scores as PREFIX.decode.json states it: rows with a
    score above the threshold, the top-k of them over all classes, then suppression within each class (IoU above
    the threshold), the first `keep`. Rows [class, score, x1, y1, x2, y2], best first."""
    boxes, scores = np.asarray(boxes, np.float64), np.asarray(scores, np.float64)
    candidates, classes = np.nonzero(scores > rule["score_threshold"])
    order = np.argsort(-scores[candidates, classes], kind="stable")
    if rule["topk_before"] > 0:
        order = order[:rule["topk_before"]]
    kept: list[tuple] = []
    kept_boxes: dict[int, list] = {}
    for i in order:
        cls, box = int(classes[i]), boxes[candidates[i]]
        same = kept_boxes.setdefault(cls, [])
        if same and _iou(box, np.array(same)).max() > rule["iou_threshold"]:
            continue
        same.append(box)
        kept.append((cls, float(scores[candidates[i], cls]), *box))
    if rule["keep"] > 0:
        kept = kept[:rule["keep"]]
    return np.array(kept, np.float64).reshape(-1, 6)


def decoded_detections(decode: dict, boxes: np.ndarray, scores: np.ndarray) -> list[np.ndarray]:
    """Per image: rows [class, score, box normalised by the input size] from the outputs of a "box_nms" model."""
    h, w = decode["layout"]["input_hw"]
    found = []
    for image_boxes, image_scores in zip(boxes, scores):
        rows = per_class_nms(image_boxes.reshape(-1, 4), image_scores.reshape(image_boxes.reshape(-1, 4).shape[0], -1),
                             decode["nms"])
        rows[:, 2:] /= np.array([w, h, w, h])
        found.append(rows)
    return found


def verify_detection_output(run) -> RuntimeVerdict:
    """A model that ends in DetectionOutput: its detections against the MXNet model's (tolerance, absolute in score
    and normalised box units); where the pass that made the ending recorded MXNet references for its inputs (an SSD
    with box_decode: fuse_ssd_head), the priors against the net's anchors (1e-6), and loc and softmaxed conf
    against MXNet (tolerance, relative)."""
    from compiler.driver.reference import mxnet_internals, run_mxnet

    compiled, ending = run.compiled, run.compiled.detections
    detection = ending.output.producer
    layers = [compiled.layer_of(ending.output)] + [compiled.layer_of(v) for v in detection.operands]
    det, loc, conf, priors = run.run_caffe(layers)
    image_hw = next(iter(run.caffe_inputs.values())).shape[2:]
    references = ending.references
    tensors = []
    if "anchors" in references:
        anchors, mx_loc, mx_conf = mxnet_internals(run.imported, run.mxnet_inputs,
                                                   [references["anchors"], references["loc"], references["conf"]])
        corners = normalised_corners(anchors.reshape(-1, 4).astype(np.float64), image_hw)
        # Priors are compared in absolute terms: normalised coordinates are their own scale. Caffe's blob is
        # (1, 2, 4·P) whatever the batch; a runtime that computes each sample apart (ncnn) returns one per sample.
        prior_check, = compare_outputs(["priors vs anchors"], [corners.reshape(-1)], [priors[0].reshape(2, -1)[0]], 1e-6)
        tensors = [attrs.evolve(prior_check, max_abs_ref=1.0)] + compare_outputs(
            ["loc", "conf (softmax)"], [mx_loc, mx_conf.reshape(mx_conf.shape[0], -1)], [loc, conf], run.tolerance,
            run.min_cosine)
    detections, rows = compare_batch(run_mxnet(run.reference, run.mxnet_inputs), det, image_hw, run.tolerance)
    return RuntimeVerdict(run.runtime, tuple(tensors), detections, rows=rows)


def verify_decoded(run) -> RuntimeVerdict:
    """The Caffe outputs' detections (the JSON's NMS applied) against the full MXNet model's (ids, scores, boxes),
    image by image, as (class, score, box) sets; and, where the pass recorded which MXNet outputs they equal, the
    boxes and scores themselves (relative tolerance). On a float16 runtime the tensors decide and the detections are
    a note: a score or an overlap within float16 rounding of a threshold can flip one detection, and the board's
    CPU, not the NPU, runs that NMS."""
    from compiler.driver.reference import mxnet_internals, run_mxnet

    decode, ending = run.compiled.decode, run.compiled.boxes
    outputs = decode["outputs"]
    boxes, scores = run.run_caffe([outputs["boxes"], outputs["scores"]])
    tensors = []
    if ending is not None:
        references = ending.assemble(mxnet_internals(run.imported, run.mxnet_inputs, ending.references))
        tensors = compare_outputs(["boxes", "scores"], references, [boxes, scores], run.tolerance, run.min_cosine)
    ids, mx_scores, mx_boxes = run_mxnet(run.reference, run.mxnet_inputs)[:3]
    image_hw = decode["layout"]["input_hw"]
    found = decoded_detections(decode, boxes, scores)
    parts, first = [], None
    for i, caffe in enumerate(found):
        reference = gluon_detections(ids[i], mx_scores[i], mx_boxes[i], image_hw)
        parts.append(compare_detections(reference, caffe, run.tolerance))
        first = first or (reference, caffe)
    detections = _combined(parts, run.tolerance)
    if run.min_cosine is not None and tensors:
        return RuntimeVerdict(run.runtime, tuple(tensors), notes=(f"{detections} (float16: not decisive)",),
                              rows=first)
    return RuntimeVerdict(run.runtime, tuple(tensors), detections, rows=first)


def _combined(parts, tolerance: float) -> DetectionComparison:
    """Per-image comparisons as one: the counts add up, the differences are the worst of any image."""
    return DetectionComparison(sum(p.reference_count for p in parts), sum(p.caffe_count for p in parts),
                               sum(p.matched for p in parts), max(p.max_score_diff for p in parts),
                               max(p.max_box_diff for p in parts), tolerance)
