"""Element-wise and broadcast arithmetic (docs/mxnet.md#arithmetic)."""
from __future__ import annotations


import attrs
import numpy as np

from compiler.compat import StrEnum
from compiler.ir.fields import choice
from compiler.ir.opdef import Trait, op_def
from compiler.ir.types import TensorType
from compiler.ops.activation import Clip


class EltwiseOperation(StrEnum):
    """Caffe Eltwise's operation."""
    SUM = "SUM"
    PROD = "PROD"
    MAX = "MAX"


@op_def(operands=("data*",), mxnet=("elemwise_add", "_Plus", "_plus", "add_n", "ElementWiseSum"),
        ignored=("num_args",), traits=(Trait.ELEMENTWISE,))
@attrs.frozen(kw_only=True)
class ElemwiseAdd:
    """y = Σ operands; every operand has the same shape (broadcasting is not implied)."""

    def infer(self, *xs: TensorType) -> TensorType:
        if len(xs) < 2:
            raise ValueError("needs at least two operands")
        if len({x.shape for x in xs}) != 1:
            raise ValueError("operands must have identical shapes (no broadcasting): "
                             + ", ".join(str(x.shape) for x in xs))
        return xs[0]

    def evaluate(self, *xs):
        return np.asarray(np.sum([np.asarray(x, np.float64) for x in xs], axis=0), np.float32)


class ScalarFunction(StrEnum):
    """Which of MXNet's `_<op>_scalar` functions a ScalarOp computes (x is the data, c the scalar)."""
    PLUS = "plus"       # x + c
    MINUS = "minus"     # x − c
    RMINUS = "rminus"   # c − x
    MUL = "mul"         # x · c
    DIV = "div"         # x / c
    RDIV = "rdiv"       # c / x
    POWER = "power"     # x ^ c


_SCALAR_NUMPY = {ScalarFunction.PLUS: np.add, ScalarFunction.MINUS: np.subtract,
                 ScalarFunction.RMINUS: lambda x, c: c - x, ScalarFunction.MUL: np.multiply,
                 ScalarFunction.DIV: np.divide, ScalarFunction.RDIV: lambda x, c: c / x,
                 ScalarFunction.POWER: np.power}


@op_def(traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE, Trait.FOLDABLE))
@attrs.frozen(kw_only=True)
class ScalarOp:
    """x+c, x−c, c−x, x·c, x/c, c/x, x^c for MXNet's `_<op>_scalar` family."""
    op: ScalarFunction = choice(ScalarFunction)
    scalar: float

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        # MXNet computes in the data's float32 (division by zero gives inf, as there).
        with np.errstate(all="ignore"):
            return _SCALAR_NUMPY[self.op](x.astype(np.float32), np.float32(self.scalar))

    def as_power(self) -> "Power":
        """The same function as Caffe's (shift + scale·x)^power."""
        c = self.scalar
        return {
            ScalarFunction.PLUS: lambda: Power(shift=c), ScalarFunction.MINUS: lambda: Power(shift=-c),
            ScalarFunction.RMINUS: lambda: Power(scale=-1.0, shift=c), ScalarFunction.MUL: lambda: Power(scale=c),
            ScalarFunction.DIV: lambda: Power(scale=1.0 / c),
            ScalarFunction.RDIV: lambda: Power(power=-1.0, scale=1.0 / c),
            ScalarFunction.POWER: lambda: Power(power=c),
        }[self.op]()


@op_def(traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE))
@attrs.frozen(kw_only=True)
class Power:
    """Caffe Power: y = (shift + scale·x)^power."""
    power: float = 1.0
    scale: float = 1.0
    shift: float = 0.0

    @property
    def affine(self) -> bool:
        return self.power == 1.0

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, x):
        with np.errstate(all="ignore"):
            return np.asarray(np.power(self.shift + self.scale * np.asarray(x, np.float64), self.power), np.float32)


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            raise ValueError(f"shapes {a} and {b} do not broadcast")
        out.append(max(x, y))
    return tuple(out)


class BroadcastBinary:
    """The shared rule of lhs ∘ rhs with NumPy broadcasting (docs/mxnet.md#arithmetic). Each subclass is one op
    kind and declares how Caffe computes it:

    - `eltwise`: Caffe's Eltwise form of same-shaped data ∘ data, (operation, coefficients), or None;
    - `negated`: the Eltwise form computes −(−lhs ∘ −rhs) (min as −max(−lhs, −rhs));
    - `constant_scale(c, constant_first)`: data ∘ c as x·w + b (b None for no bias), or None;
    - `scalar_clip(c)`: data ∘ scalar c as a Clip, or None."""
    numpy = None
    eltwise: tuple[EltwiseOperation, tuple[float, ...]] | None = None
    negated = False

    def infer(self, lhs: TensorType, rhs: TensorType) -> TensorType:
        return lhs.with_shape(broadcast_shape(lhs.shape, rhs.shape))

    def evaluate(self, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return type(self).numpy(lhs, rhs)

    def constant_scale(self, c, constant_first: bool):
        return None

    def scalar_clip(self, c: float):
        return None


def _binary(*mxnet: str):
    return op_def(operands=("lhs", "rhs"), mxnet=mxnet, traits=(Trait.FOLDABLE,))


@_binary()   # MXNet's adds: the frontend makes a same-shaped add an ElemwiseAdd, any other a BroadcastAdd
@attrs.frozen(kw_only=True)
class BroadcastAdd(BroadcastBinary):
    """lhs + rhs with NumPy broadcasting."""
    numpy = staticmethod(np.add)
    eltwise = (EltwiseOperation.SUM, ())

    def constant_scale(self, c, constant_first: bool):
        return 1.0, c


@_binary("broadcast_sub", "broadcast_minus", "elemwise_sub", "_Minus", "_minus")
@attrs.frozen(kw_only=True)
class BroadcastSub(BroadcastBinary):
    """lhs − rhs with NumPy broadcasting."""
    numpy = staticmethod(np.subtract)
    eltwise = (EltwiseOperation.SUM, (1.0, -1.0))

    def constant_scale(self, c, constant_first: bool):
        return (-1.0, c) if constant_first else (1.0, -np.asarray(c))


@_binary("broadcast_mul", "elemwise_mul", "_Mul", "_mul")
@attrs.frozen(kw_only=True)
class BroadcastMul(BroadcastBinary):
    """lhs · rhs with NumPy broadcasting."""
    numpy = staticmethod(np.multiply)
    eltwise = (EltwiseOperation.PROD, ())

    def constant_scale(self, c, constant_first: bool):
        return c, None


@_binary("broadcast_div", "elemwise_div", "_Div", "_div")
@attrs.frozen(kw_only=True)
class BroadcastDiv(BroadcastBinary):
    """lhs / rhs with NumPy broadcasting (no Eltwise divides: data / data is data · rhs⁻¹)."""
    numpy = staticmethod(np.divide)

    def constant_scale(self, c, constant_first: bool):
        return None if constant_first else (1.0 / np.asarray(c, np.float64), None)


@_binary("broadcast_maximum", "_maximum", "_Maximum")
@attrs.frozen(kw_only=True)
class BroadcastMax(BroadcastBinary):
    """max(lhs, rhs) element-wise with NumPy broadcasting."""
    numpy = staticmethod(np.maximum)
    eltwise = (EltwiseOperation.MAX, ())

    def scalar_clip(self, c: float):
        return Clip(a_min=float(c), a_max=float("inf"))


@_binary("broadcast_minimum", "_minimum", "_Minimum")
@attrs.frozen(kw_only=True)
class BroadcastMin(BroadcastBinary):
    """min(lhs, rhs) element-wise with NumPy broadcasting (Caffe: −max(−lhs, −rhs), negation being exact)."""
    numpy = staticmethod(np.minimum)
    eltwise = (EltwiseOperation.MAX, ())
    negated = True

    def scalar_clip(self, c: float):
        return Clip(a_min=float("-inf"), a_max=float(c))


@op_def(operands=("data*",), traits=(Trait.ELEMENTWISE,))
@attrs.frozen(kw_only=True)
class Eltwise:
    """Caffe Eltwise on same-shaped bottoms: SUM (with one coeff per bottom), PROD or MAX."""
    operation: EltwiseOperation = choice(EltwiseOperation)
    coeff: tuple[float, ...] = attrs.field(default=(), converter=tuple)

    def infer(self, *xs: TensorType) -> TensorType:
        if len({x.shape for x in xs}) != 1 or len(xs) < 2:
            raise ValueError("Eltwise needs two or more operands of one shape")
        if self.coeff and (len(self.coeff) != len(xs) or self.operation is not EltwiseOperation.SUM):
            raise ValueError("coeff needs SUM and one value per operand")
        return xs[0]

    def evaluate(self, *xs):
        xs = [np.asarray(x, np.float64) for x in xs]
        if self.operation is EltwiseOperation.PROD:
            return np.asarray(np.prod(xs, axis=0), np.float32)
        if self.operation is EltwiseOperation.MAX:
            return np.asarray(np.max(xs, axis=0), np.float32)
        coeff = self.coeff or (1.0,) * len(xs)
        return np.asarray(sum(c * x for c, x in zip(coeff, xs)), np.float32)
