"""Data-movement ops: Flatten, Concat, Reshape (codes resolved), Transpose, and inference identities."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.ir.fields import int_tuple, non_negative, positive
from compiler.ir.opdef import Trait, op_def
from compiler.ir.types import TensorType


@op_def(mxnet=("Flatten", "flatten"), traits=(Trait.FOLDABLE, Trait.MAY_BE_IDENTITY, Trait.VIEW))
@attrs.frozen(kw_only=True)
class Flatten:
    """(N, d1, …, dk) → (N, d1·…·dk) in C order."""

    def infer(self, x: TensorType) -> TensorType:
        return x.with_shape((x.shape[0], int(np.prod(x.shape[1:]))))

    def is_identity(self, x: TensorType) -> bool:
        return x.rank == 2

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(x.shape[0], -1)


@op_def(operands=("data*",), mxnet=("Concat", "concat"), ignored=("num_args",), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class Concat:
    """Concatenation along `dim` (negative counts from the end)."""
    dim: int = 1

    def positive_axis(self, rank: int) -> int:
        return self.dim + rank if self.dim < 0 else self.dim

    def infer(self, *xs: TensorType) -> TensorType:
        rank = xs[0].rank
        axis = self.positive_axis(rank)
        if not 0 <= axis < rank:
            raise ValueError(f"dim {self.dim} is out of range for rank {rank}")
        for x in xs:
            if x.rank != rank or x.shape[:axis] + x.shape[axis + 1:] != xs[0].shape[:axis] + xs[0].shape[axis + 1:]:
                raise ValueError("operands differ outside the concat axis: " + ", ".join(str(t.shape) for t in xs))
        return xs[0].with_shape((*xs[0].shape[:axis], sum(x.shape[axis] for x in xs), *xs[0].shape[axis + 1:]))

    def evaluate(self, *xs: np.ndarray) -> np.ndarray:
        return np.concatenate(xs, axis=self.positive_axis(xs[0].ndim))


@op_def(traits=(Trait.FOLDABLE, Trait.MAY_BE_IDENTITY, Trait.VIEW))
@attrs.frozen(kw_only=True)
class Reshape:
    """Reshape to an explicit shape; the frontend resolves MXNet's 0/-1/-2/-3/-4 codes (docs/mxnet.md#reshape)."""
    shape: tuple[int, ...] = attrs.field(converter=int_tuple, validator=positive)

    def infer(self, x: TensorType) -> TensorType:
        if int(np.prod(self.shape)) != x.size:
            raise ValueError(f"cannot reshape {x.shape} ({x.size} elements) to {self.shape}")
        return x.with_shape(self.shape)

    def is_identity(self, x: TensorType) -> bool:
        return x.shape == self.shape

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.shape)


@op_def(mxnet=("transpose",), traits=(Trait.FOLDABLE, Trait.MAY_BE_IDENTITY))
@attrs.frozen(kw_only=True)
class Transpose:
    """Output dim i = input dim axes[i]; empty axes reverses every axis."""
    axes: tuple[int, ...] = attrs.field(default=(), converter=int_tuple)

    def resolved(self, rank: int) -> tuple[int, ...]:
        axes = self.axes or tuple(reversed(range(rank)))
        return tuple(a + rank if a < 0 else a for a in axes)

    def infer(self, x: TensorType) -> TensorType:
        axes = self.resolved(x.rank)
        if sorted(axes) != list(range(x.rank)):
            raise ValueError(f"axes {self.axes} are not a permutation of rank {x.rank}")
        return x.with_shape(tuple(x.shape[a] for a in axes))

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return np.transpose(x, self.resolved(x.ndim))

    def is_identity(self, x: TensorType) -> bool:
        return self.resolved(x.rank) == tuple(range(x.rank))


@op_def(mxnet=("Dropout",), ignored=("cudnn_off",), traits=(Trait.MAY_BE_IDENTITY,))
@attrs.frozen(kw_only=True)
class Dropout:
    """Identity at inference unless mode='always'."""
    p: float = 0.5
    mode: str = attrs.field(default="training", validator=attrs.validators.in_(("training", "always")))
    axes: tuple[int, ...] = attrs.field(default=(), converter=int_tuple)

    def infer(self, x: TensorType) -> TensorType:
        return x

    def is_identity(self, x: TensorType) -> bool:
        return self.mode == "training"   # 'always' drops values at inference too


@op_def(mxnet=("_copy", "identity", "BlockGrad", "stop_gradient"), traits=(Trait.MAY_BE_IDENTITY,))
@attrs.frozen(kw_only=True)
class Copy:
    """y = x."""

    def infer(self, x: TensorType) -> TensorType:
        return x


@op_def()
@attrs.frozen(kw_only=True)
class Permute:
    """caffe-ssd Permute: output dim i = input dim order[i]."""
    order: tuple[int, ...] = attrs.field(converter=int_tuple)

    def infer(self, x: TensorType) -> TensorType:
        if sorted(self.order) != list(range(x.rank)):
            raise ValueError(f"order {self.order} is not a permutation of rank {x.rank}")
        return x.with_shape(tuple(x.shape[a] for a in self.order))


@op_def(mxnet=("expand_dims",), traits=(Trait.FOLDABLE, Trait.VIEW))
@attrs.frozen(kw_only=True)
class ExpandDims:
    """Insert a size-1 axis at `axis` (negative counts from the end of the result)."""
    axis: int

    def infer(self, x: TensorType) -> TensorType:
        axis = self.axis + x.rank + 1 if self.axis < 0 else self.axis
        if not 0 <= axis <= x.rank:
            raise ValueError(f"axis {self.axis} is out of range for rank {x.rank}")
        return x.with_shape(x.shape[:axis] + (1,) + x.shape[axis:])

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return np.expand_dims(x, self.axis)


@op_def(mxnet=("squeeze",), traits=(Trait.FOLDABLE, Trait.VIEW))
@attrs.frozen(kw_only=True)
class Squeeze:
    """Remove the size-1 axes named in `axis` (all size-1 axes when None); a result of rank 0 keeps one axis."""
    axis: tuple[int, ...] | None = attrs.field(default=None, converter=attrs.converters.optional(int_tuple))

    def infer(self, x: TensorType) -> TensorType:
        axes = range(x.rank) if self.axis is None else [a + x.rank if a < 0 else a for a in self.axis]
        if any(not 0 <= a < x.rank for a in axes):
            raise ValueError(f"axis {self.axis} is out of range for rank {x.rank}")
        if self.axis is not None and any(x.shape[a] != 1 for a in axes):
            raise ValueError(f"cannot squeeze axes {self.axis} of {x.shape}: they are not all of size 1")
        kept = tuple(d for i, d in enumerate(x.shape) if not (i in axes and d == 1))
        return x.with_shape(kept or (1,))

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.infer(TensorType(x.shape)).shape)


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
    eltwise = "SUM"
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
    eltwise = "MAX"
    pool = "MAX"


@_reduction("min", "min_axis")
@attrs.frozen(kw_only=True)
class ReduceMin(Reduction):
    """The smallest x over the reduced axes (Caffe: −max(−x), negation being exact)."""
    axis: tuple[int, ...] | None = _axes_field()
    keepdims: bool = False
    exclude: bool = False
    numpy = staticmethod(np.min)
    eltwise = "MAX"
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


@op_def(mxnet=("argmax",), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class ArgMax(_ArgExtreme):
    """The index of the first largest value along `axis` (float, as MXNet returns it)."""
    axis: int
    keepdims: bool = False
    smallest = False

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        found = np.argmax(x, axis=self.positive_axis(x.ndim)).astype(np.float32)
        return found.reshape(self.infer(TensorType(x.shape)).shape)


@op_def(mxnet=("argmin",), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class ArgMin(_ArgExtreme):
    """The index of the first smallest value along `axis` (float, as MXNet returns it)."""
    axis: int
    keepdims: bool = False
    smallest = True

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        found = np.argmin(x, axis=self.positive_axis(x.ndim)).astype(np.float32)
        return found.reshape(self.infer(TensorType(x.shape)).shape)


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


@op_def(traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class Split:
    """x cut along `axis` at `points` into len(points) + 1 consecutive parts, one result each (MXNet's
    SliceChannel/split/split_v2 before any squeeze)."""
    axis: int
    points: tuple[int, ...] = attrs.field(converter=int_tuple)

    def positive_axis(self, rank: int) -> int:
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 0 <= axis < rank:
            raise ValueError(f"axis {self.axis} is out of range for rank {rank}")
        return axis

    def bounds(self, size: int) -> list[tuple[int, int]]:
        edges = [0, *self.points, size]
        if any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"split points {self.points} do not cut size {size} into non-empty parts")
        return list(zip(edges, edges[1:]))

    def infer(self, x: TensorType) -> tuple[TensorType, ...]:
        axis = self.positive_axis(x.rank)
        return tuple(x.with_shape(x.shape[:axis] + (end - begin,) + x.shape[axis + 1:])
                     for begin, end in self.bounds(x.shape[axis]))

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        axis = self.positive_axis(x.ndim)
        return tuple(np.take(x, range(begin, end), axis=axis) for begin, end in self.bounds(x.shape[axis]))


@op_def(mxnet=("tile",), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class Tile:
    """x repeated `reps` times along each axis as a whole block ([a, b] → [a, b, a, b]); the shorter of x's
    shape and reps is padded with leading 1s, as in MXNet."""
    reps: tuple[int, ...] = attrs.field(converter=int_tuple, validator=positive)

    def aligned(self, shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        rank = max(len(shape), len(self.reps))
        return (1,) * (rank - len(shape)) + tuple(shape), (1,) * (rank - len(self.reps)) + self.reps

    def infer(self, x: TensorType) -> TensorType:
        shape, reps = self.aligned(x.shape)
        return x.with_shape(tuple(d * r for d, r in zip(shape, reps)))

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return np.tile(x, self.reps)


@op_def(mxnet=("broadcast_to",), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class BroadcastTo:
    """x repeated along its size-1 axes to `shape` (0 keeps an axis)."""
    shape: tuple[int, ...] = attrs.field(converter=int_tuple, validator=non_negative)

    def target(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(self.shape) != len(shape):
            raise ValueError(f"cannot broadcast rank {len(shape)} to {self.shape}")
        out = tuple(d if t == 0 else t for d, t in zip(shape, self.shape))
        if any(d not in (1, o) for d, o in zip(shape, out)):
            raise ValueError(f"cannot broadcast {shape} to {out}: only size-1 axes repeat")
        return out

    def infer(self, x: TensorType) -> TensorType:
        return x.with_shape(self.target(x.shape))

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, self.target(x.shape)).copy()


@op_def(operands=("data", "like"), mxnet=("broadcast_like",), traits=(Trait.FOLDABLE,), shape_operands=(1,))
@attrs.frozen(kw_only=True)
class BroadcastLike:
    """data repeated along its size-1 axes to the shape of `like` (only axes lhs_axes, sized as like's rhs_axes,
    when given)."""
    lhs_axes: tuple[int, ...] | None = attrs.field(default=None, converter=attrs.converters.optional(int_tuple))
    rhs_axes: tuple[int, ...] | None = attrs.field(default=None, converter=attrs.converters.optional(int_tuple))

    def infer(self, x: TensorType, like: TensorType) -> TensorType:
        if self.lhs_axes is None:
            if x.rank != like.rank:
                raise ValueError(f"cannot broadcast {x.shape} like {like.shape}: the ranks differ")
            shape = like.shape
        else:
            if self.rhs_axes is None or len(self.lhs_axes) != len(self.rhs_axes):
                raise ValueError("lhs_axes and rhs_axes must name the same number of axes")
            resized = list(x.shape)
            for lhs, rhs in zip(self.lhs_axes, self.rhs_axes):
                resized[lhs] = like.shape[rhs]
            shape = tuple(resized)
        if any(d not in (1, s) for d, s in zip(x.shape, shape)):
            raise ValueError(f"cannot broadcast {x.shape} to {shape}: only size-1 axes repeat")
        return x.with_shape(tuple(shape))

    def evaluate(self, x: np.ndarray, like_shape) -> np.ndarray:
        return np.broadcast_to(x, self.infer(TensorType(x.shape), TensorType(tuple(like_shape))).shape).copy()
