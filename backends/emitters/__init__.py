"""Emitter registry: IR op kind → the Caffe layers that compute it, shared by every target that has them.

An emitter declares every layer type it may produce (`layers`, plus those of the shared helpers it calls,
`helpers`: each helper declares its own with @writes), optionally the narrower set one op needs on one target
(`layers_for`), and the attribute combinations it cannot express exactly (`legal`). The legality check
reads exactly these declarations, and emission refuses a layer type the declaration did not name, so the two
can never disagree. Every module in this package registers its emitters on import: a new op's emitter needs no
line in this file."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

import attrs
import numpy as np

from compiler.ir.deferred import ScaledArray
from compiler.ir.graph import Graph, Op, Value
from compiler.ir.opdef import Trait


# Layer types whose top shares memory with their bottom in Caffe (Blob::ShareData): no layer may run in place on it.
VIEW_LAYERS = frozenset({"Reshape", "Flatten"})
# Element-wise layers that BVLC Caffe refuses to run in place (absval_layer.cpp CHECKs top != bottom).
NOT_IN_PLACE = frozenset({"AbsVal"})
# Layers OpenCV may fuse into a preceding Power as a scale and shift (an affine Power, a Scale, a BatchNorm).
SCALE_SHIFT_LAYERS = frozenset({"Power", "Scale", "BatchNorm"})


def _fused_wrongly_after(layer) -> bool:
    """OpenCV 4.x fuses a scale-shift layer into a preceding Power that has power ≠ 1 and shift 0, and then computes
    (x·scale')^power with the next layer's scale folded into the base: x² followed by +1 came out as (x)² + 0, three
    times x² as (3x)²-like values (docs/caffe.md#opencv). Such a Power's top gets a Split before that layer."""
    if layer is None or layer.type != "Power":
        return False
    param = layer.params.get("power_param", {})
    return param.get("power", 1.0) != 1.0 and param.get("shift", 0.0) == 0.0


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
    layers: frozenset[str]            # every layer type this emitter may produce
    function: Callable                # (op, EmitContext) -> None
    legal: Callable | None            # (op, target) -> None when emittable, else the reason
    layers_for: Callable | None       # (op, target) -> the layer types this op needs there (default: `layers`)

    def needs(self, op: Op, target) -> frozenset[str]:
        return frozenset(self.layers_for(op, target)) if self.layers_for else self.layers


EMITTERS: dict[str, Emitter] = {}


def emitter(op_class, *, layers: tuple[str, ...] = (), helpers=(), layers_for: Callable | None = None,
            legal: Callable | None = None):
    def register(function):
        kind = op_class.__name__
        if kind in EMITTERS:
            raise TypeError(f"two emitters for {kind}")
        declared = frozenset(layers).union(*(helper.writes for helper in helpers))
        EMITTERS[kind] = Emitter(kind, declared, function, legal, layers_for)
        return function
    return register


def writes(*layers: str):
    """Declare the layer types a helper that several emitters call may write; an emitter that calls it names it in
    `helpers=` instead of repeating them."""
    def mark(function):
        function.writes = frozenset(layers)
        return function
    return mark


def layers_needed(op: Op, target) -> frozenset[str]:
    return EMITTERS[op.kind].needs(op, target)


class EmitContext:
    """Blob and layer naming for one emission; emitters create layers only through it."""

    def __init__(self, graph: Graph, target, inplace: bool = True):
        self.graph = graph
        self.target = target
        self.inplace = inplace and target.policy.inplace   # the caller's choice and the consumer's ability
        self.allowed: frozenset[str] | None = None   # layer types the op being emitted declared
        self.layers: list[Layer] = []
        self._layer_names: set[str] = set()
        self._blob_names: set[str] = set()
        self._writer: dict[str, Layer] = {}   # blob → the layer that last wrote it
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
        if value.is_constant:
            raise ValueError(f"constant %{value.name} cannot be a bottom blob")
        return self.blob_of[id(value)]

    def top(self, value: Value) -> str:
        if id(value) not in self.blob_of:
            self.blob_of[id(value)] = self._claim_blob(value.name)
        return self.blob_of[id(value)]

    def add(self, type_: str, *, name: str, bottoms, tops, params=None, blobs=(), source: Value | None = None) -> Layer:
        if self.allowed is not None and type_ not in self.allowed:
            raise AssertionError(f"emitter for {name} produced a {type_} layer it does not declare")
        unique, n = name, 1
        while unique in self._layer_names:
            unique, n = f"{name}_{n}", n + 1
        self._layer_names.add(unique)
        bottoms = list(bottoms)
        if type_ in SCALE_SHIFT_LAYERS and bottoms and _fused_wrongly_after(self._writer.get(bottoms[0])) and \
                (type_ != "Power" or (params or {}).get("power_param", {}).get("power", 1.0) == 1.0):
            bottoms[0] = self._guarded(bottoms[0])
        layer = Layer(unique, type_, bottoms, list(tops), dict(params or {}),
                      [b if isinstance(b, ScaledArray) else np.require(b, dtype=np.float32, requirements="C")
                       for b in blobs],   # a ScaledArray stays deferred: the writer computes it
                      source.name if source is not None else None)
        self.layers.append(layer)
        for top in layer.tops:
            self._writer[top] = layer
        return layer

    def _add_for_consumer(self, type_: str, **layer) -> Layer:
        """A layer written for a consumer's rule rather than for the op being emitted (so not among its layers)."""
        allowed, self.allowed = self.allowed, None
        try:
            return self.add(type_, **layer)
        finally:
            self.allowed = allowed

    def _guarded(self, blob: str) -> str:
        """A one-top Split of `blob` (a copy-free view in every consumer): OpenCV then has no Power to fuse the next
        layer into (see _fused_wrongly_after)."""
        guarded = self.new_blob(f"{blob}_unfused")
        self._add_for_consumer("Split", name=f"{blob}_unfused", bottoms=[blob], tops=[guarded])
        return guarded

    def discard(self, name: str, blobs: list[str]) -> None:
        """Blobs nothing reads (a Slice's parts outside the range kept). Where the consumer has Silence, one consumes
        them so that they are not network outputs. A consumer without it keeps them as extra outputs: rknn-toolkit2
        drops a Silence and then returns the Slice's other part under the kept part's name (docs/rknn.md)."""
        if blobs and "Silence" in self.target.layers:
            self._add_for_consumer("Silence", name=name, bottoms=blobs, tops=[])

    def emit(self, op: Op) -> None:
        found = EMITTERS[op.kind]
        self.allowed = found.needs(op, self.target)
        first = len(self.layers)
        try:
            found.function(op, self)
        finally:
            self.allowed = None
        self._run_in_place(op, self.layers[first:])

    def _made_by_view(self, blob: str) -> bool:
        producer = next((layer for layer in reversed(self.layers) if blob in layer.tops), None)
        return producer is not None and producer.type in VIEW_LAYERS

    def _run_in_place(self, op: Op, emitted: list[Layer]) -> None:
        """Let the layer write into its bottom blob when that is safe: an ELEMENTWISE op emitted as one layer with
        one bottom (Caffe's Eltwise clears its top before reading its bottoms), whose input nobody else reads, and
        neither blob is a graph output."""
        if not (self.inplace and op.has(Trait.ELEMENTWISE) and len(emitted) == 1 and len(emitted[0].bottoms) == 1
                and emitted[0].type not in NOT_IN_PLACE):
            return
        layer, source, result = emitted[0], op.operands[0], op.results[0]
        outputs = {id(v) for v in self.graph.outputs}
        if source.producer is None or len(source.uses) != 1 or id(source) in outputs or id(result) in outputs:
            return
        if layer.bottoms != [self.blob_of.get(id(source))] or layer.tops != [self.blob_of.get(id(result))]:
            return
        if self._made_by_view(layer.bottoms[0]):
            # Caffe's Reshape and Flatten tops share memory with their bottom: writing into one would change the
            # blob it views, which other layers may still read.
            return
        self._blob_names.discard(layer.tops[0])
        layer.tops[0] = self.blob_of[id(result)] = layer.bottoms[0]


def emit_graph(graph: Graph, target, inplace: bool = True) -> list[Layer]:
    ctx = EmitContext(graph, target, inplace)
    for value in graph.inputs:
        ctx.add("Input", name=value.name, bottoms=[], tops=[ctx.bottom(value)],
                params={"input_param": {"shape": [{"dim": list(value.type.shape)}]}}, source=value)
    for op in graph:
        ctx.emit(op)
    _check_output_layers(ctx)
    return ctx.layers


def _check_output_layers(ctx: EmitContext) -> None:
    """Runtimes return a layer's first top: each graph output must be the first top of the layer that claims it,
    or users (and verification) would read another blob under the output's name."""
    claimed = {layer.source: layer for layer in ctx.layers if layer.source is not None}
    for value in ctx.graph.outputs:
        layer = claimed.get(value.name)
        if layer is None or layer.tops[:1] != [ctx.blob_of.get(id(value))]:
            raise AssertionError(f"output %{value.name} is not the first top of a layer "
                                 f"({layer.name if layer else 'no layer'} claims it): an emitter bug")


def const(value: Value):
    """A constant operand's data as a weight blob: an ndarray, or a ScaledArray that the writer computes block by
    block (compiler/ir/deferred.py) — an emitter that needs the values takes np.asarray of it."""
    if not value.is_constant:
        raise ValueError(f"%{value.name} must be a constant to become a weight blob")
    return value.data


# The families register their emitters on import; they need the names above, so they come last.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
