"""Lower broadcast/element-wise arithmetic to Scale, Power, Clip or Eltwise."""
from __future__ import annotations

import numpy as np

from compiler.ops import (BroadcastAdd, BroadcastDiv, BroadcastMul, Clip, Concat, Convolution, Deconvolution,
                          ElemwiseAdd, Eltwise, FullyConnected, Pooling, Power, Reshape, Scale, SliceAxis)
from compiler.ops.arith import BroadcastBinary
from passes.support.broadcasting import MAX_COPIES, constant_blob, repeated
from passes.manager import PassContext, PassResult, compiler_pass


def _axis_block(const_shape: tuple[int, ...], data_shape: tuple[int, ...]) -> tuple[int, int] | None:
    """(axis, count): the contiguous axes along which a constant varies when broadcast against data, where it has
    the data's dims; (-1, 0) for a scalar; None when its varying axes are not one contiguous block."""
    padded = (1,) * (len(data_shape) - len(const_shape)) + const_shape
    if len(padded) != len(data_shape):
        return None
    varying = [i for i, d in enumerate(padded) if d != 1]
    if not varying:
        return -1, 0
    first, last = varying[0], varying[-1]
    if any(padded[i] != data_shape[i] for i in range(first, last + 1)):
        return None
    return first, last - first + 1


def _leading_block(small: tuple[int, ...], big: tuple[int, ...]) -> tuple[int, ...] | None:
    """The leading dims big[:k] that `small` (broadcast against `big`) equals, all of small's other dims being 1:
    then small · big is Caffe's two-bottom Scale {axis 0} with small reshaped to big[:k]. None otherwise."""
    padded = (1,) * (len(big) - len(small)) + small
    if len(padded) != len(big):
        return None
    varying = [i for i, d in enumerate(padded) if d != 1]
    k = max(varying, default=0) + 1
    if padded[:k] != big[:k] or any(d != 1 for d in padded[k:]):
        return None
    return big[:k]


def _scaled(graph, op, data, const, constant_first: bool, ctx):
    """data ∘ constant as one Power (a scalar) or Scale (a constant varying along contiguous axes), when the op
    has that form (op.attrs.constant_scale); None otherwise."""
    if const.size > 1 and np.all(const == const.reshape(-1)[0]):
        const = const.reshape(-1)[:1]   # a uniform array (ones_like folded) is a scalar
    block = _axis_block(tuple(const.shape), data.type.shape) if data.type.shape == op.result.type.shape else None
    if block is None:
        return None
    axis, count = block
    c = const.astype(np.float64).reshape(data.type.shape[axis:axis + count]) if axis != -1 \
        else float(const.reshape(-1)[0])
    form = op.attrs.constant_scale(c, constant_first)
    if form is None:
        return None
    weight, bias = form
    if axis == -1:
        step = Power(scale=float(weight), shift=float(bias) if bias is not None else 0.0)
        return graph.add(step, data, name=op.name + "_power", origin=op.origin).result
    if (axis, count) != (1, 1) and not ctx.target.policy.axis_params:
        return None   # the consumer's Scale acts per channel only: the constant goes in as a blob
    block_shape = data.type.shape[axis:axis + count]
    operands = [data, graph.constant(np.broadcast_to(weight, block_shape), op.name + "_weight")]
    if bias is not None:
        operands.append(graph.constant(np.broadcast_to(bias, block_shape), op.name + "_bias"))
    return graph.add(Scale(axis=axis, num_axes=count), *operands, name=op.name + "_scale", origin=op.origin).result


def _eltwise(graph, op, binary, lhs, rhs):
    """Same-shaped data ∘ data as one Eltwise (binary.eltwise); a negated form (min) as −max(−lhs, −rhs)."""
    operation, coeff = binary.eltwise
    if binary.negated:   # negation is exact
        lhs, rhs = (graph.add(Power(scale=-1.0), v, name=f"{op.name}_negated{i}", origin=op.origin).result
                    for i, v in enumerate((lhs, rhs)))
    result = graph.add(Eltwise(operation=operation, coeff=coeff), lhs, rhs, name=op.name + "_eltwise",
                       origin=op.origin).result
    if binary.negated:
        result = graph.add(Power(scale=-1.0), result, name=op.name + "_negated", origin=op.origin).result
    return result


def _lowered(graph, op, ctx):
    """The replacement of one binary op with constant or data operands, or None (with a skip recorded) when no
    exact form exists. A division by data has become a product already (see the pass)."""
    lhs, rhs = op.operands
    binary = op.attrs
    out_shape = op.result.type.shape
    if (lhs.const is None) != (rhs.const is None):
        data, const = (lhs, rhs.const) if rhs.const is not None else (rhs, lhs.const)
        constant_first = lhs.const is not None
        if const.size == 1 or np.all(const == const.reshape(-1)[0]):
            clip = binary.scalar_clip(float(const.reshape(-1)[0]))
            if clip is not None and data.type.shape == out_shape:
                return graph.add(clip, data, name=op.name + "_clip", origin=op.origin).result
        found = _scaled(graph, op, data, const, constant_first, ctx)
        if found is not None:
            return found
        if data.type.rank < 2:
            ctx.skip(op, "a constant that no Scale or Power applies, on data without a batch axis")
            return None
        # The constant becomes a blob, and the op one of data ∘ data (x / c one of x · (1/c)).
        sample = np.broadcast_to(np.asarray(const, np.float64).reshape(
            (1,) * (len(out_shape) - const.ndim) + const.shape), (1,) + out_shape[1:])[0]
        if isinstance(binary, BroadcastDiv):
            sample, binary = 1.0 / sample, BroadcastMul()
        blob = constant_blob(graph, sample, data, op.name + "_constant", op.origin)
        lhs, rhs = (blob, data) if constant_first else (data, blob)
    if isinstance(binary, BroadcastMul) and lhs.type.shape != rhs.type.shape and out_shape in (
            lhs.type.shape, rhs.type.shape):
        big, small = (lhs, rhs) if lhs.type.shape == out_shape else (rhs, lhs)
        block = _leading_block(small.type.shape, big.type.shape)
        # (a consumer whose Scale acts per channel only takes a second bottom of (N, C) alone)
        if block is not None and (ctx.target.policy.axis_params or block == big.type.shape[:2]):   # an SE gate
            gate = small if small.type.shape == block else graph.add(Reshape(shape=block), small,
                                                                     name=op.name + "_gate", origin=op.origin).result
            return graph.add(Scale(axis=0, num_axes=len(block)), big, gate, name=op.name + "_scale",
                             origin=op.origin).result
    sides = []
    for side, value in (("lhs", lhs), ("rhs", rhs)):
        if value.type.rank < len(out_shape):
            padded = (1,) * (len(out_shape) - value.type.rank) + value.type.shape
            value = graph.add(Reshape(shape=padded), value, name=f"{op.name}_{side}_rank", origin=op.origin).result
        if value.type.shape != out_shape:
            value = repeated(graph, value, out_shape, f"{op.name}_{side}", op.origin)
            if value is None:
                ctx.skip(op, f"{lhs.type.shape} and {rhs.type.shape} broadcast by more than {MAX_COPIES} copies "
                             "along axes only a Concat repeats")
                return None
        sides.append(value)
    return _eltwise(graph, op, binary, *sides)


def _in_place_of(graph, op, new_attrs, *operands):
    """A new op computing `new_attrs` on `operands`, which takes op's place and name."""
    with graph.inserting_before(op):
        new = graph.add(new_attrs, *operands, name=op.name + "_as_" + type(new_attrs).__name__.lower(),
                        origin=op.origin)
    graph.replace_op(op, new.result)
    return new


@compiler_pass(
    before={"fold_scalar_arithmetic": "the Powers it makes are merged and folded into weights there",
            "clip_to_relu": "the Clips of maximum and minimum are lowered there"},
    rewrites=(BroadcastBinary, ElemwiseAdd),
    produces=(Scale, Power, Clip, Eltwise, Reshape, Concat, Convolution, Deconvolution, Pooling,
                    FullyConnected, SliceAxis),
    pattern=("a binary arithmetic op with NumPy broadcasting (BroadcastAdd/Sub/Mul/Div/Max/Min); "
             "ElemwiseAdd of data and a constant"),
    emits=("data ∘ scalar max/min → Clip with an open end; data ∘ constant varying along contiguous "
           "axes k..k+m−1 (or a scalar) → Scale {axis k, num_axes m} or Power, as the op's "
           "constant_scale says (x+c, x−c, c−x, x·c, x/c); data / data → lhs · Power(power −1)(rhs); "
           "data × data where the smaller is a leading block of the larger (an SE gate (N, C, 1, 1) on "
           "(N, C, H, W)) → Reshape of the gate + two-bottom Scale {axis 0}; any other data ∘ data: "
           "each operand repeated to the result's shape by exact layers (passes/support/broadcasting.py: "
           "unit-weight Convolution along channels, unit-weight grouped Deconvolution along H/W, Concat "
           "copies elsewhere), then one Eltwise (SUM, SUM with coefficients 1, −1, PROD, MAX; min as "
           "−max(−lhs, −rhs)); a constant none of those forms takes (max/min with a tensor, c/x, a "
           "constant varying along axes apart, or off the channel axis where the consumer's Scale acts "
           "per channel only) becomes a blob (the bias of a zero-weight InnerProduct) and the op one of "
           "data ∘ data"),
    exact=("yes up to float32 rounding (x/c becomes x·(1/c), data/data lhs·(1/rhs)); repeats and the "
           "constant blob multiply by 1.0 and add 0·x, exact for finite data"),
    skips=("broadcasting that needs more than MAX_COPIES copies along an axis only Concat repeats (the "
           "batch axis, data of rank other than 4); two constants are fold_constants' work, which runs "
           "first"))
def lower_broadcast_arithmetic(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    for op in graph.ops_of(BroadcastBinary, ElemwiseAdd):
        if op.isa(ElemwiseAdd):
            if len(op.operands) != 2 or all(v.const is None for v in op.operands):
                continue   # a sum of data is Eltwise SUM already; a constant among them came from fold_constants
            op = _in_place_of(graph, op, BroadcastAdd(), *op.operands)
        if op.isa(BroadcastDiv) and op.operands[1].const is None:
            # data / data: lhs · rhs⁻¹ (one rounding more than a division)
            lhs, rhs = op.operands
            with graph.inserting_before(op):
                inverse = graph.add(Power(power=-1.0), rhs, name=op.name + "_inverse", origin=op.origin).result
            op = _in_place_of(graph, op, BroadcastMul(), lhs, inverse)
        with graph.inserting_before(op):
            replacement = _lowered(graph, op, ctx)
        if replacement is None:
            continue
        graph.replace_op(op, replacement, take_name=replacement.producer is not None)
        rewrites_done += 1
    return PassResult(rewrites_done)
