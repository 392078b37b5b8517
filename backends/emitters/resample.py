"""Emitter for Resample2D (y = rows · x · colsᵀ per plane): a bilinear resize as ncnn's own Interp where the target
has it, any other map (and every map on the Caffe targets) from Convolution and Reshape layers only.

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
from compiler.ops.nn import Interpolation, Resample2D

COMPOSITION = ("Convolution", "Reshape")


def _as_interp(op, target) -> bool:
    """ncnn's Interp works out MXNet's bilinear weights itself (docs/ncnn-format.md, Interp in §4), on sides of 2 pixels
    or more: for a 1-pixel input side it reads the element before each row (weight 0, yet a NaN or ∞ there would
    spread), and with corners aligned a 1-pixel output side's source position is 0·∞, a NaN converted to int
    (undefined in C++; pixel 0 on x86 by accident). Those keep the composition."""
    if op.attrs.interpolation is Interpolation.ANY or "Interp" not in target.layers:
        return False
    in_sides, out_sides = op.operands[0].type.shape[2:], op.result.type.shape[2:]
    corners = op.attrs.interpolation is Interpolation.BILINEAR_ALIGN_CORNERS
    return min(in_sides) >= 2 and (min(out_sides) >= 2 or not corners)


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


@emitter(Resample2D, layers=("Interp",), helpers=(_axis_map, reshape_blob),
         layers_for=lambda op, target: ("Interp",) if _as_interp(op, target) else COMPOSITION)
def emit_resample(op, ctx: EmitContext) -> None:
    x, rows, cols = op.operands
    n, c, h, w = x.type.shape
    out_h, out_w = rows.shape[0], cols.shape[0]
    if _as_interp(op, ctx.target):
        corners = op.attrs.interpolation is Interpolation.BILINEAR_ALIGN_CORNERS
        ctx.add("Interp", name=op.name, bottoms=[ctx.bottom(x)], tops=[ctx.top(op.result)], source=op.result,
                params={"interp_param": {"height": out_h, "width": out_w, "align_corners": corners}})
        return
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
