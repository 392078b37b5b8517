"""A detector's per-class box_nms over rows [class, score, box] built from decoded boxes and class scores
(GluonCV's exported YOLOv3 and its SSDs with the minimal-opset box decoder) → DetectionOutput as NMS only, or, on a
target without it, the boxes and scores as outputs with the NMS described for the application."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.ir.graph import Op, Value
from compiler.ir.opdef import Trait
from compiler.ops import (BoxDecode, BoxNMS, BroadcastAdd, BroadcastMul, BroadcastSub, CompareScalar, Concat, Copy,
                          DetectionOutput, ExpandDims, Flatten, FullyConnected, Log, Pooling, Power, Reshape, SliceAxis,
                          Split, Squeeze, Tile, Transpose, Where)
from compiler.ops.tensor import BroadcastTo
from passes.broadcasting import constant_blob
from passes.manager import PassContext, PassResult, rewrites

# Ops through which a row's box, score and class columns are found: data movement, and the class decoder's
# masking Where(score > t, kept, fill) (seen as `kept`; the threshold joins the NMS's own).
_MOVES = (Concat, Reshape, Transpose, SliceAxis, Split, Tile, BroadcastTo, ExpandDims, Squeeze, Flatten, Copy)
_REPLICATIONS = (Tile, BroadcastTo, Copy, Reshape, ExpandDims, Squeeze)
_BASES = (2.0 ** 36, 2.0 ** 44)   # two numberings of the tracked elements; constants are far below either


class NotFused(Exception):
    """This box_nms's rows are not boxes and scores moved into place: it stays (the legality check names it)."""


@attrs.frozen
class Level:
    """Boxes (…, 4) and class scores (…, K) with the same leading shape: P priors, each a box and K scores;
    `offset` = GluonCV's class id − the score's position on the last axis (−1 when position 0 is a background)."""
    boxes: Value
    scores: Value
    offset: int

    @property
    def priors(self) -> int:
        """Boxes per image."""
        return self.boxes.type.size // (4 * self.boxes.type.shape[0])

    @property
    def classes(self) -> int:
        return self.scores.type.shape[-1] + self.offset


@attrs.frozen
class Match:
    nms: Op
    levels: tuple[Level, ...]
    threshold: float         # the NMS's valid_thresh and every mask threshold: scores above it count
    keep: int                # GluonCV's post_nms (the slice after box_nms), or −1
    outputs: tuple[Value, ...]   # the graph outputs the detections replace


def _through(value: Value, through: tuple, thresholds: list) -> Value:
    """The value `value` was moved from, through `through` ops and masking Wheres (whose thresholds are kept)."""
    while value.producer is not None:
        op = value.producer
        if op.isa(Where):
            threshold = _mask_threshold(op)
            if threshold is None:
                break
            thresholds.append(threshold)
            value = op.operands[1]
            continue
        if not op.isa(*through) or op.isa(Concat) or (op.isa(SliceAxis, Split) and through is _REPLICATIONS):
            break
        value = op.operands[0]
    return value


def _mask_threshold(where: Op) -> float | None:
    """t of a class decoder's Where(score > t, kept, fill) whose fill is a constant (−1 for ids, 0 for scores):
    the rows it fills are invalid in box_nms, as they are under a confidence threshold t."""
    condition, _, fill = where.operands
    compare = condition.producer
    if compare is None or not compare.isa(CompareScalar) or compare.attrs.kept_above() is None:
        return None
    if fill.const is None or not np.all(np.isin(fill.const, (-1.0, 0.0))):
        return None
    return compare.attrs.kept_above()


def _pieces(rows: Value) -> list[Op]:
    """The Concats along the last axis that assemble [class (1), score (1), box (4)] columns, found from the rows
    through data movement."""
    found, stack, seen = [], [rows], set()
    while stack:
        value = stack.pop()
        op = value.producer
        if op is None or id(op) in seen or not op.isa(*_MOVES):
            continue
        seen.add(id(op))
        if op.isa(Concat) and op.attrs.positive_axis(value.type.rank) == value.type.rank - 1 and \
                [v.type.shape[-1] for v in op.operands] == [1, 1, 4]:
            found.append(op)
            continue
        stack.extend(op.operands)
    return found


def _evaluate(value: Value, leaves: dict, cache: dict) -> np.ndarray:
    """The value computed in float64 from the tracked leaves (their element numbers) and constants, through the ops
    between them; a masking Where gives its kept branch. Anything else on the way → NotFused."""
    key = id(value)
    if key in cache:
        return cache[key]
    if key in leaves:
        return leaves[key]
    if value.const is not None:
        return np.asarray(value.const, np.float64)
    op = value.producer
    if op is None:
        raise NotFused(f"the rows read the graph input '{value.name}' other than through the boxes and scores")
    if op.isa(Where):
        if _mask_threshold(op) is None:
            raise NotFused(f"'{op.name}' selects between data by a condition other than score > t")
        result = np.broadcast_to(_evaluate(op.operands[1], leaves, cache), value.type.shape)
    elif op.has(Trait.FOLDABLE):
        shape_only = op.definition.shape_operands
        arguments = [v.type.shape if i in shape_only else _evaluate(v, leaves, cache) for i, v in enumerate(op.operands)]
        with np.errstate(all="ignore"):
            result = op.attrs.evaluate(*arguments)
        result = result[value.index] if len(op.results) > 1 else result
    else:
        raise NotFused(f"'{op.name}' ({op.kind}) computes on the way from the boxes and scores to the rows")
    cache[key] = np.asarray(result, np.float64)
    return cache[key]


def _decoded(numbers: np.ndarray, base: float, sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(leaf number, element) of tracked values numbered from `base` (leaf k's elements from (k + 1)·base);
    (−1, −1) where the value is not one."""
    leaf = np.floor(numbers / base) - 1
    element = numbers - (leaf + 1) * base
    known = (numbers == np.floor(numbers)) & (leaf >= 0) & (leaf < len(sizes))
    leaf = np.where(known, leaf, -1).astype(np.int64)
    element = np.where(known, element, -1).astype(np.int64)
    known &= element < np.array(sizes + [0])[leaf]
    return np.where(known, leaf, -1), np.where(known, element, -1)


def match_box_nms(graph, nms: Op) -> Match:
    a = nms.attrs
    rows = nms.operands[0]
    if a.force_suppress or (a.id_index, a.score_index, a.coord_start) != (0, 1, 2) or a.in_format != "corner" \
            or rows.type.rank != 3 or rows.type.shape[2] != 6:
        raise NotFused("box_nms must suppress per class over rows [class, score, x1, y1, x2, y2]")
    pieces = _pieces(rows)
    if not pieces:
        raise NotFused("the rows are not assembled from [class, score, box] columns")
    thresholds = [a.valid_thresh]
    boxes, scores = [], []
    for piece in pieces:
        box = _through(piece.operands[2], _REPLICATIONS, thresholds)
        score = _through(piece.operands[1], _MOVES, thresholds)
        _through(piece.operands[0], _MOVES, thresholds)
        if box.producer is not None and box.producer.isa(BoxDecode):
            raise NotFused("the boxes come from box_decode: fuse_ssd_head makes PriorBoxes for them")
        if box.type.shape[-1] != 4 or box.const is not None or score.const is not None:
            raise NotFused(f"'{piece.name}' does not move one box tensor (…, 4) and one score tensor into its rows")
        boxes += [box] if all(box is not b for b in boxes) else []
        scores += [score] if all(score is not s for s in scores) else []
    tracked = boxes + scores
    sizes = [v.type.size for v in tracked]
    found = []
    for base in _BASES:
        leaves = {id(v): (k + 1) * base + np.arange(v.type.size, dtype=np.float64).reshape(v.type.shape)
                  for k, v in enumerate(tracked)}
        found.append(np.broadcast_to(_evaluate(rows, leaves, {}), rows.type.shape).reshape(-1, 6))
    first, second = found
    classes = first[:, 0]
    if not np.array_equal(classes, second[:, 0]) or np.any(classes != np.round(classes)) or np.any(classes < 0):
        raise NotFused("the class column is not a constant class index")
    (score_leaf, score_element), (score_leaf2, score_element2) = (_decoded(f[:, 1], b, sizes)
                                                                  for f, b in zip(found, _BASES))
    if np.any(score_leaf < len(boxes)) or np.any(score_leaf != score_leaf2) or np.any(score_element != score_element2):
        raise NotFused("the score column is not the class scores moved into place")
    box_leaf, box_element = _decoded(first[:, 2:6], _BASES[0], sizes)
    box_leaf2, box_element2 = _decoded(second[:, 2:6], _BASES[1], sizes)
    if np.any(box_leaf != box_leaf2) or np.any(box_element != box_element2) or np.any(box_leaf < 0) \
            or np.any(box_leaf >= len(boxes)) or np.any(box_leaf != box_leaf[:, :1]) \
            or np.any(box_element != box_element[:, :1] + np.arange(4)) or np.any(box_element[:, 0] % 4):
        raise NotFused("the box columns are not whole boxes (x1, y1, x2, y2) moved into place")
    levels = []
    for b, box in enumerate(boxes):
        mine = box_leaf[:, 0] == b
        score_leaves = set(score_leaf[mine].tolist())
        if len(score_leaves) != 1:
            raise NotFused(f"the rows of boxes '{box.name}' take their scores from several tensors")
        score = tracked[score_leaves.pop()]
        width = score.type.shape[-1]
        prior = box_element[mine, 0] // 4
        if score.type.size // width != box.type.size // 4 or np.any(score_element[mine] // width != prior):
            raise NotFused(f"the scores of boxes '{box.name}' are not one row of classes per box")
        offsets = set((classes[mine] - score_element[mine] % width).astype(int).tolist())
        if len(offsets) != 1 or offsets - {0, -1}:
            raise NotFused("the class ids are not the score positions (or one less, after a background)")
        offset = offsets.pop()
        pairs = prior * width + score_element[mine] % width
        if len(np.unique(pairs)) != pairs.size or pairs.size != (box.type.size // 4) * (width + offset):
            raise NotFused(f"the rows of boxes '{box.name}' do not hold every (box, class) pair once")
        images = box.type.shape[0]
        row_image = np.nonzero(mine)[0] // (len(box_leaf) // images)
        if np.any(prior // (box.type.size // (4 * images)) != row_image):
            raise NotFused("an image's rows read another image's boxes")
        levels.append(Level(box, score, offset))
    if len({level.classes for level in levels}) != 1:
        raise NotFused("the levels have different class counts")
    after = [op for op in _descendants(nms) if op.isa(SliceAxis) and op.attrs.axis == 1 and op.attrs.begin == 0]
    keep = after[0].attrs.bounds(nms.result.type.shape[1])[1] if after else -1
    outputs = tuple(v for v in graph.outputs if _derives_from(v, nms))
    if not outputs:
        raise NotFused("no graph output reads the detections")
    return Match(nms, tuple(levels), max(thresholds), keep, outputs)


def _descendants(op: Op) -> list[Op]:
    found, stack = [], list(op.result.users)
    while stack:
        user = stack.pop()
        if user not in found:
            found.append(user)
            stack.extend(u for r in user.results for u in r.users)
    return found


def _derives_from(value: Value, op: Op) -> bool:
    stack, seen = [value], set()
    while stack:
        v = stack.pop()
        if v.producer is op:
            return True
        if v.producer is not None and id(v.producer) not in seen:
            seen.add(id(v.producer))
            stack.extend(v.producer.operands)
    return False


def _f32(x: float) -> float:
    return float(np.float32(x))


class _Builder:
    """Adds the new ops before the box_nms, named after it."""

    def __init__(self, graph, nms: Op):
        self.graph, self.nms = graph, nms

    def __call__(self, attrs_, *operands, suffix: str) -> Value:
        with self.graph.inserting_before(self.nms):
            return self.graph.add(attrs_, *operands, name=f"{self.nms.name}_{suffix}", origin=self.nms.origin).result

    def constant(self, array, suffix: str) -> Value:
        return self.graph.constant(array, f"{self.nms.name}_{suffix}")


def _level_tensors(add: _Builder, level: Level, index: int, image_hw, code_type: str | None):
    """One level's (N, P, 4) boxes as the target's loc form and its (N, P, classes + 1) or (N, P, classes) scores."""
    n = level.boxes.type.shape[0]
    boxes = add(Reshape(shape=(n, level.priors, 4)), level.boxes, suffix=f"boxes{index}")
    scores = add(Reshape(shape=(n, level.priors, level.scores.type.shape[-1])), level.scores, suffix=f"scores{index}")
    if code_type is None:   # pixel corners, and the scores of the foreground classes
        if level.offset == -1:
            scores = add(SliceAxis(axis=2, begin=1, end=None), scores, suffix=f"foreground{index}")
        return boxes, scores
    if level.offset == 0:   # DetectionOutput skips its class 0: an all-zero background goes first
        empty = add(Power(scale=0.0), add(SliceAxis(axis=2, begin=0, end=1), scores, suffix=f"first{index}"),
                    suffix=f"background{index}")
        scores = add(Concat(dim=2), empty, scores, suffix=f"classes{index}")
    h, w = image_hw
    if code_type == "CORNER":   # normalised corners; zero priors with variance 1 return them unchanged
        unit = add.constant(np.array([1.0 / w, 1.0 / h, 1.0 / w, 1.0 / h]), f"per_size{index}")
        return add(BroadcastMul(), boxes, unit, suffix=f"normalised{index}"), scores
    # CENTER_SIZE (ncnn's only code): (cx, cy, log w, log h) normalised; the unit prior at 0 with variance 1
    # returns (cx, cy, exp(log w), exp(log h))
    x1, y1, x2, y2 = _split4(add, boxes, index)
    centre = [add(Power(scale=0.5 / size), add(BroadcastAdd(), low, high, suffix=f"sum{axis}{index}"),
                  suffix=f"centre{axis}{index}") for axis, low, high, size in (("x", x1, x2, w), ("y", y1, y2, h))]
    sizes = [add(Log(), add(Power(scale=1.0 / size), add(BroadcastSub(), high, low, suffix=f"span{axis}{index}"),
                            suffix=f"size{axis}{index}"), suffix=f"log_size{axis}{index}")
             for axis, low, high, size in (("x", x1, x2, w), ("y", y1, y2, h))]
    return add(Concat(dim=2), *centre, *sizes, suffix=f"centre_size{index}"), scores


def _split4(add: _Builder, boxes: Value, index: int) -> list[Value]:
    with add.graph.inserting_before(add.nms):
        op = add.graph.add(Split(axis=2, points=(1, 2, 3)), boxes, name=f"{add.nms.name}_corners{index}",
                           origin=add.nms.origin)
    return list(op.results)


def _priors(add: _Builder, loc: Value, code_type: str) -> Value:
    """DetectionOutput's (1, 2, 4·P) priors, a constant blob: all zero (CORNER) or the unit box centred at 0
    (CENTER_SIZE), then the variances 1."""
    count = loc.type.shape[1] // 4
    box = (0.0, 0.0, 0.0, 0.0) if code_type == "CORNER" else (-0.5, -0.5, 0.5, 0.5)
    table = np.concatenate([np.tile(box, count), np.ones(4 * count)]).reshape(2, 4 * count)
    first = add(SliceAxis(axis=0, begin=0, end=1), loc, suffix="prior_seed") if loc.type.shape[0] > 1 else loc
    with add.graph.inserting_before(add.nms):
        return constant_blob(add.graph, table, first, f"{add.nms.name}_priors", add.nms.origin)


def _erase_unused(graph, values) -> None:
    """Erase the ops that computed `values`, as far as nothing else reads them."""
    stack = [v.producer for v in values if v.producer is not None]
    while stack:
        op = stack.pop()
        if op.graph is None or any(r.uses or any(r is o for o in graph.outputs) for r in op.results):
            continue
        operands = list(op.operands)
        graph.erase(op)
        stack.extend(v.producer for v in operands if v.producer is not None)


@rewrites(within=(BoxNMS, Where, CompareScalar, Tile, BroadcastTo, Concat, Reshape, Transpose, SliceAxis, ExpandDims),
          produces=(Reshape, SliceAxis, Power, Concat, BroadcastMul, BroadcastAdd, BroadcastSub, Split, Log,
                    DetectionOutput, FullyConnected, Pooling))
def fuse_box_nms(graph, ctx: PassContext) -> PassResult:
    """Pattern: box_nms (per class, rows [class, score, x1, y1, x2, y2] in corner form) whose rows are decoded
             boxes (…, 4) and class scores (…, K) moved into place — per class (SSD's class decoder) or tiled over
             the classes (YOLOv3's output) — the class column constant, a class decoder's Where(score > t) masks
             seen through (t joins the NMS threshold); found by following the columns through data movement and
             checked element by element, by evaluating the rows on numbered boxes and scores twice
    Emits:   on a target with DetectionOutput: DetectionOutput {num_classes K+1, nms_threshold, top_k = topk,
             keep_top_k = the slice after box_nms, confidence_threshold, background 0} as the NMS only — loc = the
             boxes normalised by the input size (CORNER with zero priors and variance 1, or on a target decoding
             CENTER_SIZE only, (cx, cy, log w, log h) with the unit prior at 0), conf = the scores after an all-zero
             background (or the net's own background), the priors a constant blob; elsewhere the boxes (N, P, 4) in
             pixels and the scores (N, P, classes) as outputs, and the NMS described in PREFIX.decode.json. Either
             replaces the graph outputs that read the detections
    Exact:   the boxes and scores are computed by the net's own layers; the NMS is GluonCV's per class, with the
             same thresholds; GluonCV keeps its top-k over all classes before NMS, DetectionOutput's top_k is per
             class (identical detections when GluonCV's does not bind), both listed in the report
    Skips:   box_nms whose boxes come from box_decode (fuse_ssd_head's PriorBoxes), or whose rows are anything
             else (the legality check names box_nms)"""
    fused = 0
    for nms in graph.ops_of(BoxNMS):
        try:
            match = match_box_nms(graph, nms)
        except NotFused as exc:
            ctx.skip(nms, str(exc))
            continue
        images = [v for v in graph.inputs if v.type.rank == 4]
        if len(images) != 1:
            ctx.skip(nms, "the boxes are normalised by the one image input, and the model has several")
            continue
        image_hw = images[0].type.shape[2:]
        has_layer = "DetectionOutput" in ctx.layers
        code_type = None if not has_layer else (
            "CORNER" if "CORNER" in ctx.target.policy.detection_codes else "CENTER_SIZE")
        add = _Builder(graph, nms)
        parts = [_level_tensors(add, level, i, image_hw, code_type) for i, level in enumerate(match.levels)]
        count = sum(level.priors for level in match.levels)
        classes = match.levels[0].classes
        a = nms.attrs
        if has_layer:
            n = images[0].type.shape[0]
            flat = [[add(Reshape(shape=(n, part.type.size // n)), part, suffix=f"{kind}{i}_flat")
                     for i, part in enumerate(group)] for kind, group in (("loc", [p[0] for p in parts]),
                                                                          ("conf", [p[1] for p in parts]))]
            loc, conf = (add(Concat(dim=1), *group, suffix=kind) if len(group) > 1 else group[0]
                         for kind, group in zip(("loc", "conf"), flat))
            detection = DetectionOutput(
                num_classes=classes + 1, nms_threshold=_f32(a.overlap_thresh),
                top_k=a.topk if a.topk > 0 else count, keep_top_k=match.keep if match.keep > 0 else count * classes,
                confidence_threshold=_f32(match.threshold), code_type=code_type)
            result = add(detection, loc, conf, _priors(add, loc, code_type), suffix="detection_out")
            new_outputs = [result]
        else:
            boxes, scores = ([p[k] for p in parts] for k in (0, 1))
            new_outputs = [add(Concat(dim=1), *group, suffix=kind) if len(group) > 1 else group[0]
                           for kind, group in (("boxes", boxes), ("scores", scores))]
            ctx.decode = _decode_metadata(match, new_outputs, classes, count, image_hw)
        first = graph.outputs.index(match.outputs[0])
        kept = [v for v in graph.outputs if all(v is not o for o in match.outputs)]
        graph.outputs = kept[:first] + new_outputs + kept[first:]
        _erase_unused(graph, match.outputs)
        ctx.warn(nms, f"GluonCV keeps the top {a.topk} (box, class) rows over all classes before NMS; a per-class "
                      "top-k gives identical detections whenever GluonCV's does not bind")
        if has_layer:
            ctx.warn(nms, "outputs differ in form: GluonCV returns ids, scores and pixel boxes sorted by score and "
                          "padded with −1; DetectionOutput returns rows [image, label = id + 1, score, xmin, ymin, "
                          "xmax, ymax] normalised by the input size")
        fused += 1
    return PassResult(fused)


def _decode_metadata(match: Match, outputs, classes: int, count: int, image_hw) -> dict:
    """What the application does after a model that ends in boxes and scores (PREFIX.decode.json); the output
    values are named by the driver once the layers exist."""
    a = match.nms.attrs
    return {
        "model": "box_nms",
        "cut_before": "box_nms (Caffe has no per-class NMS outside caffe-ssd's DetectionOutput)",
        "outputs": {"boxes": outputs[0], "scores": outputs[1]},
        "layout": {"boxes": "(N, P, 4): x1, y1, x2, y2 in input pixels",
                   "scores": f"(N, P, {classes}): the score of each class (GluonCV's id = the position)",
                   "P": count, "input_hw": list(image_hw)},
        "nms": {"per_class": True, "iou_threshold": float(a.overlap_thresh), "score_threshold": match.threshold,
                "topk_before": int(a.topk), "keep": int(match.keep)},
        "decode": [
            "rows = every (box, class) with score > score_threshold",
            "keep the topk_before best rows over all classes (all when −1), then suppress, within each class, a "
            "row whose IoU with a better kept row exceeds iou_threshold",
            "the first `keep` survivors by score are the detections (class, score, box)",
        ],
    }
