"""IR invariants, checked after the frontend and after every pass in tests."""
from __future__ import annotations

import numpy as np

from compiler.errors import IRVerificationError
from compiler.ir.deferred import ScaledArray
from compiler.ir.opdef import REGISTRY


def _fail(rule: str, message: str, op=None):
    context = op.error_context() if op is not None else {}
    raise IRVerificationError(f"[{rule}] {message}", **context)


def verify(graph) -> None:
    defined: set[int] = set()
    names: set[str] = set()

    def define(value, where):
        if value.name in names:
            _fail("unique-names", f"value name %{value.name} is defined twice", where)
        names.add(value.name)
        defined.add(id(value))

    for value in graph.inputs:
        if not value.is_input or value.producer is not None or value.is_constant:
            _fail("value-kind", f"input %{value.name} must be a plain graph input")
        define(value, None)
    for key, value in graph.constants.items():
        data = value.data   # not .const: checking a deferred constant must not compute it
        if data is None or value.producer is not None or key != value.name:
            _fail("value-kind", f"constant %{value.name} must hold an array and have no producer")
        if data.dtype != np.float32 or (not isinstance(data, ScaledArray) and data.flags.writeable):
            _fail("constants", f"constant %{value.name} must be a read-only float32 array")
        if tuple(data.shape) != value.type.shape:
            _fail("constants", f"constant %{value.name} has data {data.shape} but type {value.type}")
        define(value, None)

    ops = list(graph)
    for op in ops:
        definition = REGISTRY.get(op.kind)
        if definition is None or type(op.attrs) is not definition.cls:
            _fail("registered", f"{op.kind} is not a registered op kind", op)
        low, high = definition.arity
        if not low <= len(op.operands) <= high:
            _fail("arity", f"{len(op.operands)} operands, expected {low}..{high}", op)
        for i, value in enumerate(op.operands):
            if id(value) not in defined:
                _fail("ssa-order", f"operand {i} %{value.name} is not defined before its use", op)
            if (op, i) not in value.uses:
                _fail("use-sets", f"operand {i} %{value.name} does not list this use", op)
        inferred = op.attrs.infer(*[v.type for v in op.operands])
        inferred = inferred if isinstance(inferred, tuple) else (inferred,)
        if tuple(r.type for r in op.results) != inferred:
            _fail("shape-rule", f"result types {[str(r.type) for r in op.results]} differ from the shape rule "
                                f"{[str(t) for t in inferred]}", op)
        for i, value in enumerate(op.results):
            if value.producer is not op or value.index != i:
                _fail("value-kind", f"result %{value.name} does not point back to its producer", op)
            define(value, op)

    live = {id(op) for op in ops}
    for value in graph.values():
        for user, index in value.uses:
            if id(user) not in live:
                _fail("use-sets", f"%{value.name} lists a use by an op that is not in the graph")
            if user.operands[index] is not value:
                _fail("use-sets", f"%{value.name} lists a use that the op does not have", user)
    if not graph.outputs:
        _fail("outputs", "the graph has no outputs")
    for value in graph.outputs:
        if id(value) not in defined:
            _fail("outputs", f"output %{value.name} is not defined in the graph")
