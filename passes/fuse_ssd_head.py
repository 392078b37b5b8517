"""GluonCV SSD: replace anchors, box decoder, class decoder and box_nms by caffe-ssd's PriorBox + DetectionOutput."""
from __future__ import annotations

from collections import deque

import attrs
import numpy as np

from compiler.contract import DetectionEnding
from compiler.errors import NeedsOtherTarget, UnsupportedOp
from compiler.ir.graph import Graph, Op, Value
from compiler.ops import Concat, Convolution, Flatten, FullyConnected, Pooling, Reshape, Softmax, Transpose
from compiler.ops import BoxDecode, BoxNMS, CompareScalar, DetectionOutput, PriorBox, SliceAxis, Where
from compiler.ops.detection import BoxFormat, normalised_corners
from passes.manager import PassContext, PassResult, compiler_pass
from passes.support.priors import PRIOR_TOLERANCE, NoPriorBox, f32, prior_box_for, snapped, with_integer_sizes

NEEDS = frozenset({"PriorBox", "DetectionOutput"})


@attrs.frozen
class SSDLevel:
    feature: Value
    class_conv: Op
    box_conv: Op


@attrs.frozen
class SSDHead:
    """Everything fuse_ssd_head reads from one matched GluonCV SSD graph."""
    nms: Op
    loc: Value               # (N, P·4) concatenated box-head outputs
    class_scores: Value      # (N, P, C+1) softmax output
    anchors: np.ndarray      # (P, 4) centre-form pixel anchors
    anchors_ref: str | None  # the MXNet internal output the anchors equal
    stds: tuple[float, ...]
    levels: tuple[SSDLevel, ...]
    num_classes: int         # C + 1, background included
    class_threshold: float
    post_nms: int
    outputs: tuple[Value, ...]
    image: Value


def _fail(op: Op, message: str) -> UnsupportedOp:
    return UnsupportedOp(f"the GluonCV SSD head cannot be fused: {message}", **op.error_context(),
                         hint="convert a GluonCV SSD exported with box_decode (pretrained=False) or report the model")


def _ancestors(op: Op) -> list[Op]:
    seen, queue, found = {id(op)}, deque([op]), []
    while queue:
        for value in queue.popleft().operands:
            producer = value.producer
            if producer is not None and id(producer) not in seen:
                seen.add(id(producer))
                found.append(producer)
                queue.append(producer)
    return found


def _descendants(value: Value) -> tuple[list[Op], set[int]]:
    seen, queue, found, values = set(), deque([value]), [], {id(value)}
    while queue:
        for user in queue.popleft().users:
            if id(user) not in seen:
                seen.add(id(user))
                found.append(user)
                for result in user.results:
                    values.add(id(result))
                    queue.append(result)
    return found, values


def _head_convs(concat_value: Value, nms: Op) -> list[Op]:
    """Concat(Flatten(Transpose{0,2,3,1}(Convolution))…) → the convolutions, level by level."""
    concat = concat_value.producer
    if concat is None or not concat.isa(Concat):
        raise _fail(nms, f"'{concat_value.name}' is not a Concat of head outputs")
    convs = []
    for part in concat.operands:
        flatten = part.producer
        move = flatten.operands[0].producer if flatten is not None and flatten.isa(Flatten) else None
        conv = move.operands[0].producer if move is not None else None
        # On a 1×1 map eliminate_identities has already made the transpose a Reshape: the same data order.
        channels_last = move is not None and (
            (move.isa(Transpose) and move.attrs.resolved(4) == (0, 2, 3, 1))
            or (move.isa(Reshape) and conv is not None and conv.result.type.shape[2:] == (1, 1)))
        if conv is None or not conv.isa(Convolution) or not channels_last:
            raise _fail(nms, f"head input '{part.name}' is not Flatten(transpose(0,2,3,1)(Convolution))")
        convs.append(conv)
    return convs


def match_ssd_head(graph: Graph, nms: Op) -> SSDHead:
    a = nms.attrs
    if a.force_suppress or (a.id_index, a.score_index, a.coord_start) != (0, 1, 2) or a.in_format is not BoxFormat.CORNER:
        raise _fail(nms, "box_nms must suppress per class over rows [id, score, xmin, ymin, xmax, ymax]")
    ancestors = _ancestors(nms)
    decoders = [op for op in ancestors if op.isa(BoxDecode)]
    softmaxes = [op for op in ancestors if op.isa(Softmax) and op.operands[0].type.rank == 3]
    if len(decoders) != 1 or len(softmaxes) != 1:
        raise _fail(nms, f"expected one box_decode and one class softmax, found {len(decoders)} and {len(softmaxes)}")
    decode, softmax = decoders[0], softmaxes[0]
    if decode.attrs.format is not BoxFormat.CENTER or decode.attrs.clip > 0:
        raise _fail(decode, "only centre-form decoding without an exp clip matches CENTER_SIZE")
    if softmax.attrs.positive_axis(3) != 2 or softmax.attrs.temperature not in (None, 1.0):
        raise _fail(softmax, "the class softmax must run over the last axis without temperature")
    anchors = decode.operands[1].const
    if anchors is None:
        raise _fail(decode, "the anchors are not constant (their crop depends on run-time shapes)")
    box_reshape, class_reshape = decode.operands[0].producer, softmax.operands[0].producer
    if box_reshape is None or class_reshape is None or not (box_reshape.isa(Reshape) or class_reshape.isa(Reshape)):
        raise _fail(nms, "box and class predictions must be reshaped to (N, anchors, k)")
    box_convs = _head_convs(box_reshape.operands[0], nms)
    class_convs = _head_convs(class_reshape.operands[0], nms)
    if len(box_convs) != len(class_convs):
        raise _fail(nms, "the box and class heads have different numbers of levels")
    levels = []
    for box_conv, class_conv in zip(box_convs, class_convs):
        if box_conv.operands[0] is not class_conv.operands[0]:
            raise _fail(box_conv, "the box and class heads of a level read different feature maps")
        levels.append(SSDLevel(class_conv.operands[0], class_conv, box_conv))
    thresholds = [op.attrs.kept_above() for op in ancestors if op.isa(CompareScalar) and op.attrs.kept_above() is not None]
    after, after_values = _descendants(nms.result)
    post_nms = next((op.attrs.bounds(op.operands[0].type.shape[1])[1] for op in after
                     if op.isa(SliceAxis) and op.attrs.axis == 1 and op.attrs.begin == 0), -1)
    outputs = tuple(v for v in graph.outputs if id(v) in after_values)
    images = [v for v in graph.inputs if v.type.rank == 4]
    if not outputs or len(images) != 1:
        raise _fail(nms, "the detections must be graph outputs of a model with one image input")
    return SSDHead(nms, box_reshape.operands[0], softmax.result, anchors.reshape(-1, 4).astype(np.float64),
                   decode.operands[1].ref, (decode.attrs.std0, decode.attrs.std1, decode.attrs.std2, decode.attrs.std3), tuple(levels),
                   class_reshape.result.type.shape[2], max([a.valid_thresh, *thresholds]), post_nms, outputs, images[0])


def _constant_priors(graph: Graph, level: SSDLevel, level_anchors: np.ndarray, image_hw, variance) -> Value:
    """The level's priors (1, 2, 4·P) — normalised corner boxes, then variances — as the bias of an InnerProduct
    with zero weights, fed the global average of the level's box head (one image). Exact: every output is a sum of
    0·x terms, 0 for finite x, plus its bias. (A Scale on a blob of ones would do in Caffe, but ncnn's Scale ignores
    axis and num_axes.)"""
    boxes = normalised_corners(level_anchors, image_hw).reshape(-1)
    table = np.concatenate([boxes, np.tile(np.asarray(variance, np.float64), len(boxes) // 4)])
    head = level.box_conv.result
    name, origin = level.class_conv.name, level.class_conv.origin
    if head.type.shape[0] > 1:
        head = graph.add(SliceAxis(axis=0, begin=0, end=1), head, name=f"{name}_prior_image", origin=origin).result
    if head.type.shape[1] > 1:   # one channel is enough, and keeps the zero weights as small as the table
        head = graph.add(SliceAxis(axis=1, begin=0, end=1), head, name=f"{name}_prior_channel", origin=origin).result
    pooled = graph.add(Pooling(global_pool=True, pool_type="avg", kernel=(1, 1)), head, name=f"{name}_prior_seed",
                       origin=origin).result
    weight = graph.constant(np.zeros((table.size, 1)), f"{name}_prior_zeros")
    flat = graph.add(FullyConnected(num_hidden=table.size), pooled, weight,
                     graph.constant(table, f"{name}_prior_table"), name=f"{name}_prior_values", origin=origin).result
    return graph.add(Reshape(shape=(1, 2, boxes.size)), flat, name=f"{name}_priors", origin=origin).result


def _permute_head(graph: Graph, conv: Op, order: list[int], per_anchor: int) -> None:
    """Move each anchor's block of output channels to its prior's position (weights and bias)."""
    source = np.empty(len(order) * per_anchor, np.int64)
    for anchor, prior in enumerate(order):
        source[prior * per_anchor:(prior + 1) * per_anchor] = np.arange(anchor * per_anchor, (anchor + 1) * per_anchor)
    for index in range(1, len(conv.operands)):
        value = conv.operands[index]
        graph.set_operand(conv, index, graph.constant(value.const[source], value.name + "_prior_order"))
    conv.result.ref = None   # its channels are no longer in the MXNet node's order


# The tail it replaces (box_nms and what feeds only it) is left to eliminate_dead_code.
@compiler_pass(
    after={"eliminate_identities": ("the head chains it matches hold no identities, and a transpose on a 1×1 map is a "
                                 "Reshape"),
           "fold_constants": "the anchors are one constant by then"},
    before={"transpose_to_permute": "it matches the heads' transposes before they become Permutes"},
    within=(BoxNMS, BoxDecode, Where, CompareScalar),
    produces=(PriorBox, Concat, Flatten, DetectionOutput, FullyConnected, Pooling, Reshape, SliceAxis),
    needs_layers=NEEDS,
    pattern=("GluonCV's SSD tail rooted at box_nms: per-level class and box convolutions → "
             "transpose(0,2,3,1) → Flatten → Concat → Reshape; softmax over classes; "
             "_contrib_box_decode with constant anchors; the class decoder; box_nms; slice to post_nms"),
    emits=("loc = the box Concat; conf = Flatten(softmax); priors = Concat{axis 2} of one PriorBox per "
           "level (min/max size, ratios with flip false, step_h/step_w, offset, clip false, variance = "
           "decoder stds, all derived from the anchors and checked against them to 1e-6); "
           "DetectionOutput {num_classes C+1, CENTER_SIZE, nms_threshold, top_k, keep_top_k = post_nms, "
           "confidence_threshold} as the graph output in place of the ids/scores/boxes outputs; head "
           "channels permuted where the anchor order differs; a level whose anchors no PriorBox makes "
           "(the \"lite\" generators' ratio boxes), or whose fractional sizes the target's PriorBox "
           "truncates (caffe-ssd), gets its priors as a constant: the bias of a zero-weight "
           "InnerProduct on the global average of one channel of its box head"),
    exact=("priors equal the anchors to 1e-6 (float sizes; caffe-ssd's int truncation is reported); "
           "detections equal GluonCV's when its nms_topk does not bind (Caffe's top_k is per class, "
           "GluonCV's over all classes) — every remaining difference is listed in the report"))
def fuse_ssd_head(graph, ctx: PassContext) -> PassResult:
    heads = graph.ops_of(BoxNMS)
    if heads and not NEEDS <= ctx.layers:
        raise NeedsOtherTarget("GluonCV SSD post-processing (anchors, box decoder, box_nms) needs PriorBox and "
                               "DetectionOutput layers", **heads[0].error_context(),
                               hint="use --target caffe-ssd or --target ncnn")
    for nms in heads:
        head = match_ssd_head(graph, nms)
        image_hw = head.image.type.shape[2:]
        priors, start, worst = [], 0, 0.0
        truncated_worst = 0.0
        for i, level in enumerate(head.levels):
            h, w = level.feature.type.shape[2:]
            per_cell = level.box_conv.attrs.num_filter // 4
            level_anchors = head.anchors[start:start + h * w * per_cell].reshape(h, w, per_cell, 4)
            start += h * w * per_cell
            try:
                prior, order = prior_box_for(level_anchors, image_hw, head.stds)
            except NoPriorBox as exc:
                # No PriorBox makes these anchors: DetectionOutput reads its priors from any blob, so they come in
                # as a constant through layers every consumer runs.
                with graph.inserting_before(nms):
                    priors.append(_constant_priors(graph, level, level_anchors, image_hw, head.stds))
                ctx.warn(level.class_conv, f"level {i}: {exc}; its priors are the anchors themselves, the "
                                           "bias of a zero-weight InnerProduct")
                continue
            expected = normalised_corners(level_anchors[:, :, np.argsort(order)], image_hw).reshape(-1, 4)
            error = float(np.abs(prior.boxes((h, w), image_hw) - expected).max())
            simple = snapped(prior)
            snapped_error = float(np.abs(simple.boxes((h, w), image_hw) - expected).max())
            if snapped_error <= PRIOR_TOLERANCE:
                prior, error = simple, snapped_error
            if ctx.options.ssd_integer_sizes:
                integral = with_integer_sizes(prior, image_hw)
                error_integral = float(np.abs(integral.boxes((h, w), image_hw) - expected).max())
                if integral is not prior and error_integral <= PRIOR_TOLERANCE:
                    prior, error = integral, error_integral
                    ctx.warn(level.class_conv, f"level {i}: sizes scaled by {prior.img_w // image_hw[1]} to "
                                               "integers with img_h/img_w alike: exact in caffe-ssd; OpenCV ignores "
                                               "img_h/img_w, so it sees wrong priors")
            if error > PRIOR_TOLERANCE:
                raise _fail(level.class_conv, f"level {i}: PriorBox differs from the anchors by {error:.2e}")
            truncated = prior.boxes((h, w), image_hw, sizes=([int(m) for m in prior.min_size],
                                                             [int(m) for m in prior.max_size]))
            truncation = float(np.abs(truncated - expected).max())
            if truncation > PRIOR_TOLERANCE and ctx.target.policy.prior_box_truncates_sizes:
                # weiliu89's PriorBox would move these priors; the constant is right in every consumer.
                with graph.inserting_before(nms):
                    priors.append(_constant_priors(graph, level, level_anchors, image_hw, head.stds))
                ctx.warn(level.class_conv, f"level {i}: fractional sizes {prior.min_size + prior.max_size}, which "
                                           f"caffe-ssd truncates to integers (priors off by {truncation:.1e}); its "
                                           "priors are the anchors themselves, the bias of a zero-weight "
                                           "InnerProduct (--ssd-integer-sizes keeps PriorBox, exact in caffe-ssd "
                                           "only)")
                continue
            worst = max(worst, error)
            truncated_worst = max(truncated_worst, truncation)
            if order != sorted(order):
                _permute_head(graph, level.class_conv, order, head.num_classes)
                _permute_head(graph, level.box_conv, order, 4)
                ctx.warn(level.class_conv, f"level {i}: anchor order {order} differs from PriorBox's; the class and "
                                           "box head channels were permuted to match")
            with graph.inserting_before(nms):
                priors.append(graph.add(prior, level.feature, head.image, name=f"{level.class_conv.name}_priorbox",
                                        origin=level.class_conv.origin).result)
        count = len(head.anchors)
        a = nms.attrs
        threshold = ctx.options.ssd_confidence if ctx.options.ssd_confidence is not None else head.class_threshold
        detection = DetectionOutput(
            num_classes=head.num_classes, nms_threshold=f32(a.overlap_thresh), top_k=a.topk if a.topk > 0 else count,
            keep_top_k=head.post_nms if head.post_nms > 0 else count * (head.num_classes - 1),
            confidence_threshold=f32(threshold))
        with graph.inserting_before(nms):
            prior_all = graph.add(Concat(dim=2), *priors, name="mbox_priorbox", origin=nms.origin).result
            conf = graph.add(Flatten(), head.class_scores, name="mbox_conf_flatten", origin=nms.origin).result
            result = graph.add(detection, head.loc, conf, prior_all, name="detection_out", origin=nms.origin).result
        first = graph.outputs.index(head.outputs[0])
        kept = [v for v in graph.outputs if v not in head.outputs]
        graph.outputs = kept[:first] + [result] + kept[first:]
        references = {"loc": head.loc.ref, "conf": head.class_scores.ref, "anchors": head.anchors_ref}
        ctx.detections = DetectionEnding(result, references if all(references.values()) else {})
        ctx.warn(nms, f"priors equal the GluonCV anchors to {worst:.1e} (normalised)")
        if truncated_worst > PRIOR_TOLERANCE:
            ctx.warn(nms, f"caffe-ssd (weiliu89) truncates fractional min_size/max_size to integers: its priors move "
                          f"by up to {truncated_worst:.1e}; OpenCV and ncnn use the float sizes")
        ctx.warn(nms, f"GluonCV keeps the top {a.topk} (anchor, class) rows over all classes before NMS, Caffe's "
                      f"top_k={detection.top_k} is per class: identical results when GluonCV's nms_topk does not "
                      "bind (set_nms(nms_topk=-1))")
        ctx.warn(nms, "outputs differ in form: GluonCV returns ids (class − 1), scores and pixel boxes sorted by score "
                      "and padded with −1; DetectionOutput returns rows [image, label (class, background 0 skipped), "
                      "score, xmin, ymin, xmax, ymax] normalised by the input size, grouped by label in caffe-ssd and "
                      "sorted by score in OpenCV")
    return PassResult(len(heads))
