"""Remove ops that compute nothing at inference."""
from __future__ import annotations

from compiler.ir.match import is_output
from compiler.ir.opdef import Trait
from compiler.ir.printer import format_attrs
from compiler.ops import Reshape, Transpose
from passes.manager import PassContext, PassResult, compiler_pass


@compiler_pass(
    rewrites=(Trait.MAY_BE_IDENTITY,),
    produces=(Reshape,),
    pattern=("an op whose definition is MAY_BE_IDENTITY and whose is_identity() holds for its operand "
             "(Dropout in training mode, Copy, a Reshape/Flatten to the same shape, the identity "
             "Transpose); a Transpose that moves only size-1 axes"),
    emits="nothing (users read the input directly); the size-1 Transpose becomes a Reshape",
    exact="yes",
    skips="an identity between a graph input and an output (it keeps its layer)")
def eliminate_identities(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    for op in [op for op in graph if op.has(Trait.MAY_BE_IDENTITY)]:
        source, result = op.operands[0], op.result
        if op.isa(Transpose) and not op.attrs.is_identity(source.type):
            axes = op.attrs.resolved(source.type.rank)
            moved = [a for a in axes if source.type.shape[a] != 1]
            if moved != sorted(moved):
                continue   # a real data movement; transpose_to_permute's job
            with graph.inserting_before(op):
                reshaped = graph.add(Reshape(shape=result.type.shape), source, name=op.name + "_reshape",
                                     origin=op.origin).result
            graph.replace_op(op, reshaped)
            rewrites_done += 1
            continue
        if not op.attrs.is_identity(*[v.type for v in op.operands]):
            if result.type == source.type:   # same type and still no identity: it changes values
                ctx.skip(op, f"{op.kind} {{{format_attrs(op.attrs)}}} changes values at inference")
            continue
        if source.is_input and is_output(graph, result):
            ctx.skip(op, "an identity from a graph input straight to an output keeps its layer")
            continue
        graph.replace_all_uses(result, source)
        graph.erase(op)
        rewrites_done += 1
    return PassResult(rewrites_done)
