"""MXNet op name → IR builder: every registered op def by its `mxnet=` names, plus small composites (builders that
parse an MXNet node whose attributes or outputs differ from one op def's), each declaring the IR ops it builds."""
from __future__ import annotations

from typing import Callable

import attrs

from compiler.errors import UnsupportedOp
from compiler.frontend.attr_parser import build_attrs
from compiler.ir.graph import Graph, Origin, Value
from compiler.ir.opdef import REGISTRY
from compiler.ops import (Activation, ArgMax, BatchNorm, BroadcastAdd, BroadcastTo, Clip, CompareScalar, Copy,
                          Deconvolution, ElemwiseAdd, Exp, LeakyReLU, Pooling, Power, Resample2D, Reshape, ScalarOp,
                          SliceAxis, Softmax, Split, Transpose)
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


def _no_attributes(ctx: NodeContext) -> None:
    if ctx.raw_attrs:
        raise ctx.unsupported("takes no attributes", attribute=sorted(ctx.raw_attrs)[0])


@composite("relu", "sigmoid", "tanh", "softsign", builds=(Activation,))
def _named_activation(ctx: NodeContext) -> Value:
    _no_attributes(ctx)
    return ctx.add(Activation(act_type=ctx.op), *ctx.operands)


@composite("exp", builds=(Exp,))
def _exp(ctx: NodeContext) -> Value:
    _no_attributes(ctx)
    return ctx.add(Exp(), *ctx.operands)


@composite("_rpower_scalar", "_RPowerScalar", builds=(Exp,))
def _rpower_scalar(ctx: NodeContext) -> Value:
    """c^x: Caffe's Exp with base c."""
    base = _parse_scalar(ctx)
    if not base > 0:
        raise ctx.unsupported(f"base {base}: c^x of a non-positive c is NaN or 0 for most x, so it has no Exp form",
                              attribute="scalar")
    return ctx.add(Exp(base=base), *ctx.operands)


# Element-wise powers: MXNet's name → Caffe's Power (shift + scale·x)^power.
_POWERS = {"sqrt": Power(power=0.5), "rsqrt": Power(power=-0.5), "square": Power(power=2.0),
           "reciprocal": Power(power=-1.0), "negative": Power(scale=-1.0)}


@composite(*_POWERS, builds=(Power,))
def _power(ctx: NodeContext) -> Value:
    _no_attributes(ctx)
    return ctx.add(_POWERS[ctx.op], *ctx.operands)


@composite("hard_sigmoid", builds=(Power, Clip))
def _hard_sigmoid(ctx: NodeContext) -> Value:
    """clip(alpha·x + beta, 0, 1)."""
    from compiler.frontend.attr_parser import parse_value

    extra = sorted(set(ctx.raw_attrs) - {"alpha", "beta"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    alpha = parse_value(str(ctx.raw_attrs.get("alpha", "0.2")), float)
    beta = parse_value(str(ctx.raw_attrs.get("beta", "0.5")), float)
    affine = ctx.add(Power(scale=alpha, shift=beta), *ctx.operands, suffix="_affine")
    return ctx.add(Clip(a_min=0.0, a_max=1.0), affine)


# Scalar bounds: max(x, c) and min(x, c) are clips with one open end.
_SCALAR_BOUNDS = {"_maximum_scalar": "a_min", "_MaximumScalar": "a_min", "_minimum_scalar": "a_max",
                  "_MinimumScalar": "a_max"}


@composite(*_SCALAR_BOUNDS, builds=(Clip,))
def _scalar_bound(ctx: NodeContext) -> Value:
    bounds = {"a_min": float("-inf"), "a_max": float("inf"), _SCALAR_BOUNDS[ctx.op]: _parse_scalar(ctx)}
    return ctx.add(Clip(**bounds), *ctx.operands)


@composite("Cast", "amp_cast", builds=(Copy,))
def _cast(ctx: NodeContext) -> Value:
    """A cast to float32 of float32 data is the identity; any other changes values (rounding to float16, to
    integers) and Caffe models carry float32."""
    extra = sorted(set(ctx.raw_attrs) - {"dtype"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    dtype = ctx.raw_attrs.get("dtype", "float32")
    if dtype != "float32":
        raise ctx.unsupported(f"a cast to {dtype} changes the values (Caffe models compute in float32)",
                              attribute="dtype", hint="export the model in float32 (without AMP or a cast)")
    return ctx.add(Copy(), *ctx.operands)


@composite("amp_multicast", builds=(Copy,))
def _amp_multicast(ctx: NodeContext) -> list[Value]:
    """AMP's cast of several inputs to their widest type: the identity on float32 data."""
    extra = sorted(set(ctx.raw_attrs) - {"num_outputs", "cast_narrow"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    return [ctx.add(Copy(), value, suffix=f"_{i}") for i, value in enumerate(ctx.operands)]


# Training heads whose inference output is their data (or its sigmoid); their label operand is never read.
_REGRESSION_HEADS = {"LinearRegressionOutput": None, "MAERegressionOutput": None, "LogisticRegressionOutput": "sigmoid",
                     "SVMOutput": None, "MakeLoss": None, "make_loss": None}
_HEAD_TRAINING_ATTRIBUTES = {"grad_scale", "normalization", "valid_thresh", "margin", "regularization_coefficient",
                             "use_linear"}


@composite(*_REGRESSION_HEADS, builds=(Copy, Activation))
def _regression_head(ctx: NodeContext) -> Value:
    extra = sorted(set(ctx.raw_attrs) - _HEAD_TRAINING_ATTRIBUTES)
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    act = _REGRESSION_HEADS[ctx.op]
    return ctx.add(Activation(act_type=act) if act else Copy(), ctx.operands[0])


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
    **{head: frozenset({1}) for head in ("LinearRegressionOutput", "MAERegressionOutput", "LogisticRegressionOutput",
                                         "SVMOutput")},
}


@composite(*SCALAR_OPS, builds=(ScalarOp,))
def _scalar(ctx: NodeContext) -> Value:
    scalar = _parse_scalar(ctx)
    if ctx.op in ("_div_scalar", "_rdiv_scalar") and scalar == 0:
        raise ctx.unsupported("division by zero", attribute="scalar")
    return ctx.add(ScalarOp(op=SCALAR_OPS[ctx.op], scalar=scalar), *ctx.operands)


@composite("broadcast_add", "broadcast_plus", builds=(BroadcastAdd, ElemwiseAdd))
def _broadcast_add(ctx: NodeContext) -> Value:
    """A sum of same-shaped operands is the n-ary ElemwiseAdd; any other a BroadcastAdd."""
    _no_attributes(ctx)
    lhs, rhs = ctx.operands
    if lhs.type.shape == rhs.type.shape:
        return ctx.add(ElemwiseAdd(), lhs, rhs)
    return ctx.add(BroadcastAdd(), lhs, rhs)


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
    kernel = stride = s and unit weights computes exactly that. Bilinear upsampling is, in MXNet itself, the
    grouped Deconvolution with its weight input: kernel 2s − s mod 2, stride s, pad ceil((s − 1)/2), no bias."""
    import numpy as np

    sample_type = ctx.raw_attrs.get("sample_type", "nearest")
    if sample_type not in ("nearest", "bilinear"):
        raise ctx.unsupported(f"unknown sample_type '{sample_type}'", attribute="sample_type")
    images = ctx.operands[:1] if sample_type == "nearest" else ctx.operands[:-1]
    if len(images) != 1:
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
    if sample_type == "bilinear":
        kernel = 2 * factor - factor % 2
        return ctx.add(Deconvolution(num_filter=channels, kernel=kernel, stride=factor, pad=-(-(factor - 1) // 2),
                                     num_group=channels), x, ctx.operands[-1])
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


@composite("argmax_channel", builds=(ArgMax,))
def _argmax_channel(ctx: NodeContext) -> Value:
    """The index of the largest value along the last axis."""
    _no_attributes(ctx)
    return ctx.add(ArgMax(axis=-1), *ctx.operands)


@composite("broadcast_axis", "broadcast_axes", builds=(BroadcastTo,))
def _broadcast_axis(ctx: NodeContext) -> Value:
    """x repeated along the size-1 axes `axis` to `size`."""
    from compiler.frontend.attr_parser import parse_value

    extra = sorted(set(ctx.raw_attrs) - {"axis", "size"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    x = ctx.operands[0]
    axes = parse_value(str(ctx.raw_attrs.get("axis", "()")), tuple[int, ...])
    sizes = parse_value(str(ctx.raw_attrs.get("size", "()")), tuple[int, ...])
    if len(axes) != len(sizes):
        raise ctx.unsupported(f"axis {axes} and size {sizes} differ in length", attribute="size")
    shape = [0] * x.type.rank
    for axis, size in zip(axes, sizes):
        shape[axis + x.type.rank if axis < 0 else axis] = size
    return ctx.add(BroadcastTo(shape=tuple(shape)), x)


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


def _squeezed(ctx: NodeContext, parts: list[Value], axis: int) -> list[Value]:
    """Each part without its size-1 `axis` (MXNet's squeeze_axis)."""
    squeezed = []
    for i, part in enumerate(parts):
        shape = part.type.shape[:axis] + part.type.shape[axis + 1:]
        squeezed.append(ctx.add(Reshape(shape=shape or (1,)), part, suffix=f"_squeeze{i}"))
    return squeezed


@composite("SliceChannel", "split", builds=(Split, Reshape))
def _slice_channel(ctx: NodeContext) -> list[Value]:
    """x cut into num_outputs equal parts along `axis` (default 1); squeeze_axis drops that axis from each."""
    from compiler.frontend.attr_parser import parse_value

    extra = sorted(set(ctx.raw_attrs) - {"num_outputs", "axis", "squeeze_axis"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    x = ctx.operands[0]
    count = parse_value(str(ctx.raw_attrs.get("num_outputs", "0")), int)
    axis = parse_value(str(ctx.raw_attrs.get("axis", "1")), int)
    axis = axis + x.type.rank if axis < 0 else axis
    size = x.type.shape[axis]
    if count < 1 or size % count:
        raise ctx.unsupported(f"num_outputs {count} does not divide axis {axis} of size {size}",
                              attribute="num_outputs")
    part = size // count
    return _split(ctx, x, axis, tuple(part * i for i in range(1, count)),
                  parse_value(str(ctx.raw_attrs.get("squeeze_axis", "False")), bool))


@composite("_split_v2", "split_v2", builds=(Split, Reshape))
def _split_v2(ctx: NodeContext) -> list[Value]:
    """x cut along `axis` at `indices` (their first entry is 0), or into `sections` equal parts."""
    from compiler.frontend.attr_parser import parse_value

    extra = sorted(set(ctx.raw_attrs) - {"indices", "sections", "axis", "squeeze_axis"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    x = ctx.operands[0]
    axis = parse_value(str(ctx.raw_attrs.get("axis", "1")), int)
    axis = axis + x.type.rank if axis < 0 else axis
    size = x.type.shape[axis]
    sections = parse_value(str(ctx.raw_attrs.get("sections", "0")), int)
    indices = parse_value(str(ctx.raw_attrs.get("indices", "()")), tuple[int, ...])
    if sections > 0:
        if size % sections:
            raise ctx.unsupported(f"{sections} sections do not divide axis {axis} of size {size}",
                                  attribute="sections")
        points = tuple(size // sections * i for i in range(1, sections))
    else:
        points = tuple(i for i in indices if i != 0)
    return _split(ctx, x, axis, points, parse_value(str(ctx.raw_attrs.get("squeeze_axis", "False")), bool))


def _split(ctx: NodeContext, x: Value, axis: int, points: tuple[int, ...], squeeze: bool) -> list[Value]:
    if not points:   # one part: the data itself
        parts = [ctx.add(Reshape(shape=x.type.shape), x)]
    else:
        op = ctx.graph.add(Split(axis=axis, points=points), x, name=ctx.name, origin=ctx.origin)
        parts = list(op.results)
    if squeeze:
        if any(part.type.shape[axis] != 1 for part in parts):
            raise ctx.unsupported("squeeze_axis needs parts of size 1 along the axis", attribute="squeeze_axis")
        return _squeezed(ctx, parts, axis)
    return parts


@composite("Crop", builds=(SliceAxis, Reshape))
def _crop(ctx: NodeContext) -> Value:
    """The legacy Crop: x's H×W window at `offset` (y, x), or centred with center_crop, sized `h_w` or like the
    second input (the FPN form after UpSampling)."""
    from compiler.frontend.attr_parser import parse_value

    extra = sorted(set(ctx.raw_attrs) - {"num_args", "offset", "h_w", "center_crop"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    x = ctx.operands[0]
    height, width = ctx.out_shapes[0][2:]
    if parse_value(str(ctx.raw_attrs.get("center_crop", "False")), bool):
        offsets = ((x.type.shape[2] - height) // 2, (x.type.shape[3] - width) // 2)
    else:
        offsets = parse_value(str(ctx.raw_attrs.get("offset", "(0, 0)")), tuple[int, int])
    value = x
    for axis, begin, size in ((2, offsets[0], height), (3, offsets[1], width)):
        if (begin, size) != (0, value.type.shape[axis]):
            value = ctx.add(SliceAxis(axis=axis, begin=begin, end=begin + size), value, suffix=f"_axis{axis}")
    return value if value is not x else ctx.add(Reshape(shape=x.type.shape), x)


@composite("depth_to_space", builds=(Reshape, Transpose))
def _depth_to_space(ctx: NodeContext) -> Value:
    """(N, b·b·C, H, W) → (N, C, H·b, W·b): channel (i·b + j)·C + c goes to offset (i, j) of channel c (MXNet's
    DCR order), as MXNet itself computes it: reshape, transpose (0, 3, 4, 1, 5, 2), reshape."""
    from compiler.frontend.attr_parser import parse_value

    extra = sorted(set(ctx.raw_attrs) - {"block_size"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    b = parse_value(str(ctx.raw_attrs.get("block_size", "0")), int)
    x = ctx.operands[0]
    n, channels, h, w = x.type.shape
    blocks = ctx.add(Reshape(shape=(n, b, b, channels // (b * b), h, w)), x, suffix="_blocks")
    moved = ctx.add(Transpose(axes=(0, 3, 4, 1, 5, 2)), blocks, suffix="_move")
    return ctx.add(Reshape(shape=ctx.out_shapes[0]), moved)


@composite("space_to_depth", builds=(Reshape, Transpose))
def _space_to_depth(ctx: NodeContext) -> Value:
    """(N, C, H·b, W·b) → (N, b·b·C, H, W), the inverse of depth_to_space: reshape, transpose (0, 3, 5, 1, 2, 4),
    reshape."""
    from compiler.frontend.attr_parser import parse_value

    extra = sorted(set(ctx.raw_attrs) - {"block_size"})
    if extra:
        raise ctx.unsupported("unknown attribute", attribute=extra[0])
    b = parse_value(str(ctx.raw_attrs.get("block_size", "0")), int)
    x = ctx.operands[0]
    n, channels, h, w = x.type.shape
    cells = ctx.add(Reshape(shape=(n, channels, h // b, b, w // b, b)), x, suffix="_cells")
    moved = ctx.add(Transpose(axes=(0, 3, 5, 1, 2, 4)), cells, suffix="_move")
    return ctx.add(Reshape(shape=ctx.out_shapes[0]), moved)


@composite("Deconvolution", builds=(Deconvolution,))
def _deconvolution(ctx: NodeContext) -> Value:
    """A `target_shape` makes MXNet recompute pad and adj: total = s·(H − 1) + d·(k − 1) + 1 − T per axis,
    pad = ceil(total / 2), adj = total mod 2 (docs/mxnet.md#deconvolution); they are written out here."""
    import attrs as attrs_module

    deconvolution = ctx.parse(Deconvolution)
    if not deconvolution.target_shape:
        return ctx.add(deconvolution, *ctx.operands)
    target = deconvolution.target_shape[-2:]
    pads, adjs = [], []
    for size, want, k, s, d in zip(ctx.operands[0].type.shape[2:], target, deconvolution.kernel, deconvolution.stride,
                                   deconvolution.dilate):
        total = s * (size - 1) + d * (k - 1) + 1 - want
        if total < 0:
            raise ctx.unsupported(f"target_shape {target} is larger than the full transposed convolution",
                                  attribute="target_shape")
        pads.append(-(-total // 2))
        adjs.append(total % 2)
    explicit = attrs_module.evolve(deconvolution, target_shape=(), pad=tuple(pads), adj=tuple(adjs))
    return ctx.add(explicit, *ctx.operands)
