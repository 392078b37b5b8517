"""Take an NHWC image input as NCHW when the graph only transposes it after per-channel arithmetic."""
from __future__ import annotations

from compiler.ir.match import is_output
from compiler.ir.types import TensorType
from compiler.ops import Scale, Transpose
from passes.manager import PassContext, PassResult, compiler_pass


@compiler_pass(
    after={"lower_broadcast_arithmetic": "the NHWC preprocessing it recognises is a chain of Scales by then"},
    before={"transpose_to_permute": "it removes the input's transpose, which would otherwise become a Permute",
            "fold_input_normalization": "the raw-pixel normalisation acts on the NCHW input it makes"},
    within=(Scale, Transpose),
    produces=(Scale,),
    pattern=("a rank-4 input x → Scale {axis 3}* → Transpose {axes (0,3,1,2)}, each result used once "
             "(the preprocessing `gluoncv.utils.export_block` puts in front of a network: (x − "
             "mean)/std in NHWC)"),
    emits=("the input retyped to (N, C, H, W), the same Scales on axis 1, no Transpose; the report "
           "warns that the input now takes NCHW"),
    exact="yes (the same arithmetic on transposed data)")
def reorder_input_layout(graph, ctx: PassContext) -> PassResult:
    rewrites = 0
    for value in list(graph.inputs):
        if value.type.rank != 4 or is_output(graph, value):
            continue
        chain, current = [], value
        while len(current.uses) == 1 and not is_output(graph, current):
            (user, _), = current.uses
            if user.isa(Scale) and user.operands[0] is current and user.operands[1].const is not None and (
                    user.attrs.axis, user.attrs.num_axes) in (
                    (3, 1), (-1, 1)):
                chain.append(user)
                current = user.result
                continue
            if user.isa(Transpose) and user.attrs.resolved(4) == (0, 3, 1, 2):
                chain.append(user)
            break
        if not chain or not chain[-1].isa(Transpose):
            continue
        transpose = chain[-1]
        n, h, w, c = value.type.shape
        graph.set_input_type(value, TensorType((n, c, h, w), value.type.dtype))
        x = value
        names = [op.name for op in chain[:-1]]
        with graph.inserting_before(transpose):
            for op in chain[:-1]:
                x = graph.add(Scale(axis=1, num_axes=1), x, *op.operands[1:], name=op.name + "_nchw",
                              origin=op.origin).result
        graph.replace_all_uses(transpose.result, x)
        for op in reversed(chain):
            graph.erase(op)
        new_ops = [x.producer] if x.producer is not None else []
        while new_ops and new_ops[-1].operands[0].producer is not None:
            new_ops.append(new_ops[-1].operands[0].producer)
        for op, name in zip(reversed(new_ops), names):
            graph.rename(op, name)
        ctx.record_input(value, channels_last=True)
        ctx.warn(None, f"input '{value.name}' now takes (N, C, H, W) = {(n, c, h, w)}: its NHWC transpose was "
                       "moved out of the model")
        rewrites += 1
    return PassResult(rewrites)
