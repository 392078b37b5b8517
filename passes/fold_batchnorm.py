"""Fold inference BatchNorm into the layer whose weights produce its input."""
from __future__ import annotations

from compiler.ir.match import constants_of, single_use_producer
from compiler.ops import BatchNorm
from passes.manager import PassContext, PassResult, compiler_pass
from passes.support.weights import fold_output_affine, foldable_output_affine


@compiler_pass(
    before={"lower_batchnorm": "lower_batchnorm takes the BatchNorms it could not fold"},
    rewrites=(BatchNorm,),
    pattern=("BatchNorm(P(x, w, b?), γ, β, mean, var) with P an OUTPUT_CHANNEL_WEIGHTS op (Convolution, "
             "Deconvolution, FullyConnected) whose result's axis 1 is its output axis, P's result used "
             "only by the BatchNorm, all of them constants; runs only with merge_bn"),
    emits=("P(x, w·s, b·s + t) with s = γ/sqrt(var + eps), t = β − mean·s per output channel, γ := 1 "
           "under fix_gamma"),
    exact="yes, up to float32 rounding of the folded weights",
    skips=("any other BatchNorm (lower_batchnorm makes it a Scale), e.g. after a last-axis dense layer "
           "on rank ≥ 3 data, whose outputs lie on the last axis while BatchNorm normalises axis 1"))
def fold_batchnorm(graph, ctx: PassContext) -> PassResult:
    if not ctx.options.merge_bn:
        return PassResult(0)
    folded = 0
    for bn in graph.ops_of(BatchNorm):
        producer = single_use_producer(bn.operands[0])
        stats = constants_of(bn)
        if stats is None or not foldable_output_affine(producer, per_channel=False):
            ctx.skip(bn, "input is not the single-use output of a layer with constant weights")
            continue
        if not foldable_output_affine(producer, per_channel=True):
            ctx.skip(bn, f"{producer.kind} puts its outputs on another axis (channels last); BatchNorm normalises "
                         "axis 1")
            continue
        fold_output_affine(graph, producer, *bn.attrs.affine(*stats), suffix="folded")
        graph.replace_all_uses(bn.result, producer.result)
        graph.erase(bn)
        folded += 1
    return PassResult(folded)
