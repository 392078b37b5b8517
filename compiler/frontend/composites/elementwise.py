"""Element-wise MXNet ops written as other IR ops: named activations, powers, scalar arithmetic and comparisons,
scalar bounds, casts that change nothing, and the broadcast add of same-shaped operands."""
from __future__ import annotations

import attrs

from compiler.frontend.lowering import NodeContext, composite
from compiler.ir.graph import Value
from compiler.ops import (Activation, BroadcastAdd, Clip, CompareScalar, Copy, ElemwiseAdd, Exp, Power, ScalarOp)
from compiler.ops.arith import ScalarFunction
from compiler.ops.select import Comparison


@attrs.frozen(kw_only=True)
class Scalar:
    """The attributes of MXNet's scalar ops."""
    scalar: float
    is_int: bool = False   # the scalar's type; nothing changes for float data


@composite("relu", "sigmoid", "tanh", "softsign", builds=(Activation,))
def named_activation(ctx: NodeContext) -> Value:
    return ctx.add(Activation(act_type=ctx.op), *ctx.operands)


@composite("exp", builds=(Exp,))
def exp(ctx: NodeContext) -> Value:
    return ctx.add(Exp(), *ctx.operands)


@composite("_rpower_scalar", "_RPowerScalar", builds=(Exp,), attributes=Scalar)
def rpower_scalar(ctx: NodeContext) -> Value:
    """c^x: Caffe's Exp with base c."""
    base = ctx.attributes.scalar
    if not base > 0:
        raise ctx.unsupported(f"base {base}: c^x of a non-positive c is NaN or 0 for most x, so it has no Exp form",
                              attribute="scalar")
    return ctx.add(Exp(base=base), *ctx.operands)


# Element-wise powers: MXNet's name → Caffe's Power (shift + scale·x)^power.
POWERS = {"sqrt": Power(power=0.5), "rsqrt": Power(power=-0.5), "square": Power(power=2.0),
          "reciprocal": Power(power=-1.0), "negative": Power(scale=-1.0)}


@composite(*POWERS, builds=(Power,))
def power(ctx: NodeContext) -> Value:
    return ctx.add(POWERS[ctx.op], *ctx.operands)


@attrs.frozen(kw_only=True)
class HardSigmoid:
    alpha: float = 0.2
    beta: float = 0.5


@composite("hard_sigmoid", builds=(Power, Clip), attributes=HardSigmoid)
def hard_sigmoid(ctx: NodeContext) -> Value:
    """clip(alpha·x + beta, 0, 1)."""
    a = ctx.attributes
    affine = ctx.add(Power(scale=a.alpha, shift=a.beta), *ctx.operands, suffix="_affine")
    return ctx.add(Clip(a_min=0.0, a_max=1.0), affine)


# Scalar bounds: max(x, c) and min(x, c) are clips with one open end.
SCALAR_BOUNDS = {"_maximum_scalar": "a_min", "_MaximumScalar": "a_min", "_minimum_scalar": "a_max",
                 "_MinimumScalar": "a_max"}


@composite(*SCALAR_BOUNDS, builds=(Clip,), attributes=Scalar)
def scalar_bound(ctx: NodeContext) -> Value:
    bounds = {"a_min": float("-inf"), "a_max": float("inf"), SCALAR_BOUNDS[ctx.op]: ctx.attributes.scalar}
    return ctx.add(Clip(**bounds), *ctx.operands)


@attrs.frozen(kw_only=True)
class Cast:
    dtype: str = "float32"


@composite("Cast", "amp_cast", builds=(Copy,), attributes=Cast)
def cast(ctx: NodeContext) -> Value:
    """A cast to float32 of float32 data is the identity; any other changes values (rounding to float16, to
    integers) and Caffe models carry float32."""
    dtype = ctx.attributes.dtype
    if dtype != "float32":
        raise ctx.unsupported(f"a cast to {dtype} changes the values (Caffe models compute in float32)",
                              attribute="dtype", hint="export the model in float32 (without AMP or a cast)")
    return ctx.add(Copy(), *ctx.operands)


@attrs.frozen(kw_only=True)
class MultiCast:
    num_outputs: int = 1
    cast_narrow: bool = False


@composite("amp_multicast", builds=(Copy,), attributes=MultiCast)
def amp_multicast(ctx: NodeContext) -> list[Value]:
    """AMP's cast of several inputs to their widest type: the identity on float32 data."""
    return [ctx.add(Copy(), value, suffix=f"_{i}") for i, value in enumerate(ctx.operands)]


SCALAR_OPS = {f"_{function.value}_scalar": function for function in ScalarFunction}   # _plus_scalar, …


@composite(*SCALAR_OPS, builds=(ScalarOp,), attributes=Scalar)
def scalar_arithmetic(ctx: NodeContext) -> Value:
    function, scalar = SCALAR_OPS[ctx.op], ctx.attributes.scalar
    if function in (ScalarFunction.DIV, ScalarFunction.RDIV) and scalar == 0:
        raise ctx.unsupported("division by zero", attribute="scalar")
    return ctx.add(ScalarOp(op=function, scalar=scalar), *ctx.operands)


@composite("broadcast_add", "broadcast_plus", builds=(BroadcastAdd, ElemwiseAdd))
def broadcast_add(ctx: NodeContext) -> Value:
    """A sum of same-shaped operands is the n-ary ElemwiseAdd; any other a BroadcastAdd."""
    lhs, rhs = ctx.operands
    if lhs.type.shape == rhs.type.shape:
        return ctx.add(ElemwiseAdd(), lhs, rhs)
    return ctx.add(BroadcastAdd(), lhs, rhs)


COMPARISONS = {f"_{c.value}_scalar": c for c in Comparison}


@composite(*COMPARISONS, builds=(CompareScalar,), attributes=Scalar)
def compare(ctx: NodeContext) -> Value:
    return ctx.add(CompareScalar(op=COMPARISONS[ctx.op], scalar=ctx.attributes.scalar), *ctx.operands)
