"""log_softmax as the arithmetic MXNet computes it."""
from __future__ import annotations

from compiler.ops import BroadcastSub, Exp, Log, LogSoftmax, Power, ReduceMax, ReduceSum
from passes.manager import PassContext, PassResult, compiler_pass


@compiler_pass(
    before={"lower_rank": "the reductions and arithmetic it adds keep the data's rank, which lower_rank bounds",
            "lower_broadcast_arithmetic": "the arithmetic it adds is lowered there"},
    rewrites=(LogSoftmax,),
    produces=(Power, ReduceMax, BroadcastSub, Exp, ReduceSum, Log),
    pattern="LogSoftmax(x) {axis, temperature}",
    emits=("x/T when a temperature is set (Power); m = ReduceMax(x) over the axis (kept); d = x − m; s "
           "= ReduceSum(Exp(d)) over the axis (kept); y = d − Log(s), the subtractions broadcasting "
           "along the axis"),
    exact=("yes up to float32 rounding: MXNet's log_softmax kernel computes x − max − log Σ exp(x − "
           "max) in this order (log(softmax(x)) would lose the tiny probabilities to 0 and give −inf)"))
def lower_log_softmax(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    for op in graph.ops_of(LogSoftmax):
        axis = (op.attrs.positive_axis(op.result.type.rank),)
        x = op.operands[0]
        with graph.inserting_before(op):
            def add(attrs, *operands, suffix):
                return graph.add(attrs, *operands, name=f"{op.name}_{suffix}", origin=op.origin).result
            if op.attrs.temperature not in (None, 1.0):
                x = add(Power(scale=1.0 / op.attrs.temperature), x, suffix="tempered")
            largest = add(ReduceMax(axis=axis, keepdims=True), x, suffix="max")
            shifted = add(BroadcastSub(), x, largest, suffix="shifted")
            total = add(ReduceSum(axis=axis, keepdims=True), add(Exp(), shifted, suffix="exp"), suffix="sum")
            result = add(BroadcastSub(), shifted, add(Log(), total, suffix="log"), suffix="result")
        graph.replace_op(op, result)
        rewrites_done += 1
    return PassResult(rewrites_done)
