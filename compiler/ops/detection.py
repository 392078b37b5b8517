"""Detection ops: GluonCV's post-processing as imported from MXNet (box_decode, box_nms), and the caffe-ssd layers
that replace it (PriorBox, DetectionOutput). ncnn's own YOLOv3 layer is in ncnn_yolo.py."""
from __future__ import annotations


import attrs
import numpy as np

from compiler.compat import StrEnum
from compiler.ir.fields import choice
from compiler.ir.opdef import op_def
from compiler.ir.types import DType, TensorType
from compiler.ops import reference


class BoxFormat(StrEnum):
    CENTER = "center"   # (cx, cy, w, h)
    CORNER = "corner"   # (xmin, ymin, xmax, ymax)


class BoxCode(StrEnum):
    """How caffe-ssd's DetectionOutput decodes a loc row against its prior (its code_type)."""
    CORNER = "CORNER"             # the prior's corners + variance · loc
    CENTER_SIZE = "CENTER_SIZE"   # the prior's centre moved and its size scaled (the only code ncnn's layer has)


@op_def(operands=("data", "anchors"), mxnet=("_contrib_box_decode",))
@attrs.frozen(kw_only=True)
class BoxDecode:
    """GluonCV NormalizedBoxCenterDecoder: centre-form anchors, offsets scaled by std0..3 (docs/mxnet.md#ssd)."""
    std0: float = 1.0
    std1: float = 1.0
    std2: float = 1.0
    std3: float = 1.0
    clip: float = -1.0
    format: BoxFormat = choice(BoxFormat, default="center")

    def infer(self, data: TensorType, anchors: TensorType) -> TensorType:
        if data.rank != 3 or data.shape[2] != 4 or anchors.shape[-2:] != data.shape[-2:]:
            raise ValueError(f"box_decode needs (N, A, 4) data and (1, A, 4) anchors, got {data.shape}, {anchors.shape}")
        return data

    def evaluate(self, data, anchors):
        data, anchors = np.asarray(data, np.float64), np.asarray(anchors, np.float64)
        if self.format is BoxFormat.CORNER:
            sizes = anchors[..., 2:] - anchors[..., :2]
            anchors = np.concatenate([anchors[..., :2] + sizes / 2, sizes], -1)
        centre = data[..., :2] * (self.std0, self.std1) * anchors[..., 2:] + anchors[..., :2]
        log_size = data[..., 2:] * (self.std2, self.std3)
        if self.clip > 0:
            log_size = np.minimum(log_size, self.clip)
        half = np.exp(log_size) * anchors[..., 2:] / 2
        return np.concatenate([centre - half, centre + half], -1).astype(np.float32)


@op_def(mxnet=("_contrib_box_nms", "_contrib_box_non_maximum_suppression"))
@attrs.frozen(kw_only=True)
class BoxNMS:
    """GluonCV's box_nms over rows [id, score, box...]: topk over all rows, suppression within one id."""
    overlap_thresh: float = 0.5
    valid_thresh: float = 0.0
    topk: int = -1
    coord_start: int = 2
    score_index: int = 1
    id_index: int = -1
    background_id: int = -1
    force_suppress: bool = False
    in_format: BoxFormat = choice(BoxFormat, default="corner")
    out_format: BoxFormat = choice(BoxFormat, default="corner")

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, data):
        """MXNet 1.9.1's CPU forward (src/operator/contrib/bounding_box-inl.h, BoxNMSForward), in float32. Per batch
        (every axis before the last two): the rows with score > valid_thresh (strictly; and, with an id column, id
        ≠ background_id) sorted by score descending, ties in row order (a stable sort); the first topk of them;
        greedy suppression of a later row whose IoU with a kept one is > overlap_thresh (same class only, ids
        compared truncated to int, unless force_suppress or id_index < 0). The kept rows, whole and in that order,
        fill the batch's first rows and −1 the rest; then the box columns change format when in_format ≠
        out_format, except in a row whose first box value is < 0 (MXNet's converters skip those, so a −1 row stays
        −1). topk = 0 returns the input unchanged (no format change either)."""
        x = np.asarray(data, np.float32)
        if x.ndim < 2:
            raise ValueError(f"box_nms takes (…, rows, width) data, got {x.shape}")
        num, width = x.shape[-2:]
        topk = num if self.topk < 0 else min(num, self.topk)
        if topk < 1:
            return x.copy()
        start = self.coord_start
        threshold = np.float32(self.overlap_thresh)
        out = np.full((int(np.prod(x.shape[:-2], dtype=np.int64)), num, width), -1, np.float32)
        for batch, rows in enumerate(x.reshape(out.shape)):
            scores = rows[:, self.score_index]
            valid = scores > np.float32(self.valid_thresh)
            if self.id_index >= 0:
                valid &= rows[:, self.id_index] != np.float32(self.background_id)
            candidates = np.flatnonzero(valid)
            order = candidates[reference.descending(scores[candidates])][:topk]
            boxes = rows[order, start:start + 4]
            ids = _as_c_int(rows[order, self.id_index]) if self.id_index >= 0 and not self.force_suppress else None
            kept = reference.greedy_nms(len(order), _mxnet_suppression(boxes, ids, self.in_format, threshold))
            out[batch, :len(kept)] = rows[order[kept]]
        if self.in_format is not self.out_format:
            coords = out[..., start:start + 4]
            convert = ~(coords[..., 0] < 0)   # a NaN is converted too, as in MXNet
            if self.out_format is BoxFormat.CENTER:
                coords[convert] = _corner_to_centre(coords[convert])
            else:
                coords[convert] = _centre_to_corner(coords[convert])
        return out.reshape(x.shape)


def _as_c_int(values: np.ndarray) -> np.ndarray:
    """static_cast<int> of float32 values on x86: truncation, and INT_MIN for NaN or anything out of range."""
    values = np.asarray(values, np.float64)
    in_range = np.isfinite(values) & (values > -2.0 ** 31 - 1) & (values < 2.0 ** 31)
    return np.where(in_range, np.trunc(np.where(in_range, values, 0)), -2.0 ** 31).astype(np.int64)


def _mxnet_box_area(boxes: np.ndarray, fmt: BoxFormat) -> np.ndarray:
    """MXNet's BoxArea: width·height, 0 when either is negative (corner: from the corners; center: columns 2, 3)."""
    if fmt is BoxFormat.CORNER:
        width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    else:
        width, height = boxes[:, 2], boxes[:, 3]
    return np.where((width < 0) | (height < 0), np.float32(0), width * height)


def _mxnet_overlap_1d(ref: np.ndarray, others: np.ndarray, axis: int, fmt: BoxFormat) -> np.ndarray:
    """MXNet's Intersect along one axis (x: axis 0, y: axis 1), clamped at 0."""
    if fmt is BoxFormat.CORNER:
        low = np.maximum(others[:, axis], ref[axis])
        high = np.minimum(others[:, axis + 2], ref[axis + 2])
    else:
        half, halves = ref[axis + 2] / np.float32(2), others[:, axis + 2] / np.float32(2)
        low = np.maximum(others[:, axis] - halves, ref[axis] - half)
        high = np.minimum(others[:, axis] + halves, ref[axis] + half)
    length = high - low
    return np.where(length > 0, length, np.float32(0))


def _mxnet_suppression(boxes: np.ndarray, ids, fmt: BoxFormat, threshold: np.float32):
    """box_nms's rule (nms_impl): IoU = intersection / (area_ref + area_other − intersection) in float32, > the
    threshold; only within one class when `ids` are given."""
    areas = _mxnet_box_area(boxes, fmt)

    def suppresses(ref: int, later: np.ndarray) -> np.ndarray:
        others = boxes[later]
        intersection = _mxnet_overlap_1d(boxes[ref], others, 0, fmt) * _mxnet_overlap_1d(boxes[ref], others, 1, fmt)
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = intersection / (areas[ref] + areas[later] - intersection)
        hit = iou > threshold
        return hit if ids is None else hit & (ids[later] == ids[ref])

    return suppresses


def _corner_to_centre(c: np.ndarray) -> np.ndarray:
    two = np.float32(2)
    return np.stack([(c[:, 0] + c[:, 2]) / two, (c[:, 1] + c[:, 3]) / two, c[:, 2] - c[:, 0], c[:, 3] - c[:, 1]], -1)


def _centre_to_corner(c: np.ndarray) -> np.ndarray:
    half_w, half_h = c[:, 2] / np.float32(2), c[:, 3] / np.float32(2)
    return np.stack([c[:, 0] - half_w, c[:, 1] - half_h, c[:, 0] + half_w, c[:, 1] + half_h], -1)


def normalised_corners(anchors: np.ndarray, image_hw) -> np.ndarray:
    """(…, 4) centre-form pixel boxes (cx, cy, w, h) → corners (xmin, ymin, xmax, ymax) divided by the image size."""
    img_h, img_w = image_hw
    cx, cy, w, h = anchors[..., 0], anchors[..., 1], anchors[..., 2], anchors[..., 3]
    return np.stack([(cx - w / 2) / img_w, (cy - h / 2) / img_h, (cx + w / 2) / img_w, (cy + h / 2) / img_h], -1)


@op_def(operands=("feature", "image"), shape_operands=(0, 1))
@attrs.frozen(kw_only=True)
class PriorBox:
    """caffe-ssd PriorBox with every field explicit (docs/caffe.md#priorbox); flip is always false here."""
    min_size: tuple[float, ...] = attrs.field(converter=tuple)
    max_size: tuple[float, ...] = attrs.field(default=(), converter=tuple)
    aspect_ratio: tuple[float, ...] = attrs.field(default=(), converter=tuple)
    clip: bool = False
    variance: tuple[float, ...] = attrs.field(default=(0.1, 0.1, 0.2, 0.2), converter=tuple)
    step_h: float = 0.0
    step_w: float = 0.0
    offset: float = 0.5
    img_h: int = 0               # 0: normalise by the image operand's size
    img_w: int = 0

    @property
    def ratios(self) -> list[float]:
        ratios = [1.0]
        for r in self.aspect_ratio:
            if all(abs(r - q) >= 1e-6 for q in ratios):
                ratios.append(r)
        return ratios

    @property
    def num_priors(self) -> int:
        return len(self.ratios) * len(self.min_size) + len(self.max_size)

    def infer(self, feature: TensorType, image: TensorType) -> TensorType:
        if self.max_size and len(self.max_size) != len(self.min_size):
            raise ValueError("max_size needs one value per min_size")
        return TensorType((1, 2, feature.shape[2] * feature.shape[3] * self.num_priors * 4), DType.float32)

    def evaluate(self, feature_shape, image_shape):
        boxes = self.boxes(tuple(feature_shape[2:]), tuple(image_shape[2:])).reshape(-1)
        variances = np.tile(np.asarray(self.variance, np.float64), boxes.size // 4)
        return np.stack([boxes, variances])[None].astype(np.float32)

    def boxes(self, layer_hw: tuple[int, int], image_hw: tuple[int, int], sizes=None) -> np.ndarray:
        """Corner boxes normalised by the image, in PriorBox order; `sizes` overrides (min, max) lists."""
        mins, maxs = sizes if sizes is not None else (self.min_size, self.max_size)
        (h, w), (img_h, img_w) = layer_hw, ((self.img_h, self.img_w) if self.img_h else image_hw)
        out = []
        for row in range(h):
            for col in range(w):
                cx, cy = (col + self.offset) * self.step_w, (row + self.offset) * self.step_h
                for i, lo in enumerate(mins):
                    sides = [(lo, lo)]
                    if maxs:
                        side = np.sqrt(lo * maxs[i])
                        sides.append((side, side))
                    sides += [(lo * np.sqrt(r), lo / np.sqrt(r)) for r in self.ratios[1:]]
                    out += [((cx - bw / 2) / img_w, (cy - bh / 2) / img_h, (cx + bw / 2) / img_w,
                             (cy + bh / 2) / img_h) for bw, bh in sides]
        boxes = np.asarray(out, np.float64)
        return np.clip(boxes, 0, 1) if self.clip else boxes


@op_def(operands=("loc", "conf", "priors"))
@attrs.frozen(kw_only=True)
class DetectionOutput:
    """caffe-ssd DetectionOutput: decode each loc row against its prior (code_type), then per-class NMS; every field
    explicit (docs/caffe.md#detectionoutput). CORNER adds variance·loc to the prior's corners; CENTER_SIZE moves
    and scales the prior's centre and size (the only code ncnn's layer has)."""
    num_classes: int
    nms_threshold: float
    top_k: int
    keep_top_k: int
    confidence_threshold: float
    background_label_id: int = 0
    share_location: bool = True
    code_type: BoxCode = choice(BoxCode, default="CENTER_SIZE")

    def infer(self, loc: TensorType, conf: TensorType, priors: TensorType) -> TensorType:
        count = priors.shape[2] // 4
        if loc.shape[1] != count * 4 or conf.shape[1] != count * self.num_classes:
            raise ValueError(f"loc {loc.shape} / conf {conf.shape} do not match {count} priors")
        return TensorType((1, 1, self.keep_top_k, 7), DType.float32)

    def evaluate(self, loc, conf, priors):
        """caffe-ssd's CPU forward (weiliu89/caffe branch ssd: src/caffe/layers/detection_output_layer.cpp,
        src/caffe/util/bbox_util.cpp) with variance_encoded_in_target false and eta 1, in float32. Per image and
        class (background_label_id skipped): the priors with score > confidence_threshold (strictly) sorted by
        score descending, ties by prior (a stable sort), the first top_k, then greedy NMS dropping a box whose
        Jaccard overlap with a kept one is not ≤ nms_threshold. When an image keeps more than keep_top_k boxes
        (keep_top_k ≥ 0), only its keep_top_k best over all classes stay (caffe-ssd's std::sort is not stable:
        equal scores at the cut may be chosen otherwise; this keeps the earlier class, then the earlier box).
        Returns caffe-ssd's blob (1, 1, rows, 7) of [image, label, score, xmin, ymin, xmax, ymax], image by image,
        labels ascending, each label's boxes by score: its row count depends on the data. With no detection in
        the whole batch it is one row [i, −1, −1, −1, −1, −1, −1] per image i. (OpenCV's layer returns the same
        detections in another form: (1, 1, keep_top_k·N, 7), each image's rows sorted by score over its labels,
        then zero rows; all zeros when nothing is detected.)"""
        if self.share_location and self.background_label_id == -1:
            # DecodeBBoxesAll skips the loc "label" equal to background_label_id, and shared locations are label −1
            raise ValueError("caffe-ssd's DetectionOutput aborts with share_location and background_label_id −1 "
                             "(\"Could not find location predictions for label -1\"); OpenCV's refuses it too")
        loc, conf, priors = (np.asarray(a, np.float32) for a in (loc, conf, priors))
        num, count = loc.shape[0], priors.shape[2] // 4
        loc_classes = 1 if self.share_location else self.num_classes
        flat_priors = priors.reshape(-1)   # the boxes, then their variances
        prior_boxes = flat_priors[:4 * count].reshape(count, 4)
        variances = flat_priors[4 * count:8 * count].reshape(count, 4)
        boxes = _caffe_decode(loc.reshape(num, count, loc_classes, 4), prior_boxes, variances, self.code_type)
        sizes = _caffe_bbox_size(boxes)
        scores = conf.reshape(num, count, self.num_classes)
        threshold, nms_threshold = np.float32(self.confidence_threshold), np.float32(self.nms_threshold)
        rows = []
        for image in range(num):
            kept = {}   # label -> prior indices, best first
            for label in range(self.num_classes):
                if label == self.background_label_id:
                    continue
                column = 0 if self.share_location else label
                label_scores = scores[image, :, label]
                candidates = np.flatnonzero(label_scores > threshold)
                order = candidates[reference.descending(label_scores[candidates])]
                if self.top_k > -1:
                    order = order[:self.top_k]
                label_boxes, label_sizes = boxes[image, order, column], sizes[image, order, column]
                keep = reference.greedy_nms(len(order), _caffe_suppression(label_boxes, label_sizes, nms_threshold))
                kept[label] = order[keep]
            if self.keep_top_k > -1 and sum(len(v) for v in kept.values()) > self.keep_top_k:
                pairs = [(label, index) for label, indices in kept.items() for index in indices]
                best = reference.descending([scores[image, index, label] for label, index in pairs])[:self.keep_top_k]
                chosen = [pairs[i] for i in best]
                kept = {label: [i for l, i in chosen if l == label] for label in sorted({l for l, _ in chosen})}
            for label, indices in kept.items():
                column = 0 if self.share_location else label
                for index in indices:
                    rows.append([image, label, scores[image, index, label], *boxes[image, index, column]])
        if not rows:
            rows = [[image] + [-1] * 6 for image in range(num)]
        return np.asarray(rows, np.float32).reshape(1, 1, len(rows), 7)


def _caffe_decode(loc: np.ndarray, priors: np.ndarray, variances: np.ndarray, code: BoxCode) -> np.ndarray:
    """caffe-ssd's DecodeBBox (variance not encoded in the target) of loc (N, P, L, 4) against priors (P, 4), in
    float32 in its order of operations; exp rounded once to float32."""
    priors, variances = priors[None, :, None], variances[None, :, None]
    scaled = variances * loc
    if code is BoxCode.CORNER:
        return priors + scaled
    width, height = priors[..., 2] - priors[..., 0], priors[..., 3] - priors[..., 1]
    if not (np.all(width > 0) and np.all(height > 0)):
        raise ValueError("caffe-ssd's CENTER_SIZE decoding aborts on a prior whose width or height is not > 0")
    two = np.float32(2)
    centre_x = scaled[..., 0] * width + (priors[..., 0] + priors[..., 2]) / two
    centre_y = scaled[..., 1] * height + (priors[..., 1] + priors[..., 3]) / two
    half_w, half_h = reference.exp32(scaled[..., 2]) * width / two, reference.exp32(scaled[..., 3]) * height / two
    return np.stack([centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h], -1)


def _caffe_bbox_size(boxes: np.ndarray) -> np.ndarray:
    """caffe-ssd's BBoxSize of normalised boxes: width·height, 0 when xmax < xmin or ymax < ymin."""
    width, height = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
    return np.where((width < 0) | (height < 0), np.float32(0), width * height)


def _caffe_suppression(boxes: np.ndarray, sizes: np.ndarray, threshold: np.float32):
    """ApplyNMSFast's rule: a box goes unless JaccardOverlap ≤ threshold (so a NaN overlap removes it too);
    JaccardOverlap is 0 for disjoint boxes or an empty intersection, else intersection / (size + size −
    intersection), in float32 with the sizes computed at decoding."""

    def suppresses(ref: int, later: np.ndarray) -> np.ndarray:
        a, b = boxes[ref], boxes[later]
        disjoint = (b[:, 0] > a[2]) | (b[:, 2] < a[0]) | (b[:, 1] > a[3]) | (b[:, 3] < a[1])
        width = np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0])
        height = np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1])
        meets = ~disjoint & (width > 0) & (height > 0)
        intersection = width * height
        with np.errstate(divide="ignore", invalid="ignore"):
            overlap = np.where(meets, intersection / (sizes[later] + sizes[ref] - intersection), np.float32(0))
        return ~(overlap <= threshold)

    return suppresses
