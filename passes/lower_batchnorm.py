"""Turn the BatchNorms that could not be folded into one per-channel Scale."""
from __future__ import annotations

from compiler.ir.match import constants_of
from compiler.ops import BatchNorm, Scale
from passes.manager import PassContext, PassResult, compiler_pass


@compiler_pass(
    rewrites=(BatchNorm,),
    produces=(Scale,),
    pattern=("BatchNorm with constant γ, β, mean, var; runs only with merge_bn (otherwise the backend "
             "writes Caffe's BatchNorm + Scale pair)"),
    emits=("Scale(x, s, t) {axis=1, num_axes=1} with s = γ/sqrt(var + eps), t = β − mean·s, γ := 1 "
           "under fix_gamma"),
    exact="yes, up to float32 rounding of s and t")
def lower_batchnorm(graph, ctx: PassContext) -> PassResult:
    if not ctx.options.merge_bn:
        return PassResult(0)
    lowered = 0
    for bn in graph.ops_of(BatchNorm):
        stats = constants_of(bn)
        if stats is None:
            ctx.skip(bn, "statistics are not constants")
            continue
        scale, shift = bn.attrs.affine(*stats)
        with graph.inserting_before(bn):
            s = graph.constant(scale, f"{bn.name}_scale_weight")
            t = graph.constant(shift, f"{bn.name}_scale_bias")
            scaled = graph.add(Scale(axis=1, num_axes=1), bn.operands[0], s, t, name=bn.name + "_scale",
                               origin=bn.origin).result
        graph.replace_op(bn, scaled)
        lowered += 1
    return PassResult(lowered)
