"""argmax/argmin as exact arithmetic: an indicator of the extreme values, weighted by position, and a maximum."""
from __future__ import annotations

import numpy as np

from compiler.ops import ArgMax, ArgMin, BroadcastMul, BroadcastSub, Clip, Power, ReduceMax, ReduceMin, Reshape
from passes.manager import PassContext, PassResult, compiler_pass

# (−d)^(1/1024) is 0 for d = 0 and lies in [2^(−149/1024), 2^(128/1024)] ≈ [0.90, 1.09] for every other finite
# float32 d ≤ 0: nothing overflows (OpenCV's ReLU turns −inf into NaN), and twice it is ≥ 1.8.
_ROOT = 1.0 / 1024


@compiler_pass(
    before={"lower_broadcast_arithmetic": "the arithmetic it adds is lowered there",
            "clip_to_relu": "the Clip of its indicator is lowered there"},
    rewrites=(ArgMax, ArgMin),
    produces=(ReduceMax, ReduceMin, BroadcastSub, Power, Clip, BroadcastMul, Reshape),
    pattern="ArgMax(x) or ArgMin(x) {axis, keepdims}",
    emits=("e = the extreme along the axis (ReduceMax, or ReduceMin for argmin; kept); d = x − e "
           "(argmin: e − x), which is ≤ 0 and exactly 0 where x equals the extreme; hit = 1 − min(1, "
           "2·(−d)^(1/1024)), 1 exactly there and 0 elsewhere; then the first such index i of K is K − "
           "max over the axis of hit·(K − i) (BroadcastMul by the constant K − i, ReduceMax, Power "
           "{scale −1, shift K}); a Reshape drops the axis unless keepdims"),
    exact=("yes: differences of floats are 0 only for equal floats; (−d)^(1/1024) is 0 only for d = 0 "
           "and at least 0.9 for the smallest non-zero difference (2^−149), at most 1.09 for the "
           "largest; every other value is a small integer; ties go to the first index, as in MXNet"))
def lower_argmax(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    for op in graph.ops_of(ArgMax, ArgMin):
        x = op.operands[0]
        axis = op.attrs.positive_axis(x.type.rank)
        count = x.type.shape[axis]
        with graph.inserting_before(op):
            def add(attrs, *operands, suffix):
                return graph.add(attrs, *operands, name=f"{op.name}_{suffix}", origin=op.origin).result
            extreme_op = ReduceMin if op.attrs.smallest else ReduceMax
            extreme = add(extreme_op(axis=(axis,), keepdims=True), x, suffix="extreme")
            gap = add(BroadcastSub(), *((extreme, x) if op.attrs.smallest else (x, extreme)), suffix="gap")
            nearness = add(Power(power=_ROOT, scale=-1.0), gap, suffix="gap_root")
            doubled = add(Power(scale=2.0), nearness, suffix="gap_doubled")
            missed = add(Clip(a_min=float("-inf"), a_max=1.0), doubled, suffix="missed")
            hit = add(Power(scale=-1.0, shift=1.0), missed, suffix="hit")
            weights = np.arange(count, 0, -1, dtype=np.float32).reshape(
                (count,) + (1,) * (x.type.rank - axis - 1))
            ranked = add(BroadcastMul(), hit, graph.constant(weights, f"{op.name}_ranks"), suffix="ranked")
            best = add(ReduceMax(axis=(axis,), keepdims=True), ranked, suffix="best")
            result = add(Power(scale=-1.0, shift=float(count)), best, suffix="index")
            if result.type.shape != op.result.type.shape:
                result = add(Reshape(shape=op.result.type.shape), result, suffix="shape")
        graph.replace_op(op, result)
        rewrites_done += 1
    return PassResult(rewrites_done)
