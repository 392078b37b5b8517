"""Cutting and repeating: a slice along one axis, a split into parts, tile and the broadcasts to a shape."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.ir.fields import int_tuple, non_negative, positive
from compiler.ir.opdef import Trait, op_def
from compiler.ir.types import TensorType


def _axis(axis: int, rank: int) -> int:
    a = axis + rank if axis < 0 else axis
    if not 0 <= a < rank:
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return a


@op_def(mxnet=("slice_axis",), traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class SliceAxis:
    """x[..., begin:end, ...] along one axis (end None = to the end; negatives count from the end)."""
    axis: int
    begin: int
    end: int | None

    def positive_axis(self, rank: int) -> int:
        return _axis(self.axis, rank)

    def bounds(self, size: int) -> tuple[int, int]:
        begin = self.begin + size if self.begin < 0 else self.begin
        end = size if self.end is None else (self.end + size if self.end < 0 else self.end)
        if not 0 <= begin < end <= size:
            raise ValueError(f"slice [{self.begin}, {self.end}) is empty or out of range for size {size}")
        return begin, end

    def infer(self, x: TensorType) -> TensorType:
        axis = _axis(self.axis, x.rank)
        begin, end = self.bounds(x.shape[axis])
        return x.with_shape(x.shape[:axis] + (end - begin,) + x.shape[axis + 1:])

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        axis = _axis(self.axis, x.ndim)
        begin, end = self.bounds(x.shape[axis])
        return np.take(x, range(begin, end), axis=axis)


@op_def(traits=(Trait.FOLDABLE,))
@attrs.frozen(kw_only=True)
class Split:
    """x cut along `axis` at `points` into len(points) + 1 consecutive parts, one result each (MXNet's
    SliceChannel/split/split_v2 before any squeeze)."""
    axis: int
    points: tuple[int, ...] = attrs.field(converter=int_tuple)

    def positive_axis(self, rank: int) -> int:
        return _axis(self.axis, rank)

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
