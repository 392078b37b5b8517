"""Emitters for compiler/ops/nn.py: Convolution, Deconvolution, InnerProduct, Pooling (+ exact floor slicing), and
ncnn's DeformableConv2D."""
from __future__ import annotations

import attrs
import numpy as np

from backends.emitters import EmitContext, const, emitter
from backends.emitters.shared import convolution_geometry, geometry, slice_range
from compiler.ops import Convolution, Deconvolution, FullyConnected, ModulatedDeformableConvolution, Pooling
from compiler.ops.nn import PoolType, pooled_size


@emitter(Convolution, layers=("Convolution",))
def emit_convolution(op, ctx: EmitContext, layer: str = "Convolution", a=None, top: str | None = None,
                     source=True, name: str | None = None) -> None:
    """`a`, `top`, `source` and `name` let a caller write the layer with other geometry into another blob."""
    a = a or op.attrs
    param = {"num_output": a.num_filter, "bias_term": len(op.operands) == 3}
    param.update(convolution_geometry(a.kernel, a.stride, a.pad))
    if a.dilate != (1, 1):
        param["dilation"] = [a.dilate[0]] if a.dilate[0] == a.dilate[1] else list(a.dilate)
    if a.num_group != 1:
        param["group"] = a.num_group
    ctx.add(layer, name=name or op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[top or ctx.top(op.result)],
            params={"convolution_param": param}, blobs=[const(v) for v in op.operands[1:]],
            source=op.result if source else None)


@emitter(ModulatedDeformableConvolution, layers=("DeformableConv2D",))
def emit_modulated_deformable_convolution(op, ctx: EmitContext) -> None:
    """ncnn's DeformableConv2D: data, offset and mask as its bottoms, a convolution's geometry and weights."""
    a = op.attrs
    param = {"num_output": a.num_filter, "bias_term": len(op.operands) == 5, **convolution_geometry(a.kernel, a.stride,
                                                                                                     a.pad)}
    if a.dilate != (1, 1):
        param["dilation"] = list(a.dilate)
    ctx.add("DeformableConv2D", name=op.name, bottoms=[ctx.bottom(v) for v in op.operands[:3]],
            tops=[ctx.top(op.result)], params={"convolution_param": param},
            blobs=[const(v) for v in op.operands[3:]], source=op.result)


def _deconvolution_legality(op, target) -> str | None:
    if any(adj > pad for adj, pad in zip(op.attrs.adj, op.attrs.pad)):
        return (f"adj {op.attrs.adj} beyond pad {op.attrs.pad}: the extra output rows would lie outside the full "
                "transposed convolution, where Caffe has no output padding")
    if op.attrs.dilate != (1, 1):
        return "OpenCV sizes a dilated Deconvolution differently from Caffe and MXNet, so it cannot be verified"
    return None


@emitter(Deconvolution, layers=("Deconvolution",), helpers=(slice_range,), legal=_deconvolution_legality)
def emit_deconvolution(op, ctx: EmitContext) -> None:
    """MXNet's `adj` keeps `adj` more rows (columns) at the end of the full transposed convolution than `pad`
    suggests: the output is full[pad : pad + out]. With pad − adj, Caffe's Deconvolution gives full[pad − adj :],
    whose rows from `adj` on are MXNet's; a Slice keeps them (docs/mxnet.md#deconvolution)."""
    a: Deconvolution = op.attrs
    if not any(a.adj):
        emit_convolution(op, ctx, layer="Deconvolution")
        return
    wider = attrs.evolve(a, pad=tuple(p - adj for p, adj in zip(a.pad, a.adj)), adj=(0, 0))
    blob = ctx.new_blob(f"{op.name}_full")
    emit_convolution(op, ctx, layer="Deconvolution", a=wider, top=blob, source=False, name=f"{op.name}_full")
    size = [(h - 1) * s - 2 * p + d * (k - 1) + 1 for h, s, p, d, k in
            zip(op.operands[0].type.shape[2:], wider.stride, wider.pad, wider.dilate, wider.kernel)]
    cuts = [(axis, adj, want) for axis, adj, want in zip((2, 3), a.adj, op.result.type.shape[2:]) if adj]
    for i, (axis, adj, want) in enumerate(cuts):
        last = i == len(cuts) - 1
        kept = ctx.top(op.result) if last else ctx.new_blob(f"{op.name}_cut{axis}")
        slice_range(ctx, op.name if last else f"{op.name}_cut{axis}", blob, axis, size[axis - 2], adj, adj + want,
                    kept, op.result if last else None)
        blob = kept


def _inner_product_legality(op, target) -> str | None:
    if not op.attrs.flatten and op.operands[0].type.rank != 2 and not target.policy.axis_params:
        return f"{target.name} ignores InnerProduct's axis, so flatten=False on rank-{op.operands[0].type.rank} data " \
               "would flatten everything"
    return None


@emitter(FullyConnected, layers=("InnerProduct",), legal=_inner_product_legality)
def emit_inner_product(op, ctx: EmitContext) -> None:
    a: FullyConnected = op.attrs
    rank = op.operands[0].type.rank
    param = {"num_output": a.num_hidden, "bias_term": len(op.operands) == 3}
    if not a.flatten and rank != 2:
        param["axis"] = rank - 1
    ctx.add("InnerProduct", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"inner_product_param": param}, blobs=[const(v) for v in op.operands[1:]], source=op.result)


def caffe_pooled_size(size: int, kernel: int, stride: int, pad: int, any_pad: bool | None = None) -> int:
    """BVLC pooling_layer.cpp: ceil, then drop a last window that would start in the trailing pad. BVLC applies
    the drop on both axes when either has padding (`any_pad`); OpenCV only on an axis with padding."""
    out = -(-(size + 2 * pad - kernel) // stride) + 1
    if (pad > 0 if any_pad is None else any_pad) and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def pooling_legality(op, target) -> str | None:
    a: Pooling = op.attrs
    if a.pool_type is PoolType.LP:
        return (f"p_value {a.p_value}: MXNet's Lp pooling takes the real root of a signed sum of powers, which no "
                "Caffe layer computes (p 1 and 2 convert)")
    if a.global_pool:
        return None
    if _averaged_by_convolution(a, target):
        h, w = op.operands[0].type.shape[2:]
        if op.result.type.shape[2:] != tuple(pooled_size(*g, "valid") for g in zip((h, w), a.kernel, a.stride, a.pad)):
            return (f"{target.name} averages without the padding; the exact depthwise-convolution form gives only "
                    "floor-sized outputs, and this pooling rounds up")
    if any(p >= k for p, k in zip(a.pad, a.kernel)):
        return f"pad {a.pad} must be smaller than kernel {a.kernel} in Caffe"
    h, w = op.operands[0].type.shape[2:]
    for size, k, s, p in zip((h, w), a.kernel, a.stride, a.pad):
        out = pooled_size(size, k, s, p, a.pooling_convention)
        if (out - 1) * s - p >= size:
            # MXNet gives -FLT_MAX (max) or 0 (avg) there; Caffe drops such a window when padded, and
            # OpenCV, ncnn and Caffe (which divides by zero) disagree on it otherwise.
            return (f"MXNet's '{a.pooling_convention}' convention makes a last window that lies entirely outside "
                    f"the input (input {size}, kernel {k}, stride {s}, pad {p})")
        if caffe_pooled_size(size, k, s, p, any(a.pad)) < out:
            return ("MXNet's 'full' convention keeps a last window that lies entirely in the padding; Caffe drops "
                    f"it (input {size}, kernel {k}, stride {s}, pad {p})")
        if caffe_pooled_size(size, k, s, p, any(a.pad)) != caffe_pooled_size(size, k, s, p):
            return ("with padding on one axis only, BVLC Caffe and OpenCV round this axis to different sizes "
                    f"(input {size}, kernel {k}, stride {s}, pad {p}); pad both axes or neither")
    return None


def _padded_average_as_convolution(op, ctx: EmitContext, top: str, source) -> None:
    """Padded AVE pooling counting the padding, for consumers that exclude it: a depthwise convolution whose
    weights are all 1/k² sums each window (padding is zero) and divides by the padded size (docs/caffe.md#pooling)."""
    a: Pooling = op.attrs
    channels = op.operands[0].type.shape[1]
    weight = np.full((channels, 1, *a.kernel), 1.0 / (a.kernel[0] * a.kernel[1]), np.float32)
    param = {"num_output": channels, "bias_term": False, "group": channels}
    param.update(convolution_geometry(a.kernel, a.stride, a.pad))
    ctx.add("Convolution", name=op.name if source else f"{op.name}_sum", bottoms=[ctx.bottom(op.operands[0])],
            tops=[top], params={"convolution_param": param}, blobs=[weight], source=source)


def _excludes_padding(a: Pooling) -> bool:
    return a.pool_type is PoolType.AVG and not a.global_pool and not a.includes_pad and any(a.pad)


def _rescaled(a: Pooling) -> bool:
    """Whether Caffe's average needs a factor per output position: to exclude the padding from the divisor, or
    to turn the average back into a sum."""
    return _excludes_padding(a) or a.pool_type is PoolType.SUM


def _window_counts(size: int, kernel: int, stride: int, pad: int, outputs: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output index along one axis: Caffe's AVE divisor (the window clipped to [−pad, size + pad)) and the number of
    real input cells in the window (what MXNet divides by with count_include_pad=False)."""
    start = np.arange(outputs) * stride - pad
    end = np.minimum(start + kernel, size + pad)
    return (end - start).astype(np.float64), (np.minimum(end, size) - np.maximum(start, 0)).astype(np.float64)


def _averaged_by_convolution(a: Pooling, target) -> bool:
    """Padded averages (and sums) for a consumer that excludes padding from its AVE divisor."""
    return a.pool_type in (PoolType.AVG, PoolType.SUM) and any(a.pad) and not a.global_pool and \
        not target.policy.average_pool_counts_padding


def _subsampled_by_convolution(op, target) -> bool:
    """A 1×1 window with a stride only subsamples: for a consumer that cannot take Caffe's rounded-up 1×1 Pooling
    (rknn-toolkit2 makes its extra row an end pad, which its ONNX checker rejects), a depthwise 1×1 convolution of
    weight 1 computes it exactly, at MXNet's floor size (docs/rknn.md#strided-1x1-pooling)."""
    a: Pooling = op.attrs
    return (not target.policy.unit_window_pooling and not a.global_pool and a.kernel == (1, 1)
            and a.pad == (0, 0) and a.pool_type in (PoolType.AVG, PoolType.MAX, PoolType.SUM)
            and op.result.type.shape[2:] == tuple((size - 1) // s + 1
                                                  for size, s in zip(op.operands[0].type.shape[2:], a.stride)))


def _pooling_layers(op, target) -> frozenset[str]:
    a: Pooling = op.attrs
    if _subsampled_by_convolution(op, target):
        return frozenset({"Convolution"})
    correction = {"Scale"} if target.policy.axis_params else {"Slice", "Power", "Concat"}
    extra = correction if _rescaled(a) else set()
    if _averaged_by_convolution(a, target):
        return frozenset({"Convolution"} | extra)
    return frozenset({"Pooling", "Slice"} | extra)


def _exclude_padding(op, ctx: EmitContext, summed: str, divisors, a: Pooling | None = None) -> None:
    """Rescale Caffe's averages per output position (i, j) by factor_h[i]·factor_w[j]: to average over the real
    cells only, divisor_h[i]·divisor_w[j] / (real_h[i]·real_w[j]); for a sum pooling, the divisor alone. One Scale
    {axis 2, num_axes 2} where the consumer honours Scale's axes; otherwise (ncnn) a Power per run of equal
    factors along each axis, sliced apart and concatenated. `divisors` (per axis) replaces Caffe's divisor where
    the averaging was not Caffe's Pooling (a convolution with 1/k² weights divides by k·k); `a` is the pooling as
    written (a global one as its explicit window)."""
    a = a or op.attrs
    in_hw, out_hw = op.operands[0].type.shape[2:], op.result.type.shape[2:]
    factors = []
    for size, k, s, p, out, divisor in zip(in_hw, a.kernel, a.stride, a.pad, out_hw, divisors):
        caffe, real = _window_counts(size, k, s, p, out)
        applied = caffe if divisor is None else np.full(out, float(divisor))
        factors.append(applied if a.pool_type is PoolType.SUM else applied / real)
    if ctx.target.policy.axis_params:
        ctx.add("Scale", name=op.name, bottoms=[summed], tops=[ctx.top(op.result)],
                params={"scale_param": {"axis": 2, "num_axes": 2, "bias_term": False}},
                blobs=[np.outer(factors[0], factors[1])], source=op.result)
        return
    blob = summed
    for axis, factor in ((2, factors[0]), (3, factors[1])):
        last = axis == 3
        runs = [i for i in range(1, len(factor)) if factor[i] != factor[i - 1]]
        out = ctx.top(op.result) if last else ctx.new_blob(f"{op.name}_rows")
        if not runs:   # one factor along the axis: one Power
            ctx.add("Power", name=op.name if last else f"{op.name}_rows", bottoms=[blob], tops=[out],
                    params={"power_param": {"scale": float(np.float32(factor[0]))}},
                    source=op.result if last else None)
            blob = out
            continue
        pieces = [ctx.new_blob(f"{op.name}_{axis}_{start}") for start in [0, *runs]]
        ctx.add("Slice", name=f"{op.name}_split{axis}", bottoms=[blob], tops=pieces,
                params={"slice_param": {"axis": axis, "slice_point": runs}})
        scaled = []
        for start, piece in zip([0, *runs], pieces):
            scaled.append(ctx.new_blob(f"{piece}_scaled"))
            ctx.add("Power", name=scaled[-1], bottoms=[piece], tops=[scaled[-1]],
                    params={"power_param": {"scale": float(np.float32(factor[start]))}})
        ctx.add("Concat", name=op.name if last else f"{op.name}_rows", bottoms=scaled, tops=[out],
                params={"concat_param": {"axis": axis}}, source=op.result if last else None)
        blob = out


@emitter(Pooling, layers=("Pooling", "Slice", "Convolution", "Scale", "Power", "Concat"),
         layers_for=_pooling_layers, legal=pooling_legality)
def emit_pooling(op, ctx: EmitContext) -> None:
    a: Pooling = op.attrs
    if _subsampled_by_convolution(op, ctx.target):
        channels = op.operands[0].type.shape[1]
        param = {"num_output": channels, "bias_term": False, "group": channels}
        param.update(convolution_geometry(a.kernel, a.stride, a.pad))
        ctx.add("Convolution", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
                params={"convolution_param": param}, blobs=[np.ones((channels, 1, 1, 1), np.float32)],
                source=op.result)
        return
    corrected = _rescaled(a)
    if _averaged_by_convolution(a, ctx.target):
        if corrected:
            summed = ctx.new_blob(f"{op.name}_sum")
            _padded_average_as_convolution(op, ctx, summed, None)
            _exclude_padding(op, ctx, summed, a.kernel)
        else:
            _padded_average_as_convolution(op, ctx, ctx.top(op.result), op.result)
        return
    param = {"pool": "MAX" if a.pool_type is PoolType.MAX else "AVE"}
    x = op.operands[0]
    if a.global_pool and not ctx.target.policy.global_pooling_flattens and not corrected:
        param["global_pooling"] = True
        ctx.add("Pooling", name=op.name, bottoms=[ctx.bottom(x)], tops=[ctx.top(op.result)],
                params={"pooling_param": param}, source=op.result)
        return
    if a.global_pool:   # the whole map as one window: the same numbers, the result stays (N, C, 1, 1), and a sum
        # pooling's factor comes from its window
        a = attrs.evolve(a, global_pool=False, kernel=tuple(x.type.shape[2:]), stride=(1, 1), pad=(0, 0))
    param.update(geometry("kernel", a.kernel, "kernel_size"))
    param.update(geometry("stride", a.stride, "stride"))
    param.update(geometry("pad", a.pad, "pad"))
    in_hw = x.type.shape[2:]
    caffe_hw = [caffe_pooled_size(*g, any(a.pad)) for g in zip(in_hw, a.kernel, a.stride, a.pad)]
    want_hw = op.result.type.shape[2:]
    cuts = [(axis, want) for axis, (have, want) in zip((2, 3), zip(caffe_hw, want_hw)) if have != want]
    final = not cuts and not corrected
    top = ctx.top(op.result) if final else ctx.new_blob(f"{op.name}_ceil" if cuts else f"{op.name}_padded")
    ctx.add("Pooling", name=op.name if final else f"{op.name}_ceil" if cuts else f"{op.name}_pool",
            bottoms=[ctx.bottom(x)], tops=[top],
            params={"pooling_param": param}, source=op.result if final else None)
    # Caffe rounds up; MXNet's floor windows are exactly the leading ceil windows (docs/mxnet.md#pooling).
    for i, (axis, keep) in enumerate(cuts):
        last = i == len(cuts) - 1 and not corrected
        kept = ctx.top(op.result) if last else ctx.new_blob(f"{op.name}_cut{axis}")
        dropped = ctx.new_blob(f"{op.name}_drop{axis}")
        ctx.add("Slice", name=op.name if last else f"{op.name}_cut{axis}", bottoms=[top], tops=[kept, dropped],
                params={"slice_param": {"axis": axis, "slice_point": [keep]}}, source=op.result if last else None)
        # OpenCV returns the last layer from forward(): a Silence must never end the net (docs/caffe.md#opencv).
        ctx.discard(f"{op.name}_silence{axis}", [dropped])
        top = kept
    if corrected:
        _exclude_padding(op, ctx, top, (None, None), a)
