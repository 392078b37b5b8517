"""Field helpers shared by op classes: converters normalise shape only, validators check ranges, and `choice` holds
one member of a StrEnum (a sub-kind such as an activation function: a typed value, printed and parsed as the word
MXNet writes)."""
from __future__ import annotations

import enum

import attrs
from compiler.compat import StrEnum

Pair = tuple[int, int]


def pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if len(value) == 1:
        return (value[0], value[0])
    if len(value) != 2:
        raise ValueError(f"expected one or two values for a 2-D op, got {value}")
    return (int(value[0]), int(value[1]))


def int_tuple(value) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


def _check_all(predicate, word):
    def check(instance, attribute, value):
        items = value if isinstance(value, tuple) else (value,)
        if not all(predicate(v) for v in items):
            raise ValueError(f"{type(instance).__name__}.{attribute.name} must be {word}, got {value}")
    return check


positive = _check_all(lambda v: v > 0, "positive")
non_negative = _check_all(lambda v: v >= 0, "non-negative")


def one_of(*choices):
    return attrs.validators.in_(choices)


def _member_of(kind: type[enum.Enum]):
    def convert(value):
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"{value!r} is not one of {', '.join(m.value for m in kind)}") from None
    return convert


def choice(kind: type[StrEnum], default=attrs.NOTHING):
    """A field holding one member of `kind`; its word (as MXNet or Caffe writes it) converts to the member."""
    convert = _member_of(kind)
    return attrs.field(default=default if default is attrs.NOTHING else convert(default), converter=convert)
