"""Pixel shuffle (depth to space) as a grouped Deconvolution where the target cannot Permute 6-D."""
from __future__ import annotations

import numpy as np

from compiler.ir.opdef import Trait
from compiler.ops import Deconvolution, Reshape, Transpose
from passes.manager import PassContext, PassResult, rewrites

# (N, C, r1, r2, H, W) → (N, C, H, r1, W, r2): MXNet's PixelShuffle2D and GluonCV's DUC / PixelShuffle.
DEPTH_TO_SPACE = (0, 1, 4, 2, 5, 3)


def _view_source(value):
    """The value a chain of views starts from (the views move no data, so their input holds the same elements)."""
    while value.producer is not None and value.producer.has(Trait.VIEW):
        value = value.producer.operands[0]
    return value


@rewrites(Transpose, within=(Trait.VIEW,), produces=(Deconvolution, Reshape))
def lower_pixel_shuffle(graph, ctx: PassContext) -> PassResult:
    """Pattern: Transpose (0, 1, 4, 2, 5, 3) of an (N, C, r1, r2, H, W) value — pixel shuffle by (r1, r2): output
             (n, c, h·r1 + i, w·r2 + j) = input channel c·r1·r2 + i·r2 + j at (h, w) — on a target whose Permute
             cannot take that order (vanilla Caffe has none, ncnn holds 4 dims)
    Emits:   Reshape of the view chain's 4-D input to (N, C·r1·r2, H, W) → Deconvolution {num_filter C, group C,
             kernel = stride = (r1, r2), no bias} whose weight is 1 at (channel c·r1·r2 + i·r2 + j, 0, i, j) and 0
             elsewhere → Reshape to the transposed shape (a view reading it reshapes the Deconvolution directly)
    Exact:   yes: kernel = stride, so every output is one input times 1.0 plus zeros from the other channels of
             its group
    Skips:   targets that can Permute the order (transpose_to_permute's job)"""
    rewrites_done = 0
    for op in graph.ops_of(Transpose):
        x = op.operands[0]
        order = op.attrs.resolved(x.type.rank)
        if order != DEPTH_TO_SPACE or ctx.target.can_permute(order):
            continue
        n, channels, r1, r2, h, w = x.type.shape
        source = _view_source(x)
        planes = (n, channels * r1 * r2, h, w)
        weight = np.zeros((channels * r1 * r2, 1, r1, r2), np.float32)
        for i in range(r1):
            for j in range(r2):
                weight[np.arange(channels) * r1 * r2 + i * r2 + j, 0, i, j] = 1.0
        with graph.inserting_before(op):
            if source.type.shape != planes:
                source = graph.add(Reshape(shape=planes), source, name=op.name + "_planes", origin=op.origin).result
            spread = graph.add(Deconvolution(num_filter=channels, kernel=(r1, r2), stride=(r1, r2),
                                             num_group=channels), source,
                               graph.constant(weight, op.name + "_shuffle"), name=op.name + "_shuffle",
                               origin=op.origin).result
            result = graph.add(Reshape(shape=op.result.type.shape), spread, name=op.name + "_shape",
                               origin=op.origin).result
        for user, _ in list(op.result.uses):
            if user.has(Trait.VIEW) and len(user.results) == 1:
                with graph.inserting_before(user):
                    direct = graph.add(Reshape(shape=user.result.type.shape), spread, name=user.name + "_direct",
                                       origin=user.origin).result
                graph.replace_op(user, direct)
        graph.replace_op(op, result)
        rewrites_done += 1
    return PassResult(rewrites_done)
