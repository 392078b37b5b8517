"""L2Normalization as arithmetic where the target has no Normalize layer for it."""
from __future__ import annotations

from compiler.ops import BroadcastMul, L2Normalization, Power, ReduceSum
from compiler.ops.norm import L2Mode
from passes.manager import PassContext, PassResult, compiler_pass

# The axes each mode sums x² over (docs/mxnet.md#l2normalization).
@compiler_pass(
    before={"lower_broadcast_arithmetic": "the arithmetic it adds is lowered there",
            "lower_l2_normalization": "it takes the modes Normalize cannot compute; lower_l2_normalization the rest"},
    rewrites=(L2Normalization,),
    produces=(BroadcastMul, ReduceSum, Power),
    pattern=("L2Normalization(x) {mode, eps} on a target without Normalize, or in mode spatial (a norm "
             "per channel, which Normalize does not compute); lower_l2_normalization takes the rest "
             "later"),
    emits="s = ReduceSum(x·x) over the mode's axes (kept); r = Power(s) {shift eps, power −½}; y = x·r",
    exact=("yes up to float32 rounding: x / sqrt(Σx² + eps) with eps inside the root, as MXNet computes "
           "it"))
def decompose_l2_normalization(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    for op in graph.ops_of(L2Normalization):
        if "Normalize" in ctx.layers and op.attrs.mode is not L2Mode.SPATIAL:
            continue
        x = op.operands[0]
        axes = op.attrs.summed_axes(x.type.rank)
        with graph.inserting_before(op):
            squares = graph.add(BroadcastMul(), x, x, name=op.name + "_squares", origin=op.origin).result
            summed = graph.add(ReduceSum(axis=axes, keepdims=True), squares, name=op.name + "_sum",
                               origin=op.origin).result
            inverse = graph.add(Power(shift=op.attrs.eps, power=-0.5), summed, name=op.name + "_inverse_norm",
                                origin=op.origin).result
            result = graph.add(BroadcastMul(), x, inverse, name=op.name + "_normalized", origin=op.origin).result
        graph.replace_op(op, result)
        rewrites_done += 1
    return PassResult(rewrites_done)
