"""Op definitions: one frozen `attrs` class per op kind, registered with its operands and MXNet names."""
from __future__ import annotations

from typing import Callable

import attrs

TRAIT_ELEMENTWISE = "elementwise"          # y[i] depends on x[i] only: may run in place
TRAIT_SHAPE_ONLY = "shape_only"            # moves data without changing values
TRAIT_INPUT_CHANNEL_WEIGHTS = "input_channel_weights"  # operand 1 is (O, C_in/g, ...) or (O, K)


@attrs.frozen
class OpDef:
    kind: str
    cls: type
    operands: tuple[str, ...]   # role names; "name?" is optional, "name*" takes one or more
    mxnet: tuple[str, ...]
    ignored: frozenset[str]
    traits: frozenset[str]

    @property
    def arity(self) -> tuple[int, float]:
        low = sum(1 for r in self.operands if not r.endswith(("?", "*")))
        if any(r.endswith("*") for r in self.operands):
            return low + 1, float("inf")
        return low, len(self.operands)

    def role(self, index: int) -> str:
        if index < len(self.operands):
            return self.operands[index].rstrip("?*")
        return self.operands[-1].rstrip("?*")


REGISTRY: dict[str, OpDef] = {}


def op_def(*, operands: tuple[str, ...] = ("data",), mxnet: tuple[str, ...] = (),
           ignored: tuple[str, ...] = (), traits: tuple[str, ...] = ()) -> Callable[[type], type]:
    """Register an attrs class as an IR op kind (the class name is the kind)."""

    def register(cls: type) -> type:
        if not attrs.has(cls) or not hasattr(cls, "infer"):
            raise TypeError(f"{cls.__name__} must be an attrs class with an infer() shape rule")
        attrs.resolve_types(cls)
        definition = OpDef(cls.__name__, cls, tuple(operands), tuple(mxnet), frozenset(ignored), frozenset(traits))
        if definition.kind in REGISTRY:
            raise TypeError(f"op kind {definition.kind} registered twice")
        REGISTRY[definition.kind] = definition
        cls.DEF = definition
        return cls

    return register


def definition_of(op_attrs) -> OpDef:
    return REGISTRY[type(op_attrs).__name__]
