"""Lower broadcast/element-wise arithmetic to Scale, Power or Eltwise."""
from __future__ import annotations

import numpy as np

from compiler.ops import BroadcastArith, ElemwiseAdd, Eltwise, Power, Reshape, Scale
from passes.manager import PassContext, PassResult, rewrites


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


@rewrites(BroadcastArith, ElemwiseAdd, produces=(Scale, Power, Eltwise, Reshape))
def lower_broadcast_arithmetic(graph, ctx: PassContext) -> PassResult:
    """Pattern: BroadcastArith(lhs, rhs) {op ∈ add, sub, mul, div}; ElemwiseAdd of data and a constant
    Emits:   data ∘ constant varying along contiguous axes k..k+m−1 (or a scalar) → Scale {axis k, num_axes m}
             (x+c: w 1, b c; x−c: w 1, b −c; c−x: w −1, b c; x·c: w c; x/c: w 1/c) or Power for a scalar;
             same-shaped data: add → Eltwise SUM, sub → Eltwise SUM {coeff 1, −1}, mul → Eltwise PROD; data × data
             where the smaller one is a leading block of the larger (an SE gate (N, C, 1, 1) on (N, C, H, W)) →
             Reshape of the gate to that block (N, C) + two-bottom Scale {axis 0}
    Exact:   yes up to float32 rounding (x/c becomes x·(1/c))
    Skips:   c/x, data/data and other broadcasting between two data tensors (no Caffe layer; legality names them);
             two constants are fold_constants' work, which runs first"""
    rewrites = 0
    for op in graph.ops_of(BroadcastArith, ElemwiseAdd):
        if op.isa(ElemwiseAdd) and (len(op.operands) != 2 or all(v.const is None for v in op.operands)):
            continue   # a sum of data is Eltwise SUM already; a constant among them came from fold_constants
        lhs, rhs = op.operands
        kind = "add" if op.isa(ElemwiseAdd) else op.attrs.op
        out_shape = op.result.type.shape
        replacement = None
        with graph.inserting_before(op):
            if (lhs.const is None) != (rhs.const is None):
                data, const = (lhs, rhs.const) if rhs.const is not None else (rhs, lhs.const)
                constant_first = lhs.const is not None
                if const.size > 1 and np.all(const == const.reshape(-1)[0]):
                    const = const.reshape(-1)[:1]   # a uniform array (ones_like folded) is a scalar
                block = _axis_block(tuple(const.shape), data.type.shape) if data.type.shape == out_shape else None
                if block is None or (kind == "div" and constant_first):
                    ctx.skip(op, "the constant does not vary along contiguous axes of the data, or divides by data")
                    continue
                axis, count = block
                c = const.astype(np.float64).reshape(data.type.shape[axis:axis + count]) if axis != -1 \
                    else float(const.reshape(-1)[0])
                weight, bias = {
                    "add": (1.0, c), "mul": (c, None), "div": (1.0 / np.asarray(c), None),
                    "sub": (-1.0, c) if constant_first else (1.0, -np.asarray(c)),
                }[kind]
                if axis == -1:
                    step = Power(scale=float(weight), shift=float(bias) if bias is not None else 0.0)
                    replacement = graph.add(step, data, name=op.name + "_power", origin=op.origin).result
                else:
                    block_shape = data.type.shape[axis:axis + count]
                    w = graph.constant(np.broadcast_to(weight, block_shape), op.name + "_weight")
                    operands = [data, w]
                    if bias is not None:
                        operands.append(graph.constant(np.broadcast_to(bias, block_shape), op.name + "_bias"))
                    replacement = graph.add(Scale(axis=axis, num_axes=count), *operands, name=op.name + "_scale",
                                            origin=op.origin).result
            elif kind == "mul" and lhs.type.shape != rhs.type.shape and out_shape in (lhs.type.shape, rhs.type.shape):
                big, small = (lhs, rhs) if lhs.type.shape == out_shape else (rhs, lhs)
                block = _leading_block(small.type.shape, big.type.shape)
                if block is None:
                    ctx.skip(op, f"{small.type.shape} is not a leading block of {big.type.shape}, so no Scale "
                                 "layer multiplies them")
                    continue
                gate = small
                if small.type.shape != block:
                    gate = graph.add(Reshape(shape=block), small, name=op.name + "_gate", origin=op.origin).result
                replacement = graph.add(Scale(axis=0, num_axes=len(block)), big, gate, name=op.name + "_scale",
                                        origin=op.origin).result
            elif lhs.type.shape == rhs.type.shape and kind != "div":
                step = {"add": Eltwise(operation="SUM"), "sub": Eltwise(operation="SUM", coeff=(1.0, -1.0)),
                        "mul": Eltwise(operation="PROD")}[kind]
                replacement = graph.add(step, lhs, rhs, name=op.name + "_eltwise", origin=op.origin).result
            else:
                ctx.skip(op, "division of data by data, or broadcasting between two data tensors")
                continue
        graph.replace_op(op, replacement, take_name=replacement.producer is not None)
        rewrites += 1
    return PassResult(rewrites)
