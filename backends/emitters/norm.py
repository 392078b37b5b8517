"""Emitters for compiler/ops/norm.py: BatchNorm (+ its Scale), Scale, LRN, and caffe-ssd's Normalize."""
from __future__ import annotations

import numpy as np

from backends.emitters import EmitContext, const, emitter
from compiler.ops import LRN, BatchNorm, Normalize, Scale


@emitter(BatchNorm, layers=("BatchNorm", "Scale"))
def emit_batchnorm(op, ctx: EmitContext) -> None:
    a: BatchNorm = op.attrs
    x, gamma, beta, mean, var = op.operands
    normalized = ctx.new_blob(f"{op.name}_normalized")
    # Scale factor blob [1.0]: a 0 there makes every consumer zero the statistics (docs/caffe.md#batchnorm).
    ctx.add("BatchNorm", name=op.name, bottoms=[ctx.bottom(x)], tops=[normalized],
            params={"batch_norm_param": {"use_global_stats": True, "eps": float(np.float32(a.eps))}},
            blobs=[const(mean), const(var), np.ones(1, np.float32)])
    scale = np.ones_like(const(gamma)) if a.fix_gamma else const(gamma)
    ctx.add("Scale", name=f"{op.name}_scale", bottoms=[normalized], tops=[ctx.top(op.result)],
            params={"scale_param": {"bias_term": True}}, blobs=[scale, const(beta)], source=op.result)


def _scale_legality(op, target) -> str | None:
    x, scale = op.operands[:2]
    if not scale.is_constant:
        # A second bottom of (N, C) on axis 0 is what every consumer multiplies per channel.
        if not target.policy.axis_params and not (op.attrs.axis == 0 and scale.type.shape == x.type.shape[:2]):
            return f"{target.name} multiplies a second Scale bottom per channel only; this one is {scale.type.shape}"
        return None
    if (op.attrs.axis, op.attrs.num_axes) != (1, 1) and not target.policy.axis_params:
        return f"{target.name} ignores Scale's axis and num_axes and scales per channel"
    return None


@emitter(Scale, layers=("Scale",), legal=_scale_legality)
def emit_scale(op, ctx: EmitContext) -> None:
    a: Scale = op.attrs
    x, scale = op.operands[:2]
    param = {"bias_term": len(op.operands) == 3}
    if a.axis != 1:
        param["axis"] = a.axis
    if a.num_axes != 1 and scale.is_constant:   # with a second bottom, its shape says how many axes
        param["num_axes"] = a.num_axes
    bottoms = [ctx.bottom(x)] + ([ctx.bottom(scale)] if not scale.is_constant else [])
    ctx.add("Scale", name=op.name, bottoms=bottoms, tops=[ctx.top(op.result)], params={"scale_param": param},
            blobs=[const(v) for v in op.operands[1:] if v.is_constant], source=op.result)


def _lrn_legality(op, target) -> str | None:
    if op.attrs.nsize % 2 == 0:
        return f"nsize {op.attrs.nsize}: Caffe's LRN takes odd window sizes only"
    return None


@emitter(LRN, layers=("LRN", "Power"), legal=_lrn_legality)
def emit_lrn(op, ctx: EmitContext) -> None:
    """OpenCV and ncnn ignore LRN's k (they take 1), so k goes outside: x / (k + α/n·S)^β =
    k^(−β) · x / (1 + (α/k)/n·S)^β, an LRN with k 1 and α/k, then a Power for k ≠ 1."""
    a: LRN = op.attrs
    last = a.knorm == 1.0
    top = ctx.top(op.result) if last else ctx.new_blob(f"{op.name}_unit_k")
    ctx.add("LRN", name=op.name if last else f"{op.name}_unit_k", bottoms=[ctx.bottom(op.operands[0])], tops=[top],
            params={"lrn_param": {"local_size": a.nsize, "alpha": a.alpha / a.knorm, "beta": a.beta, "k": 1.0}},
            source=op.result if last else None)
    if not last:
        ctx.add("Power", name=op.name, bottoms=[top], tops=[ctx.top(op.result)],
                params={"power_param": {"scale": a.knorm ** -a.beta}}, source=op.result)


@emitter(Normalize, layers=("Normalize",))
def emit_normalize(op, ctx: EmitContext) -> None:
    a: Normalize = op.attrs
    ctx.add("Normalize", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"norm_param": {"across_spatial": a.across_spatial, "channel_shared": a.channel_shared,
                                   "eps": a.eps}},
            # a shared scale is a 0-axis blob, the shape caffe-ssd allocates (OpenCV reads it as one value)
            blobs=[np.asarray(const(op.operands[1])).reshape(()) if a.channel_shared else const(op.operands[1])],
            source=op.result)
