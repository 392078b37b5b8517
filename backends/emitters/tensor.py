"""Emitters for compiler/ops/tensor.py: Flatten, Reshape (and the ops that are reshapes), Concat, Permute."""
from __future__ import annotations

from backends.emitters import EmitContext, emitter
from compiler.ops.tensor import Concat, ExpandDims, Flatten, Permute, Reshape, Squeeze, Transpose


@emitter(Flatten, layers=("Flatten",))
def emit_flatten(op, ctx: EmitContext) -> None:
    ctx.add("Flatten", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"flatten_param": {"axis": 1}}, source=op.result)


@emitter(Reshape, layers=("Reshape",))
def emit_reshape(op, ctx: EmitContext) -> None:
    # Explicit dims everywhere: consumers disagree on what a copied (0) dim refers to (docs/caffe.md#reshape).
    ctx.add("Reshape", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"reshape_param": {"shape": {"dim": list(op.result.type.shape)}}}, source=op.result)


# Inserting or removing size-1 axes moves no data: a Reshape to the result's shape.
emitter(ExpandDims, layers=("Reshape",))(emit_reshape)
emitter(Squeeze, layers=("Reshape",))(emit_reshape)


@emitter(Concat, layers=("Concat",))
def emit_concat(op, ctx: EmitContext) -> None:
    axis = op.attrs.positive_axis(op.operands[0].type.rank)
    ctx.add("Concat", name=op.name, bottoms=[ctx.bottom(v) for v in op.operands], tops=[ctx.top(op.result)],
            params={"concat_param": {"axis": axis}}, source=op.result)


def _order(op) -> tuple[int, ...]:
    return op.attrs.order if op.isa(Permute) else op.attrs.resolved(op.operands[0].type.rank)


def _permute_legality(op, target) -> str | None:
    order = _order(op)
    if not target.policy.permute_any_order and (len(order) > 4 or order[0] != 0):
        return f"{target.name} maps only 4-D orders that keep the batch axis first; {order} would become identity"
    return None


@emitter(Permute, layers=("Permute",), legal=_permute_legality)
def emit_permute(op, ctx: EmitContext) -> None:
    ctx.add("Permute", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"permute_param": {"order": list(_order(op))}}, source=op.result)


# A Transpose left in the graph is a Permute too; targets without Permute get a legality error naming it.
emitter(Transpose, layers=("Permute",), legal=_permute_legality)(emit_permute)
