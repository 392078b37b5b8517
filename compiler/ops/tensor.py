"""Data-movement ops: Flatten, Concat, Reshape (codes resolved), Transpose, Permute, size-1 axes, and inference
identities."""
from __future__ import annotations


import attrs
import numpy as np

from compiler.compat import StrEnum
from compiler.errors import NoReference
from compiler.ir.fields import choice, int_tuple, positive
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


@op_def()
@attrs.frozen(kw_only=True)
class ShuffleChannel:
    """ShuffleNet's channel shuffle of a 4-D x: channel a·(C/group) + j moves to j·group + a, as (N, group, C/group,
    …) → swap axes 1 and 2 → (N, C, …): the native layer of targets that have one (ncnn)."""
    group: int = attrs.field(validator=attrs.validators.gt(0))

    def infer(self, x: TensorType) -> TensorType:
        if x.rank != 4 or x.shape[1] % self.group:
            raise ValueError(f"shuffles the channels of a 4-D blob in groups that divide them, got {x.shape} "
                             f"in {self.group} groups")
        return x

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        n, c, h, w = x.shape
        return x.reshape(n, self.group, c // self.group, h, w).swapaxes(1, 2).reshape(n, c, h, w)


class DropoutMode(StrEnum):
    TRAINING = "training"   # drops only while training: the identity at inference
    ALWAYS = "always"       # drops at inference too


@op_def(mxnet=("Dropout",), ignored=("cudnn_off",), traits=(Trait.MAY_BE_IDENTITY,))
@attrs.frozen(kw_only=True)
class Dropout:
    """Identity at inference unless mode='always'."""
    p: float = 0.5
    mode: DropoutMode = choice(DropoutMode, default="training")
    axes: tuple[int, ...] = attrs.field(default=(), converter=int_tuple)

    def infer(self, x: TensorType) -> TensorType:
        return x

    def is_identity(self, x: TensorType) -> bool:
        return self.mode is DropoutMode.TRAINING

    def evaluate(self, x):
        if not self.is_identity(TensorType(np.shape(x))):
            raise NoReference("Dropout with mode 'always' drops random values: it has no reference value")
        return x


@op_def(mxnet=("_copy", "identity", "BlockGrad", "stop_gradient"), traits=(Trait.MAY_BE_IDENTITY,))
@attrs.frozen(kw_only=True)
class Copy:
    """y = x."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def evaluate(self, x):
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

    def evaluate(self, x):
        return np.transpose(x, self.order)


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


@op_def(operands=("lhs", "rhs"), mxnet=("batch_dot",), ignored=("forward_stype",))
@attrs.frozen(kw_only=True)
class BatchDot:
    """out[n] = op(lhs[n]) · op(rhs[n]) for each n of the batch, op transposing a (M, K) matrix where asked: two
    activations multiplied (DANet's attention). Rank 3 (MXNet's own batch_dot takes no other)."""
    transpose_a: bool = False
    transpose_b: bool = False

    def infer(self, lhs: TensorType, rhs: TensorType) -> TensorType:
        if lhs.rank != 3 or rhs.rank != 3:
            raise ValueError(f"batch_dot multiplies rank-3 arrays, not {lhs.shape} and {rhs.shape}")
        (n, m, k), (rn, rk, p) = self._matrices(lhs.shape), self._matrices(rhs.shape, self.transpose_b)
        if n != rn or k != rk:
            raise ValueError(f"batch_dot of {lhs.shape} and {rhs.shape} (transpose_a={self.transpose_a}, "
                             f"transpose_b={self.transpose_b}): the batch or inner sizes differ")
        return lhs.with_shape((n, m, p))

    def _matrices(self, shape, transposed=None) -> tuple[int, int, int]:
        transposed = self.transpose_a if transposed is None else transposed
        return (shape[0], shape[2], shape[1]) if transposed else tuple(shape)

    def evaluate(self, lhs, rhs):
        lhs, rhs = np.asarray(lhs, np.float64), np.asarray(rhs, np.float64)
        lhs = lhs.transpose(0, 2, 1) if self.transpose_a else lhs
        rhs = rhs.transpose(0, 2, 1) if self.transpose_b else rhs
        return np.matmul(lhs, rhs).astype(np.float32)
