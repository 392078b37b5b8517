"""Activation, LeakyReLU, clip and softmax with MXNet's names and operator defaults (docs/mxnet.md#activations)."""
from __future__ import annotations

import math

import attrs
import numpy as np

from compiler.compat import StrEnum
from compiler.ir.fields import choice
from compiler.ir.opdef import Trait, op_def
from compiler.ir.types import TensorType


def _f32(values) -> np.ndarray:
    return np.asarray(values, np.float32)


class ActivationFunction(StrEnum):
    """MXNet Activation's act_type."""
    RELU = "relu"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    SOFTRELU = "softrelu"   # log(1 + eˣ)
    SOFTSIGN = "softsign"   # x / (1 + |x|)


_ACTIVATIONS = {
    ActivationFunction.RELU: lambda x: np.maximum(x, 0.0),
    ActivationFunction.SIGMOID: lambda x: 1.0 / (1.0 + np.exp(-x)),
    ActivationFunction.TANH: np.tanh,
    ActivationFunction.SOFTRELU: lambda x: np.logaddexp(0.0, x),
    ActivationFunction.SOFTSIGN: lambda x: x / (1.0 + np.abs(x)),
}


@op_def(mxnet=("Activation",), traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE))
@attrs.frozen(kw_only=True)
class Activation:
    """relu, sigmoid, tanh, softrelu = log(1+eˣ), softsign = x/(1+|x|)."""
    act_type: ActivationFunction = choice(ActivationFunction)

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, x):
        with np.errstate(over="ignore"):
            return _f32(_ACTIVATIONS[self.act_type](np.asarray(x, np.float64)))


class LeakyFunction(StrEnum):
    """MXNet LeakyReLU's act_type."""
    LEAKY = "leaky"
    PRELU = "prelu"
    ELU = "elu"
    SELU = "selu"
    GELU = "gelu"
    RRELU = "rrelu"


SELU_LAMBDA = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772


@op_def(operands=("data", "gamma?"), traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE))   # MXNet's LeakyReLU: a composite
@attrs.frozen(kw_only=True)
class LeakyReLU:
    """leaky: x>0 ? x : slope·x; prelu: per-channel gamma operand; elu: slope·(eˣ−1); rrelu: mean slope at inference."""
    act_type: LeakyFunction = choice(LeakyFunction, default="leaky")
    slope: float = 0.25
    lower_bound: float = 0.125
    upper_bound: float = 0.334

    def infer(self, x: TensorType, gamma: TensorType | None = None) -> TensorType:
        if (gamma is not None) != (self.act_type is LeakyFunction.PRELU):
            raise ValueError("act_type 'prelu' takes a gamma operand and the others do not")
        if gamma is not None and gamma.shape not in ((1,), (x.shape[1],)):
            raise ValueError(f"prelu gamma must have shape (1,) or ({x.shape[1]},), got {gamma.shape}")
        return x

    def channel_constants(self, x: TensorType, gamma: TensorType | None = None) -> tuple[int, ...]:
        # One slope per channel moves with its channel; a shared slope stays.
        return (1,) if gamma is not None and gamma.shape == (x.shape[1],) and x.shape[1] > 1 else ()

    @property
    def inference_slope(self) -> float:
        """The negative slope of leaky and rrelu (rrelu's random slope is its mean at inference)."""
        return self.slope if self.act_type is LeakyFunction.LEAKY else (self.lower_bound + self.upper_bound) / 2

    def evaluate(self, x, gamma=None):
        x = np.asarray(x, np.float64)
        kind = self.act_type
        with np.errstate(over="ignore"):
            if kind is LeakyFunction.PRELU:
                slopes = np.asarray(gamma, np.float64).reshape((1, -1) + (1,) * (x.ndim - 2))
                return _f32(np.where(x > 0, x, slopes * x))
            if kind is LeakyFunction.ELU:
                return _f32(np.where(x > 0, x, self.slope * np.expm1(x)))
            if kind is LeakyFunction.SELU:
                return _f32(SELU_LAMBDA * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)))
            if kind is LeakyFunction.GELU:
                return _f32(0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0))))
            return _f32(np.where(x > 0, x, self.inference_slope * x))


def _softmax(x: np.ndarray, axis: int, temperature: float | None) -> np.ndarray:
    x = np.asarray(x, np.float64) / (temperature or 1.0)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class _AlongAxis:
    """Softmax's and log_softmax's rule: one axis (negative counts from the end), which must exist."""

    def positive_axis(self, rank: int) -> int:
        return self.axis + rank if self.axis < 0 else self.axis

    def infer(self, x: TensorType) -> TensorType:
        if not 0 <= self.positive_axis(x.rank) < x.rank:
            raise ValueError(f"axis {self.axis} is out of range for rank {x.rank}")
        return x

    def channel_constants(self, x: TensorType) -> tuple[int, ...] | None:
        return None if self.positive_axis(x.rank) == 1 else ()


@op_def(mxnet=("softmax",), ignored=("dtype",), traits=(Trait.CHANNELWISE,))
@attrs.frozen(kw_only=True)
class Softmax(_AlongAxis):
    """softmax(x / temperature) over one axis."""
    axis: int = -1
    temperature: float | None = None
    use_length: bool = attrs.field(default=False, validator=attrs.validators.in_((False,)))

    def evaluate(self, x):
        return _f32(np.exp(_softmax(x, self.positive_axis(np.ndim(x)), self.temperature)))


@op_def(mxnet=("log_softmax",), ignored=("dtype",), traits=(Trait.CHANNELWISE,))
@attrs.frozen(kw_only=True)
class LogSoftmax(_AlongAxis):
    """log(softmax(x / temperature)) over one axis, computed as MXNet does: x − max − log Σ exp(x − max)."""
    axis: int = -1
    temperature: float | None = None
    use_length: bool = attrs.field(default=False, validator=attrs.validators.in_((False,)))

    def evaluate(self, x):
        return _f32(_softmax(x, self.positive_axis(np.ndim(x)), self.temperature))


@op_def(mxnet=("clip",), traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE))
@attrs.frozen(kw_only=True)
class Clip:
    """y = min(max(x, a_min), a_max); clip(0, 6) is ReLU6."""
    a_min: float
    a_max: float = attrs.field()

    @a_max.validator
    def _ordered(self, attribute, value):
        if value < self.a_min:
            raise ValueError(f"a_max {value} is below a_min {self.a_min}")

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, x):
        return _f32(np.minimum(np.maximum(np.asarray(x, np.float64), self.a_min), self.a_max))


@op_def(traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE))
@attrs.frozen(kw_only=True)
class ReLU6:
    """y = min(max(x, 0), 6), the native layer of targets that have one (ncnn)."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, x):
        return _f32(np.clip(x, 0.0, 6.0))


def _hard_gate(x, alpha: float, beta: float) -> np.ndarray:
    return np.clip(alpha * np.asarray(x, np.float64) + beta, 0.0, 1.0)


@op_def(traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE))
@attrs.frozen(kw_only=True)
class HardSigmoid:
    """y = clip(alpha·x + beta, 0, 1) with alpha > 0: a native layer of targets that have one (ncnn), fused from
    its composition by passes/fuse_hard_activations.py."""
    alpha: float
    beta: float

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, x):
        return _f32(_hard_gate(x, self.alpha, self.beta))


@op_def(traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE))
@attrs.frozen(kw_only=True)
class HardSwish:
    """y = x · clip(alpha·x + beta, 0, 1) with alpha > 0 (MobileNetV3's with alpha 1/6, beta 1/2): a native layer of
    targets that have one (ncnn), fused from its composition by passes/fuse_hard_activations.py."""
    alpha: float
    beta: float

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, x):
        return _f32(np.asarray(x, np.float64) * _hard_gate(x, self.alpha, self.beta))


@op_def(mxnet=("abs",), traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE, Trait.FOLDABLE))
@attrs.frozen(kw_only=True)
class AbsVal:
    """y = |x|."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return np.abs(x)


@op_def(mxnet=("log",), traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE, Trait.FOLDABLE))
@attrs.frozen(kw_only=True)
class Log:
    """y = ln x (NaN below 0, −inf at 0, as in MXNet)."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.log(x)


@op_def(traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE, Trait.FOLDABLE))
@attrs.frozen(kw_only=True)
class Exp:
    """y = base^(scale·x + shift), Caffe's Exp; base e by default: MXNet's `exp` (base e) and `_rpower_scalar`
    (c^x, base c)."""
    base: float = attrs.field(default=math.e, validator=attrs.validators.gt(0.0))
    scale: float = 1.0
    shift: float = 0.0

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.power(np.float32(self.base), x * np.float32(self.scale) + np.float32(self.shift))
