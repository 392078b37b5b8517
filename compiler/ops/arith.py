"""Element-wise and broadcast arithmetic (docs/mxnet.md#arithmetic)."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.ir.opdef import Trait, op_def
from compiler.ir.types import TensorType


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


SCALAR_OPS = {"_plus_scalar": "plus", "_minus_scalar": "minus", "_rminus_scalar": "rminus", "_mul_scalar": "mul",
              "_div_scalar": "div", "_rdiv_scalar": "rdiv", "_power_scalar": "power"}


_SCALAR_NUMPY = {"plus": np.add, "minus": np.subtract, "rminus": lambda x, c: c - x, "mul": np.multiply,
                 "div": np.divide, "rdiv": lambda x, c: c / x, "power": np.power}


@op_def(traits=(Trait.ELEMENTWISE, Trait.CHANNELWISE, Trait.FOLDABLE))
@attrs.frozen(kw_only=True)
class ScalarOp:
    """x+c, x−c, c−x, x·c, x/c, c/x, x^c for MXNet's `_<op>_scalar` family."""
    op: str = attrs.field(validator=attrs.validators.in_(tuple(SCALAR_OPS.values())))
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
            "plus": lambda: Power(shift=c), "minus": lambda: Power(shift=-c), "rminus": lambda: Power(scale=-1.0, shift=c),
            "mul": lambda: Power(scale=c), "div": lambda: Power(scale=1.0 / c),
            "rdiv": lambda: Power(power=-1.0, scale=1.0 / c), "power": lambda: Power(power=c),
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


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            raise ValueError(f"shapes {a} and {b} do not broadcast")
        out.append(max(x, y))
    return tuple(out)


@op_def(operands=("lhs", "rhs"), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class BroadcastArith:
    """lhs (op) rhs with NumPy broadcasting: broadcast_add/sub/mul/div and elemwise_sub/mul/div."""
    op: str = attrs.field(validator=attrs.validators.in_(("add", "sub", "mul", "div")))

    def infer(self, lhs: TensorType, rhs: TensorType) -> TensorType:
        return lhs.with_shape(broadcast_shape(lhs.shape, rhs.shape))

    def evaluate(self, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[self.op](lhs, rhs)


@op_def(operands=("data*",), traits=(Trait.ELEMENTWISE,))
@attrs.frozen(kw_only=True)
class Eltwise:
    """Caffe Eltwise on same-shaped bottoms: SUM (with one coeff per bottom), PROD or MAX."""
    operation: str = attrs.field(validator=attrs.validators.in_(("SUM", "PROD", "MAX")))
    coeff: tuple[float, ...] = attrs.field(default=(), converter=tuple)

    def infer(self, *xs: TensorType) -> TensorType:
        if len({x.shape for x in xs}) != 1 or len(xs) < 2:
            raise ValueError("Eltwise needs two or more operands of one shape")
        if self.coeff and (len(self.coeff) != len(xs) or self.operation != "SUM"):
            raise ValueError("coeff needs SUM and one value per operand")
        return xs[0]
