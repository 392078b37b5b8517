"""InstanceNorm as per-sample, per-channel statistics and arithmetic."""
from __future__ import annotations

from compiler.ops import BroadcastMul, BroadcastSub, InstanceNorm, Power, ReduceMean, Scale
from passes.manager import PassContext, PassResult, compiler_pass


@compiler_pass(
    before={"lower_broadcast_arithmetic": "the arithmetic it adds is lowered there"},
    rewrites=(InstanceNorm,),
    produces=(ReduceMean, BroadcastSub, BroadcastMul, Power, Scale),
    pattern="InstanceNorm(x, γ, β) {eps} with constant γ and β",
    emits=("m = ReduceMean(x) over the spatial axes (kept); d = x − m; v = ReduceMean(d·d); r = "
           "Power(v) {shift eps, power −½}; y = d·r; Scale(y, γ, β) {axis 1}"),
    exact=("yes up to float32 rounding: the same mean, variance and (var + eps)^−½ MXNet computes "
           "(Caffe's MVN adds eps outside the square root, off by ~eps/2 relative, so it is not used)"),
    skips="γ or β that are not constants")
def lower_instance_norm(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    for op in graph.ops_of(InstanceNorm):
        x, gamma, beta = op.operands
        if gamma.const is None or beta.const is None:
            ctx.skip(op, "gamma or beta is not a constant")
            continue
        spatial = tuple(range(2, x.type.rank))
        with graph.inserting_before(op):
            def add(attrs, *operands, suffix):
                return graph.add(attrs, *operands, name=f"{op.name}_{suffix}", origin=op.origin).result
            centred = add(BroadcastSub(), x, add(ReduceMean(axis=spatial, keepdims=True), x, suffix="mean"),
                          suffix="centred")
            variance = add(ReduceMean(axis=spatial, keepdims=True), add(BroadcastMul(), centred, centred,
                                                                      suffix="squares"), suffix="variance")
            inverse = add(Power(shift=op.attrs.eps, power=-0.5), variance, suffix="inverse_std")
            normed = add(BroadcastMul(), centred, inverse, suffix="normalized")
            result = add(Scale(axis=1, num_axes=1), normed, gamma, beta, suffix="affine")
        graph.replace_op(op, result)
        rewrites_done += 1
    return PassResult(rewrites_done)
