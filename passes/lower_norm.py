"""norm (L1 or L2 over axes) as arithmetic and a sum."""
from __future__ import annotations

from compiler.ops import AbsVal, BroadcastMul, Norm, Power, ReduceSum
from passes.manager import PassContext, PassResult, compiler_pass


@compiler_pass(
    before={"lower_broadcast_arithmetic": "the arithmetic it adds is lowered there"},
    rewrites=(Norm,),
    produces=(AbsVal, BroadcastMul, ReduceSum, Power),
    pattern="Norm(x) {ord, axis, keepdims}",
    emits="ord 1: ReduceSum(AbsVal(x)); ord 2: Power(ReduceSum(x·x)) {power ½}; over the same axes",
    exact="yes up to float32 rounding of the sum (the order of its terms) and of the square root")
def lower_norm(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    for op in graph.ops_of(Norm):
        x = op.operands[0]
        total = ReduceSum(axis=op.attrs.axis, keepdims=op.attrs.keepdims)
        with graph.inserting_before(op):
            if op.attrs.ord == 1:
                terms = graph.add(AbsVal(), x, name=op.name + "_abs", origin=op.origin).result
                result = graph.add(total, terms, name=op.name + "_sum", origin=op.origin).result
            else:
                terms = graph.add(BroadcastMul(), x, x, name=op.name + "_squares", origin=op.origin).result
                summed = graph.add(total, terms, name=op.name + "_sum", origin=op.origin).result
                result = graph.add(Power(power=0.5), summed, name=op.name + "_sqrt", origin=op.origin).result
        graph.replace_op(op, result)
        rewrites_done += 1
    return PassResult(rewrites_done)
