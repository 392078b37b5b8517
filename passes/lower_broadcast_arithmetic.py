"""Lower broadcast/element-wise arithmetic to Scale, Power or Eltwise."""
from __future__ import annotations

import numpy as np

from compiler.ops import (BroadcastArith, Concat, ElemwiseAdd, Eltwise, FullyConnected, Pooling, Power, Reshape,
                          Scale)
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


# Repeating a blob by Concat of copies: beyond this many copies the net would grow more than the op is worth.
MAX_COPIES = 1024


def _copies(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """How often each axis of `shape` repeats to make out_shape (1 where it is whole); None when the ranks differ
    or an axis is neither whole nor 1."""
    if len(shape) != len(out_shape) or any(d not in (1, o) for d, o in zip(shape, out_shape)):
        return None
    return tuple(o if d == 1 else 1 for d, o in zip(shape, out_shape))


def _tiled(graph, value, copies, out_shape, name, origin):
    """value repeated along its size-1 axes by a Concat of copies per axis (a copy is exact)."""
    for axis, count in enumerate(copies):
        if count > 1:
            value = graph.add(Concat(dim=axis), *[value] * count, name=f"{name}_tile{axis}", origin=origin).result
    return value


def _with_constant_blob(graph, op, data, kind, const, constant_first):
    """data ∘ c as Eltwise with c materialised as a blob, for a target whose Scale ignores axis and num_axes (ncnn):
    c (broadcast to one sample) is the bias of an InnerProduct with zero weights, fed the global average of the
    data, reshaped to the data's shape. Exact: the InnerProduct adds 0·x terms, 0 for finite x, to its bias."""
    shape = data.type.shape
    sample = np.broadcast_to(np.asarray(const, np.float64).reshape((1,) * (len(shape) - const.ndim) + const.shape),
                             (1,) + shape[1:]).reshape(-1)
    if kind == "sub" and not constant_first:
        sample = -sample
    if kind == "div":
        sample = 1.0 / sample
    seed = graph.add(Pooling(global_pool=True, pool_type="avg", kernel=(1, 1)), data, name=op.name + "_seed",
                     origin=op.origin).result
    values = graph.add(FullyConnected(num_hidden=sample.size), seed,
                       graph.constant(np.zeros((sample.size, shape[1])), op.name + "_zeros"),
                       graph.constant(sample, op.name + "_values"), name=op.name + "_values", origin=op.origin).result
    blob = graph.add(Reshape(shape=shape), values, name=op.name + "_blob", origin=op.origin).result
    step = {"add": Eltwise(operation="SUM"), "mul": Eltwise(operation="PROD"), "div": Eltwise(operation="PROD"),
            "sub": Eltwise(operation="SUM", coeff=(-1.0, 1.0) if constant_first else (1.0, 1.0))}[kind]
    return graph.add(step, data, blob, name=op.name + "_eltwise", origin=op.origin).result


@rewrites(BroadcastArith, ElemwiseAdd,
          produces=(Scale, Power, Eltwise, Reshape, Concat, Pooling, FullyConnected))
def lower_broadcast_arithmetic(graph, ctx: PassContext) -> PassResult:
    """Pattern: BroadcastArith(lhs, rhs) {op ∈ add, sub, mul, div}; ElemwiseAdd of data and a constant
    Emits:   data ∘ constant varying along contiguous axes k..k+m−1 (or a scalar) → Scale {axis k, num_axes m}
             (x+c: w 1, b c; x−c: w 1, b −c; c−x: w −1, b c; x·c: w c; x/c: w 1/c) or Power for a scalar;
             same-shaped data: add → Eltwise SUM, sub → Eltwise SUM {coeff 1, −1}, mul → Eltwise PROD; data × data
             where the smaller one is a leading block of the larger (an SE gate (N, C, 1, 1) on (N, C, H, W)) →
             Reshape of the gate to that block (N, C) + two-bottom Scale {axis 0}; other data ∘ data of one rank
             whose size-1 axes broadcast (YOLOv3's class × objectness scores) → each operand repeated along those
             axes by a Concat of copies (at most MAX_COPIES), then Eltwise; on a target whose Scale acts per
             channel only (ncnn), a constant varying along other axes → Eltwise with the constant as a blob (the
             bias of a zero-weight InnerProduct on the data's global average)
    Exact:   yes up to float32 rounding (x/c becomes x·(1/c))
    Skips:   c/x, data/data, broadcasting between data tensors of different ranks or by more copies than
             MAX_COPIES (no Caffe layer; legality names them);
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
                    "add": lambda: (1.0, c), "mul": lambda: (c, None), "div": lambda: (1.0 / np.asarray(c), None),
                    "sub": lambda: (-1.0, c) if constant_first else (1.0, -np.asarray(c)),
                }[kind]()   # only the op's own pair: 1/c of a zero constant is not needed for a product
                if axis == -1:
                    step = Power(scale=float(weight), shift=float(bias) if bias is not None else 0.0)
                    replacement = graph.add(step, data, name=op.name + "_power", origin=op.origin).result
                elif (axis, count) != (1, 1) and not ctx.target.policy.axis_params:
                    if data.type.rank != 4:
                        ctx.skip(op, "the target's Scale acts per channel only, and the data is not 4-D")
                        continue
                    replacement = _with_constant_blob(graph, op, data, kind, const, constant_first)
                else:
                    block_shape = data.type.shape[axis:axis + count]
                    w = graph.constant(np.broadcast_to(weight, block_shape), op.name + "_weight")
                    operands = [data, w]
                    if bias is not None:
                        operands.append(graph.constant(np.broadcast_to(bias, block_shape), op.name + "_bias"))
                    replacement = graph.add(Scale(axis=axis, num_axes=count), *operands, name=op.name + "_scale",
                                            origin=op.origin).result
            elif kind == "mul" and lhs.type.shape != rhs.type.shape and out_shape in (lhs.type.shape, rhs.type.shape) \
                    and _leading_block(*sorted((lhs.type.shape, rhs.type.shape), key=lambda s: s == out_shape)):
                big, small = (lhs, rhs) if lhs.type.shape == out_shape else (rhs, lhs)
                block = _leading_block(small.type.shape, big.type.shape)
                gate = small
                if small.type.shape != block:
                    gate = graph.add(Reshape(shape=block), small, name=op.name + "_gate", origin=op.origin).result
                replacement = graph.add(Scale(axis=0, num_axes=len(block)), big, gate, name=op.name + "_scale",
                                        origin=op.origin).result
            elif lhs.type.shape != rhs.type.shape and kind != "div":
                copies = [_copies(v.type.shape, out_shape) for v in (lhs, rhs)]
                if None in copies or max(int(np.prod(c)) for c in copies) > MAX_COPIES:
                    ctx.skip(op, f"{lhs.type.shape} and {rhs.type.shape} broadcast other than by repeating size-1 "
                                 f"axes of the same rank, or by more than {MAX_COPIES} copies")
                    continue
                lhs, rhs = (_tiled(graph, v, c, out_shape, f"{op.name}_{side}", op.origin)
                            for v, c, side in zip((lhs, rhs), copies, ("lhs", "rhs")))
                step = {"add": Eltwise(operation="SUM"), "sub": Eltwise(operation="SUM", coeff=(1.0, -1.0)),
                        "mul": Eltwise(operation="PROD")}[kind]
                replacement = graph.add(step, lhs, rhs, name=op.name + "_eltwise", origin=op.origin).result
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
