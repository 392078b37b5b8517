"""Op definitions: one frozen `attrs` class per op kind, registered once with its operands, MXNet names and traits.

A trait is a promise about the op's semantics that passes may rely on without knowing the op. Some traits come
with a hook, a method the class must define; registration refuses a class that declares a trait without its hook,
so no pass ever has to probe an op with getattr.

| trait | promise | hook the class defines |
| --- | --- | --- |
| ELEMENTWISE | output element i depends only on element i of each data operand (a Caffe layer may run in place) | — |
| CHANNELWISE | the op treats the channels (axis 1) of operand 0 alike and apart: permuting input channels permutes the output channels, provided the per-channel constants are permuted too | `channel_constants(*types)`: indices of the constant operands whose first axis is the channel axis, or None when these attributes break the promise (default: none) |
| INPUT_CHANNEL_WEIGHTS | operand 1 is a constant weight that reads operand 0's channels | `input_channel_layout(data_type, weight_shape)`: (shape, axis) such that the weight reshaped to `shape` has the input channel on `axis`, or None when no single weight axis holds it |
| OUTPUT_CHANNEL_WEIGHTS | operand 1 (weight) and optional operand 2 (bias, `num_outputs` entries) produce the result | `outputs_on_channel_axis(result_type)`: whether axis 1 of the result is the weight's output axis; `scale_output_channels(weight, factor, result_type)`: the weight with the output feeding result channel c multiplied by factor[c] in float64, rounded once to float32 (None where the outputs are not on axis 1); and `num_outputs` |
| FOLDABLE | with constant operands, fold_constants may replace the op by its value: `evaluate` computes in NumPy exactly what MXNet computes (same float32 operations) | `evaluate(*operands)` |
| MAY_BE_IDENTITY | for some attributes the op computes y = x at inference | `is_identity(*types)` (default: always) |
| VIEW | the result is operand 0's elements in the same (C) order under another shape: a Reshape to the result's shape computes it | — |

`shape_operands` (any op) lists operands read for their static shape only: no value flows from them; `evaluate`
receives their shape in their place.

Every op may define `evaluate(*operands)`: its meaning in NumPy, which the reference interpreter
(compiler/ir/interpreter.py) runs. Outside FOLDABLE ops it is a reference (float64 inside, float32 out), not a
bit-exact copy of MXNet's arithmetic.

An op definition may claim MXNet op names (`mxnet=`): the frontend lowers such a node to this op with its attributes
parsed into the class's fields. A name has one claim: a second one (by another op, or by a frontend composite) is
refused when it is registered.
"""
from __future__ import annotations

import enum
from typing import Callable

import attrs


class Trait(enum.Enum):
    ELEMENTWISE = "elementwise"
    CHANNELWISE = "channelwise"
    INPUT_CHANNEL_WEIGHTS = "input_channel_weights"
    OUTPUT_CHANNEL_WEIGHTS = "output_channel_weights"
    FOLDABLE = "foldable"
    MAY_BE_IDENTITY = "may_be_identity"
    VIEW = "view"


HOOKS: dict[Trait, str | tuple[str, ...] | None] = {
    Trait.ELEMENTWISE: None,
    Trait.CHANNELWISE: "channel_constants",
    Trait.INPUT_CHANNEL_WEIGHTS: "input_channel_layout",
    Trait.OUTPUT_CHANNEL_WEIGHTS: ("scale_output_channels", "num_outputs"),
    Trait.FOLDABLE: "evaluate",
    Trait.MAY_BE_IDENTITY: "is_identity",
    Trait.VIEW: None,
}
# Hooks a class may leave out, and what they then answer.
DEFAULT_HOOKS: dict[Trait, Callable] = {
    Trait.CHANNELWISE: lambda self, *types: (),
    Trait.MAY_BE_IDENTITY: lambda self, *types: True,
}


@attrs.frozen
class OpDef:
    kind: str
    cls: type
    operands: tuple[str, ...]   # role names; "name?" is optional, "name*" takes one or more
    mxnet: tuple[str, ...]
    ignored: frozenset[str]
    traits: frozenset[Trait]
    shape_operands: tuple[int, ...]   # operands read for their static shape only: no value flows from them

    # (fewest, most) operands, from the roles; computed once (Graph.add reads it for every op)
    arity: tuple[int, float] = attrs.field(init=False, eq=False)

    def __attrs_post_init__(self):
        low = sum(1 for r in self.operands if not r.endswith(("?", "*")))
        variadic = any(r.endswith("*") for r in self.operands)
        object.__setattr__(self, "arity", (low + 1, float("inf")) if variadic else (low, len(self.operands)))

    @property
    def summary(self) -> str:
        """The first line of the class docstring: what the op computes."""
        return (self.cls.__doc__ or "").strip().splitlines()[0]

    def has(self, trait: Trait) -> bool:
        return trait in self.traits

    @property
    def has_reference(self) -> bool:
        """Whether the op defines `evaluate`, its meaning in NumPy (the reference interpreter runs it)."""
        return callable(getattr(self.cls, "evaluate", None))


REGISTRY: dict[str, OpDef] = {}
# MXNet op name -> who lowers it: an op kind (a direct claim, `mxnet=`) or a frontend composite's name.
MXNET_CLAIMS: dict[str, str] = {}


def claim_mxnet_name(name: str, claimant: str) -> None:
    """Record that `claimant` lowers MXNet op `name`; a name claimed twice is a registration error."""
    if name in MXNET_CLAIMS:
        raise TypeError(f"MXNet op '{name}' is claimed by both {MXNET_CLAIMS[name]} and {claimant}")
    MXNET_CLAIMS[name] = claimant


def op_def(*, operands: tuple[str, ...] = ("data",), mxnet: tuple[str, ...] = (), ignored: tuple[str, ...] = (),
           traits: tuple[Trait, ...] = (), shape_operands: tuple[int, ...] = ()) -> Callable[[type], type]:
    """Register an attrs class as an IR op kind (the class name is the kind)."""

    def register(cls: type) -> type:
        if not attrs.has(cls) or not hasattr(cls, "infer"):
            raise TypeError(f"{cls.__name__} must be an attrs class with an infer() shape rule")
        if not (cls.__doc__ or "").strip():
            raise TypeError(f"{cls.__name__} needs a docstring saying what it computes")
        for trait in traits:
            hooks = HOOKS[trait]
            for hook in (hooks,) if isinstance(hooks, str) else hooks or ():
                if hasattr(cls, hook):
                    continue
                if trait not in DEFAULT_HOOKS:
                    raise TypeError(f"{cls.__name__} declares {trait.name} but does not define {hook}")
                setattr(cls, hook, DEFAULT_HOOKS[trait])
        attrs.resolve_types(cls)
        definition = OpDef(cls.__name__, cls, tuple(operands), tuple(mxnet), frozenset(ignored), frozenset(traits),
                           tuple(shape_operands))
        if definition.kind in REGISTRY:
            raise TypeError(f"op kind {definition.kind} registered twice")
        for name in definition.mxnet:
            claim_mxnet_name(name, definition.kind)
        REGISTRY[definition.kind] = definition
        cls.DEF = definition
        return cls

    return register


def definition_of(op_attrs) -> OpDef:
    return REGISTRY[type(op_attrs).__name__]
