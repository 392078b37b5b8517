"""A detector's per-class box_nms over rows [class, score, box] built from decoded boxes and class scores
(GluonCV's exported YOLOv3 and its SSDs with the minimal-opset box decoder) → DetectionOutput as NMS only, or, on a
target without it, the boxes and scores as outputs with the NMS described for the application."""
from __future__ import annotations

import numpy as np

from compiler.contract import BoxesEnding, BoxesLevel, DetectionEnding
from compiler.ir.graph import Op, Value
from compiler.ops import (BoxNMS, BroadcastAdd, BroadcastMul, BroadcastSub, BroadcastTo, CompareScalar, Concat,
                          DetectionOutput, ExpandDims, FullyConnected, Log, Pooling, Power, Reshape, SliceAxis, Split,
                          Tile, Transpose, Where)
from compiler.ops.detection import BoxCode
from passes.manager import PassContext, PassResult, compiler_pass
from passes.support.box_rows import Level, Match, NotFused, match_box_nms
from passes.support.broadcasting import constant_blob
from passes.support.priors import f32

class _Builder:
    """Adds the new ops before the box_nms, named after it."""

    def __init__(self, graph, nms: Op):
        self.graph, self.nms = graph, nms

    def __call__(self, attrs_, *operands, suffix: str) -> Value:
        with self.graph.inserting_before(self.nms):
            return self.graph.add(attrs_, *operands, name=f"{self.nms.name}_{suffix}", origin=self.nms.origin).result

    def constant(self, array, suffix: str) -> Value:
        return self.graph.constant(array, f"{self.nms.name}_{suffix}")


def _level_tensors(add: _Builder, level: Level, index: int, image_hw, code_type: BoxCode | None):
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
    if code_type is BoxCode.CORNER:   # normalised corners; zero priors with variance 1 return them unchanged
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


def _priors(add: _Builder, loc: Value, code_type: BoxCode) -> Value:
    """DetectionOutput's (1, 2, 4·P) priors, a constant blob: all zero (CORNER) or the unit box centred at 0
    (CENTER_SIZE), then the variances 1."""
    count = loc.type.shape[1] // 4
    box = (0.0, 0.0, 0.0, 0.0) if code_type is BoxCode.CORNER else (-0.5, -0.5, 0.5, 0.5)
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


@compiler_pass(
    after={"fold_constants": "the class columns and mask fills it checks are constants by then"},
    before={"fuse_ssd_head": "fuse_ssd_head refuses any box_nms that is not an SSD head with box_decode",
            "lower_repeats": "it follows the rows through the Tile and BroadcastTo that lower_repeats would replace",
            "lower_broadcast_arithmetic": "the box arithmetic it adds is lowered there"},
    within=(BoxNMS, Where, CompareScalar, Tile, BroadcastTo, Concat, Reshape, Transpose, SliceAxis, ExpandDims),
    produces=(Reshape, SliceAxis, Power, Concat, BroadcastMul, BroadcastAdd, BroadcastSub, Split, Log,
                    DetectionOutput, FullyConnected, Pooling),
    pattern=("box_nms (per class, rows [class, score, x1, y1, x2, y2] in corner form) whose rows are "
             "decoded boxes (…, 4) and class scores (…, K) moved into place — per class (SSD's class "
             "decoder) or tiled over the classes (YOLOv3's output) — the class column constant, a class "
             "decoder's Where(score > t) masks seen through (t joins the NMS threshold); found by "
             "following the columns through data movement and checked element by element, by evaluating "
             "the rows on numbered boxes and scores twice"),
    emits=("on a target with DetectionOutput: DetectionOutput {num_classes K+1, nms_threshold, top_k = "
           "topk, keep_top_k = the slice after box_nms, confidence_threshold, background 0} as the NMS "
           "only — loc = the boxes normalised by the input size (CORNER with zero priors and variance "
           "1, or on a target decoding CENTER_SIZE only, (cx, cy, log w, log h) with the unit prior at "
           "0), conf = the scores after an all-zero background (or the net's own background), the "
           "priors a constant blob; elsewhere the boxes (N, P, 4) in pixels and the scores (N, P, "
           "classes) as outputs, and the NMS described in PREFIX.decode.json. Either replaces the graph "
           "outputs that read the detections"),
    exact=("the boxes and scores are computed by the net's own layers; the NMS is GluonCV's per class, "
           "with the same thresholds; GluonCV keeps its top-k over all classes before NMS, "
           "DetectionOutput's top_k is per class (identical detections when GluonCV's does not bind), "
           "both listed in the report"),
    skips=("box_nms whose boxes come from box_decode (fuse_ssd_head's PriorBoxes), or whose rows are "
           "anything else (the legality check names box_nms)"))
def fuse_box_nms(graph, ctx: PassContext) -> PassResult:
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
            BoxCode.CORNER if BoxCode.CORNER in ctx.target.policy.detection_codes else BoxCode.CENTER_SIZE)
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
                num_classes=classes + 1, nms_threshold=f32(a.overlap_thresh),
                top_k=a.topk if a.topk > 0 else count, keep_top_k=match.keep if match.keep > 0 else count * classes,
                confidence_threshold=f32(match.threshold), code_type=code_type)
            result = add(detection, loc, conf, _priors(add, loc, code_type), suffix="detection_out")
            new_outputs = [result]
            ctx.detections = DetectionEnding(result)
        else:
            boxes, scores = ([p[k] for p in parts] for k in (0, 1))
            new_outputs = [add(Concat(dim=1), *group, suffix=kind) if len(group) > 1 else group[0]
                           for kind, group in (("boxes", boxes), ("scores", scores))]
            ctx.decode = _decode_metadata(match, new_outputs, classes, count, image_hw)
            levels = tuple(BoxesLevel(level.boxes.ref, level.scores.ref, level.priors, 1 if level.offset == -1 else 0)
                           for level in match.levels)
            if all(level.boxes is not None and level.scores is not None for level in levels):
                ctx.boxes = BoxesEnding(levels)
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
