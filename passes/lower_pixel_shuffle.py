"""Pixel shuffles (depth to space, space to depth) as one-hot (de)convolutions where the target cannot Permute 6-D."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.ir.opdef import Trait
from compiler.ops import Convolution, Deconvolution, Reshape, Transpose
from passes.manager import PassContext, PassResult, compiler_pass


@attrs.frozen
class Shuffle:
    """One 6-D transpose that moves pixels between channels and space: which order, how its 6-D input is read as 4-D
    data, and the one-hot layer that computes it."""
    order: tuple[int, ...]
    planes: object       # 6-D input shape → the 4-D data it views
    layer: object        # 6-D input shape → (op attrs, weight array)


def _depth_to_space_crd(shape):
    """(N, C, r1, r2, H, W) → (N, C, H, r1, W, r2): output (c, h·r1 + i, w·r2 + j) = input channel c·r1·r2 + i·r2 + j;
    a Deconvolution grouped by C, kernel = stride = (r1, r2) (MXNet's PixelShuffle2D, GluonCV's DUC)."""
    n, channels, r1, r2, h, w = shape
    weight = np.zeros((channels * r1 * r2, 1, r1, r2), np.float32)
    for i in range(r1):
        for j in range(r2):
            weight[np.arange(channels) * r1 * r2 + i * r2 + j, 0, i, j] = 1.0
    return Deconvolution(num_filter=channels, kernel=(r1, r2), stride=(r1, r2), num_group=channels), weight


def _depth_to_space_dcr(shape):
    """(N, r1, r2, C, H, W) → (N, C, H, r1, W, r2): output (c, h·r1 + i, w·r2 + j) = input channel (i·r2 + j)·C + c;
    a Deconvolution over all channels, kernel = stride = (r1, r2) (MXNet's depth_to_space)."""
    n, r1, r2, channels, h, w = shape
    weight = np.zeros((r1 * r2 * channels, channels, r1, r2), np.float32)
    for i in range(r1):
        for j in range(r2):
            weight[(i * r2 + j) * channels + np.arange(channels), np.arange(channels), i, j] = 1.0
    return Deconvolution(num_filter=channels, kernel=(r1, r2), stride=(r1, r2)), weight


def _space_to_depth(shape):
    """(N, C, H, b1, W, b2) → (N, b1, b2, C, H, W): output channel (i·b2 + j)·C + c at (h, w) = input channel c at
    (h·b1 + i, w·b2 + j); a Convolution, kernel = stride = (b1, b2) (MXNet's space_to_depth)."""
    n, channels, h, b1, w, b2 = shape
    weight = np.zeros((b1 * b2 * channels, channels, b1, b2), np.float32)
    for i in range(b1):
        for j in range(b2):
            weight[(i * b2 + j) * channels + np.arange(channels), np.arange(channels), i, j] = 1.0
    return Convolution(num_filter=b1 * b2 * channels, kernel=(b1, b2), stride=(b1, b2)), weight


SHUFFLES = (
    Shuffle((0, 1, 4, 2, 5, 3), lambda s: (s[0], s[1] * s[2] * s[3], s[4], s[5]), _depth_to_space_crd),
    Shuffle((0, 3, 4, 1, 5, 2), lambda s: (s[0], s[1] * s[2] * s[3], s[4], s[5]), _depth_to_space_dcr),
    Shuffle((0, 3, 5, 1, 2, 4), lambda s: (s[0], s[1], s[2] * s[3], s[4] * s[5]), _space_to_depth),
)


def _view_source(value):
    """The value a chain of views starts from (the views move no data, so their input holds the same elements)."""
    while value.producer is not None and value.producer.has(Trait.VIEW):
        value = value.producer.operands[0]
    return value


@compiler_pass(
    before={"lower_rank": "it recognises the 6-D transpose of a pixel shuffle before lower_rank reshapes around it",
            "transpose_to_permute": "transpose_to_permute would take the 6-D transpose as a Permute the target may lack"},
    rewrites=(Transpose,),
    within=(Trait.VIEW,),
    produces=(Convolution, Deconvolution, Reshape),
    pattern=("a 6-D Transpose that is a pixel shuffle — (0, 1, 4, 2, 5, 3) of (N, C, r1, r2, H, W) "
             "(depth to space, CRD order), (0, 3, 4, 1, 5, 2) of (N, r1, r2, C, H, W) (depth to space, "
             "DCR order), (0, 3, 5, 1, 2, 4) of (N, C, H, b1, W, b2) (space to depth) — on a target "
             "whose Permute cannot take that order (vanilla Caffe has none, ncnn holds 4 dims)"),
    emits=("Reshape of the view chain's 4-D input to the planes the transpose reads → a (De)Convolution "
           "with kernel = stride = the block and one-hot weights (see SHUFFLES), no bias → Reshape to "
           "the transposed shape (a view reading it reshapes the (de)convolution directly)"),
    exact="yes: kernel = stride, so every output is one input times 1.0 plus zeros",
    skips="targets that can Permute the order (transpose_to_permute's job)")
def lower_pixel_shuffle(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    by_order = {shuffle.order: shuffle for shuffle in SHUFFLES}
    for op in graph.ops_of(Transpose):
        x = op.operands[0]
        order = op.attrs.resolved(x.type.rank)
        shuffle = by_order.get(order)
        if shuffle is None or ctx.target.can_permute(order):
            continue
        source = _view_source(x)
        planes = shuffle.planes(x.type.shape)
        layer, weight = shuffle.layer(x.type.shape)
        with graph.inserting_before(op):
            if source.type.shape != planes:
                source = graph.add(Reshape(shape=planes), source, name=op.name + "_planes", origin=op.origin).result
            moved = graph.add(layer, source, graph.constant(weight, op.name + "_shuffle"), name=op.name + "_shuffle",
                              origin=op.origin).result
            result = graph.add(Reshape(shape=op.result.type.shape), moved, name=op.name + "_shape",
                               origin=op.origin).result
        for user, _ in list(op.result.uses):
            if user.has(Trait.VIEW) and len(user.results) == 1:
                with graph.inserting_before(user):
                    direct = graph.add(Reshape(shape=user.result.type.shape), moved, name=user.name + "_direct",
                                       origin=user.origin).result
                graph.replace_op(user, direct)
        graph.replace_op(op, result)
        rewrites_done += 1
    return PassResult(rewrites_done)
