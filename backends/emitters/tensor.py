"""Emitters for compiler/ops/tensor.py: Flatten, Reshape, Concat (Transpose needs a Permute target)."""
from __future__ import annotations

from backends.emitters import EmitContext, emitter
from compiler.ops.tensor import Concat, Flatten, Permute, Reshape


@emitter(Flatten, layers=("Flatten",))
def emit_flatten(op, ctx: EmitContext) -> None:
    ctx.add("Flatten", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"flatten_param": {"axis": 1}}, source=op.result)


@emitter(Reshape, layers=("Reshape",))
def emit_reshape(op, ctx: EmitContext) -> None:
    # Explicit dims everywhere: consumers disagree on what a copied (0) dim refers to (caffe-dialects §4).
    ctx.add("Reshape", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"reshape_param": {"shape": {"dim": list(op.attrs.shape)}}}, source=op.result)


@emitter(Concat, layers=("Concat",))
def emit_concat(op, ctx: EmitContext) -> None:
    axis = op.attrs.positive_axis(op.operands[0].type.rank)
    ctx.add("Concat", name=op.name, bottoms=[ctx.bottom(v) for v in op.operands], tops=[ctx.top(op.result)],
            params={"concat_param": {"axis": axis}}, source=op.result)


@emitter(Permute, layers=("Permute",))
def emit_permute(op, ctx: EmitContext) -> None:
    ctx.add("Permute", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"permute_param": {"order": list(op.attrs.order)}}, source=op.result)
