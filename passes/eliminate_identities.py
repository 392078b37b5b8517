"""Remove ops that compute nothing at inference."""
from __future__ import annotations

from compiler.ir.match import is_output
from compiler.ops import Copy, Dropout, Flatten, Reshape, Transpose
from passes.manager import PassContext, PassResult


def eliminate_identities(graph, ctx: PassContext) -> PassResult:
    """Pattern: Dropout (mode training), Copy, and Reshape/Flatten/Transpose whose result has its input's shape
             and order; a Transpose that moves only size-1 axes
    Emits:   nothing (users read the input directly); the size-1 Transpose becomes a Reshape
    Exact:   yes
    Skips:   Dropout with mode='always' (it is not an identity); an identity between a graph input and output"""
    rewrites = 0
    for op in graph.ops_of(Dropout, Copy, Reshape, Flatten, Transpose):
        source, result = op.operands[0], op.result
        if op.kind == "Dropout" and op.attrs.mode == "always":
            ctx.skip(op, "Dropout with mode='always' drops values at inference")
            continue
        if op.kind == "Transpose":
            axes = op.attrs.resolved(source.type.rank)
            moved = [a for a in axes if source.type.shape[a] != 1]
            if moved != sorted(moved):
                continue   # a real data movement; transpose_to_permute's job
            if axes != tuple(range(source.type.rank)):
                with graph.inserting_before(op):
                    reshaped = graph.add(Reshape(shape=result.type.shape), source, name=op.name + "_reshape",
                                         origin=op.origin).result
                graph.replace_op(op, reshaped)
                rewrites += 1
                continue
        elif op.kind in ("Reshape", "Flatten") and result.type.shape != source.type.shape:
            continue
        if source.is_input and is_output(graph, result):
            ctx.skip(op, "an identity from a graph input straight to an output keeps its layer")
            continue
        graph.replace_all_uses(result, source)
        graph.erase(op)
        rewrites += 1
    return PassResult(rewrites)
