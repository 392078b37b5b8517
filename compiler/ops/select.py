"""Masks and selection (comparisons with a scalar, where) and generated constants (zeros, ones, ranges)."""
from __future__ import annotations


import attrs
import numpy as np

from compiler.compat import StrEnum
from compiler.ir.fields import choice
from compiler.ir.opdef import Trait, op_def
from compiler.ir.types import DType, TensorType


@op_def(operands=("condition", "x", "y"), mxnet=("where",))
@attrs.frozen(kw_only=True)
class Where:
    """condition ? x : y, element-wise."""

    def infer(self, condition: TensorType, x: TensorType, y: TensorType) -> TensorType:
        if not condition.shape == x.shape == y.shape:
            raise ValueError("where needs three operands of one shape")
        return x

    def evaluate(self, condition, x, y):
        return np.where(np.asarray(condition) != 0, x, y).astype(np.float32)


class Comparison(StrEnum):
    """Which of MXNet's `_<comparison>_scalar` ops a CompareScalar computes."""
    GREATER = "greater"
    GREATER_EQUAL = "greater_equal"
    LESSER = "lesser"
    LESSER_EQUAL = "lesser_equal"
    EQUAL = "equal"
    NOT_EQUAL = "not_equal"


_COMPARE = {Comparison.GREATER: np.greater, Comparison.GREATER_EQUAL: np.greater_equal, Comparison.LESSER: np.less,
            Comparison.LESSER_EQUAL: np.less_equal, Comparison.EQUAL: np.equal, Comparison.NOT_EQUAL: np.not_equal}


@op_def()
@attrs.frozen(kw_only=True)
class CompareScalar:
    """x (op) scalar as 0/1 values: `_greater_scalar` and friends."""
    op: Comparison = choice(Comparison)
    scalar: float

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, x):
        return _COMPARE[self.op](np.asarray(x, np.float32), np.float32(self.scalar)).astype(np.float32)

    def kept_above(self) -> float | None:
        """t when this comparison is x > t (a mask that keeps what exceeds t), else None."""
        return self.scalar if self.op is Comparison.GREATER else None


@op_def(mxnet=("zeros_like",), traits=(Trait.FOLDABLE,), shape_operands=(0,))
@attrs.frozen(kw_only=True)
class ZerosLike:
    """Zeros shaped like x."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape, np.float32)


@op_def(mxnet=("ones_like",), traits=(Trait.FOLDABLE,), shape_operands=(0,))
@attrs.frozen(kw_only=True)
class OnesLike:
    """Ones shaped like x."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.ones(shape, np.float32)


@op_def(operands=(), mxnet=("_arange",), ignored=("ctx",), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class Arange:
    """start, start+step, … below stop, each repeated `repeat` times."""
    start: float
    stop: float | None = None
    step: float = 1.0
    repeat: int = 1
    infer_range: bool = False
    dtype: str = "float32"

    def evaluate(self) -> np.ndarray:
        start, stop = (0.0, self.start) if self.stop is None else (self.start, self.stop)
        return np.repeat(np.arange(start, stop, self.step, dtype=np.float32), self.repeat)

    def infer(self) -> TensorType:
        return TensorType((self.evaluate().size,), DType.float32)
