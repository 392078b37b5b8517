"""Emitters for compiler/ops/tensor.py: Flatten, Reshape (and the ops that are reshapes), Concat, Permute."""
from __future__ import annotations

import numpy as np

from backends.emitters import EmitContext, emitter
from backends.emitters.shared import negated, reshape_blob, slice_range
from compiler.ops import (BatchDot, Concat, ExpandDims, Flatten, Permute, ReduceMax, ReduceMean, ReduceMin, ReduceSum,
                          Reshape, ShuffleChannel, SliceAxis, Split, Squeeze, Transpose)
from compiler.ops.arith import EltwiseOperation


@emitter(Flatten, layers=("Flatten",))
def emit_flatten(op, ctx: EmitContext) -> None:
    ctx.add("Flatten", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"flatten_param": {"axis": 1}}, source=op.result)


@emitter(Reshape, layers=("Reshape",))
def emit_reshape(op, ctx: EmitContext) -> None:
    # Explicit dims everywhere: consumers disagree on what a copied (0) dim refers to (docs/caffe.md#reshape).
    ctx.add("Reshape", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"reshape_param": {"shape": {"dim": list(op.result.type.shape)}}}, source=op.result)


# Inserting or removing size-1 axes moves no data: a Reshape to the result's shape.
emitter(ExpandDims, layers=("Reshape",))(emit_reshape)
emitter(Squeeze, layers=("Reshape",))(emit_reshape)


@emitter(Concat, layers=("Concat",))
def emit_concat(op, ctx: EmitContext) -> None:
    axis = op.attrs.positive_axis(op.operands[0].type.rank)
    ctx.add("Concat", name=op.name, bottoms=[ctx.bottom(v) for v in op.operands], tops=[ctx.top(op.result)],
            params={"concat_param": {"axis": axis}}, source=op.result)


def _order(op) -> tuple[int, ...]:
    return op.attrs.order if op.isa(Permute) else op.attrs.resolved(op.operands[0].type.rank)


def _permute_legality(op, target) -> str | None:
    order = _order(op)
    if "Permute" in target.layers and not target.can_permute(order):
        return f"{target.name} maps only 4-D orders that keep the batch axis first; {order} would become identity"
    return None


@emitter(Permute, layers=("Permute",), legal=_permute_legality)
def emit_permute(op, ctx: EmitContext) -> None:
    ctx.add("Permute", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"permute_param": {"order": list(_order(op))}}, source=op.result)


# A Transpose left in the graph is a Permute too; targets without Permute get a legality error naming it.
emitter(Transpose, layers=("Permute",), legal=_permute_legality)(emit_permute)


@emitter(BatchDot, layers=("MatMul", "Permute"),
         layers_for=lambda op, target: ("MatMul", "Permute") if op.attrs.transpose_a or op.attrs.transpose_b
         else ("MatMul",))
def emit_batch_dot(op, ctx: EmitContext) -> None:
    """ncnn's MatMul of each sample's two matrices; an operand to transpose goes through Permute(0, 2, 1) first."""
    bottoms = []
    for value, transposed, side in zip(op.operands, (op.attrs.transpose_a, op.attrs.transpose_b), "ab"):
        bottom = ctx.bottom(value)
        if transposed:
            turned = ctx.new_blob(f"{op.name}_{side}_transposed")
            ctx.add("Permute", name=f"{op.name}_{side}_transpose", bottoms=[bottom], tops=[turned],
                    params={"permute_param": {"order": [0, 2, 1]}})
            bottom = turned
        bottoms.append(bottom)
    ctx.add("MatMul", name=op.name, bottoms=bottoms, tops=[ctx.top(op.result)], source=op.result)


SLICED_REDUCTION = 16   # up to this many terms a reduction is Slice + Eltwise SUM, beyond it average pooling


def _runs(axes: tuple[int, ...]) -> list[tuple[int, int]]:
    """The reduced axes as runs of contiguous axes (first, last), last run first."""
    runs = []
    for axis in axes:
        if runs and axis == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], axis)
        else:
            runs.append((axis, axis))
    return runs[::-1]


def _reduction_legality(op, target) -> str | None:
    if op.attrs.axes(op.operands[0].type.rank)[0] == 0:
        return "a reduction over the batch axis has no Caffe layer"
    return None


def emit_reduce(op, ctx: EmitContext) -> None:
    """Each run of contiguous reduced axes a..b (the last run first) as one axis of size R: a few terms are sliced
    apart and combined by the op's Eltwise (SUM, MAX), many by a Pooling window (R, 1) over (N, B, R, A) with the
    op's method (AVE, MAX); then the op's factor (a mean divides the sum by R, a sum multiplies the average by R)
    is one Power. A minimum is −max(−x): negation is exact. Reducing the runs one after another is the same
    reduction (for a mean, the product of the runs' divisors is the whole count)."""
    reduction = op.attrs
    x = op.operands[0]
    shape = list(x.type.shape)
    blob = ctx.bottom(x)
    if reduction.negated:
        blob = negated(ctx, f"{op.name}_negated", blob)
    runs = _runs(reduction.axes(len(shape)))
    actual = tuple(shape)
    for number, (a, b) in enumerate(runs):
        name = op.name if len(runs) == 1 else f"{op.name}_run{number}"
        blob, actual = _reduce_run(ctx, reduction, name, blob, actual, tuple(shape), a, b)
        shape[a:b + 1] = [1] * (b - a + 1)
    if reduction.negated:
        blob = negated(ctx, f"{op.name}_min", blob)
    reshape_blob(ctx, op.name, blob, op.result.type.shape, top=ctx.top(op.result), source=op.result)


def _reduce_run(ctx: EmitContext, reduction, name: str, blob: str, actual: tuple[int, ...], shape: tuple[int, ...],
                a: int, b: int) -> tuple[str, tuple[int, ...]]:
    """Axes a..b of the value `shape` (the blob holds it as `actual`, the same elements) reduced; returns the new
    blob and its shape."""
    terms = int(np.prod(shape[a:b + 1]))
    before, after = shape[:a], shape[b + 1:]
    if terms <= SLICED_REDUCTION:
        merged = (*before, terms, *after)
        if merged != actual:
            blob = reshape_blob(ctx, f"{name}_merge", blob, merged)
        if terms > 1:
            parts = [ctx.new_blob(f"{name}_term{i}") for i in range(terms)]
            ctx.add("Slice", name=f"{name}_terms", bottoms=[blob], tops=parts,
                    params={"slice_param": {"axis": a, "slice_point": list(range(1, terms))}})
            word = "sum" if reduction.eltwise is EltwiseOperation.SUM else "max"
            blob = ctx.new_blob(f"{name}_{word}")
            ctx.add("Eltwise", name=f"{name}_{word}", bottoms=parts, tops=[blob],
                    params={"eltwise_param": {"operation": reduction.eltwise}})
        actual, pooled = (*before, 1, *after), False
    else:
        planes = (shape[0], int(np.prod(before[1:])), terms, int(np.prod(after)))
        blob = reshape_blob(ctx, f"{name}_planes", blob, planes)
        word = "mean" if reduction.pool == "AVE" else "max"
        combined = ctx.new_blob(f"{name}_{word}")
        ctx.add("Pooling", name=f"{name}_{word}", bottoms=[blob], tops=[combined],
                params={"pooling_param": {"pool": reduction.pool, "kernel_h": terms, "kernel_w": 1}})
        blob, actual, pooled = combined, (planes[0], planes[1], 1, planes[3]), True
    scale = reduction.scale_after(terms, pooled)
    if scale != 1.0:
        scaled = ctx.new_blob(f"{name}_scaled")
        ctx.add("Power", name=f"{name}_scaled", bottoms=[blob], tops=[scaled],
                params={"power_param": {"scale": float(np.float32(scale))}})
        blob = scaled
    return blob, actual


for _reduction in (ReduceSum, ReduceMean, ReduceMax, ReduceMin):
    emitter(_reduction, layers=("Slice", "Eltwise", "Power", "Pooling"), helpers=(negated, reshape_blob),
            legal=_reduction_legality)(emit_reduce)


@emitter(Split, layers=("Slice", "Power"))
def emit_split(op, ctx: EmitContext) -> None:
    """One Slice with a top per part. A runtime returns a layer's first top, so a later part that is a graph output
    is copied out by an identity Power whose first top it is."""
    x = op.operands[0]
    outputs = {id(v) for v in ctx.graph.outputs}
    copied = [i > 0 and id(v) in outputs for i, v in enumerate(op.results)]
    tops = [ctx.new_blob(f"{v.name}_part") if copy else ctx.top(v) for v, copy in zip(op.results, copied)]
    ctx.add("Slice", name=op.name, bottoms=[ctx.bottom(x)], tops=tops,
            params={"slice_param": {"axis": op.attrs.positive_axis(x.type.rank), "slice_point": list(op.attrs.points)}},
            source=op.results[0])
    for value, top, copy in zip(op.results, tops, copied):
        if copy:
            ctx.add("Power", name=value.name, bottoms=[top], tops=[ctx.top(value)], source=value)


@emitter(SliceAxis, helpers=(slice_range,))
def emit_slice_axis(op, ctx: EmitContext) -> None:
    x = op.operands[0]
    axis = op.attrs.positive_axis(x.type.rank)
    begin, end = op.attrs.bounds(x.type.shape[axis])
    slice_range(ctx, op.name, ctx.bottom(x), axis, x.type.shape[axis], begin, end, ctx.top(op.result), op.result)


@emitter(ShuffleChannel, layers=("ShuffleChannel",))
def emit_shuffle_channel(op, ctx: EmitContext) -> None:
    ctx.add("ShuffleChannel", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"shuffle_channel_param": {"group": op.attrs.group}}, source=op.result)
