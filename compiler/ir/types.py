"""Static tensor types of the IR: a shape of positive dims and a dtype."""
from __future__ import annotations

import enum

import attrs


class DType(enum.Enum):
    float32 = "f32"
    int32 = "i32"

    @classmethod
    def from_numpy(cls, dtype) -> "DType":
        import numpy as np

        kind = np.dtype(dtype)
        if kind == np.float32:
            return cls.float32
        if kind == np.int32:
            return cls.int32
        raise ValueError(f"dtype {kind} is not supported; Caffe models carry float32 data")


def _positive_dims(instance, attribute, shape):
    if any((not isinstance(d, int)) or d < 1 for d in shape):
        raise ValueError(f"every dim of a tensor type must be a positive int, got {shape}")


@attrs.frozen
class TensorType:
    shape: tuple[int, ...] = attrs.field(converter=lambda s: tuple(int(d) for d in s), validator=_positive_dims)
    dtype: DType = DType.float32

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def with_shape(self, shape) -> "TensorType":
        return TensorType(shape, self.dtype)

    def __str__(self) -> str:
        return f"{self.dtype.value}[{','.join(map(str, self.shape))}]"
