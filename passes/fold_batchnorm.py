"""Fold inference BatchNorm into the convolution or fully-connected layer that feeds it."""
from __future__ import annotations

from compiler.ir.match import constants_of, sole_producer
from compiler.ops import BatchNorm, Convolution, Deconvolution, FullyConnected, batchnorm_affine
from passes.manager import PassContext, PassResult
from passes.weights import fold_output_affine


def fold_batchnorm(graph, ctx: PassContext) -> PassResult:
    """Pattern: BatchNorm(P(x, w, b?), γ, β, mean, var) with P a Convolution, a Deconvolution or a FullyConnected
             whose output is (N, C), P's result used only by the BatchNorm, all of them constants; runs only with
             merge_bn
    Emits:   P(x, w·s, b·s + t) with s = γ/sqrt(var + eps), t = β − mean·s per output channel, γ := 1 under fix_gamma
    Exact:   yes, up to float32 rounding of the folded weights
    Skips:   any other BatchNorm (lower_batchnorm makes it a Scale)"""
    if not ctx.options.merge_bn:
        return PassResult(0)
    folded = 0
    for bn in graph.ops_of(BatchNorm):
        producer = sole_producer(bn.operands[0], Convolution, Deconvolution, FullyConnected)
        stats = constants_of(bn)
        weights = constants_of(producer) if producer is not None else None
        if producer is None or stats is None or weights is None:
            ctx.skip(bn, "input is not a single-use Convolution/Deconvolution/FullyConnected with constant weights")
            continue
        if producer.kind == "FullyConnected" and producer.result.type.rank != 2:
            ctx.skip(bn, "FullyConnected with flatten=False puts channels last; BatchNorm normalises axis 1")
            continue
        fold_output_affine(graph, producer, *batchnorm_affine(bn.attrs, *stats), suffix="folded")
        graph.replace_all_uses(bn.result, producer.result)
        graph.erase(bn)
        folded += 1
    return PassResult(folded)
