"""ncnn's own YOLOv3 layer (Yolov3DetectionOutput): what it computes, from ncnn's source, so that the interpreter can
stand for it (it is written only under --ncnn-yolo-layer, an approximation of GluonCV's detections)."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.ir.opdef import op_def
from compiler.ir.types import DType, TensorType
from compiler.ops import reference


@op_def(operands=("levels*",))
@attrs.frozen(kw_only=True)
class Yolov3DetectionOutput:
    """ncnn's own YOLOv3 decoder and NMS over each level's raw prediction (N, num_box·(5 + C), H, W). Not GluonCV's
    post-processing: one class per box (the best class logit), score 1 / (1 + e^−obj · (1 + e^−best)), a
    class-agnostic NMS over every level, score ≥ confidence_threshold, no top-k and no keep limit (docs/caffe.md#yolov3detectionoutput).
    Rows [label, score, xmin, ymin, xmax, ymax] normalised; their count is data-dependent."""
    num_classes: int
    num_box: int
    confidence_threshold: float
    nms_threshold: float
    biases: tuple[float, ...] = attrs.field(converter=tuple)        # every anchor (w, h) in input pixels
    mask: tuple[int, ...] = attrs.field(converter=tuple)            # level l uses anchors mask[l·num_box + a]
    anchors_scale: tuple[int, ...] = attrs.field(converter=tuple)   # each level's stride
    mask_group_num: int

    def infer(self, *levels: TensorType) -> TensorType:
        if len(levels) != self.mask_group_num or len(self.anchors_scale) != len(levels):
            raise ValueError(f"{len(levels)} levels for {self.mask_group_num} mask groups")
        for level in levels:
            if level.rank != 4 or level.shape[1] != self.num_box * (5 + self.num_classes):
                raise ValueError(f"level {level.shape} is not (N, {self.num_box}·(5 + {self.num_classes}), H, W)")
        return TensorType((1, 6), DType.float32)

    def evaluate(self, *levels):
        """ncnn's forward (Tencent/ncnn src/layer/yolov3detectionoutput.cpp and its x86 twin, which compute the
        same), in float32, on one image (ncnn has no batch axis). Per level b, anchor a (bias index mask[b·num_box
        + a], input size int(anchors_scale[b]·W) × int(anchors_scale[b]·H)) and cell (i, j) in row-major order:
        the best class is the first largest logit; confidence = 1 / (1 + e^−obj · (1 + e^−best)) — so written in
        ncnn since 2020 (a misplaced parenthesis: it is not sigmoid(obj)·sigmoid(best)) — kept when ≥
        confidence_threshold; centre (j + sigmoid(x)) / W, (i + sigmoid(y)) / H, size e^w · bias_w / input_w,
        e^h · bias_h / input_h, area = w·h. Every kept box of every level, sorted by confidence with ncnn's own
        (unstable) quicksort, goes through one class-agnostic NMS that drops a box whose intersection > nms_threshold
        · union with a kept one. Returns ncnn's (rows, 6) blob [label + 1, confidence, xmin, ymin, xmax, ymax],
        normalised, in that order; (0, 6) when nothing is kept (ncnn then leaves its output blob empty)."""
        f32 = np.float32
        one, half = f32(1), f32(0.5)
        threshold = f32(self.confidence_threshold)
        biases = np.asarray(self.biases, np.float32)
        found = []   # (confidence, xmin, ymin, xmax, ymax, area, class) per kept box, in ncnn's gathering order
        for b, level in enumerate(levels):
            level = np.asarray(level, np.float32)
            if level.shape[0] != 1:
                raise ValueError(f"ncnn's Yolov3DetectionOutput runs on one image, not a batch of {level.shape[0]}")
            h, w = level.shape[2:]
            scale = f32(self.anchors_scale[b])
            net_w, net_h = int(scale * f32(w)), int(scale * f32(h))
            per_box = level[0].reshape(self.num_box, 5 + self.num_classes, h * w)
            cells = np.arange(h * w)
            rows, cols = (cells // w).astype(np.float32), (cells % w).astype(np.float32)
            for a in range(self.num_box):
                bias = int(self.mask[b * self.num_box + a])
                bias_w, bias_h = biases[2 * bias], biases[2 * bias + 1]
                x, y, tw, th, objectness = per_box[a, :5]
                logits = per_box[a, 5:]
                # the first of equal maxima, as ncnn's strict > scan from −FLT_MAX, which a NaN never wins
                logits = np.where(np.isnan(logits), f32(-np.inf), logits)
                best = np.argmax(logits, axis=0)
                best_logit = np.maximum(logits[best, cells], f32(-np.finfo(np.float32).max))
                confidence = one / (one + reference.exp32(-objectness) * (one + reference.exp32(-best_logit)))
                keep = np.flatnonzero(confidence >= threshold)
                centre_x = (cols[keep] + _sigmoid32(x[keep])) / f32(w)
                centre_y = (rows[keep] + _sigmoid32(y[keep])) / f32(h)
                box_w = reference.exp32(tw[keep]) * bias_w / f32(net_w)
                box_h = reference.exp32(th[keep]) * bias_h / f32(net_h)
                found.append(np.stack([confidence[keep], centre_x - box_w * half, centre_y - box_h * half,
                                       centre_x + box_w * half, centre_y + box_h * half, box_w * box_h,
                                       best[keep].astype(np.float32)], -1))
        boxes = np.concatenate(found) if found else np.zeros((0, 7), np.float32)
        boxes = boxes[reference.quicksort_descending(boxes[:, 0])]
        suppression = _ncnn_suppression(boxes[:, 1:5], boxes[:, 5], f32(self.nms_threshold))
        kept = reference.greedy_nms(len(boxes), suppression)
        out = boxes[kept]
        return np.concatenate([out[:, 6:7] + one, out[:, 0:5]], 1).astype(np.float32)


def _sigmoid32(x: np.ndarray) -> np.ndarray:
    one = np.float32(1)
    return one / (one + reference.exp32(-x))


def _ncnn_suppression(boxes: np.ndarray, areas: np.ndarray, threshold: np.float32):
    """ncnn's nms_sorted_bboxes: intersection 0 for disjoint boxes, else the overlap's width·height; a box goes when
    intersection > threshold · (area + area − intersection), the areas being the decoded w·h."""

    def suppresses(ref: int, later: np.ndarray) -> np.ndarray:
        a, b = boxes[ref], boxes[later]
        disjoint = (b[:, 0] > a[2]) | (b[:, 2] < a[0]) | (b[:, 1] > a[3]) | (b[:, 3] < a[1])
        width = np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0])
        height = np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1])
        intersection = np.where(disjoint, np.float32(0), width * height)
        return intersection > threshold * (areas[later] + areas[ref] - intersection)

    return suppresses
