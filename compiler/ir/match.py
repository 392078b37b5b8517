"""Matching helpers for passes: walk producers and constants without touching the graph."""
from __future__ import annotations

from compiler.ir.graph import Op, Value


def sole_producer(value: Value, *kinds) -> Op | None:
    """The op of one of the classes `kinds` that produced `value`, if `value` has exactly one use and is no graph
    output."""
    op = single_use_producer(value)
    return op if op is not None and op.isa(*kinds) else None


def single_use_producer(value: Value) -> Op | None:
    """The op that produced `value`, if `value` has exactly one use and is no graph output."""
    op = value.producer
    if op is None or len(value.uses) != 1 or (op.graph is not None and is_output(op.graph, value)):
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
