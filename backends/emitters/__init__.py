"""Emitter registry: IR op kind → the Caffe layers that compute it, shared by every target that has them."""
from __future__ import annotations

from typing import Callable

import attrs
import numpy as np

from compiler.ir.graph import Graph, Op, Value
from compiler.ir.opdef import TRAIT_ELEMENTWISE, definition_of


@attrs.define
class Layer:
    """One Caffe layer: prototxt fields (params by message name) and its weight blobs."""
    name: str
    type: str
    bottoms: list[str]
    tops: list[str]
    params: dict[str, dict] = attrs.field(factory=dict)
    blobs: list[np.ndarray] = attrs.field(factory=list)
    source: str | None = None          # the IR value this layer's first top carries, if any


@attrs.frozen
class Emitter:
    kind: str
    layers: frozenset[str]
    function: Callable
    legal: Callable | None            # (op, target) -> None when emittable, else the reason
    inplace: bool | Callable          # (op) -> True when it emits one element-wise layer that may reuse its bottom


EMITTERS: dict[str, Emitter] = {}


def emitter(op_class, *, layers: tuple[str, ...], legal=None, inplace: bool | Callable = False):
    def register(function):
        kind = op_class.__name__
        if kind in EMITTERS:
            raise TypeError(f"two emitters for {kind}")
        EMITTERS[kind] = Emitter(kind, frozenset(layers), function, legal, inplace)
        return function
    return register


def layers_needed(op: Op, target) -> frozenset[str]:
    found = EMITTERS[op.kind]
    needs = getattr(found.function, "layers_for", None)
    return needs(op, target) if needs else found.layers


class EmitContext:
    """Blob and layer naming for one emission; emitters create layers only through it."""

    def __init__(self, graph: Graph, target, inplace: bool = True):
        self.graph = graph
        self.target = target
        self.inplace = inplace and target.policy.inplace
        self.layers: list[Layer] = []
        self._layer_names: set[str] = set()
        self._blob_names: set[str] = set()
        self.blob_of: dict[int, str] = {}
        for value in graph.inputs:
            self.blob_of[id(value)] = self._claim_blob(value.name)

    def _claim_blob(self, base: str) -> str:
        name, n = base, 1
        while name in self._blob_names:
            name, n = f"{base}_{n}", n + 1
        self._blob_names.add(name)
        return name

    def new_blob(self, base: str) -> str:
        return self._claim_blob(base)

    def bottom(self, value: Value) -> str:
        if value.const is not None:
            raise ValueError(f"constant %{value.name} cannot be a bottom blob")
        return self.blob_of[id(value)]

    def top(self, value: Value) -> str:
        if id(value) not in self.blob_of:
            self.blob_of[id(value)] = self._claim_blob(value.name)
        return self.blob_of[id(value)]

    def add(self, type_: str, *, name: str, bottoms, tops, params=None, blobs=(), source: Value | None = None) -> Layer:
        unique, n = name, 1
        while unique in self._layer_names:
            unique, n = f"{name}_{n}", n + 1
        self._layer_names.add(unique)
        layer = Layer(unique, type_, list(bottoms), list(tops), dict(params or {}),
                      [np.require(b, dtype=np.float32, requirements="C") for b in blobs],
                      source.name if source is not None else None)
        self.layers.append(layer)
        return layer

    def reuse_bottom_blob(self, op: Op) -> bool:
        """In place only for one element-wise layer whose input nobody else reads and that no output shares."""
        inplace = EMITTERS[op.kind].inplace
        if callable(inplace):
            inplace = inplace(op)
        if not (self.inplace and inplace and TRAIT_ELEMENTWISE in definition_of(op.attrs).traits):
            return False
        source = op.operands[0]
        outputs = {id(v) for v in self.graph.outputs}
        return (source.producer is not None and len(source.uses) == 1 and id(source) not in outputs
                and id(op.results[0]) not in outputs)


def emit_graph(graph: Graph, target, inplace: bool = True) -> list[Layer]:
    ctx = EmitContext(graph, target, inplace)
    for value in graph.inputs:
        ctx.add("Input", name=value.name, bottoms=[], tops=[ctx.bottom(value)],
                params={"input_param": {"shape": [{"dim": list(value.type.shape)}]}}, source=value)
    for op in graph:
        if ctx.reuse_bottom_blob(op):
            ctx.blob_of[id(op.results[0])] = ctx.bottom(op.operands[0])
        EMITTERS[op.kind].function(op, ctx)
    return ctx.layers


def const(value: Value) -> np.ndarray:
    if value.const is None:
        raise ValueError(f"%{value.name} must be a constant to become a weight blob")
    return value.const


# The families register their emitters on import; they need the names above, so they come last.
from backends.emitters import activation, arith, detection, nn, tensor  # noqa: E402,F401
