"""broadcast_like feeding broadcasting arithmetic: the arithmetic broadcasts by itself."""
from __future__ import annotations

from compiler.ops import BroadcastAdd, BroadcastLike, ElemwiseAdd
from compiler.ops.arith import BroadcastBinary
from compiler.ops.arith import broadcast_shape
from passes.manager import PassContext, PassResult, compiler_pass


@compiler_pass(
    before={"lower_repeats": "lower_repeats would turn a broadcast_like the arithmetic absorbs into layers",
            "lower_broadcast_arithmetic": "the arithmetic then broadcasts by itself, and is lowered there"},
    rewrites=(BroadcastLike,),
    within=(BroadcastBinary, ElemwiseAdd),
    produces=(BroadcastAdd,),
    pattern=("BroadcastLike(a, like) read by broadcast arithmetic whose other operand already has the "
             "broadcast shape (AlphaPose's SE layer: "
             "gate.expand_dims(-1).expand_dims(-1).broadcast_like(x) * x)"),
    emits=("the arithmetic reads a itself (a two-operand elemwise_add becomes a broadcast add); the "
           "BroadcastLike goes when no reader is left"),
    exact="yes: NumPy broadcasting of a repeats it exactly as broadcast_like does",
    skips="a BroadcastLike read by anything else (no Caffe layer repeats a blob; legality names it)")
def absorb_broadcast_like(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    for op in graph.ops_of(BroadcastLike):
        data = op.operands[0]
        for user, index in list(op.result.uses):
            binary = user.isa(BroadcastBinary) or (user.isa(ElemwiseAdd) and len(user.operands) == 2)
            other = user.operands[1 - index] if binary else None
            try:
                same = other is not None and broadcast_shape(data.type.shape, other.type.shape) == \
                    user.result.type.shape
            except ValueError:
                same = False
            if same and user.isa(ElemwiseAdd):
                operands = [data if i == index else v for i, v in enumerate(user.operands)]
                with graph.inserting_before(user):
                    added = graph.add(BroadcastAdd(), *operands, name=user.name + "_broadcast",
                                      origin=user.origin).result
                graph.replace_op(user, added)
                rewrites_done += 1
            elif same:
                graph.set_operand(user, index, data)
                rewrites_done += 1
            else:
                ctx.skip(op, f"{user.name} ({user.kind}) does not broadcast by itself")
        if not op.result.uses and not any(v is op.result for v in graph.outputs):
            graph.erase(op)
    return PassResult(rewrites_done)
