"""Matching helpers for passes: walk producers and constants without touching the graph."""
from __future__ import annotations

from compiler.ir.graph import Op, Value


def sole_producer(value: Value, *kinds) -> Op | None:
    """The op of one of `kinds` that produced `value`, if `value` has exactly one use and is no graph output."""
    op = value.producer
    names = {k if isinstance(k, str) else k.__name__ for k in kinds}
    if op is None or op.kind not in names or len(value.uses) != 1:
        return None
    graph = op.graph
    if graph is not None and any(v is value for v in graph.outputs):
        return None
    return op


def is_output(graph, value: Value) -> bool:
    return any(v is value for v in graph.outputs)


def constants_of(op: Op, first: int = 1) -> list | None:
    """The arrays of operands first.. when all are constants, else None."""
    values = op.operands[first:]
    if any(v.const is None for v in values):
        return None
    return [v.const for v in values]
