"""Constants computed when they are read: a folded weight W·s is kept as (W, s) until something needs its values.

Folding a BatchNorm into a convolution used to make a second, full copy of the weights in fresh memory, which
the writer then copied once more into the file: on ResNet-50 that fold cost more than writing the whole
caffemodel. A ScaledArray keeps the product undone. The writer computes it block by block into small buffers
that stay in the CPU cache (`parts`, `compute_part`), so the folded weights exist only in the file; a pass or a caller
that reads the values (`np.asarray(x)`, an ndarray method, an operator) gets them computed, with the same bytes
either way — every element is rounded from its own float64 product, whatever the blocking.
"""
from __future__ import annotations

import math

import numpy as np

# Elements per block: 512 KiB of float32, which stays in the CPU's L2 cache between being computed and being
# written (on ResNet-50's weights, 128 Ki was as fast as any size from 64 Ki to 512 Ki, and 1 Mi slower).
BLOCK_ELEMENTS = 1 << 17


class ScaledArray(np.lib.mixins.NDArrayOperatorsMixin):
    """The read-only float32 array round(source · factor), factor broadcast against source and computed in float64,
    C-ordered and seen with `shape` (a reshape of source's shape). Anything NumPy can take it takes, by computing
    it (__array__); `blocks()` yields it in C order without holding all of it, and `parts()` with `compute_part`
    let a writer compute the next block while it writes one."""

    __slots__ = ("source", "factor", "shape")
    dtype = np.dtype(np.float32)

    def __init__(self, source: np.ndarray, factor, shape=None):
        factor = np.asarray(factor, np.float64)
        if factor.ndim > source.ndim or np.broadcast_shapes(source.shape, factor.shape) != source.shape:
            raise ValueError(f"factor {factor.shape} must broadcast into source {source.shape}")
        self.source = source
        self.factor = factor.reshape((1,) * (source.ndim - factor.ndim) + factor.shape)
        self.shape = tuple(source.shape if shape is None else shape)
        if math.prod(self.shape) != source.size:
            raise ValueError(f"cannot see {source.shape} as {self.shape}")

    # -- the ndarray attributes that do not need the values ------------------------------------
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: self.source.size)
    nbytes = property(lambda self: self.source.size * 4)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"ScaledArray(shape={self.shape}, source={self.source.shape}, factor={self.factor.shape})"

    def reshape(self, *shape) -> "ScaledArray":
        shape = tuple(shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
        if shape.count(-1) == 1:
            known = math.prod(d for d in shape if d != -1)
            shape = tuple(self.size // known if d == -1 and known else d for d in shape)
        return ScaledArray(self.source, self.factor, shape)

    # -- the values ----------------------------------------------------------------------------
    def materialize(self) -> np.ndarray:
        out = _rounded_product(self.source, self.factor, np.empty(self.source.shape, np.float32)).reshape(self.shape)
        out.setflags(write=False)
        return out

    def __array__(self, dtype=None, copy=None):
        data = self.materialize()
        return data if dtype is None else data.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = [np.asarray(x) if isinstance(x, ScaledArray) else x for x in inputs]
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __getitem__(self, index):
        return self.materialize()[index]

    def __iter__(self):
        return iter(self.materialize())

    def __getattr__(self, name):
        # Every other ndarray attribute and method (astype, flags, tolist, sum, ...) on the computed values.
        if name.startswith("__") or name in ScaledArray.__slots__:   # not set yet (copy, unpickling)
            raise AttributeError(name)
        return getattr(self.materialize(), name)

    def parts(self):
        """(source part, factor part) pairs, each at most BLOCK_ELEMENTS of the result, whose products in order
        are the values in C order (see compute_part)."""
        return _row_blocks(self.source, self.factor, BLOCK_ELEMENTS)

    @staticmethod
    def compute_part(part, buffer: np.ndarray) -> np.ndarray:
        """One part's float32 values, computed into `buffer` (float32, at least BLOCK_ELEMENTS long) and returned
        as a flat view of it."""
        source, factor = part
        return _rounded_product(source, factor, buffer[:source.size].reshape(source.shape)).reshape(-1)

    def blocks(self):
        """The values in C order, block by block; every block is one reused buffer, so a consumer must use it
        before asking for the next."""
        buffer = np.empty(BLOCK_ELEMENTS, np.float32)
        for part in self.parts():
            yield self.compute_part(part, buffer)


def _rounded_product(source: np.ndarray, factor: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out (float32) := source · factor computed in float64 and rounded once; NumPy casts in its own small buffers,
    so no float64 copy of the source is made."""
    np.multiply(source, factor, out=out, dtype=np.float64, casting="unsafe")
    return out


def _row_blocks(source: np.ndarray, factor: np.ndarray, limit: int):
    """(source part, factor part) pairs whose products, concatenated in order, are the C-ordered product; each
    part holds at most `limit` elements (rows of the first axis, or a row split along the next axes)."""
    if source.ndim == 0:
        yield source, factor
        return
    rows = source.shape[0]
    per_row = source.size // rows if rows else 0
    if source.ndim == 1 or per_row <= limit:
        step = max(1, limit // max(1, per_row))
        for start in range(0, rows, step):
            stop = min(rows, start + step)
            yield source[start:stop], factor if factor.shape[0] == 1 else factor[start:stop]
        return
    for row in range(rows):
        yield from _row_blocks(source[row], factor[0 if factor.shape[0] == 1 else row], limit)


def scaled_float32(weight: np.ndarray, factor) -> ScaledArray | np.ndarray:
    """weight · factor (broadcast), computed in float64 and rounded once to float32 when read: a ScaledArray when
    the factor broadcasts into the weight's shape, else computed at once."""
    factor = np.asarray(factor, np.float64)
    if factor.ndim <= weight.ndim and np.broadcast_shapes(weight.shape, factor.shape) == weight.shape:
        return ScaledArray(weight, factor)
    return _rounded_product(weight, factor, np.empty(np.broadcast_shapes(weight.shape, factor.shape), np.float32))
