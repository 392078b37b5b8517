"""Convolution, Deconvolution, FullyConnected, Pooling, Pad and separable resampling (MXNet names and operator
defaults; docs/mxnet.md#convolution)."""
from __future__ import annotations


import attrs
import numpy as np

from compiler.compat import StrEnum
from compiler.ir.deferred import scaled_float32
from compiler.ir.fields import Pair, choice, int_tuple, non_negative, pair, positive
from compiler.ir.opdef import Trait, op_def
from compiler.ir.types import TensorType, expect_shape
from compiler.ops import reference


def require_nchw(x: TensorType, kind: str) -> None:
    if x.rank != 4:
        raise ValueError(f"{kind} supports 2-D NCHW data only, got rank {x.rank}")


def conv_out(size: int, kernel: int, stride: int, pad: int, dilate: int) -> int:
    out = (size + 2 * pad - dilate * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError(f"window {kernel} (dilation {dilate}) does not fit input {size} with pad {pad}")
    return out


def _scaled_rows(weight: np.ndarray, factor) -> np.ndarray:
    """weight (O, ...) with row o multiplied by factor[o] (see scaled_float32)."""
    return scaled_float32(weight, np.asarray(factor, np.float64).reshape((-1,) + (1,) * (weight.ndim - 1)))


@op_def(operands=("data", "weight", "bias?"), mxnet=("Convolution",),
        ignored=("no_bias", "workspace", "cudnn_tune", "cudnn_off"),
        traits=(Trait.INPUT_CHANNEL_WEIGHTS, Trait.OUTPUT_CHANNEL_WEIGHTS))
@attrs.frozen(kw_only=True)
class Convolution:
    """y = conv2d(x, w) + b in NCHW; weight (num_filter, C/num_group, kh, kw), Caffe's own layout."""
    num_filter: int = attrs.field(validator=positive)
    kernel: Pair = attrs.field(converter=pair, validator=positive)
    stride: Pair = attrs.field(default=(1, 1), converter=pair, validator=positive)
    dilate: Pair = attrs.field(default=(1, 1), converter=pair, validator=positive)
    pad: Pair = attrs.field(default=(0, 0), converter=pair, validator=non_negative)
    num_group: int = attrs.field(default=1, validator=positive)
    layout: str | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.in_(("NCHW",))))

    def infer(self, x: TensorType, w: TensorType, b: TensorType | None = None) -> TensorType:
        require_nchw(x, "Convolution")
        n, c, h, wd = x.shape
        if c % self.num_group or self.num_filter % self.num_group:
            raise ValueError(f"channels {c} and num_filter {self.num_filter} must divide by num_group {self.num_group}")
        expect_shape("weight", w.shape, (self.num_filter, c // self.num_group, *self.kernel))
        if b is not None:
            expect_shape("bias", b.shape, (self.num_filter,))
        out = [conv_out(*a) for a in zip((h, wd), self.kernel, self.stride, self.pad, self.dilate)]
        return x.with_shape((n, self.num_filter, *out))

    def input_channel_layout(self, x: TensorType, weight_shape) -> tuple[tuple[int, ...], int] | None:
        # With groups, an input channel's weights sit in its group's block: no single axis holds them all.
        return ((weight_shape[0], weight_shape[1], -1), 1) if self.num_group == 1 else None

    def evaluate(self, x, weight, bias=None):
        return reference.conv2d(x, weight, bias, self.stride, self.pad, self.dilate, self.num_group).astype(np.float32)

    def scale_output_channels(self, weight, factor, result: TensorType):
        return _scaled_rows(weight, factor)

    def outputs_on_channel_axis(self, result: TensorType) -> bool:
        return True

    @property
    def num_outputs(self) -> int:
        return self.num_filter


@op_def(operands=("data", "offset", "mask", "weight", "bias?"), mxnet=("_contrib_ModulatedDeformableConvolution",),
        ignored=("no_bias", "workspace", "im2col_step"))
@attrs.frozen(kw_only=True)
class ModulatedDeformableConvolution:
    """DCNv2 (CenterNet's dcnv2 heads): each kernel tap samples x bilinearly at its place moved by a learned
    offset (zero outside the image) and weighs it by a learned mask, then a convolution's weight (num_filter, C, kh,
    kw) sums them. offset (N, 2·kh·kw, Ho, Wo) holds (dy, dx) per tap, mask (N, kh·kw, Ho, Wo); one group of
    channels and one deformable group."""
    num_filter: int = attrs.field(validator=positive)
    kernel: Pair = attrs.field(converter=pair, validator=positive)
    stride: Pair = attrs.field(default=(1, 1), converter=pair, validator=positive)
    dilate: Pair = attrs.field(default=(1, 1), converter=pair, validator=positive)
    pad: Pair = attrs.field(default=(0, 0), converter=pair, validator=non_negative)
    num_group: int = attrs.field(default=1, validator=attrs.validators.in_((1,)))
    num_deformable_group: int = attrs.field(default=1, validator=attrs.validators.in_((1,)))
    layout: str | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.in_(("NCHW",))))

    def infer(self, x: TensorType, offset: TensorType, mask: TensorType, w: TensorType,
              b: TensorType | None = None) -> TensorType:
        require_nchw(x, "ModulatedDeformableConvolution")
        n, c, h, wd = x.shape
        out = tuple(conv_out(*a) for a in zip((h, wd), self.kernel, self.stride, self.pad, self.dilate))
        taps = self.kernel[0] * self.kernel[1]
        expect_shape("offset", offset.shape, (n, 2 * taps, *out))
        expect_shape("mask", mask.shape, (n, taps, *out))
        expect_shape("weight", w.shape, (self.num_filter, c, *self.kernel))
        if b is not None:
            expect_shape("bias", b.shape, (self.num_filter,))
        return x.with_shape((n, self.num_filter, *out))

    def evaluate(self, x, offset, mask, weight, bias=None):
        return reference.modulated_deformable_conv2d(x, offset, mask, weight, bias, self.stride, self.pad,
                                                     self.dilate).astype(np.float32)


@op_def(operands=("data", "weight", "bias?"),   # MXNet's Deconvolution: the frontend resolves target_shape
        ignored=("no_bias", "workspace", "cudnn_tune", "cudnn_off"),
        traits=(Trait.INPUT_CHANNEL_WEIGHTS, Trait.OUTPUT_CHANNEL_WEIGHTS))
@attrs.frozen(kw_only=True)
class Deconvolution:
    """Transposed convolution; weight (C_in, num_filter/num_group, kh, kw), Caffe's own layout."""
    num_filter: int = attrs.field(validator=positive)
    kernel: Pair = attrs.field(converter=pair, validator=positive)
    stride: Pair = attrs.field(default=(1, 1), converter=pair, validator=positive)
    dilate: Pair = attrs.field(default=(1, 1), converter=pair, validator=positive)
    pad: Pair = attrs.field(default=(0, 0), converter=pair, validator=non_negative)
    adj: Pair = attrs.field(default=(0, 0), converter=pair, validator=non_negative)
    target_shape: tuple[int, ...] = attrs.field(default=(), converter=int_tuple)
    num_group: int = attrs.field(default=1, validator=positive)
    layout: str | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.in_(("NCHW",))))

    def infer(self, x: TensorType, w: TensorType, b: TensorType | None = None) -> TensorType:
        require_nchw(x, "Deconvolution")
        n, c, h, wd = x.shape
        if self.target_shape:
            raise ValueError("target_shape recomputes pad and adj at run time; export the model with explicit pad/adj")
        if c % self.num_group or self.num_filter % self.num_group:
            raise ValueError(f"channels {c} and num_filter {self.num_filter} must divide by num_group {self.num_group}")
        expect_shape("weight", w.shape, (c, self.num_filter // self.num_group, *self.kernel))
        if b is not None:
            expect_shape("bias", b.shape, (self.num_filter,))
        out = [(size - 1) * s - 2 * p + d * (k - 1) + 1 + a
               for size, k, s, p, d, a in zip((h, wd), self.kernel, self.stride, self.pad, self.dilate, self.adj)]
        if min(out) < 1:
            raise ValueError(f"output size {out} is not positive")
        return x.with_shape((n, self.num_filter, *out))

    def input_channel_layout(self, x: TensorType, weight_shape) -> tuple[tuple[int, ...], int] | None:
        return ((weight_shape[0], -1), 0) if self.num_group == 1 else None

    def evaluate(self, x, weight, bias=None):
        return reference.deconv2d(x, weight, bias, self.stride, self.pad, self.dilate, self.adj,
                                  self.num_group).astype(np.float32)

    @property
    def num_outputs(self) -> int:
        return self.num_filter

    def scale_output_channels(self, weight, factor, result: TensorType):
        """weight with output channel o multiplied by factor[o] (float64): o = group·(O/g) + j sits at [group
        block of C_in, j]."""
        cin, per_group = weight.shape[:2]
        g = self.num_group
        grouped = weight.reshape(g, cin // g, per_group, *weight.shape[2:])
        return scaled_float32(grouped, np.asarray(factor, np.float64).reshape(g, 1, per_group, 1, 1)).reshape(
            weight.shape)

    def outputs_on_channel_axis(self, result: TensorType) -> bool:
        return True


@op_def(operands=("data", "weight", "bias?"), mxnet=("FullyConnected",), ignored=("no_bias",),
        traits=(Trait.INPUT_CHANNEL_WEIGHTS, Trait.OUTPUT_CHANNEL_WEIGHTS, Trait.CHANNELWISE))
@attrs.frozen(kw_only=True)
class FullyConnected:
    """y = x·wᵀ + b; flatten=True collapses (N, ...) to (N, K), flatten=False acts on the last axis."""
    num_hidden: int = attrs.field(validator=positive)
    flatten: bool = True

    def input_width(self, x: TensorType) -> int:
        return int(np.prod(x.shape[1:])) if self.flatten else x.shape[-1]

    def infer(self, x: TensorType, w: TensorType, b: TensorType | None = None) -> TensorType:
        expect_shape("weight", w.shape, (self.num_hidden, self.input_width(x)))
        if b is not None:
            expect_shape("bias", b.shape, (self.num_hidden,))
        lead = x.shape[:1] if self.flatten else x.shape[:-1]
        return x.with_shape((*lead, self.num_hidden))

    def evaluate(self, x, weight, bias=None):
        x = np.asarray(x, np.float64)
        rows = x.reshape(x.shape[0], -1) if self.flatten else x
        out = rows @ np.asarray(weight, np.float64).T
        return (out if bias is None else out + np.asarray(bias, np.float64)).astype(np.float32)

    def acts_on_channel_axis(self, x: TensorType) -> bool:
        """Whether axis 1 of the data is among the axes the weight reads (flatten, or 2-D data)."""
        return self.flatten or x.rank == 2

    def input_channel_layout(self, x: TensorType, weight_shape) -> tuple[tuple[int, ...], int] | None:
        # flatten=True reads (C, rest...) in C order; a last-axis dense layer on rank ≥ 3 never reads axis 1.
        return ((weight_shape[0], x.shape[1], -1), 1) if self.acts_on_channel_axis(x) else None

    def channel_constants(self, x: TensorType, *weights: TensorType) -> tuple[int, ...] | None:
        # A last-axis dense layer on rank ≥ 3 applies the same weights to every channel's rows.
        return None if self.acts_on_channel_axis(x) else ()

    def scale_output_channels(self, weight, factor, result: TensorType):
        return _scaled_rows(weight, factor) if self.outputs_on_channel_axis(result) else None

    def outputs_on_channel_axis(self, result: TensorType) -> bool:
        # The outputs are the result's last axis, which is axis 1 only for 2-D results.
        return result.rank == 2

    @property
    def num_outputs(self) -> int:
        return self.num_hidden


def pooled_size(size: int, kernel: int, stride: int, pad: int, convention: str) -> int:
    span = size + 2 * pad - kernel
    if span < 0:
        raise ValueError(f"kernel {kernel} is larger than the padded input {size + 2 * pad}")
    if convention == "valid":
        return span // stride + 1
    if convention == "full":
        return -(-span // stride) + 1
    raise ValueError(f"pooling_convention '{convention}' is not supported for 2-D pooling (MXNet: 1-D max only)")


class PoolType(StrEnum):
    MAX = "max"
    AVG = "avg"
    SUM = "sum"
    LP = "lp"        # (Σ x^p)^(1/p) over the window, p = 1, 2, 3 (signed: no |x|; a real cube root)


class PoolingConvention(StrEnum):
    VALID = "valid"  # output size rounded down
    FULL = "full"    # rounded up
    SAME = "same"    # MXNet: 1-D max pooling only


_POOL_COMBINE = {PoolType.MAX: np.max, PoolType.AVG: np.sum, PoolType.SUM: np.sum}


@op_def(mxnet=("Pooling",), ignored=("cudnn_off",), traits=(Trait.CHANNELWISE,))
@attrs.frozen(kw_only=True)
class Pooling:
    """MXNet Pooling: valid = floor, full = ceil without Caffe's clip rule (docs/mxnet.md#pooling)."""
    kernel: tuple[int, ...] = attrs.field(default=(), converter=int_tuple, validator=positive)
    pool_type: PoolType = choice(PoolType, default="max")
    global_pool: bool = False
    pooling_convention: PoolingConvention = choice(PoolingConvention, default="valid")
    stride: Pair = attrs.field(default=(1, 1), converter=pair, validator=positive)
    pad: Pair = attrs.field(default=(0, 0), converter=pair, validator=non_negative)
    count_include_pad: bool | None = None
    p_value: int | None = None
    layout: str | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.in_(("NCHW",))))

    @property
    def includes_pad(self) -> bool:
        return self.count_include_pad is None or self.count_include_pad

    def infer(self, x: TensorType) -> TensorType:
        require_nchw(x, "Pooling")
        n, c, h, w = x.shape
        if self.global_pool:
            return x.with_shape((n, c, 1, 1))
        if len(self.kernel) != 2:
            raise ValueError(f"kernel must have two dims, got {self.kernel}")
        out = [pooled_size(*a, self.pooling_convention) for a in zip((h, w), self.kernel, self.stride, self.pad)]
        return x.with_shape((n, c, *out))

    def evaluate(self, x):
        h, w = np.shape(x)[2:]
        kernel, stride, pad = ((h, w), (1, 1), (0, 0)) if self.global_pool else (self.kernel, self.stride, self.pad)
        out_size = self.infer(TensorType(np.shape(x))).shape[2:]
        if self.pool_type is PoolType.LP:
            power, root = _LP_POWER_AND_ROOT[self.p_value or 2]
            combine = lambda window, axis: root(np.sum(power(window), axis=axis))   # noqa: E731
        else:
            combine = _POOL_COMBINE[self.pool_type]

        def divisor(rows, cols, real_rows, real_cols):
            if self.pool_type is not PoolType.AVG:
                return 1.0
            return rows * cols if self.includes_pad else real_rows * real_cols
        # An empty window: MXNet's max starts from the lowest float, its sums from 0.
        empty = float(np.finfo(np.float32).min) if self.pool_type is PoolType.MAX else 0.0
        return reference.pool2d(x, kernel, stride, pad, out_size, combine, divisor, empty).astype(np.float32)


# MXNet's Lp pooling, p = 1, 2, 3 (docs/mxnet.md#pooling): no |x| for p 1, and the real cube root of the signed
# sum for p 3.
_LP_POWER_AND_ROOT = {1: (lambda v: v, lambda v: v), 2: (np.square, np.sqrt), 3: (lambda v: v * v * v, np.cbrt)}


class Interpolation(StrEnum):
    """What a Resample2D's matrices compute, for a consumer whose own resize layer computes the same weights."""
    ANY = "any"                                          # only the matrices say (adaptive average pooling)
    BILINEAR_ALIGN_CORNERS = "bilinear_align_corners"    # MXNet's bilinear resize, corner pixels aligned
    BILINEAR_HALF_PIXEL = "bilinear_half_pixel"          # MXNet's bilinear resize, align_corners=False


@op_def(operands=("data", "rows", "cols"), traits=(Trait.CHANNELWISE,))
@attrs.frozen(kw_only=True)
class Resample2D:
    """y[n, c] = rows · x[n, c] · colsᵀ for every plane: a separable linear map (bilinear resizing, adaptive average
    pooling) with constant rows (Ho, H) and cols (Wo, W), the same for every channel. `interpolation` names the
    resize the matrices are, when they are one (the matrices alone define the values)."""
    interpolation: Interpolation = choice(Interpolation, default="any")

    def infer(self, x: TensorType, rows: TensorType, cols: TensorType) -> TensorType:
        require_nchw(x, "Resample2D")
        n, c, h, w = x.shape
        if rows.rank != 2 or cols.rank != 2 or rows.shape[1] != h or cols.shape[1] != w:
            raise ValueError(f"rows {rows.shape} and cols {cols.shape} do not map a {h}×{w} plane")
        return x.with_shape((n, c, rows.shape[0], cols.shape[0]))

    def evaluate(self, x, rows, cols):
        planes = np.einsum("oh,nchw,pw->ncop", np.asarray(rows, np.float64), np.asarray(x, np.float64),
                           np.asarray(cols, np.float64))
        return planes.astype(np.float32)


class PadMode(StrEnum):
    CONSTANT = "constant"   # constant_value
    EDGE = "edge"           # copies of the edge
    REFLECT = "reflect"     # the rows and columns mirrored, without the edge


@op_def(mxnet=("Pad", "pad"), traits=(Trait.CHANNELWISE,))
@attrs.frozen(kw_only=True)
class Pad:
    """Pad H and W: pad_width (0, 0, 0, 0, top, bottom, left, right) with a constant, the mirrored rows and columns
    without the edge (reflect), or copies of the edge (edge)."""
    mode: PadMode = choice(PadMode, default="constant")
    pad_width: tuple[int, ...] = attrs.field(converter=int_tuple, validator=non_negative)
    constant_value: float = 0.0

    @property
    def hw(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right)."""
        return tuple(self.pad_width[4:8])

    def infer(self, x: TensorType) -> TensorType:
        require_nchw(x, "Pad")
        if len(self.pad_width) != 8 or any(self.pad_width[:4]):
            raise ValueError(f"pad_width {self.pad_width} must be (0, 0, 0, 0, top, bottom, left, right)")
        top, bottom, left, right = self.hw
        n, c, h, w = x.shape
        if self.mode is PadMode.REFLECT and (max(top, bottom) >= h or max(left, right) >= w):
            raise ValueError(f"reflect padding {self.hw} needs pads smaller than the plane {h}×{w}")
        return x.with_shape((n, c, h + top + bottom, w + left + right))

    def evaluate(self, x):
        top, bottom, left, right = self.hw
        widths = ((0, 0), (0, 0), (top, bottom), (left, right))
        if self.mode is PadMode.CONSTANT:
            return np.pad(x, widths, constant_values=np.float32(self.constant_value))
        return np.pad(x, widths, mode=str(self.mode))
