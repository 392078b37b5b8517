"""MXNet op name → IR builder: every registered op def by its `mxnet=` names, plus small composites."""
from __future__ import annotations

from typing import Callable

import attrs

from compiler.errors import UnsupportedOp
from compiler.frontend.attr_parser import build_attrs
from compiler.ir.graph import Graph, Origin, Value
from compiler.ir.opdef import REGISTRY
from compiler.ops import Activation, BatchNorm, Reshape, Softmax


@attrs.define
class NodeContext:
    """One MXNet node being lowered: its attributes, operand values and MXNet-inferred output shapes."""
    graph: Graph
    name: str
    op: str
    raw_attrs: dict
    operands: list[Value]
    out_shapes: list[tuple[int, ...]]
    origin: Origin

    def parse(self, cls, *, drop=(), rename=None):
        ignored = REGISTRY[cls.__name__].ignored | frozenset(drop)
        return build_attrs(cls, self.raw_attrs, ignored=ignored, node=self.name, op=self.op, rename=rename)

    def add(self, op_attrs, *operands: Value, suffix: str = "") -> Value:
        return self.graph.add(op_attrs, *operands, name=self.name + suffix, origin=self.origin).result

    def unsupported(self, message: str, attribute: str | None = None, hint: str | None = None) -> UnsupportedOp:
        return UnsupportedOp(message, node=self.name, op=self.op, attribute=attribute, hint=hint)


Builder = Callable[[NodeContext], "Value | list[Value]"]
COMPOSITES: dict[str, Builder] = {}


def composite(*mxnet_names: str):
    def register(builder: Builder) -> Builder:
        for name in mxnet_names:
            COMPOSITES[name] = builder
        return builder
    return register


def _direct(cls) -> Builder:
    def build(ctx: NodeContext) -> Value:
        return ctx.add(ctx.parse(cls), *ctx.operands)
    return build


def builder_for(mxnet_op: str) -> Builder | None:
    if mxnet_op in COMPOSITES:
        return COMPOSITES[mxnet_op]
    for definition in REGISTRY.values():
        if mxnet_op in definition.mxnet:
            return _direct(definition.cls)
    return None


def supported_ops() -> list[str]:
    names = set(COMPOSITES)
    for definition in REGISTRY.values():
        names.update(definition.mxnet)
    return sorted(names)


@composite("relu", "sigmoid", "tanh", "softsign")
def _named_activation(ctx: NodeContext) -> Value:
    if ctx.raw_attrs:
        raise ctx.unsupported("takes no attributes", attribute=sorted(ctx.raw_attrs)[0])
    return ctx.add(Activation(act_type=ctx.op), *ctx.operands)


@composite("BatchNorm")
def _batchnorm(ctx: NodeContext) -> list[Value]:
    # MXNet's BatchNorm has three outputs (data, mean, var); only the data output exists at inference.
    return [ctx.add(ctx.parse(BatchNorm), *ctx.operands)]


@composite("_contrib_BatchNormWithReLU")
def _batchnorm_relu(ctx: NodeContext) -> list[Value]:
    normed = ctx.add(ctx.parse(BatchNorm), *ctx.operands, suffix="_bn")
    return [ctx.add(Activation(act_type="relu"), normed)]


@composite("Reshape", "reshape")
def _reshape(ctx: NodeContext) -> Value:
    # MXNet's own shape inference already resolved 0/-1/-2/-3/-4 and `reverse`; keep its answer.
    return ctx.add(Reshape(shape=ctx.out_shapes[0]), ctx.operands[0])


@composite("SoftmaxActivation")
def _softmax_activation(ctx: NodeContext) -> Value:
    mode = ctx.raw_attrs.get("mode", "instance")
    if mode not in ("instance", "channel"):
        raise ctx.unsupported(f"unknown mode {mode!r}", attribute="mode")
    return ctx.add(Softmax(axis=1 if mode == "channel" else -1), ctx.operands[0])


_SOFTMAX_OUTPUT_TRAINING_ONLY = {"grad_scale", "ignore_label", "use_ignore", "normalization", "out_grad",
                                 "smooth_alpha"}


@composite("SoftmaxOutput", "Softmax")
def _softmax_output(ctx: NodeContext) -> Value:
    data = ctx.operands[0]
    flags = {}
    for key, text in ctx.raw_attrs.items():
        if key in _SOFTMAX_OUTPUT_TRAINING_ONLY:
            continue
        if key not in ("multi_output", "preserve_shape"):
            raise ctx.unsupported("unknown attribute", attribute=key)
        flags[key] = str(text).lower() in ("true", "1")
    if flags.get("multi_output"):
        axis = 1
    elif flags.get("preserve_shape"):
        axis = -1
    elif data.type.rank == 2:
        axis = 1
    else:
        raise ctx.unsupported(
            f"SoftmaxOutput on rank-{data.type.rank} data without multi_output/preserve_shape normalises over "
            "different axes in MXNet's CPU and oneDNN kernels", hint="set multi_output=True (axis 1) or "
            "preserve_shape=True (last axis) in the model, or flatten the data first")
    # The label operand only feeds the training loss; inference ignores it.
    return ctx.add(Softmax(axis=axis), data)


@composite("LeakyReLU")
def _leaky_relu(ctx: NodeContext) -> list[Value]:
    from compiler.ops import LeakyReLU

    # rrelu has a second (mask) output used only in training.
    return [ctx.add(ctx.parse(LeakyReLU), *ctx.operands)]


# Operands that only feed a training loss: never bound, so their variables need no value.
TRAINING_ONLY_OPERANDS: dict[str, frozenset[int]] = {
    "SoftmaxOutput": frozenset({1}),
    "Softmax": frozenset({1}),
}


def _scalar(ctx: NodeContext) -> Value:
    from compiler.frontend.attr_parser import parse_value
    from compiler.ops.arith import SCALAR_OPS, ScalarOp

    extra = sorted(set(ctx.raw_attrs) - {"scalar", "is_int"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    if "scalar" not in ctx.raw_attrs:
        raise ctx.unsupported("required attribute is missing", attribute="scalar")
    try:
        scalar = parse_value(str(ctx.raw_attrs["scalar"]), float)
    except ValueError:
        raise ctx.unsupported(f"cannot parse {ctx.raw_attrs['scalar']!r} as a number", attribute="scalar") from None
    if ctx.op in ("_div_scalar", "_rdiv_scalar") and scalar == 0:
        raise ctx.unsupported("division by zero", attribute="scalar")
    return ctx.add(ScalarOp(op=SCALAR_OPS[ctx.op], scalar=scalar), *ctx.operands)


for _name in ("_plus_scalar", "_minus_scalar", "_rminus_scalar", "_mul_scalar", "_div_scalar", "_rdiv_scalar",
              "_power_scalar"):
    COMPOSITES[_name] = _scalar


_BROADCAST = {"broadcast_add": "add", "broadcast_plus": "add", "broadcast_sub": "sub", "broadcast_minus": "sub",
              "broadcast_mul": "mul", "broadcast_div": "div", "elemwise_sub": "sub", "elemwise_mul": "mul",
              "elemwise_div": "div", "_Minus": "sub", "_minus": "sub", "_Mul": "mul", "_mul": "mul", "_Div": "div",
              "_div": "div"}


def _broadcast(ctx: NodeContext) -> Value:
    from compiler.ops import BroadcastArith, ElemwiseAdd

    if ctx.raw_attrs:
        raise ctx.unsupported("unknown attribute", attribute=sorted(ctx.raw_attrs)[0])
    op = _BROADCAST[ctx.op]
    lhs, rhs = ctx.operands
    if op == "add" and lhs.type.shape == rhs.type.shape:
        return ctx.add(ElemwiseAdd(), lhs, rhs)
    return ctx.add(BroadcastArith(op=op), lhs, rhs)


for _name in _BROADCAST:
    COMPOSITES[_name] = _broadcast


_COMPARISONS = {"_greater_scalar": "greater", "_greater_equal_scalar": "greater_equal", "_lesser_scalar": "lesser",
                "_lesser_equal_scalar": "lesser_equal", "_equal_scalar": "equal", "_not_equal_scalar": "not_equal"}


def _compare(ctx: NodeContext) -> Value:
    from compiler.frontend.attr_parser import parse_value
    from compiler.ops.detection import CompareScalar

    extra = sorted(set(ctx.raw_attrs) - {"scalar", "is_int"})
    if extra or "scalar" not in ctx.raw_attrs:
        raise ctx.unsupported("needs exactly the attribute 'scalar'", attribute=(extra or ["scalar"])[0])
    return ctx.add(CompareScalar(op=_COMPARISONS[ctx.op], scalar=parse_value(str(ctx.raw_attrs["scalar"]), float)),
                   *ctx.operands)


for _name in _COMPARISONS:
    COMPOSITES[_name] = _compare
