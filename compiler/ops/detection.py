"""SSD-level ops: GluonCV's post-processing as imported from MXNet, and the caffe-ssd layers that replace it."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.ir.fields import int_tuple
from compiler.ir.opdef import Trait, op_def
from compiler.ir.types import DType, TensorType


def _axis(axis: int, rank: int) -> int:
    a = axis + rank if axis < 0 else axis
    if not 0 <= a < rank:
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return a


@op_def(mxnet=("slice_axis",), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class SliceAxis:
    """x[..., begin:end, ...] along one axis (end None = to the end; negatives count from the end)."""
    axis: int
    begin: int
    end: int | None

    def positive_axis(self, rank: int) -> int:
        return _axis(self.axis, rank)

    def bounds(self, size: int) -> tuple[int, int]:
        begin = self.begin + size if self.begin < 0 else self.begin
        end = size if self.end is None else (self.end + size if self.end < 0 else self.end)
        if not 0 <= begin < end <= size:
            raise ValueError(f"slice [{self.begin}, {self.end}) is empty or out of range for size {size}")
        return begin, end

    def infer(self, x: TensorType) -> TensorType:
        axis = _axis(self.axis, x.rank)
        begin, end = self.bounds(x.shape[axis])
        return x.with_shape(x.shape[:axis] + (end - begin,) + x.shape[axis + 1:])

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        axis = _axis(self.axis, x.ndim)
        begin, end = self.bounds(x.shape[axis])
        return np.take(x, range(begin, end), axis=axis)


@op_def(operands=("data", "shape_like"), mxnet=("slice_like",), traits=(Trait.FOLDABLE,), shape_operands=(1,))
@attrs.frozen(kw_only=True)
class SliceLike:
    """data cropped (from the start) to shape_like's size on `axes` (all axes when empty)."""
    axes: tuple[int, ...] = attrs.field(default=(), converter=int_tuple)

    def _axes(self, rank: int) -> list[int]:
        return [_axis(a, rank) for a in self.axes] if self.axes else list(range(rank))

    def infer(self, data: TensorType, like: TensorType) -> TensorType:
        shape = list(data.shape)
        for a in self._axes(data.rank):
            if like.shape[a] > shape[a]:
                raise ValueError(f"cannot crop axis {a} of {data.shape} to {like.shape[a]}")
            shape[a] = like.shape[a]
        return data.with_shape(tuple(shape))

    def evaluate(self, data: np.ndarray, like_shape: tuple[int, ...]) -> np.ndarray:
        index = [slice(None)] * data.ndim
        for a in self._axes(data.ndim):
            index[a] = slice(0, like_shape[a])
        return data[tuple(index)]


@op_def(operands=("data", "anchors"), mxnet=("_contrib_box_decode",))
@attrs.frozen(kw_only=True)
class BoxDecode:
    """GluonCV NormalizedBoxCenterDecoder: centre-form anchors, offsets scaled by std0..3 (docs/mxnet.md#ssd)."""
    std0: float = 1.0
    std1: float = 1.0
    std2: float = 1.0
    std3: float = 1.0
    clip: float = -1.0
    format: str = attrs.field(default="center", validator=attrs.validators.in_(("center", "corner")))

    def infer(self, data: TensorType, anchors: TensorType) -> TensorType:
        if data.rank != 3 or data.shape[2] != 4 or anchors.shape[-2:] != data.shape[-2:]:
            raise ValueError(f"box_decode needs (N, A, 4) data and (1, A, 4) anchors, got {data.shape}, {anchors.shape}")
        return data


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
    in_format: str = "corner"
    out_format: str = "corner"

    def infer(self, x: TensorType) -> TensorType:
        return x


@op_def(operands=("condition", "x", "y"), mxnet=("where",))
@attrs.frozen(kw_only=True)
class Where:
    """condition ? x : y, element-wise."""

    def infer(self, condition: TensorType, x: TensorType, y: TensorType) -> TensorType:
        if not condition.shape == x.shape == y.shape:
            raise ValueError("where needs three operands of one shape")
        return x


@op_def()
@attrs.frozen(kw_only=True)
class CompareScalar:
    """x (op) scalar as 0/1 values: `_greater_scalar` and friends."""
    op: str = attrs.field(validator=attrs.validators.in_(("greater", "greater_equal", "lesser", "lesser_equal",
                                                          "equal", "not_equal")))
    scalar: float

    def infer(self, x: TensorType) -> TensorType:
        return x

    def kept_above(self) -> float | None:
        """t when this comparison is x > t (a mask that keeps what exceeds t), else None."""
        return self.scalar if self.op == "greater" else None


@op_def(mxnet=("zeros_like",), traits=(Trait.FOLDABLE,), shape_operands=(0,))
@attrs.frozen(kw_only=True)
class ZerosLike:
    """Zeros shaped like x."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape, np.float32)


@op_def(mxnet=("ones_like",), traits=(Trait.FOLDABLE,), shape_operands=(0,))
@attrs.frozen(kw_only=True)
class OnesLike:
    """Ones shaped like x."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.ones(shape, np.float32)


@op_def(operands=(), mxnet=("_arange",), ignored=("ctx",), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class Arange:
    """start, start+step, … below stop, each repeated `repeat` times."""
    start: float
    stop: float | None = None
    step: float = 1.0
    repeat: int = 1
    infer_range: bool = False
    dtype: str = "float32"

    def evaluate(self) -> np.ndarray:
        start, stop = (0.0, self.start) if self.stop is None else (self.start, self.stop)
        return np.repeat(np.arange(start, stop, self.step, dtype=np.float32), self.repeat)

    def infer(self) -> TensorType:
        return TensorType((self.evaluate().size,), DType.float32)


@op_def(mxnet=("L2Normalization",))
@attrs.frozen(kw_only=True)
class L2Normalization:
    """x / sqrt(Σx² + eps), summed per pixel over channels (`channel`), per sample (`instance`) or per channel."""
    eps: float = 1e-10
    mode: str = attrs.field(default="instance", validator=attrs.validators.in_(("instance", "channel", "spatial")))

    def infer(self, x: TensorType) -> TensorType:
        return x


@op_def(operands=("data", "scale"))
@attrs.frozen(kw_only=True)
class Normalize:
    """caffe-ssd Normalize: x / sqrt(Σx² + eps) · scale[c] (docs/caffe.md#normalize)."""
    across_spatial: bool = False
    channel_shared: bool = False
    eps: float = 1e-10

    def infer(self, x: TensorType, scale: TensorType) -> TensorType:
        if scale.shape != (1 if self.channel_shared else x.shape[1],):
            raise ValueError(f"scale has shape {scale.shape} for {x.shape[1]} channels")
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
    code_type: str = attrs.field(default="CENTER_SIZE",
                                 validator=attrs.validators.in_(("CORNER", "CENTER_SIZE")))

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
