"""Pass tests without MXNet: the IR is built in Python, one pass runs, and the graph after it must compute what the
graph before it computed — both run by the NumPy reference interpreter (compiler/ir/interpreter.py), fed the same
data through the input contract the pass records (a pass that takes BGR or raw pixels changes what the input
is)."""
from __future__ import annotations

import types

import numpy as np

from backends.target import Target, TargetPolicy
from compiler.ir import Graph, TensorType
from compiler.ir.interpreter import run_graph
from compiler.options import Options
from passes import REGISTRY, PassContext


class IR:
    """A small builder: `ir = IR(); x = ir.input((1, 3, 8, 8)); y = ir(Convolution(...), x, ir.weight((4, 3, 3, 3)))`.
    Weights are seeded random values (normal · 0.5, or uniform in `between`)."""

    def __init__(self, seed: int = 0):
        self.graph = Graph("test")
        self.rng = np.random.RandomState(seed)
        self._count = 0

    def input(self, shape, name: str = "data"):
        return self.graph.input(name, TensorType(shape))

    def weight(self, shape, name: str | None = None, between=None):
        values = self.rng.uniform(*between, shape) if between else self.rng.standard_normal(shape) * 0.5
        return self.graph.constant(values.astype(np.float32), name or self._name("w"))

    def const(self, values, name: str | None = None):
        return self.graph.constant(np.asarray(values, np.float32), name or self._name("k"))

    def __call__(self, op_attrs, *operands, name: str | None = None):
        op = self.graph.add(op_attrs, *operands, name=name or self._name(type(op_attrs).__name__.lower()))
        return op.result if len(op.results) == 1 else op.results

    def output(self, *values) -> Graph:
        self.graph.outputs = list(values)
        return self.graph

    def _name(self, base: str) -> str:
        self._count += 1
        return f"{base}{self._count}"


def target_with(layers=(), **policy) -> Target:
    """A stand-in target for pass tests: these layer types and this policy (passes read nothing else)."""
    return Target(name="test", proto=types.SimpleNamespace(layers=frozenset(layers)), policy=TargetPolicy(**policy))


def context(layers=(), graph: Graph | None = None, policy: dict | None = None, **options) -> PassContext:
    from compiler.contract import identity_contracts

    return PassContext(options=Options(**options), target=target_with(layers, **(policy or {})),
                       inputs=identity_contracts(graph) if graph is not None else {})


def kinds(graph: Graph) -> list[str]:
    return [op.kind for op in graph]


def run(name: str, graph: Graph, layers=(), policy: dict | None = None, **options):
    """Run one pass; the IR must still verify. Returns (result, context)."""
    ctx = context(layers, graph, policy, **options)
    result = REGISTRY[name](graph, ctx)
    graph.verify()
    return result, ctx


def check(name: str, build, layers=(), tolerance: float = 1e-5, idempotent: bool = True, seed: int = 1,
          policy: dict | None = None, **options):
    """Run pass `name` on build() and compare its numbers with a second build() left as it was, on the same data
    through the recorded input contract (relative to the largest reference value); a second run of the pass must
    change nothing unless `idempotent` is False. Returns (result, context, the graph after the pass)."""
    from compiler.driver.verify import paired_inputs

    graph, reference = build(), build()
    result, ctx = run(name, graph, layers, policy, **options)
    if idempotent:
        assert REGISTRY[name](graph, context(layers, graph, policy, **options)).rewrites == 0, \
            f"{name} is not idempotent"
    if ctx.approximations:
        return result, ctx, graph
    before_inputs, after_inputs = paired_inputs(ctx.inputs, seed)
    for expected, actual in zip(run_graph(reference, **before_inputs), run_graph(graph, **after_inputs)):
        assert actual.shape == expected.shape
        scale = max(float(np.abs(expected).max()), 1e-6)
        error = float(np.abs(actual.astype(np.float64) - expected).max()) / scale
        assert error <= tolerance, f"{name} changed the numbers: relative error {error:.2e}"
    return result, ctx, graph
