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
    if shape and min(shape) < 1:   # the converter made every dim an int
        raise ValueError(f"every dim of a tensor type must be a positive int, got {shape}")


class OperandShapeError(ValueError):
    """A shape rule refusing an operand whose shape is fixed by the op's attributes (a weight, a bias): the frontend
    turns it into an error about the parameter that holds it."""

    def __init__(self, role: str, actual: tuple, expected: tuple):
        self.role, self.actual, self.expected = role, tuple(actual), tuple(expected)
        super().__init__(f"{role} has shape {self.actual}, expected {self.expected}")


def expect_shape(role: str, actual: tuple, expected: tuple) -> None:
    if tuple(actual) != tuple(expected):
        raise OperandShapeError(role, actual, expected)


@attrs.frozen
class TensorType:
    shape: tuple[int, ...] = attrs.field(converter=lambda s: tuple(map(int, s)), validator=_positive_dims)
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
