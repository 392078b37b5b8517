"""Lp pooling as a sum pooling between element-wise powers."""
from __future__ import annotations

import attrs

from compiler.ops import Pooling, Power
from compiler.ops.nn import PoolType
from passes.manager import PassContext, PassResult, compiler_pass


@compiler_pass(
    rewrites=(Pooling,),
    produces=(Power,),
    pattern="Pooling {pool_type lp, p_value 1 or 2}",
    emits=("p 1: the same Pooling with pool_type sum (MXNet's L1 pooling sums x itself, not |x|); p 2: "
           "Power {power 2} → the sum Pooling → Power {power ½}"),
    exact="yes up to float32 rounding of the squares and the root",
    skips=("p_value 3 (MXNet takes the real cube root of a signed sum, which no Caffe layer computes; "
           "the legality check names it)"))
def lower_lp_pooling(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    for op in graph.ops_of(Pooling):
        a: Pooling = op.attrs
        if a.pool_type is not PoolType.LP:
            continue
        if a.p_value not in (1, 2):
            ctx.skip(op, f"p_value {a.p_value}")
            continue
        summed = attrs.evolve(a, pool_type="sum", p_value=None)
        x = op.operands[0]
        with graph.inserting_before(op):
            if a.p_value == 1:
                result = graph.add(summed, x, name=op.name + "_sum", origin=op.origin).result
            else:
                squares = graph.add(Power(power=2.0), x, name=op.name + "_squares", origin=op.origin).result
                total = graph.add(summed, squares, name=op.name + "_sum", origin=op.origin).result
                result = graph.add(Power(power=0.5), total, name=op.name + "_root", origin=op.origin).result
        graph.replace_op(op, result)
        rewrites_done += 1
    return PassResult(rewrites_done)
