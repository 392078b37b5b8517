"""tile, broadcast_to and broadcast_like of data, as exact repeats."""
from __future__ import annotations

import math

from compiler.ops import BroadcastLike, BroadcastTo, Concat, Convolution, Deconvolution, Reshape, Tile
from passes.support.broadcasting import MAX_COPIES, repeated
from passes.manager import PassContext, PassResult, compiler_pass


def _tiled(graph, op):
    """Tile: axes of size 1 repeat like a broadcast; any other axis is a Concat of whole copies."""
    x = op.operands[0]
    shape, reps = op.attrs.aligned(x.type.shape)
    value = x
    if shape != x.type.shape:
        value = graph.add(Reshape(shape=shape), value, name=op.name + "_rank", origin=op.origin).result
    whole = [(axis, r) for axis, (d, r) in enumerate(zip(shape, reps)) if r > 1 and d > 1]
    if math.prod(r for _, r in whole) > MAX_COPIES:
        return None
    for axis, count in whole:
        value = graph.add(Concat(dim=axis), *[value] * count, name=f"{op.name}_copies{axis}",
                          origin=op.origin).result
    if value.type.shape == op.result.type.shape:
        return value
    return repeated(graph, value, op.result.type.shape, op.name, op.origin)


@compiler_pass(
    after={"fold_constants": "repeats of constants are folded there, not written as layers"},
    rewrites=(Tile, BroadcastTo, BroadcastLike),
    produces=(Reshape, Concat, Convolution, Deconvolution),
    pattern=("Tile, BroadcastTo or BroadcastLike of data (fold_constants took constants; "
             "absorb_broadcast_like the broadcast_like that arithmetic absorbs)"),
    emits=("axes of size 1 repeated by the exact layers of passes/support/broadcasting.py (unit-weight "
           "Convolution along the channels and grouped Deconvolution along H/W of 4-D data, Concat "
           "copies elsewhere); a tiled axis of size > 1 as a Concat of whole copies"),
    exact="yes: every output is one input element (times 1.0)",
    skips=("repeats that need more than MAX_COPIES copies along axes only a Concat repeats (the "
           "legality check names them)"))
def lower_repeats(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    for op in graph.ops_of(Tile, BroadcastTo, BroadcastLike):
        with graph.inserting_before(op):
            if op.isa(Tile):
                result = _tiled(graph, op)
            else:
                result = repeated(graph, op.operands[0], op.result.type.shape, op.name, op.origin)
        if result is None:
            ctx.skip(op, f"more than {MAX_COPIES} copies along axes only a Concat repeats")
            continue
        graph.replace_op(op, result, take_name=result is not op.operands[0] and result.producer is not None)
        rewrites_done += 1
    return PassResult(rewrites_done)
