"""Transposes a target cannot Permute, computed as a permutation of each sample's elements."""
from __future__ import annotations

import numpy as np

from compiler.ops import Convolution, Reshape, Transpose
from passes.manager import PassContext, PassResult, rewrites

# A K×K permutation weight for more elements than this would make the caffemodel huge.
MAX_PERMUTED = 4096


def _moved_block(order: tuple[int, ...]) -> tuple[int, int] | None:
    """(first, end) of the axes a transpose reorders, when it keeps axis 0 and every later axis in place."""
    moved = [i for i, a in enumerate(order) if a != i]
    if not moved or order[0] != 0:
        return None
    first, end = moved[0], moved[-1] + 1
    return (first, end) if sorted(order[first:end]) == list(range(first, end)) else None


@rewrites(Transpose, produces=(Reshape, Convolution))
def lower_transpose(graph, ctx: PassContext) -> PassResult:
    """Pattern: a Transpose the target's Permute cannot compute (vanilla Caffe has none; ncnn only 4-D orders with the
             batch first) that keeps axis 0 and the trailing axes t.. in place and reorders the K ≤ 4096 elements of
             the axes between (ShuffleNet's channel shuffle (N, g, C/g, H, W) → swap 1,2; ResNeSt's split-attention
             swap on (N, cardinality, radix, C))
    Emits:   Reshape to (N, K, T, 1) with T the product of the trailing axes → 1×1 Convolution whose K×K weight is the
             permutation (one 1.0 per row, no bias) → Reshape to the transposed shape; a Reshape feeding the
             Transpose (used only there) or reading its result reshapes the new layers' blobs directly
    Exact:   yes: every output is one input times 1.0 plus zeros
    Skips:   transposes that move the batch axis or interleave the trailing axes; those stay for the legality
             check to name"""
    rewrites_done = 0
    for op in graph.ops_of(Transpose):
        x = op.operands[0]
        order = op.attrs.resolved(x.type.rank)
        if ctx.target.can_permute(order) or op.attrs.is_identity(x.type):
            continue
        block = _moved_block(order)
        shape = x.type.shape
        if block is None:
            ctx.skip(op, f"order {order} moves the batch axis or the trailing axes")
            continue
        first, end = block
        lead = int(np.prod(shape[1:first]))
        count = lead * int(np.prod(shape[first:end]))
        trailing = int(np.prod(shape[end:]))
        if count > MAX_PERMUTED:
            ctx.skip(op, f"it permutes {count} elements per position, more than {MAX_PERMUTED}")
            continue
        # Output element j (in the transposed layout of axes 1..end) reads input element source[j].
        index = np.arange(count).reshape(shape[1:end])
        source = np.transpose(index, [a - 1 for a in order[1:end]]).reshape(-1)
        weight = np.zeros((count, count, 1, 1), np.float32)
        weight[np.arange(count), source, 0, 0] = 1.0
        # Reshapes on either side fold into the new ones, so that a channel shuffle (4-D → 5-D → transpose → 4-D)
        # never holds its 5-D blob (which ncnn cannot).
        source = x.producer.operands[0] if x.producer is not None and x.producer.isa(Reshape) \
            and len(x.uses) == 1 else x
        with graph.inserting_before(op):
            flat = graph.add(Reshape(shape=(shape[0], count, trailing, 1)), source, name=op.name + "_flat",
                             origin=op.origin).result
            permuted = graph.add(Convolution(num_filter=count, kernel=1), flat,
                                 graph.constant(weight, op.name + "_permutation"), name=op.name + "_permute",
                                 origin=op.origin).result
            result = graph.add(Reshape(shape=op.result.type.shape), permuted, name=op.name + "_shape",
                               origin=op.origin).result
        for user, index in list(op.result.uses):
            if user.isa(Reshape):
                graph.set_operand(user, index, permuted)
        graph.replace_op(op, result)
        rewrites_done += 1
    return PassResult(rewrites_done)
