"""Network layers whose MXNet form differs from the IR op's: extra training outputs (BatchNorm, LeakyReLU's rrelu
mask), a fused ReLU, a target_shape that MXNet resolves at run time, and the resampling ops (adaptive pooling,
bilinear resize, UpSampling, repeat along H or W) as pooling, separable maps or unit-weight deconvolutions."""
from __future__ import annotations


import attrs
import numpy as np

from compiler.compat import StrEnum
from compiler.frontend.lowering import NodeContext, composite
from compiler.ir.fields import choice
from compiler.ir.graph import Value
from compiler.ops import Activation, BatchNorm, Deconvolution, LeakyReLU, Pooling, Resample2D
from compiler.ops.nn import Interpolation


@composite("BatchNorm", builds=(BatchNorm,), attributes=BatchNorm, ignored=BatchNorm.DEF.ignored)
def batchnorm(ctx: NodeContext) -> list[Value]:
    # MXNet's BatchNorm has three outputs (data, mean, var); only the data output exists at inference.
    return [ctx.add(ctx.attributes, *ctx.operands)]


@composite("_contrib_BatchNormWithReLU", builds=(BatchNorm, Activation), attributes=BatchNorm,
           ignored=BatchNorm.DEF.ignored)
def batchnorm_relu(ctx: NodeContext) -> list[Value]:
    normed = ctx.add(ctx.attributes, *ctx.operands, suffix="_bn")
    return [ctx.add(Activation(act_type="relu"), normed)]


@composite("LeakyReLU", builds=(LeakyReLU,), attributes=LeakyReLU)
def leaky_relu(ctx: NodeContext) -> list[Value]:
    # rrelu has a second (mask) output used only in training.
    return [ctx.add(ctx.attributes, *ctx.operands)]


@composite("Deconvolution", builds=(Deconvolution,), attributes=Deconvolution, ignored=Deconvolution.DEF.ignored)
def deconvolution(ctx: NodeContext) -> Value:
    """A `target_shape` makes MXNet recompute pad and adj: total = s·(H − 1) + d·(k − 1) + 1 − T per axis,
    pad = ceil(total / 2), adj = total mod 2 (docs/mxnet.md#deconvolution); they are written out here."""
    deconvolution = ctx.attributes
    if not deconvolution.target_shape:
        return ctx.add(deconvolution, *ctx.operands)
    target = deconvolution.target_shape[-2:]
    pads, adjs = [], []
    for size, want, k, s, d in zip(ctx.operands[0].type.shape[2:], target, deconvolution.kernel, deconvolution.stride,
                                   deconvolution.dilate):
        total = s * (size - 1) + d * (k - 1) + 1 - want
        if total < 0:
            raise ctx.unsupported(f"target_shape {target} is larger than the full transposed convolution",
                                  attribute="target_shape")
        pads.append(-(-total // 2))
        adjs.append(total % 2)
    explicit = attrs.evolve(deconvolution, target_shape=(), pad=tuple(pads), adj=tuple(adjs))
    return ctx.add(explicit, *ctx.operands)


@attrs.frozen(kw_only=True)
class AdaptivePooling:
    output_size: tuple[int, ...] = ()


@composite("_contrib_AdaptiveAvgPooling2D", builds=(Pooling, Resample2D), attributes=AdaptivePooling)
def adaptive_average_pooling(ctx: NodeContext) -> Value:
    """Output bins [floor(i·H/Ho), ceil((i+1)·H/Ho)): global and evenly dividing bins are plain average pooling;
    other bins overlap, and are a separable averaging map (compiler/frontend/resample.py)."""
    from compiler.frontend import resample

    x = ctx.operands[0]
    _, _, h, w = x.type.shape
    try:
        out_h, out_w = resample.adaptive_output_size(ctx.attributes.output_size, (h, w))
    except ValueError as exc:
        raise ctx.unsupported(str(exc), attribute="output_size") from None
    if (out_h, out_w) == (1, 1):
        return ctx.add(Pooling(pool_type="avg", global_pool=True, kernel=(1, 1)), x)
    if h % out_h == 0 and w % out_w == 0:
        window = (h // out_h, w // out_w)
        return ctx.add(Pooling(pool_type="avg", kernel=window, stride=window), x)
    return _resample(ctx, resample.adaptive_average_matrices((h, w), (out_h, out_w)), [])


def _resample(ctx: NodeContext, matrices, extra: list, interpolation: Interpolation = Interpolation.ANY) -> Value:
    """Resample2D by (rows, cols); when checking against MXNet, they must be the very matrices MXNet's own kernel
    applies (read by one-hot probes), bit for bit, or the written weights would differ between the two paths."""
    rows, cols = matrices
    if ctx.check_mxnet:
        from compiler.frontend.probe import separable_matrices

        probed = separable_matrices(ctx.op, ctx.raw_attrs, ctx.operands[0].type.shape, extra, ctx.name)
        for ours, theirs, which in zip((rows, cols), probed, ("rows", "cols")):
            if ours.shape != theirs.shape or not np.array_equal(ours, theirs):
                raise ctx.unsupported(f"our {which} interpolation matrix differs from MXNet's kernel",
                                      hint="this is a converter bug; please report it")
    x = ctx.operands[0]
    return ctx.add(Resample2D(interpolation=interpolation), x, ctx.graph.constant(rows, ctx.name + "_rows"),
                   ctx.graph.constant(cols, ctx.name + "_cols"))


@attrs.frozen(kw_only=True)
class BilinearResize:
    height: int = 1
    width: int = 1
    scale_height: float | None = None
    scale_width: float | None = None
    mode: str = "size"
    align_corners: bool = True


@composite("_contrib_BilinearResize2D", builds=(Resample2D,), attributes=BilinearResize)
def bilinear_resize(ctx: NodeContext) -> Value:
    """Any sizes, scales, modes and align_corners as a separable map (compiler/frontend/resample.py). In mode
    'like' the second operand only gives the output size."""
    from compiler.frontend import resample

    x = ctx.operands[0]
    like = ctx.operands[1].type.shape if len(ctx.operands) > 1 else None
    try:
        # The attribute strings themselves: MXNet parses scales straight to float32 (a Python float between
        # would round twice).
        out_hw = resample.bilinear_resize_shape(ctx.raw_attrs, x.type.shape, like)
    except ValueError as exc:
        raise ctx.unsupported(str(exc), attribute="mode") from None
    align_corners = resample.bilinear_align_corners(ctx.raw_attrs)
    matrices = resample.bilinear_resize_matrices(x.type.shape[2:], out_hw, align_corners)
    interpolation = Interpolation.BILINEAR_ALIGN_CORNERS if align_corners else Interpolation.BILINEAR_HALF_PIXEL
    return _resample(ctx, matrices, [np.zeros(v.type.shape, np.float32) for v in ctx.operands[1:]], interpolation)


class SampleType(StrEnum):
    NEAREST = "nearest"
    BILINEAR = "bilinear"


@attrs.frozen(kw_only=True)
class UpSampling:
    scale: int
    sample_type: SampleType = choice(SampleType, default="nearest")
    num_args: int = 1
    num_filter: int = 0
    multi_input_mode: str = "concat"
    workspace: int = 512


@composite("UpSampling", builds=(Deconvolution,), attributes=UpSampling)
def upsampling(ctx: NodeContext) -> Value:
    """Nearest upsampling by an integer factor s repeats each value in an s×s block: a grouped Deconvolution with
    kernel = stride = s and unit weights computes exactly that. Bilinear upsampling is, in MXNet itself, the
    grouped Deconvolution with its weight input: kernel 2s − s mod 2, stride s, pad ceil((s − 1)/2), no bias."""
    bilinear = ctx.attributes.sample_type is SampleType.BILINEAR
    images = ctx.operands[:-1] if bilinear else ctx.operands   # bilinear's last operand is its weight
    if len(images) != 1:
        raise ctx.unsupported("several inputs (num_args > 1) are summed after resizing; only one converts",
                              attribute="num_args")
    x = ctx.operands[0]
    channels = x.type.shape[1]
    factor = ctx.attributes.scale
    if factor < 1:
        raise ctx.unsupported(f"scale {factor} is no upsampling factor", attribute="scale")
    if bilinear:
        kernel = 2 * factor - factor % 2
        return ctx.add(Deconvolution(num_filter=channels, kernel=kernel, stride=factor, pad=-(-(factor - 1) // 2),
                                     num_group=channels), x, ctx.operands[-1])
    weight = ctx.graph.constant(np.ones((channels, 1, factor, factor), np.float32), ctx.name + "_unit_weight")
    return ctx.add(Deconvolution(num_filter=channels, kernel=factor, stride=factor, num_group=channels), x, weight)


@attrs.frozen(kw_only=True)
class Repeat:
    repeats: int
    axis: int | None = None


@composite("repeat", builds=(Deconvolution,), attributes=Repeat)
def repeat(ctx: NodeContext) -> Value:
    """repeat(x, r, axis) along H or W of NCHW data repeats each row or column r times (YOLOv3's nearest
    upsampling): a grouped Deconvolution with kernel = stride = r along that axis and unit weights."""
    x, a = ctx.operands[0], ctx.attributes
    axis = a.axis + x.type.rank if a.axis is not None and a.axis < 0 else a.axis
    if x.type.rank != 4 or axis not in (2, 3):
        raise ctx.unsupported(f"axis {a.axis}: only repeating rows or columns of NCHW data (axis 2 or 3) converts",
                              attribute="axis")
    kernel = (a.repeats, 1) if axis == 2 else (1, a.repeats)
    channels = x.type.shape[1]
    weight = ctx.graph.constant(np.ones((channels, 1, *kernel), np.float32), ctx.name + "_unit_weight")
    return ctx.add(Deconvolution(num_filter=channels, kernel=kernel, stride=kernel, num_group=channels), x, weight)
