"""Keep values within the number of dims the target's blobs hold, by merging axes that an op treats alike."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.ir.match import is_output
from compiler.ir.opdef import Trait
from compiler.ops import Reshape
from compiler.ops.arith import BroadcastBinary
from compiler.ops.reduce import Reduction
from passes.manager import PassContext, PassResult, compiler_pass


def _mergeable(result: tuple[int, ...], operands: list[tuple[int, ...]], axis: int) -> bool:
    """Whether axes axis and axis+1 can become one for every operand: each holds both in full or broadcasts both
    (or one of the two has size 1 in the result, which any operand agrees with)."""
    if 1 in result[axis:axis + 2]:
        return True
    return all(shape[axis:axis + 2] in (result[axis:axis + 2], (1, 1)) for shape in operands)


def _merged_shapes(result, operands, max_rank):
    """(result, operands) with adjacent non-batch axes merged until the rank is max_rank; None when impossible."""
    while len(result) > max_rank:
        axis = next((a for a in range(1, len(result) - 1) if _mergeable(result, operands, a)), None)
        if axis is None:
            return None

        def merge(shape):
            return shape[:axis] + (shape[axis] * shape[axis + 1],) + shape[axis + 2:]
        result, operands = merge(result), [merge(s) for s in operands]
    return result, operands


def _reshaped(graph, value, shape, name, origin):
    if value.type.shape == shape:
        return value
    if value.const is not None:
        return graph.constant(value.const.reshape(shape), name)
    return graph.add(Reshape(shape=shape), value, name=name, origin=origin).result


def _lower_arithmetic(graph, op, max_rank, ctx) -> bool:
    rank = op.result.type.rank
    if not op.isa(BroadcastBinary) and any(v.type.shape != op.result.type.shape for v in op.operands):
        # An element-wise op's other operands (PReLU's slopes) follow its own axis rules, not NumPy broadcasting.
        ctx.skip(op, "an operand is not shaped like the result")
        return False
    padded = [(1,) * (rank - v.type.rank) + v.type.shape for v in op.operands]
    merged = _merged_shapes(op.result.type.shape, padded, max_rank)
    if merged is None:
        ctx.skip(op, f"no adjacent axes of {op.result.type.shape} are alike in every operand")
        return False
    shape, operand_shapes = merged
    with graph.inserting_before(op):
        operands = [_reshaped(graph, v, s, f"{op.name}_in{i}", op.origin)
                    for i, (v, s) in enumerate(zip(op.operands, operand_shapes))]
        low = graph.add(op.attrs, *operands, name=op.name + "_merged", origin=op.origin).result
        back = graph.add(Reshape(shape=op.result.type.shape), low, name=op.name + "_shape", origin=op.origin).result
    graph.replace_op(op, back)
    return True


def _lower_reduction(graph, op, ctx) -> bool:
    x = op.operands[0]
    shape = x.type.shape
    axes = op.attrs.axes(len(shape))
    first, last = axes[0], axes[-1]
    if first == 0 or list(axes) != list(range(first, last + 1)):
        ctx.skip(op, f"axes {axes} are not one block of non-batch axes")
        return False
    planes = (shape[0], int(np.prod(shape[1:first])), int(np.prod(shape[first:last + 1])), int(np.prod(shape[last + 1:])))
    with graph.inserting_before(op):
        flat = _reshaped(graph, x, planes, op.name + "_planes", op.origin)
        reduced = graph.add(attrs.evolve(op.attrs, axis=(2,), keepdims=True, exclude=False), flat, name=op.name + "_merged",
                            origin=op.origin).result
        back = graph.add(Reshape(shape=op.result.type.shape), reduced, name=op.name + "_shape",
                         origin=op.origin).result
    graph.replace_op(op, back)
    return True


@compiler_pass(
    before={"lower_broadcast_arithmetic": "the arithmetic it brings within the target's rank is lowered there"},
    rewrites=(Trait.ELEMENTWISE, BroadcastBinary, Reduction),
    within=(Trait.VIEW,),
    produces=(Reshape,),
    pattern=("on a target whose blobs hold at most R dims (ncnn: 4), an element-wise or broadcast op, "
             "or a sum/mean over one block of non-batch axes, on values of more than R dims (ResNeSt's "
             "split attention: the (N, radix, C, H, W) product of the gate and the split feature map, "
             "then its sum over the radix)"),
    emits=("arithmetic: Reshapes of the operands (constants reshaped in place) that merge adjacent "
           "non-batch axes which every operand holds in full or broadcasts, the same op on them, a "
           "Reshape back; reduction: Reshape to (N, B, K, A) with the K reduced elements on axis 2, the "
           "reduction there, a Reshape to the result; then every view (Reshape, Flatten, expand_dims, "
           "squeeze) of a view whose value has more than R dims reads the first view's input instead, "
           "so that the high-rank values fall dead"),
    exact=("yes: reshapes move no data, and merged axes are treated alike by the op (same products and "
           "sums)"),
    skips=("ops whose axes cannot be merged (broadcast along only one of two adjacent axes), "
           "element-wise ops with operands shaped unlike the result (PReLU slopes), reductions over the "
           "batch or over axes apart; legality names the blobs that stay too large"))
def lower_rank(graph, ctx: PassContext) -> PassResult:
    max_rank = ctx.target.policy.max_rank
    if not max_rank:
        return PassResult(0)
    rewrites_done = 0
    for op in graph.ops_of(BroadcastBinary, Reduction) + [op for op in graph if op.has(Trait.ELEMENTWISE)]:
        if op.graph is None or len(op.results) != 1:
            continue
        if op.isa(Reduction):
            if op.operands[0].type.rank > max_rank:
                rewrites_done += _lower_reduction(graph, op, ctx)
        elif op.result.type.rank > max_rank:
            rewrites_done += _lower_arithmetic(graph, op, max_rank, ctx)
    for op in graph:
        if not op.has(Trait.VIEW):
            continue
        inner = op.operands[0].producer
        if inner is None or not inner.has(Trait.VIEW) or op.operands[0].type.rank <= max_rank:
            continue
        source = inner.operands[0]
        if source.type.shape == op.result.type.shape and not is_output(graph, op.result):
            graph.replace_all_uses(op.result, source)
            graph.erase(op)
        else:
            with graph.inserting_before(op):
                direct = graph.add(Reshape(shape=op.result.type.shape), source, name=op.name + "_direct",
                                   origin=op.origin).result
            graph.replace_op(op, direct)
        rewrites_done += 1
    return PassResult(rewrites_done)
