"""Normalisations: BatchNorm and Caffe's Scale, LRN, InstanceNorm, L2Normalization and caffe-ssd's Normalize
(docs/mxnet.md#batchnorm)."""
from __future__ import annotations


import attrs
import numpy as np

from compiler.compat import StrEnum
from compiler.ir.fields import choice, positive
from compiler.ir.opdef import Trait, op_def
from compiler.ir.types import TensorType
from compiler.ir.types import expect_shape


def _per_channel(values, rank: int) -> np.ndarray:
    """(C,) values shaped to broadcast along axis 1 of rank-`rank` data."""
    return np.asarray(values, np.float64).reshape((1, -1) + (1,) * (rank - 2))


@op_def(operands=("data", "gamma", "beta", "moving_mean", "moving_var"),   # MXNet's BatchNorm: a composite
        ignored=("output_mean_var", "cudnn_off", "min_calib_range", "max_calib_range"),
        traits=(Trait.CHANNELWISE,))
@attrs.frozen(kw_only=True)
class BatchNorm:
    """y = (x − mean)/sqrt(var + eps)·γ + β over axis 1; γ := 1 when fix_gamma (docs/mxnet.md#batchnorm)."""
    eps: float = attrs.field(default=1e-3, validator=attrs.validators.gt(0.0))
    momentum: float = 0.9
    fix_gamma: bool = True
    use_global_stats: bool = False
    axis: int = attrs.field(default=1, validator=attrs.validators.in_((1,)))

    def infer(self, x, gamma, beta, mean, var) -> TensorType:
        if x.rank < 2:
            raise ValueError(f"BatchNorm needs a channel axis, got rank {x.rank}")
        for role, t in (("gamma", gamma), ("beta", beta), ("moving_mean", mean), ("moving_var", var)):
            expect_shape(role, t.shape, (x.shape[1],))
        return x

    def channel_constants(self, *types) -> tuple[int, ...]:
        return (1, 2, 3, 4)

    def affine(self, gamma, beta, mean, var) -> tuple[np.ndarray, np.ndarray]:
        """This BatchNorm at inference as y = x·scale + shift per channel, in float64 so that callers round once."""
        gamma = np.ones(np.shape(gamma)) if self.fix_gamma else np.asarray(gamma, np.float64)
        # MXNet adds eps as a float32; use exactly that value.
        eps = float(np.float32(self.eps))
        scale = gamma / np.sqrt(np.asarray(var, np.float64) + eps)
        shift = np.asarray(beta, np.float64) - np.asarray(mean, np.float64) * scale
        return scale, shift

    def evaluate(self, x, gamma, beta, mean, var):
        scale, shift = self.affine(gamma, beta, mean, var)
        rank = np.ndim(x)
        return (np.asarray(x, np.float64) * _per_channel(scale, rank) + _per_channel(shift, rank)).astype(np.float32)


@op_def(operands=("data", "scale", "bias?"), traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE))
@attrs.frozen(kw_only=True)
class Scale:
    """Caffe Scale: y = x·scale (+ bias), scale shaped like x.shape[axis:axis+num_axes], a constant or data (a second
    bottom; docs/caffe.md#scale)."""
    axis: int = 1
    num_axes: int = 1

    def infer(self, x: TensorType, scale: TensorType, bias: TensorType | None = None) -> TensorType:
        expected = x.shape[self.axis:self.axis + self.num_axes]
        expect_shape("scale", scale.shape, expected)
        if bias is not None:
            expect_shape("bias", bias.shape, expected)
        return x

    def channel_constants(self, x: TensorType, *constants: TensorType) -> tuple[int, ...] | None:
        if self.axis == 1:
            return tuple(range(1, 1 + len(constants)))   # their first axis is the channel axis
        return () if self.axis >= 2 else None

    def evaluate(self, x, scale, bias=None):
        x = np.asarray(x, np.float64)
        shape = (1,) * self.axis + np.shape(scale) + (1,) * (x.ndim - self.axis - self.num_axes)
        out = x * np.asarray(scale, np.float64).reshape(shape)
        return (out if bias is None else out + np.asarray(bias, np.float64).reshape(shape)).astype(np.float32)


@op_def(mxnet=("LRN",), traits=(Trait.CHANNELWISE,))
@attrs.frozen(kw_only=True)
class LRN:
    """Local response normalisation across channels: y = x / (knorm + alpha/nsize · Σ x²)^beta, the sum over the
    nsize channels centred on each one (MXNet's and Caffe's LRN alike)."""
    nsize: int = attrs.field(validator=positive)
    alpha: float = 1e-4
    beta: float = 0.75
    knorm: float = 2.0

    def infer(self, x: TensorType) -> TensorType:
        if x.rank != 4:
            raise ValueError(f"LRN takes NCHW data, got rank {x.rank}")
        return x

    def channel_constants(self, x: TensorType) -> tuple[int, ...] | None:
        return None   # the window mixes neighbouring channels

    def evaluate(self, x):
        x = np.asarray(x, np.float64)
        squares = np.pad(np.square(x), ((0, 0), (self.nsize // 2, self.nsize // 2), (0, 0), (0, 0)))
        window = sum(squares[:, i:i + x.shape[1]] for i in range(self.nsize))
        return (x / np.power(self.knorm + self.alpha / self.nsize * window, self.beta)).astype(np.float32)


@op_def(operands=("data", "gamma", "beta"), mxnet=("InstanceNorm",))
@attrs.frozen(kw_only=True)
class InstanceNorm:
    """y = (x − mean) / sqrt(var + eps) · γ + β, mean and var over the spatial axes of each sample and channel."""
    eps: float = attrs.field(default=1e-3, validator=attrs.validators.gt(0.0))

    def infer(self, x: TensorType, gamma: TensorType, beta: TensorType) -> TensorType:
        if x.rank < 3:
            raise ValueError(f"InstanceNorm needs spatial axes, got rank {x.rank}")
        for role, t in (("gamma", gamma), ("beta", beta)):
            expect_shape(role, t.shape, (x.shape[1],))
        return x

    def evaluate(self, x, gamma, beta):
        x = np.asarray(x, np.float64)
        axes = tuple(range(2, x.ndim))
        normed = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + self.eps)
        return (normed * _per_channel(gamma, x.ndim) + _per_channel(beta, x.ndim)).astype(np.float32)


class L2Mode(StrEnum):
    """What L2Normalization sums x² over."""
    INSTANCE = "instance"   # every element of a sample
    CHANNEL = "channel"     # the channels of a pixel
    SPATIAL = "spatial"     # the pixels of a channel


@op_def(mxnet=("L2Normalization",))
@attrs.frozen(kw_only=True)
class L2Normalization:
    """x / sqrt(Σx² + eps), summed per pixel over channels (`channel`), per sample (`instance`) or per channel."""
    eps: float = 1e-10
    mode: L2Mode = choice(L2Mode, default="instance")

    def infer(self, x: TensorType) -> TensorType:
        return x

    def summed_axes(self, rank: int) -> tuple[int, ...]:
        return {L2Mode.INSTANCE: tuple(range(1, rank)), L2Mode.CHANNEL: (1,),
                L2Mode.SPATIAL: tuple(range(2, rank))}[self.mode]

    def evaluate(self, x):
        x = np.asarray(x, np.float64)
        total = np.square(x).sum(axis=self.summed_axes(x.ndim), keepdims=True)
        return (x / np.sqrt(total + self.eps)).astype(np.float32)


@op_def(operands=("data", "scale"))
@attrs.frozen(kw_only=True)
class Normalize:
    """caffe-ssd Normalize: x / sqrt(Σx² + eps) · scale[c] (docs/caffe.md#normalize)."""
    across_spatial: bool = False
    channel_shared: bool = False
    eps: float = 1e-10

    def infer(self, x: TensorType, scale: TensorType) -> TensorType:
        if scale.shape != (1 if self.channel_shared else x.shape[1],):
            raise ValueError(f"scale has shape {scale.shape} for {x.shape[1]} channels")
        return x

    def evaluate(self, x, scale):
        x = np.asarray(x, np.float64)
        axes = tuple(range(1, x.ndim)) if self.across_spatial else (1,)
        normed = x / np.sqrt(np.square(x).sum(axis=axes, keepdims=True) + self.eps)
        factor = np.asarray(scale, np.float64).reshape(-1)
        factor = factor[0] if self.channel_shared else _per_channel(factor, x.ndim)
        return (normed * factor).astype(np.float32)
