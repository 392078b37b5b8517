"""The typed SSA graph: values defined once, ops in topological order, use sets kept by the graph."""
from __future__ import annotations

import contextlib
import functools
from typing import Iterator, NamedTuple

import attrs
import numpy as np

from compiler.errors import ConversionError, IRVerificationError, ShapeMismatch
from compiler.ir.deferred import ScaledArray
from compiler.ir.opdef import REGISTRY, definition_of
from compiler.ir.types import DType, TensorType


class Origin(NamedTuple):
    """Where an op came from in the MXNet graph; every error about the op names it. (A tuple of atoms: one is made
    per op, and the cyclic collector stops tracking such tuples at its first look.)"""
    node: str
    op: str
    index: int = -1

    def __str__(self) -> str:
        return f"{self.op} '{self.node}'"


@functools.lru_cache(maxsize=4096)
def _float32_type(shape: tuple) -> TensorType:
    """One TensorType per constant shape (they are frozen, so shared; a model's weights repeat a few shapes)."""
    return TensorType(shape, DType.float32)


class Entry(NamedTuple):
    """An output of an MXNet node, by node name and output index: what a value equals in the MXNet graph. (A tuple
    of atoms, like Origin.) Node names need not be unique (a Gluon block that applies one activation twice names
    both nodes alike): `occurrence` counts the earlier nodes of the same name."""
    node: str
    output: int = 0
    occurrence: int = 0

    def __str__(self) -> str:
        name = self.node if self.output == 0 else f"{self.node}[{self.output}]"
        return name if self.occurrence == 0 else f"{name} (node {self.occurrence + 1} of that name)"


def name_occurrences(names) -> list[int]:
    """For each name in order, how many earlier names equal it (Entry.occurrence)."""
    seen: dict[str, int] = {}
    counts = []
    for name in names:
        counts.append(seen.get(name, 0))
        seen[name] = counts[-1] + 1
    return counts


@attrs.define(eq=False, repr=False)
class Value:
    name: str
    type: TensorType
    producer: "Op | None" = None
    index: int = 0
    # A constant's values: an ndarray, or a ScaledArray computed when read (compiler/ir/deferred.py).
    data: "np.ndarray | ScaledArray | None" = None
    is_input: bool = False
    uses: dict = attrs.field(factory=dict)   # (op, operand index) -> None, an ordered set
    ref: Entry | None = None   # the MXNet node output this value equals, for per-layer comparisons

    @property
    def const(self) -> np.ndarray | None:
        """A constant's values as an ndarray (None for any other value); a deferred constant is computed on the
        first read and kept. Code that only passes the constant on (emitters, the writer) reads `data`."""
        if isinstance(self.data, ScaledArray):
            self.data = self.data.materialize()
        return self.data

    @const.setter
    def const(self, array) -> None:
        self.data = array

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def users(self) -> list["Op"]:
        return list(dict.fromkeys(op for op, _ in self.uses))

    @property
    def shape(self) -> tuple[int, ...]:
        return self.type.shape

    def __repr__(self) -> str:
        return f"%{self.name}: {self.type}"


@attrs.define(eq=False, repr=False)
class Op:
    name: str
    attrs: object
    operands: tuple[Value, ...]
    results: tuple[Value, ...] = ()
    origin: Origin | None = None
    prev: "Op | None" = None
    next: "Op | None" = None
    graph: "Graph | None" = None

    @property
    def kind(self) -> str:
        return type(self.attrs).__name__

    @property
    def definition(self):
        return definition_of(self.attrs)

    def has(self, trait) -> bool:
        """Whether the op's definition declares `trait` (compiler.ir.opdef.Trait)."""
        return trait in definition_of(self.attrs).traits

    def isa(self, *classes) -> bool:
        return isinstance(self.attrs, classes)

    @property
    def result(self) -> Value:
        if len(self.results) != 1:
            raise IRVerificationError(f"has {len(self.results)} results, not one", node=self.name, op=self.kind)
        return self.results[0]

    def error_context(self) -> dict:
        return {"node": self.origin.node if self.origin else self.name, "op": self.origin.op if self.origin else self.kind}

    def __repr__(self) -> str:
        return f"<Op {self.kind} {self.name}>"


def _infer(op_attrs, operand_types, name: str, origin: Origin | None) -> tuple[TensorType, ...]:
    try:
        out = op_attrs.infer(*operand_types)
    except ConversionError:
        raise
    except (ValueError, IndexError, TypeError, ZeroDivisionError) as exc:
        shapes = ", ".join(str(t) for t in operand_types)
        raise ShapeMismatch(f"shape rule failed for operands ({shapes}): {exc}",
                            node=origin.node if origin else name,
                            op=origin.op if origin else type(op_attrs).__name__) from exc
    return out if isinstance(out, tuple) else (out,)


class Graph:
    """A single-block DAG. Change it only through these methods, so use sets and order stay right."""

    def __init__(self, name: str = "graph"):
        self.name = name
        self.inputs: list[Value] = []
        self.outputs: list[Value] = []
        self.constants: dict[str, Value] = {}
        self._head: Op | None = None
        self._tail: Op | None = None
        self._by_kind: dict[str, dict[Op, None]] = {}
        self._names: set[str] = set()
        self._suffixes: dict[str, int] = {}
        self._insert_before: Op | None = None

    # -- naming -----------------------------------------------------------------------------
    def unique_name(self, base: str) -> str:
        base = base or "v"
        if base not in self._names:
            return base
        n = self._suffixes.get(base, 1)   # remembered, so that a name taken many times stays O(1)
        while f"{base}_{n}" in self._names:
            n += 1
        self._suffixes[base] = n + 1
        return f"{base}_{n}"

    def _claim(self, name: str) -> str:
        names, size = self._names, len(self._names)
        if name:
            names.add(name)   # the common case, a name not taken yet: one set operation
            if len(names) > size:
                return name
        name = self.unique_name(name)
        names.add(name)
        return name

    # -- building ---------------------------------------------------------------------------
    def input(self, name: str, type: TensorType) -> Value:
        value = Value(self._claim(name), type, is_input=True)
        self.inputs.append(value)
        return value

    def constant(self, array, name: str) -> Value:
        # A read-only view where the array is already float32 and C-ordered (the weights of a model are not
        # copied into the IR); a converted copy otherwise; a ScaledArray as it is (read-only float32, computed
        # when read). Passes never write into a constant: they make new ones.
        if isinstance(array, ScaledArray) and array.ndim:
            data = array
        elif (type(array) is np.ndarray and array.dtype == np.float32 and array.ndim and not array.flags.writeable
              and array.flags.c_contiguous):
            data = array   # already what a constant holds (a params file's arrays are read-only views)
        else:
            data = np.asarray(array, dtype=np.float32, order="C").view()
            data.setflags(write=False)
            data = data.reshape(1) if data.ndim == 0 else data
        value = Value(self._claim(name), _float32_type(data.shape), data=data)
        self.constants[value.name] = value
        return value

    def add(self, op_attrs, *operands: Value, name: str, origin: Origin | None = None,
            before: Op | None = None) -> Op:
        definition = definition_of(op_attrs)
        low, high = definition.arity
        if not low <= len(operands) <= high:
            raise IRVerificationError(f"takes {low}..{high} operands, got {len(operands)}", node=name,
                                      op=definition.kind)
        types = _infer(op_attrs, [v.type for v in operands], name, origin)
        op = Op(self._claim(name), op_attrs, tuple(operands), origin=origin, graph=self)
        if len(types) == 1:
            op.results = (Value(op.name, types[0], producer=op, index=0),)
        else:
            op.results = tuple(Value(self._claim(f"{op.name}_output{i}"), t, producer=op, index=i)
                               for i, t in enumerate(types))
        for i, value in enumerate(operands):
            value.uses[(op, i)] = None
        self._link(op, before if before is not None else self._insert_before)
        self._by_kind.setdefault(definition.kind, {})[op] = None
        return op

    @contextlib.contextmanager
    def inserting_before(self, op: Op | None):
        saved, self._insert_before = self._insert_before, op
        try:
            yield
        finally:
            self._insert_before = saved

    def _link(self, op: Op, before: Op | None) -> None:
        if before is None:
            op.prev, op.next = self._tail, None
            if self._tail is not None:
                self._tail.next = op
            self._tail = op
            if self._head is None:
                self._head = op
        else:
            op.prev, op.next = before.prev, before
            if before.prev is not None:
                before.prev.next = op
            else:
                self._head = op
            before.prev = op

    # -- reading ----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Op]:
        op = self._head
        while op is not None:
            nxt = op.next
            yield op
            op = nxt

    @property
    def ops(self) -> list[Op]:
        return list(self)

    def __len__(self) -> int:
        return sum(len(ops) for ops in self._by_kind.values())

    def ops_of(self, *kinds) -> list[Op]:
        """A snapshot, in graph order, of the ops of these kinds (kind names, op classes, or the shared base
        classes of op families, which stand for every kind derived from them)."""
        names = set()
        for k in kinds:
            names |= {k} if isinstance(k, str) else kinds_derived_from(k)
        found = [op for name in names for op in self._by_kind.get(name, {})]
        if len(names) > 1:
            position = {op: i for i, op in enumerate(self)}
            found.sort(key=position.__getitem__)
        return found

    def values(self) -> Iterator[Value]:
        yield from self.inputs
        yield from self.constants.values()
        for op in self:
            yield from op.results

    # -- mutating ---------------------------------------------------------------------------
    def set_input_type(self, value: Value, type: TensorType) -> None:
        """Change a graph input's type; the caller rebuilds every op that reads it before verifying."""
        if not value.is_input:
            raise IRVerificationError(f"%{value.name} is not a graph input")
        value.type = type

    def set_operand(self, op: Op, index: int, value: Value) -> None:
        old = op.operands[index]
        del old.uses[(op, index)]
        op.operands = op.operands[:index] + (value,) + op.operands[index + 1:]
        value.uses[(op, index)] = None

    def set_operands(self, op: Op, operands: tuple[Value, ...]) -> None:
        for i, value in enumerate(op.operands):
            del value.uses[(op, i)]
        op.operands = tuple(operands)
        for i, value in enumerate(op.operands):
            value.uses[(op, i)] = None

    def set_attrs(self, op: Op, op_attrs) -> None:
        """Swap an op's attributes; result types must stay what they were."""
        types = _infer(op_attrs, [v.type for v in op.operands], op.name, op.origin)
        if types != tuple(r.type for r in op.results):
            raise ShapeMismatch(f"new attributes change the result types to {[str(t) for t in types]}",
                                **op.error_context())
        del self._by_kind[op.kind][op]
        op.attrs = op_attrs
        self._by_kind.setdefault(op.kind, {})[op] = None

    def replace_all_uses(self, old: Value, new: Value) -> None:
        """Every use of `old` reads `new` instead: `new` now stands for `old`, MXNet reference included."""
        if old.ref is not None:
            new.ref = old.ref
        for op, index in list(old.uses):
            self.set_operand(op, index, new)
        self.outputs = [new if v is old else v for v in self.outputs]

    def erase(self, op: Op) -> None:
        for value in op.results:
            if value.uses or any(v is value for v in self.outputs):
                raise IRVerificationError(f"cannot erase: result %{value.name} is still used", node=op.name,
                                          op=op.kind)
        for i, value in enumerate(op.operands):
            del value.uses[(op, i)]
        if op.prev is not None:
            op.prev.next = op.next
        else:
            self._head = op.next
        if op.next is not None:
            op.next.prev = op.prev
        else:
            self._tail = op.prev
        del self._by_kind[op.kind][op]
        op.graph = None
        for name in {op.name, *(v.name for v in op.results)}:
            self._names.discard(name)   # a replacement may take the name over

    def rename(self, op: Op, name: str) -> None:
        """Give a single-result op (and its value) a new unique name."""
        new = self._claim(name)
        for old in {op.name, *(v.name for v in op.results)}:
            self._names.discard(old)
        op.name = new
        if len(op.results) == 1:
            op.results[0].name = new

    def replace_op(self, op: Op, value: Value, *, take_name: bool = True) -> None:
        """Route every use of op's single result to `value`, erase op, and let value's producer take its name."""
        name = op.name
        self.replace_all_uses(op.result, value)
        self.erase(op)
        if take_name and value.producer is not None and len(value.producer.results) == 1:
            self.rename(value.producer, name)

    def remove_constant(self, value: Value) -> None:
        if value.uses:
            raise IRVerificationError(f"constant %{value.name} is still used")
        del self.constants[value.name]

    # -- text and checks --------------------------------------------------------------------
    def __str__(self) -> str:
        from compiler.ir.printer import format_graph
        return format_graph(self)

    def verify(self) -> None:
        from compiler.ir.verifier import verify
        verify(self)


def kinds_derived_from(base: type) -> set[str]:
    """The registered op kinds whose class is `base` or derives from it."""
    return {kind for kind, definition in REGISTRY.items() if issubclass(definition.cls, base)} or {base.__name__}


def known_kinds() -> list[str]:
    return sorted(REGISTRY)
