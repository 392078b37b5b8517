"""Field helpers shared by op classes: converters normalise shape only, validators check ranges."""
from __future__ import annotations

import attrs

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
