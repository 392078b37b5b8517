"""The reference interpreter: run a Graph on NumPy arrays, op by op, with each op's `evaluate` (its meaning in
NumPy). Tests compare a graph before and after a pass with it, without MXNet or a Caffe runtime.

Like torch.fx's Interpreter, `run_op` is the one place an op is computed: a subclass may override it (to record
every value, or to stand in for an op that has no reference).
"""
from __future__ import annotations

import numpy as np

from compiler.errors import NoReference
from compiler.ir.graph import Graph, Op, Value


__all__ = ["Interpreter", "NoReference", "run_graph"]


class Interpreter:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.env: dict[int, np.ndarray] = {}   # id(value) -> its array, for every value computed so far

    def run(self, *args: np.ndarray, **inputs: np.ndarray) -> list[np.ndarray]:
        """The graph outputs for these inputs (positional in graph-input order, or by name)."""
        if args and inputs:
            raise TypeError("give the inputs by position or by name, not both")
        given = dict(zip((v.name for v in self.graph.inputs), args)) if args else inputs
        missing = [v.name for v in self.graph.inputs if v.name not in given]
        if missing:
            raise TypeError(f"no value for input(s) {', '.join(missing)}")
        self.env = {}
        for value in self.graph.inputs:
            array = np.asarray(given[value.name], np.float32)
            if array.shape != value.type.shape:
                raise ValueError(f"input {value.name} has shape {array.shape}, the graph takes {value.type.shape}")
            self.env[id(value)] = array
        for op in self.graph:
            results = self.run_op(op, [self.operand(op, i) for i in range(len(op.operands))])
            results = results if len(op.results) > 1 else (results,)
            for value, array in zip(op.results, results):
                self.env[id(value)] = np.asarray(array, np.float32)
        return [self.value(v) for v in self.graph.outputs]

    def operand(self, op: Op, index: int):
        """Operand `index` of op as evaluate takes it: its static shape when the definition reads only that."""
        value = op.operands[index]
        return value.type.shape if index in op.definition.shape_operands else self.value(value)

    def value(self, value: Value) -> np.ndarray:
        if value.is_constant:
            return np.asarray(value.const, np.float32)
        return self.env[id(value)]

    def run_op(self, op: Op, operands: list):
        if not op.definition.has_reference:
            raise NoReference(f"{op.kind} has no NumPy reference (evaluate)", **op.error_context())
        try:
            return op.attrs.evaluate(*operands)
        except NoReference as exc:
            if exc.node is None:   # the op's evaluate knows its attributes, not its node: say which node
                raise NoReference(exc.detail, **op.error_context()) from None
            raise


def run_graph(graph: Graph, *args, **inputs) -> list[np.ndarray]:
    return Interpreter(graph).run(*args, **inputs)
