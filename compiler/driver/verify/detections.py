"""Detections of a model that ends in boxes and scores (PREFIX.decode.json, "model": "box_nms"): the NMS the JSON
describes, applied to the Caffe outputs, against the detections the full MXNet model returns."""
from __future__ import annotations

import numpy as np


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


def verify_decoded(model, decode: dict, prototxt: str, caffemodel: str, mxnet_inputs: dict, caffe_inputs: dict,
                   runtime: str, tolerance: float):
    """The Caffe outputs' detections (the JSON's NMS applied) against the full MXNet model's (ids, scores, boxes),
    image by image, as (class, score, box) sets."""
    from compiler.driver.reference import run_mxnet
    from compiler.driver.verify.runtimes import run_runtime
    from compiler.driver.verify.ssd import DetectionComparison, SSDVerification, compare_detections, gluon_detections

    outputs = decode["outputs"]
    boxes, scores = run_runtime(runtime, prototxt, caffemodel, caffe_inputs, [outputs["boxes"], outputs["scores"]])
    ids, mx_scores, mx_boxes = run_mxnet(model, mxnet_inputs)[:3]
    image_hw = decode["layout"]["input_hw"]
    found = decoded_detections(decode, boxes, scores)
    parts, first = [], None
    for i, caffe in enumerate(found):
        reference = gluon_detections(ids[i], mx_scores[i], mx_boxes[i], image_hw)
        parts.append(compare_detections(reference, caffe, tolerance))
        first = first or (reference, caffe)
    comparison = DetectionComparison(sum(p.reference_count for p in parts), sum(p.caffe_count for p in parts),
                                     sum(p.matched for p in parts), max(p.max_score_diff for p in parts),
                                     max(p.max_box_diff for p in parts), tolerance)
    return SSDVerification([], comparison, first)
