"""MXNet op name → IR builder: every registered op def by its `mxnet=` names, plus small composites (builders that
parse an MXNet node whose attributes or outputs differ from one op def's), each declaring the IR ops it builds."""
from __future__ import annotations

from typing import Callable

import attrs

from compiler.errors import UnsupportedOp
from compiler.frontend.attr_parser import build_attrs
from compiler.ir.graph import Graph, Origin, Value
from compiler.ir.opdef import REGISTRY
from compiler.ops import (Activation, BatchNorm, BroadcastArith, CompareScalar, Deconvolution, ElemwiseAdd,
                          LeakyReLU, Pooling, Reduce, Resample2D, Reshape, ScalarOp, SliceAxis, Softmax, Transpose)
from compiler.ops.arith import SCALAR_OPS


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
COMPOSITE_BUILDS: dict[str, tuple[type, ...]] = {}   # MXNet op name -> the IR op classes its builder may make


def composite(*mxnet_names: str, builds: tuple[type, ...]):
    def register(builder: Builder) -> Builder:
        for name in mxnet_names:
            COMPOSITES[name] = builder
            COMPOSITE_BUILDS[name] = tuple(builds)
        return builder
    return register


def mxnet_names_of(kind: str) -> list[str]:
    """Every MXNet op name that the frontend lowers to (among others) IR op `kind`."""
    names = set(REGISTRY[kind].mxnet) if kind in REGISTRY else set()
    names |= {name for name, classes in COMPOSITE_BUILDS.items() if any(c.__name__ == kind for c in classes)}
    return sorted(names)


def _parse_scalar(ctx: NodeContext) -> float:
    """The `scalar` attribute of MXNet's scalar ops (and `is_int`, which changes nothing for float data)."""
    from compiler.frontend.attr_parser import parse_value

    extra = sorted(set(ctx.raw_attrs) - {"scalar", "is_int"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0], hint="this op takes only 'scalar'")
    if "scalar" not in ctx.raw_attrs:
        raise ctx.unsupported("required attribute is missing", attribute="scalar")
    try:
        return parse_value(str(ctx.raw_attrs["scalar"]), float)
    except ValueError:
        raise ctx.unsupported(f"cannot parse {ctx.raw_attrs['scalar']!r} as a number", attribute="scalar",
                              hint="fix the attribute in the symbol file") from None


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


@composite("relu", "sigmoid", "tanh", "softsign", "exp", builds=(Activation,))
def _named_activation(ctx: NodeContext) -> Value:
    if ctx.raw_attrs:
        raise ctx.unsupported("takes no attributes", attribute=sorted(ctx.raw_attrs)[0])
    return ctx.add(Activation(act_type=ctx.op), *ctx.operands)


@composite("BatchNorm", builds=(BatchNorm,))
def _batchnorm(ctx: NodeContext) -> list[Value]:
    # MXNet's BatchNorm has three outputs (data, mean, var); only the data output exists at inference.
    return [ctx.add(ctx.parse(BatchNorm), *ctx.operands)]


@composite("_contrib_BatchNormWithReLU", builds=(BatchNorm, Activation))
def _batchnorm_relu(ctx: NodeContext) -> list[Value]:
    normed = ctx.add(ctx.parse(BatchNorm), *ctx.operands, suffix="_bn")
    return [ctx.add(Activation(act_type="relu"), normed)]


@composite("Reshape", "reshape", builds=(Reshape,))
def _reshape(ctx: NodeContext) -> Value:
    # MXNet's own shape inference already resolved 0/-1/-2/-3/-4 and `reverse`; keep its answer.
    return ctx.add(Reshape(shape=ctx.out_shapes[0]), ctx.operands[0])


@composite("SoftmaxActivation", builds=(Softmax,))
def _softmax_activation(ctx: NodeContext) -> Value:
    mode = ctx.raw_attrs.get("mode", "instance")
    if mode not in ("instance", "channel"):
        raise ctx.unsupported(f"unknown mode {mode!r}", attribute="mode")
    return ctx.add(Softmax(axis=1 if mode == "channel" else -1), ctx.operands[0])


_SOFTMAX_OUTPUT_TRAINING_ONLY = {"grad_scale", "ignore_label", "use_ignore", "normalization", "out_grad",
                                 "smooth_alpha"}


@composite("SoftmaxOutput", "Softmax", builds=(Softmax,))
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


@composite("LeakyReLU", builds=(LeakyReLU,))
def _leaky_relu(ctx: NodeContext) -> list[Value]:
    # rrelu has a second (mask) output used only in training.
    return [ctx.add(ctx.parse(LeakyReLU), *ctx.operands)]


# Operands that only feed a training loss: never bound, so their variables need no value.
TRAINING_ONLY_OPERANDS: dict[str, frozenset[int]] = {
    "SoftmaxOutput": frozenset({1}),
    "Softmax": frozenset({1}),
}


@composite(*SCALAR_OPS, builds=(ScalarOp,))
def _scalar(ctx: NodeContext) -> Value:
    scalar = _parse_scalar(ctx)
    if ctx.op in ("_div_scalar", "_rdiv_scalar") and scalar == 0:
        raise ctx.unsupported("division by zero", attribute="scalar")
    return ctx.add(ScalarOp(op=SCALAR_OPS[ctx.op], scalar=scalar), *ctx.operands)


_BROADCAST = {"broadcast_add": "add", "broadcast_plus": "add", "broadcast_sub": "sub", "broadcast_minus": "sub",
              "broadcast_mul": "mul", "broadcast_div": "div", "elemwise_sub": "sub", "elemwise_mul": "mul",
              "elemwise_div": "div", "_Minus": "sub", "_minus": "sub", "_Mul": "mul", "_mul": "mul", "_Div": "div",
              "_div": "div"}


@composite(*_BROADCAST, builds=(BroadcastArith, ElemwiseAdd))
def _broadcast(ctx: NodeContext) -> Value:
    if ctx.raw_attrs:
        raise ctx.unsupported("unknown attribute", attribute=sorted(ctx.raw_attrs)[0])
    op = _BROADCAST[ctx.op]
    lhs, rhs = ctx.operands
    if op == "add" and lhs.type.shape == rhs.type.shape:
        return ctx.add(ElemwiseAdd(), lhs, rhs)
    return ctx.add(BroadcastArith(op=op), lhs, rhs)


_COMPARISONS = {"_greater_scalar": "greater", "_greater_equal_scalar": "greater_equal", "_lesser_scalar": "lesser",
                "_lesser_equal_scalar": "lesser_equal", "_equal_scalar": "equal", "_not_equal_scalar": "not_equal"}


@composite(*_COMPARISONS, builds=(CompareScalar,))
def _compare(ctx: NodeContext) -> Value:
    return ctx.add(CompareScalar(op=_COMPARISONS[ctx.op], scalar=_parse_scalar(ctx)), *ctx.operands)


@composite("_contrib_AdaptiveAvgPooling2D", builds=(Pooling, Resample2D))
def _adaptive_average_pooling(ctx: NodeContext) -> Value:
    """Output bins [floor(i·H/Ho), ceil((i+1)·H/Ho)): global and evenly dividing bins are plain average pooling;
    other bins overlap, and are the separable averaging map MXNet's own probes give."""
    extra = sorted(set(ctx.raw_attrs) - {"output_size"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    x = ctx.operands[0]
    _, _, h, w = x.type.shape
    out_h, out_w = ctx.out_shapes[0][2:]
    if (out_h, out_w) == (1, 1):
        return ctx.add(Pooling(pool_type="avg", global_pool=True, kernel=(1, 1)), x)
    if h % out_h == 0 and w % out_w == 0:
        window = (h // out_h, w // out_w)
        return ctx.add(Pooling(pool_type="avg", kernel=window, stride=window), x)
    return _resample(ctx, [])


def _resample(ctx: NodeContext, extra: list) -> Value:
    from compiler.frontend.probe import separable_matrices

    x = ctx.operands[0]
    rows, cols = separable_matrices(ctx.op, ctx.raw_attrs, x.type.shape, extra, ctx.name)
    return ctx.add(Resample2D(), x, ctx.graph.constant(rows, ctx.name + "_rows"),
                   ctx.graph.constant(cols, ctx.name + "_cols"))


@composite("_contrib_BilinearResize2D", builds=(Resample2D,))
def _bilinear_resize(ctx: NodeContext) -> Value:
    """Any sizes, scales, modes and align_corners: the separable map read from MXNet itself. In mode 'like' the
    second operand only gives the output size."""
    import numpy as np

    return _resample(ctx, [np.zeros(v.type.shape, np.float32) for v in ctx.operands[1:]])


@composite("UpSampling", builds=(Deconvolution,))
def _upsampling(ctx: NodeContext) -> Value:
    """Nearest upsampling by an integer factor s repeats each value in an s×s block: a grouped Deconvolution with
    kernel = stride = s and unit weights computes exactly that."""
    import numpy as np

    sample_type = ctx.raw_attrs.get("sample_type", "nearest")
    if sample_type != "nearest":
        raise ctx.unsupported(f"sample_type '{sample_type}' takes a learned weight input; only nearest converts",
                              attribute="sample_type")
    if len(ctx.operands) != 1:
        raise ctx.unsupported("several inputs (num_args > 1) are summed after resizing; only one converts",
                              attribute="num_args")
    extra = sorted(set(ctx.raw_attrs) - {"scale", "sample_type", "num_args", "num_filter", "multi_input_mode",
                                           "workspace"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    x = ctx.operands[0]
    channels, (h, w) = x.type.shape[1], x.type.shape[2:]
    factor = ctx.out_shapes[0][2] // h
    if ctx.out_shapes[0][2:] != (h * factor, w * factor):
        raise ctx.unsupported(f"output {ctx.out_shapes[0]} is not an integer upsampling of {x.type.shape}",
                              attribute="scale")
    weight = ctx.graph.constant(np.ones((channels, 1, factor, factor), np.float32), ctx.name + "_unit_weight")
    return ctx.add(Deconvolution(num_filter=channels, kernel=factor, stride=factor, num_group=channels), x, weight)


@composite("repeat", builds=(Deconvolution,))
def _repeat(ctx: NodeContext) -> Value:
    """repeat(x, r, axis) along H or W of NCHW data repeats each row or column r times (YOLOv3's nearest
    upsampling): a grouped Deconvolution with kernel = stride = r along that axis and unit weights."""
    import numpy as np

    from compiler.frontend.attr_parser import parse_value

    extra = sorted(set(ctx.raw_attrs) - {"repeats", "axis"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    x = ctx.operands[0]
    axis = parse_value(str(ctx.raw_attrs.get("axis", "None")), int | None)
    axis = axis + x.type.rank if axis is not None and axis < 0 else axis
    if x.type.rank != 4 or axis not in (2, 3):
        raise ctx.unsupported(f"axis {ctx.raw_attrs.get('axis')}: only repeating rows or columns of NCHW data (axis 2 "
                              "or 3) converts", attribute="axis")
    repeats = int(ctx.raw_attrs["repeats"])
    kernel = (repeats, 1) if axis == 2 else (1, repeats)
    channels = x.type.shape[1]
    weight = ctx.graph.constant(np.ones((channels, 1, *kernel), np.float32), ctx.name + "_unit_weight")
    return ctx.add(Deconvolution(num_filter=channels, kernel=kernel, stride=kernel, num_group=channels), x, weight)


@composite("slice_like", builds=(SliceAxis, Reshape))
def _slice_like(ctx: NodeContext) -> Value:
    """x cut to the shape of `like` on `axes` (all when empty), from index 0: one SliceAxis per axis that shrinks;
    with static shapes the usual case (YOLOv3's upsampled map against its route) cuts nothing."""
    extra = sorted(set(ctx.raw_attrs) - {"axes"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    value = ctx.operands[0]
    for axis, (size, wanted) in enumerate(zip(value.type.shape, ctx.out_shapes[0])):
        if wanted != size:
            value = ctx.add(SliceAxis(axis=axis, begin=0, end=wanted), value, suffix=f"_axis{axis}")
    return value if value is not ctx.operands[0] else ctx.add(Reshape(shape=value.type.shape), value)


@composite("mean", "sum", "sum_axis", builds=(Reduce,))
def _reduce(ctx: NodeContext) -> Value:
    if str(ctx.raw_attrs.get("exclude", "False")).lower() in ("true", "1"):
        raise ctx.unsupported("exclude=True (reduce over every axis but these) is not supported; name the axes",
                              attribute="exclude")
    reduction = ctx.parse(Reduce, drop=("exclude",))
    return ctx.add(attrs.evolve(reduction, op="mean" if ctx.op == "mean" else "sum"), ctx.operands[0])


@composite("SwapAxis", "swapaxes", builds=(Transpose,))
def _swap_axes(ctx: NodeContext) -> Value:
    from compiler.frontend.attr_parser import parse_value

    extra = sorted(set(ctx.raw_attrs) - {"dim1", "dim2"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    x = ctx.operands[0]
    dims = [parse_value(str(ctx.raw_attrs.get(k, "0")), int) for k in ("dim1", "dim2")]
    axes = list(range(x.type.rank))
    a, b = (d + x.type.rank if d < 0 else d for d in dims)
    axes[a], axes[b] = axes[b], axes[a]
    return ctx.add(Transpose(axes=tuple(axes)), x)


@composite("slice", "crop", builds=(SliceAxis,))
def _slice(ctx: NodeContext) -> Value:
    """x[b0:e0, b1:e1, …] with step 1 (None = the whole axis): one SliceAxis per axis that is cut."""
    from compiler.frontend.attr_parser import parse_value

    extra = sorted(set(ctx.raw_attrs) - {"begin", "end", "step"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    begin = parse_value(str(ctx.raw_attrs.get("begin", "()")), tuple[int | None, ...])
    end = parse_value(str(ctx.raw_attrs.get("end", "()")), tuple[int | None, ...])
    step = parse_value(str(ctx.raw_attrs.get("step", "()")), tuple[int | None, ...])
    if any(s not in (None, 1) for s in step):
        raise ctx.unsupported(f"step {step}: only step 1 has a Caffe form", attribute="step")
    value = ctx.operands[0]
    for axis, (b, e) in enumerate(zip(begin, end)):
        size = value.type.shape[axis]
        if (b in (None, 0)) and (e is None or e == size):
            continue
        value = ctx.add(SliceAxis(axis=axis, begin=b or 0, end=e), value, suffix=f"_axis{axis}")
    return value if value is not ctx.operands[0] else ctx.add(Reshape(shape=value.type.shape), value)
