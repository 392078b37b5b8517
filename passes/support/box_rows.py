"""Tracing a box_nms's rows [class, score, x1, y1, x2, y2] back to the boxes and class scores they were moved from
(for fuse_box_nms): the columns are found through data movement, then checked element by element by evaluating the
rows on numbered boxes and scores."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.ir.graph import Op, Value
from compiler.ir.opdef import Trait
from compiler.ops import (BoxDecode, BroadcastTo, CompareScalar, Concat, Copy, ExpandDims, Flatten, Reshape, SliceAxis,
                          Split, Squeeze, Tile, Transpose, Where)
from compiler.ops.detection import BoxFormat

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
    if a.force_suppress or (a.id_index, a.score_index, a.coord_start) != (0, 1, 2) or a.in_format is not BoxFormat.CORNER \
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
