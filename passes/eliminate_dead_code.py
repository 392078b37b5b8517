"""Remove what does not reach an output."""
from __future__ import annotations

from compiler.ir.match import is_output
from passes.manager import PassContext, PassResult, compiler_pass


@compiler_pass(
    pattern="an op none of whose results is used or is a graph output; a constant with no use",
    emits="nothing (erased, last op first so chains disappear in one sweep)",
    exact="yes")
def eliminate_dead_code(graph, ctx: PassContext) -> PassResult:
    removed = 0
    for op in reversed(graph.ops):
        if all(not v.uses and not is_output(graph, v) for v in op.results):
            graph.erase(op)
            removed += 1
    for value in list(graph.constants.values()):
        if not value.uses and not is_output(graph, value):
            graph.remove_constant(value)
    return PassResult(removed)
