"""Emitter for Resample2D (y = rows · x · colsᵀ per plane) from Convolution and Reshape layers only.

Each direction is a convolution whose kernel spans that whole axis: a (1, W) kernel with Wo outputs applies cols to
every row, giving (…, Wo, H, 1); a Reshape turns that into (…, 1, Wo, H), and a (1, H) kernel with Ho outputs applies
rows, giving (…, Ho, Wo, 1). Where a Reshape may change the batch axis, the planes are folded into the batch first
((N·C, 1, H, W)), so both weights are just the matrices; otherwise (ncnn) the channels stay and each convolution is
grouped by channel, its weights the matrix repeated per channel. Every output is one dot product of a matrix row
with the input, as in MXNet, so the result is exact up to float32 summation order."""
from __future__ import annotations

import numpy as np

from backends.emitters import EmitContext, const, emitter
from backends.emitters.shared import convolution_geometry, reshape_blob, writes
from compiler.ops.nn import Resample2D


@writes("Convolution")
def _axis_map(ctx: EmitContext, name: str, bottom: str, matrix: np.ndarray, groups: int) -> str:
    """A Convolution with kernel (1, K) applying `matrix` (M, K) to the last axis of each of `groups` planes."""
    outputs, span = matrix.shape
    weight = np.tile(matrix.astype(np.float32), (groups, 1)).reshape(groups * outputs, 1, 1, span)
    param = {"num_output": groups * outputs, "bias_term": False}
    param.update(convolution_geometry((1, span), (1, 1), (0, 0)))
    if groups > 1:
        param["group"] = groups
    top = ctx.new_blob(name)
    ctx.add("Convolution", name=name, bottoms=[bottom], tops=[top], params={"convolution_param": param},
            blobs=[weight])
    return top


@emitter(Resample2D, helpers=(_axis_map, reshape_blob))
def emit_resample(op, ctx: EmitContext) -> None:
    x, rows, cols = op.operands
    n, c, h, w = x.type.shape
    out_h, out_w = rows.shape[0], cols.shape[0]
    fold = ctx.target.policy.reshape_batch
    planes, groups = (n * c, 1) if fold else (n, c)
    channels = 1 if fold else c
    bottom = ctx.bottom(x)
    if fold:
        bottom = reshape_blob(ctx, f"{op.name}_planes", bottom, (planes, 1, h, w))
    bottom = _axis_map(ctx, f"{op.name}_cols", bottom, const(cols), groups)           # (P, G·Wo, H, 1)
    bottom = reshape_blob(ctx, f"{op.name}_turn", bottom, (planes, channels, out_w, h))   # (P, G, Wo, H)
    bottom = _axis_map(ctx, f"{op.name}_rows", bottom, const(rows), groups)           # (P, G·Ho, Wo, 1)
    reshape_blob(ctx, op.name, bottom, (n, c, out_h, out_w), top=ctx.top(op.result), source=op.result)
