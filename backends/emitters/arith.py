"""Emitters for compiler/ops/arith.py."""
from __future__ import annotations

from backends.emitters import EmitContext, emitter
from compiler.ops.arith import ElemwiseAdd


@emitter(ElemwiseAdd, layers=("Eltwise",))
def emit_eltwise_sum(op, ctx: EmitContext) -> None:
    ctx.add("Eltwise", name=op.name, bottoms=[ctx.bottom(v) for v in op.operands], tops=[ctx.top(op.result)],
            params={"eltwise_param": {"operation": "SUM"}}, source=op.result)
