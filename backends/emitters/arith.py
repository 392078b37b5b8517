"""Emitters for compiler/ops/arith.py."""
from __future__ import annotations

from backends.emitters import EmitContext, emitter
from compiler.ops.arith import ElemwiseAdd, Eltwise, Power


@emitter(ElemwiseAdd, layers=("Eltwise",))
def emit_eltwise_sum(op, ctx: EmitContext) -> None:
    ctx.add("Eltwise", name=op.name, bottoms=[ctx.bottom(v) for v in op.operands], tops=[ctx.top(op.result)],
            params={"eltwise_param": {"operation": "SUM"}}, source=op.result)


@emitter(Power, layers=("Power",))
def emit_power(op, ctx: EmitContext) -> None:
    a: Power = op.attrs
    ctx.add("Power", name=op.name, bottoms=[ctx.bottom(op.operands[0])], tops=[ctx.top(op.result)],
            params={"power_param": {"power": a.power, "scale": a.scale, "shift": a.shift}}, source=op.result)


@emitter(Eltwise, layers=("Eltwise",))
def emit_eltwise(op, ctx: EmitContext) -> None:
    param = {"operation": op.attrs.operation}
    if op.attrs.coeff:
        param["coeff"] = list(op.attrs.coeff)
    ctx.add("Eltwise", name=op.name, bottoms=[ctx.bottom(v) for v in op.operands], tops=[ctx.top(op.result)],
            params={"eltwise_param": param}, source=op.result)
