"""Detection ops: GluonCV's post-processing as imported from MXNet (box_decode, box_nms), and the layers that replace
it (caffe-ssd's PriorBox and DetectionOutput, ncnn's Yolov3DetectionOutput)."""
from __future__ import annotations

import enum

import attrs
import numpy as np

from compiler.ir.fields import choice
from compiler.ir.opdef import op_def
from compiler.ir.types import DType, TensorType


class BoxFormat(enum.StrEnum):
    CENTER = "center"   # (cx, cy, w, h)
    CORNER = "corner"   # (xmin, ymin, xmax, ymax)


class BoxCode(enum.StrEnum):
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


@op_def(operands=("levels*",))
@attrs.frozen(kw_only=True)
class Yolov3DetectionOutput:
    """ncnn's own YOLOv3 decoder and NMS over each level's raw prediction (N, num_box·(5 + C), H, W). Not GluonCV's
    post-processing: one class per box (the best class logit), score sigmoid(obj)·sigmoid(best), a class-agnostic NMS
    over every level, score ≥ confidence_threshold, no top-k and no keep limit (docs/caffe.md#yolov3detectionoutput).
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
