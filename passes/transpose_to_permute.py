"""Cancel and merge transposes, then turn the rest into Permute where the target has it."""
from __future__ import annotations

from compiler.ir.match import sole_producer
from compiler.ops import Permute, Transpose
from passes.manager import PassContext, PassResult, compiler_pass


@compiler_pass(
    before={"lower_transpose": "lower_transpose computes only the transposes no Permute can, after pairs cancel"},
    rewrites=(Transpose,),
    produces=(Transpose, Permute),
    pattern=("Transpose(Transpose(x)) with the inner result used once; a Transpose on a target with "
             "Permute"),
    emits=("the composition of the two (nothing when they are mutually inverse); Permute {order = axes} "
           "where the target's Permute computes that order"),
    exact="yes (data movement only)",
    skips="a remaining Transpose on a target without Permute stays, and the legality check names it")
def transpose_to_permute(graph, ctx: PassContext) -> PassResult:
    rewrites = 0
    for op in graph.ops_of(Transpose):
        if op.graph is None:
            continue
        inner = sole_producer(op.operands[0], Transpose)
        if inner is None:
            continue
        rank = op.result.type.rank
        first, second = inner.attrs.resolved(rank), op.attrs.resolved(rank)
        composed = tuple(first[a] for a in second)
        source = inner.operands[0]
        if composed == tuple(range(rank)):
            graph.replace_all_uses(op.result, source)
            graph.erase(op)
        else:
            with graph.inserting_before(op):
                merged = graph.add(Transpose(axes=composed), source, name=op.name + "_merged", origin=op.origin)
            graph.replace_op(op, merged.result)
        graph.erase(inner)
        rewrites += 1
    if "Permute" in ctx.layers:
        for op in graph.ops_of(Transpose):
            order = op.attrs.resolved(op.operands[0].type.rank)
            if not ctx.target.can_permute(order):
                continue   # lower_transpose computes it another way, or the legality check names it
            with graph.inserting_before(op):
                permuted = graph.add(Permute(order=order), op.operands[0], name=op.name + "_permute",
                                     origin=op.origin)
            graph.replace_op(op, permuted.result)
            rewrites += 1
    return PassResult(rewrites)
