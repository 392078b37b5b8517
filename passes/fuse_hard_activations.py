"""Fuse the hard sigmoid and hard swish compositions (MobileNetV3's blocks, MXNet's hard_sigmoid) into the one layer
a target has for each (ncnn's HardSigmoid and HardSwish)."""
from __future__ import annotations

import math

import attrs

from compiler.ir.graph import Op, Value
from compiler.ir.match import is_output, sole_producer
from compiler.ops import Clip, Eltwise, HardSigmoid, HardSwish, Power
from compiler.ops.arith import EltwiseOperation
from passes.manager import PassContext, PassResult, compiler_pass


@attrs.frozen
class Gate:
    """clip(alpha·x + beta, 0, 1) found in the graph, and the ops (in order) that compute it."""
    x: Value
    alpha: float
    beta: float
    ops: tuple[Op, ...]


def _single_user(value: Value) -> Op | None:
    users = value.users
    if len(users) != 1 or (users[0].graph is not None and is_output(users[0].graph, value)):
        return None
    return users[0]


def _gate(clip: Op) -> Gate | None:
    """The gate `clip` is the heart of: [Power(a, b) →] Clip(0, m) [→ Power(1/m)], scaled to top out at 1."""
    low, high = clip.attrs.a_min, clip.attrs.a_max
    if low != 0.0 or not 0.0 < high < math.inf:
        return None
    ops, factor = [clip], 1.0
    if high != 1.0:
        after = _single_user(clip.result)
        if after is None or not after.isa(Power) or not after.attrs.affine or after.attrs.shift != 0.0 \
                or not math.isclose(after.attrs.scale * high, 1.0, rel_tol=1e-9, abs_tol=0.0):
            return None
        ops.append(after)
        factor = after.attrs.scale
    x, scale, shift = clip.operands[0], 1.0, 0.0
    before = sole_producer(x, Power)
    if before is not None and before.attrs.affine:
        x, scale, shift = before.operands[0], before.attrs.scale, before.attrs.shift
        ops.insert(0, before)
    if scale * factor <= 0.0:   # ncnn's layers find their bounds as −beta/alpha and 1/alpha from them
        return None
    return Gate(x, scale * factor, shift * factor, tuple(ops))


def _swish_of(gate: Gate) -> Op | None:
    """The Eltwise x · gate(x), when it is the gate's only user."""
    product = _single_user(gate.ops[-1].result)
    if product is None or not product.isa(Eltwise) or product.attrs.operation is not EltwiseOperation.PROD:
        return None
    operands = product.operands
    return product if len(operands) == 2 and gate.x in operands and gate.ops[-1].result in operands else None


@compiler_pass(
    after={"fold_scalar_arithmetic": "x + 3 and / 6 are affine Powers by then, chains of them merged"},
    before={"clip_to_relu": "it matches the Clip that clip_to_relu would lower to ReLU6 or a composition"},
    within=(Clip, Power, Eltwise),
    produces=(HardSigmoid, HardSwish),
    needs_layers=("HardSigmoid", "HardSwish"),
    pattern=("[Power(scale a, shift b) →] Clip(0, m) [→ Power(scale s, shift 0) with s·m = 1; without it m = 1], "
             "each intermediate result used once; optionally followed by Eltwise PROD of that gate and its own "
             "input x as the gate's only user (GluonCV's HardSigmoid and HardSwish, MXNet's hard_sigmoid); "
             "runs where the target has the layers"),
    emits=("HardSigmoid(alpha = a·s, beta = b·s) of x, or HardSwish(alpha, beta) of x for the product, when "
           "alpha > 0"),
    exact=("yes up to float32 rounding: clip(a·x + b, 0, m)·s = clip(a·s·x + b·s, 0, 1) for s > 0, and ncnn "
           "computes alpha·x + beta in float32 (MXNet's x/6 becomes x·(1/6) here as in fold_scalar_arithmetic)"))
def fuse_hard_activations(graph, ctx: PassContext) -> PassResult:
    if not {"HardSigmoid", "HardSwish"} <= ctx.layers:
        return PassResult(0)
    rewrites = 0
    for clip in graph.ops_of(Clip):
        if clip.graph is None:
            continue
        gate = _gate(clip)
        if gate is None:
            continue
        swish = _swish_of(gate)
        last = swish if swish is not None else gate.ops[-1]
        fused = (HardSwish if swish is not None else HardSigmoid)(alpha=gate.alpha, beta=gate.beta)
        with graph.inserting_before(last):
            value = graph.add(fused, gate.x, name=last.name + "_fused", origin=last.origin).result
        graph.replace_op(last, value)
        for op in reversed(gate.ops if swish is not None else gate.ops[:-1]):
            graph.erase(op)
        rewrites += 1
    return PassResult(rewrites)
