"""Reductions over axes (sum, mean, max, min), the index of the extreme value, and the L1/L2 norm."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.ir.fields import int_tuple
from compiler.ir.opdef import Trait, op_def
from compiler.ir.types import TensorType
from compiler.ops.arith import EltwiseOperation


def _reduced_axes(axis, rank: int, exclude: bool = False) -> tuple[int, ...]:
    axes = range(rank) if axis is None else [a + rank if a < 0 else a for a in axis]
    if any(not 0 <= a < rank for a in axes):
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    axes = sorted(set(axes))
    return tuple(a for a in range(rank) if a not in axes) if exclude else tuple(axes)


class Reduction:
    """The shared rule of a reduction over `axis` (all axes when None; every other axis with `exclude`), dropping
    the reduced axes unless keepdims. Each subclass is one op kind and says how Caffe computes it:
    `eltwise` (the Eltwise operation that combines sliced terms), `pool` (the Pooling method that combines a
    window of terms), `scale_after(terms, pooled)` (the factor that turns that combination into the result), and
    `negated` (computed as −max(−x))."""
    numpy = None
    eltwise = EltwiseOperation.SUM
    pool = "AVE"
    negated = False

    def axes(self, rank: int) -> tuple[int, ...]:
        return _reduced_axes(self.axis, rank, self.exclude)

    def infer(self, x: TensorType) -> TensorType:
        axes = self.axes(x.rank)
        if self.keepdims:
            return x.with_shape(tuple(1 if i in axes else d for i, d in enumerate(x.shape)))
        return x.with_shape(tuple(d for i, d in enumerate(x.shape) if i not in axes) or (1,))

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        function = type(self).numpy
        return function(x, axis=self.axes(x.ndim), keepdims=True).reshape(self.infer(TensorType(x.shape)).shape)

    def scale_after(self, terms: int, pooled: bool) -> float:
        return 1.0


def _reduction(*mxnet: str):
    return op_def(mxnet=mxnet, traits=(Trait.FOLDABLE,))


def _axes_field():
    return attrs.field(default=None, converter=attrs.converters.optional(int_tuple))


@_reduction("sum", "sum_axis")
@attrs.frozen(kw_only=True)
class ReduceSum(Reduction):
    """Σ x over the reduced axes."""
    axis: tuple[int, ...] | None = _axes_field()
    keepdims: bool = False
    exclude: bool = False
    numpy = staticmethod(np.sum)

    def scale_after(self, terms: int, pooled: bool) -> float:
        return float(terms) if pooled else 1.0   # an average pooling window gives the mean


@_reduction("mean")
@attrs.frozen(kw_only=True)
class ReduceMean(Reduction):
    """The mean of x over the reduced axes."""
    axis: tuple[int, ...] | None = _axes_field()
    keepdims: bool = False
    exclude: bool = False
    numpy = staticmethod(np.mean)

    def scale_after(self, terms: int, pooled: bool) -> float:
        return 1.0 if pooled else 1.0 / terms


@_reduction("max", "max_axis")
@attrs.frozen(kw_only=True)
class ReduceMax(Reduction):
    """The largest x over the reduced axes."""
    axis: tuple[int, ...] | None = _axes_field()
    keepdims: bool = False
    exclude: bool = False
    numpy = staticmethod(np.max)
    eltwise = EltwiseOperation.MAX
    pool = "MAX"


@_reduction("min", "min_axis")
@attrs.frozen(kw_only=True)
class ReduceMin(Reduction):
    """The smallest x over the reduced axes (Caffe: −max(−x), negation being exact)."""
    axis: tuple[int, ...] | None = _axes_field()
    keepdims: bool = False
    exclude: bool = False
    numpy = staticmethod(np.min)
    eltwise = EltwiseOperation.MAX
    pool = "MAX"
    negated = True


class _ArgExtreme:
    """The index (as a float, MXNet's argmax/argmin) of the first largest (smallest) value along `axis`."""

    def positive_axis(self, rank: int) -> int:
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 0 <= axis < rank:
            raise ValueError(f"axis {self.axis} is out of range for rank {rank}")
        return axis

    def infer(self, x: TensorType) -> TensorType:
        axis = self.positive_axis(x.rank)
        if self.keepdims:
            return x.with_shape(x.shape[:axis] + (1,) + x.shape[axis + 1:])
        return x.with_shape(x.shape[:axis] + x.shape[axis + 1:] or (1,))

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        find = np.argmin if self.smallest else np.argmax
        found = find(x, axis=self.positive_axis(x.ndim)).astype(np.float32)
        return found.reshape(self.infer(TensorType(x.shape)).shape)


@op_def(mxnet=("argmax",), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class ArgMax(_ArgExtreme):
    """The index of the first largest value along `axis` (float, as MXNet returns it)."""
    axis: int
    keepdims: bool = False
    smallest = False


@op_def(mxnet=("argmin",), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class ArgMin(_ArgExtreme):
    """The index of the first smallest value along `axis` (float, as MXNet returns it)."""
    axis: int
    keepdims: bool = False
    smallest = True


@op_def(mxnet=("norm",), ignored=("out_dtype",), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class Norm:
    """The L1 (Σ|x|) or L2 (√Σx²) norm over `axis` (all axes when None)."""
    ord: int = attrs.field(default=2, validator=attrs.validators.in_((1, 2)))
    axis: tuple[int, ...] | None = _axes_field()
    keepdims: bool = False

    def axes(self, rank: int) -> tuple[int, ...]:
        return _reduced_axes(self.axis, rank)

    def infer(self, x: TensorType) -> TensorType:
        return ReduceSum(axis=self.axis, keepdims=self.keepdims).infer(x)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        terms = np.abs(x) if self.ord == 1 else np.square(x)
        total = np.sum(terms, axis=self.axes(x.ndim), keepdims=True)
        return (total if self.ord == 1 else np.sqrt(total)).reshape(self.infer(TensorType(x.shape)).shape)
