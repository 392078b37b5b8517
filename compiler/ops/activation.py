"""Activation, LeakyReLU, clip and softmax with MXNet's names and operator defaults (docs/mxnet.md#activations)."""
from __future__ import annotations

import math
from typing import Literal

import attrs
import numpy as np

from compiler.ir.opdef import Trait, op_def
from compiler.ir.types import TensorType


@op_def(mxnet=("Activation",), traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE))
@attrs.frozen(kw_only=True)
class Activation:
    """relu, sigmoid, tanh, softrelu = log(1+eˣ), softsign = x/(1+|x|)."""
    act_type: Literal["relu", "sigmoid", "tanh", "softrelu", "softsign"] = attrs.field(
        validator=attrs.validators.in_(("relu", "sigmoid", "tanh", "softrelu", "softsign")))

    def infer(self, x: TensorType) -> TensorType:
        return x


@op_def(operands=("data", "gamma?"), mxnet=("LeakyReLU",), traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE))
@attrs.frozen(kw_only=True)
class LeakyReLU:
    """leaky: x>0 ? x : slope·x; prelu: per-channel gamma operand; elu: slope·(eˣ−1); rrelu: mean slope at inference."""
    act_type: Literal["leaky", "prelu", "elu", "selu", "gelu", "rrelu"] = attrs.field(
        default="leaky", validator=attrs.validators.in_(("leaky", "prelu", "elu", "selu", "gelu", "rrelu")))
    slope: float = 0.25
    lower_bound: float = 0.125
    upper_bound: float = 0.334

    def infer(self, x: TensorType, gamma: TensorType | None = None) -> TensorType:
        if (gamma is not None) != (self.act_type == "prelu"):
            raise ValueError("act_type 'prelu' takes a gamma operand and the others do not")
        if gamma is not None and gamma.shape not in ((1,), (x.shape[1],)):
            raise ValueError(f"prelu gamma must have shape (1,) or ({x.shape[1]},), got {gamma.shape}")
        return x

    def channel_constants(self, x: TensorType, gamma: TensorType | None = None) -> tuple[int, ...]:
        # One slope per channel moves with its channel; a shared slope stays.
        return (1,) if gamma is not None and gamma.shape == (x.shape[1],) and x.shape[1] > 1 else ()


@op_def(mxnet=("softmax",), ignored=("dtype",), traits=(Trait.CHANNELWISE,))
@attrs.frozen(kw_only=True)
class Softmax:
    """softmax(x / temperature) over one axis."""
    axis: int = -1
    temperature: float | None = None
    use_length: bool = attrs.field(default=False, validator=attrs.validators.in_((False,)))

    def positive_axis(self, rank: int) -> int:
        return self.axis + rank if self.axis < 0 else self.axis

    def infer(self, x: TensorType) -> TensorType:
        if not 0 <= self.positive_axis(x.rank) < x.rank:
            raise ValueError(f"axis {self.axis} is out of range for rank {x.rank}")
        return x

    def channel_constants(self, x: TensorType) -> tuple[int, ...] | None:
        return None if self.positive_axis(x.rank) == 1 else ()


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


@op_def(traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE))
@attrs.frozen(kw_only=True)
class ReLU6:
    """y = min(max(x, 0), 6), the native layer of targets that have one (ncnn)."""

    def infer(self, x: TensorType) -> TensorType:
        return x


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


@op_def(mxnet=("log_softmax",), ignored=("dtype",), traits=(Trait.CHANNELWISE,))
@attrs.frozen(kw_only=True)
class LogSoftmax:
    """log(softmax(x / temperature)) over one axis, computed as MXNet does: x − max − log Σ exp(x − max)."""
    axis: int = -1
    temperature: float | None = None
    use_length: bool = attrs.field(default=False, validator=attrs.validators.in_((False,)))

    def positive_axis(self, rank: int) -> int:
        return self.axis + rank if self.axis < 0 else self.axis

    def infer(self, x: TensorType) -> TensorType:
        if not 0 <= self.positive_axis(x.rank) < x.rank:
            raise ValueError(f"axis {self.axis} is out of range for rank {x.rank}")
        return x

    def channel_constants(self, x: TensorType) -> tuple[int, ...] | None:
        return None if self.positive_axis(x.rank) == 1 else ()
