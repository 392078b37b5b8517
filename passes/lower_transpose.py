"""Transposes a target cannot Permute, computed as a permutation of each sample's elements."""
from __future__ import annotations

import numpy as np

from compiler.ops import Concat, Convolution, Reshape, ShuffleChannel, Split, Transpose
from passes.manager import PassContext, PassResult, compiler_pass

# A K×K permutation weight for more elements than this would make the caffemodel huge.
MAX_PERMUTED = 4096
# Slicing one axis apart to move it: beyond this many slices the net would grow more than the op is worth.
MAX_SLICES = 1024


def _single_move(order: tuple[int, ...]) -> tuple[int, int] | None:
    """(axis, position) when the transpose moves one axis (not the batch axis) to another position and keeps the
    others in order (NCHW → NHWC is (0, 2, 3, 1): axis 1 to position 3)."""
    for axis in range(1, len(order)):
        position = order.index(axis)
        rest = [a for a in order if a != axis]
        if position != axis and position != 0 and rest == sorted(rest):
            return axis, position
    return None


def _moved_by_slices(graph, op, axis: int, position: int):
    """x with `axis` moved to `position`: x sliced into its size-1 parts along the axis, each part's size-1 axis
    moved (a reshape: no element moves), the parts concatenated along `position`."""
    x = op.operands[0]
    size, out_shape = x.type.shape[axis], op.result.type.shape
    part_shape = out_shape[:position] + (1,) + out_shape[position + 1:]
    with graph.inserting_before(op):
        parts = graph.add(Split(axis=axis, points=tuple(range(1, size))), x, name=op.name + "_parts",
                          origin=op.origin).results
        moved = [graph.add(Reshape(shape=part_shape), part, name=f"{op.name}_part{i}", origin=op.origin).result
                 for i, part in enumerate(parts)]
        return graph.add(Concat(dim=position), *moved, name=op.name + "_moved", origin=op.origin).result


def _moved_block(order: tuple[int, ...]) -> tuple[int, int] | None:
    """(first, end) of the axes a transpose reorders, when it keeps axis 0 and every later axis in place."""
    moved = [i for i, a in enumerate(order) if a != i]
    if not moved or order[0] != 0:
        return None
    first, end = moved[0], moved[-1] + 1
    return (first, end) if sorted(order[first:end]) == list(range(first, end)) else None


def _permutation(dims: tuple[int, ...], order: tuple[int, ...]) -> np.ndarray:
    """The K×K 1×1-convolution weight that lays out the K elements of axes 1.. `dims` in the transposed `order`: output
    element j reads input element source[j], with weight 1."""
    count = int(np.prod(dims))
    source = np.transpose(np.arange(count).reshape(dims), [a - 1 for a in order]).reshape(-1)
    weight = np.zeros((count, count, 1, 1), np.float32)
    weight[np.arange(count), source, 0, 0] = 1.0
    return weight


@compiler_pass(
    rewrites=(Transpose,),
    produces=(Reshape, Convolution, ShuffleChannel, Split, Concat),
    pattern=("a Transpose the target's Permute cannot compute (vanilla Caffe has none; ncnn only 4-D "
             "orders with the batch first) that keeps axis 0 and the trailing axes t.. in place and "
             "reorders the K ≤ 4096 elements of the axes between (ShuffleNet's channel shuffle (N, g, "
             "C/g, H, W) → swap 1,2; ResNeSt's split-attention swap on (N, cardinality, radix, C))"),
    emits=("Reshape to (N, K, T, 1) with T the product of the trailing axes → 1×1 Convolution whose K×K "
           "weight is the permutation (one 1.0 per row, no bias) → Reshape to the transposed shape, or, for "
           "a swap of axes 1 and 2 where the target has ShuffleChannel, ShuffleChannel {group = dim 1} "
           "in the convolution's place; a "
           "Reshape feeding the Transpose (used only there) or reading its result reshapes the new "
           "layers' blobs directly. Any other transpose that moves one axis (not the batch) and keeps "
           "the rest in order — NCHW → NHWC, (0, 2, 1) — with at most MAX_SLICES entries on that axis: "
           "Split into size-1 parts along it → a Reshape of each that moves the size-1 axis → Concat "
           "along the new position"),
    exact="yes: every output is one input times 1.0 plus zeros, or one input moved",
    skips=("transposes that move the batch axis or more than one axis otherwise; those stay for the "
           "legality check to name"))
def lower_transpose(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    for op in graph.ops_of(Transpose):
        x = op.operands[0]
        order = op.attrs.resolved(x.type.rank)
        if ctx.target.can_permute(order) or op.attrs.is_identity(x.type):
            continue
        block = _moved_block(order)
        shape = x.type.shape
        count = None if block is None else int(np.prod(shape[1:block[1]]))
        # A swap of axes 1 and 2 is a channel shuffle in groups of dim 1: one layer where the target has it.
        shuffle = block == (1, 3) and "ShuffleChannel" in ctx.layers
        if block is None or (count > MAX_PERMUTED and not shuffle):
            move = _single_move(order)
            if move is not None and shape[move[0]] <= MAX_SLICES:
                graph.replace_op(op, _moved_by_slices(graph, op, *move))
                rewrites_done += 1
                continue
            ctx.skip(op, f"order {order} moves the batch axis or the trailing axes" if block is None else
                     f"it permutes {count} elements per position, more than {MAX_PERMUTED}")
            continue
        first, end = block
        trailing = int(np.prod(shape[end:]))
        # Reshapes on either side fold into the new ones, so that a channel shuffle (4-D → 5-D → transpose → 4-D)
        # never holds its 5-D blob (which ncnn cannot).
        source = x.producer.operands[0] if x.producer is not None and x.producer.isa(Reshape) \
            and len(x.uses) == 1 else x
        with graph.inserting_before(op):
            flat = graph.add(Reshape(shape=(shape[0], count, trailing, 1)), source, name=op.name + "_flat",
                             origin=op.origin).result
            if shuffle:
                permuted = graph.add(ShuffleChannel(group=shape[1]), flat, name=op.name + "_permute",
                                     origin=op.origin).result
            else:
                permuted = graph.add(Convolution(num_filter=count, kernel=1), flat,
                                     graph.constant(_permutation(shape[1:end], order[1:end]), op.name + "_permutation"),
                                     name=op.name + "_permute", origin=op.origin).result
            result = graph.add(Reshape(shape=op.result.type.shape), permuted, name=op.name + "_shape",
                               origin=op.origin).result
        for user, index in list(op.result.uses):
            if user.isa(Reshape):
                graph.set_operand(user, index, permuted)
        graph.replace_op(op, result)
        rewrites_done += 1
    return PassResult(rewrites_done)
