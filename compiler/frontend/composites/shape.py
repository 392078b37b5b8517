"""Data movement written as other IR ops: Reshape with its special codes resolved, reshape_like, slices (slice, crop,
slice_like, legacy Crop) as SliceAxis per cut axis, splits, axis swaps, broadcasts along named axes, depth_to_space and
space_to_depth as reshape–transpose–reshape, and argmax_channel."""
from __future__ import annotations

import math

import attrs

from compiler.frontend.lowering import NodeContext, composite
from compiler.ir.graph import Value
from compiler.ops import ArgMax, BroadcastTo, Reshape, SliceAxis, Split, Transpose


def _unchanged(ctx: NodeContext, value: Value) -> Value:
    """`value`, or a Reshape to its own shape when nothing changed it (the node still needs its own value)."""
    return value if value is not ctx.operands[0] else ctx.add(Reshape(shape=value.type.shape), value)


@attrs.frozen(kw_only=True)
class ReshapeCodes:
    shape: tuple[int, ...] = ()
    reverse: bool = False
    target_shape: tuple[int, ...] = ()   # the form before MXNet 0.9: 0 is the one inferred dim
    keep_highest: bool = False


def resolve_reshape(codes: tuple[int, ...], shape: tuple[int, ...], reverse: bool = False) -> tuple[int, ...]:
    """MXNet's reshape codes resolved against the input shape (docs/mxnet.md#reshape): 0 copies the next input dim,
    -1 is inferred from the rest, -2 copies every remaining dim, -3 merges the next two, -4 splits the next one
    into the two codes that follow (one may be -1); a positive code is a new dim and consumes one input dim. With
    `reverse`, both lists are read from the right."""
    codes, source = (codes[::-1], shape[::-1]) if reverse else (codes, shape)
    out: list[int] = []
    position, inferred, i = 0, None, 0
    while i < len(codes):
        code = codes[i]
        if code == 0:
            if position >= len(source):
                raise ValueError(f"code 0 at position {i} copies a dim the input {shape} does not have")
            out.append(source[position])
            position += 1
        elif code == -1:
            if inferred is not None:
                raise ValueError("more than one dim is -1")
            inferred = len(out)
            out.append(1)
            position += 1
        elif code == -2:
            out.extend(source[position:])
            position = len(source)
        elif code == -3:
            if position + 1 >= len(source):
                raise ValueError(f"code -3 at position {i} merges two dims the input {shape} does not have")
            out.append(source[position] * source[position + 1])
            position += 2
        elif code == -4:
            if i + 2 >= len(codes) or position >= len(source):
                raise ValueError(f"code -4 at position {i} needs two codes after it and an input dim to split")
            whole, left, right = source[position], codes[i + 1], codes[i + 2]
            position += 1
            i += 2
            if left == -1 and right == -1:
                raise ValueError("code -4 cannot split into two -1 dims")
            left = whole // right if left == -1 else left
            right = whole // left if right == -1 else right
            if left * right != whole:
                raise ValueError(f"code -4 splits {whole} into {left} × {right}")
            out += [left, right]
        elif code > 0:
            out.append(code)
            position += 1
        else:
            raise ValueError(f"unknown reshape code {code}")
        i += 1
    if inferred is not None:
        known = math.prod(out)
        if known == 0 or math.prod(shape) % known:
            raise ValueError(f"the -1 dim cannot be inferred: {math.prod(shape)} values into {tuple(out)}")
        out[inferred] = math.prod(shape) // known
    return tuple(out[::-1]) if reverse else tuple(out)


def legacy_reshape(target: tuple[int, ...], shape: tuple[int, ...], keep_highest: bool) -> tuple[int, ...]:
    """The `target_shape` form: the target itself, its one 0 inferred; keep_highest keeps the input's first dim."""
    out = list(target)
    if keep_highest:
        out[0] = shape[0]
    zeros = [i for i in range(1 if keep_highest else 0, len(out)) if out[i] == 0]
    if len(zeros) == 1:
        out[zeros[0]] = 1
        out[zeros[0]] = math.prod(shape) // math.prod(out)
    return tuple(out)


@composite("Reshape", "reshape", builds=(Reshape,), attributes=ReshapeCodes)
def reshape(ctx: NodeContext) -> Value:
    a, x = ctx.attributes, ctx.operands[0]
    try:
        if a.shape:
            shape = resolve_reshape(a.shape, x.type.shape, a.reverse)
        elif a.target_shape:
            shape = legacy_reshape(a.target_shape, x.type.shape, a.keep_highest)
        else:
            raise ValueError("neither shape nor target_shape is given")
    except ValueError as exc:
        raise ctx.unsupported(f"shape {a.shape or a.target_shape} on input {x.type.shape}: {exc}",
                              attribute="shape" if a.shape else "target_shape") from None
    if math.prod(shape) != x.type.size or any(d < 1 for d in shape):
        raise ctx.unsupported(f"shape {a.shape or a.target_shape} resolves to {shape}, which does not hold the "
                              f"{x.type.size} values of input {x.type.shape}", attribute="shape")
    return ctx.add(Reshape(shape=shape), x)


@attrs.frozen(kw_only=True)
class ReshapeLike:
    lhs_begin: int | None = None
    lhs_end: int | None = None
    rhs_begin: int | None = None
    rhs_end: int | None = None


@composite("reshape_like", builds=(Reshape,), attributes=ReshapeLike)
def reshape_like(ctx: NodeContext) -> Value:
    """x's values with dims lhs_begin:lhs_end of its shape replaced by dims rhs_begin:rhs_end of `like`'s (the whole
    shapes by default; DANet's attention maps back to its feature map): shapes are static, so a Reshape."""
    value, like = ctx.operands[0], ctx.operands[1].type.shape
    a, shape = ctx.attributes, value.type.shape

    def bound(index, rank, default):
        return default if index is None else index + rank if index < 0 else index

    lhs = slice(bound(a.lhs_begin, len(shape), 0), bound(a.lhs_end, len(shape), len(shape)))
    rhs = slice(bound(a.rhs_begin, len(like), 0), bound(a.rhs_end, len(like), len(like)))
    wanted = shape[:lhs.start] + like[rhs] + shape[lhs.stop:]
    if math.prod(wanted) != value.type.size:
        raise ctx.unsupported(f"{shape} reshaped like {like} (lhs {lhs.start}:{lhs.stop}, rhs {rhs.start}:{rhs.stop})"
                              f" is {wanted}, which does not hold its {value.type.size} values")
    return ctx.add(Reshape(shape=wanted), value)


@attrs.frozen(kw_only=True)
class SliceLike:
    axes: tuple[int, ...] = ()


@composite("slice_like", builds=(SliceAxis, Reshape), attributes=SliceLike)
def slice_like(ctx: NodeContext) -> Value:
    """x cut to the shape of `like` on `axes` (all when empty), from index 0: one SliceAxis per axis that shrinks;
    with static shapes the usual case (YOLOv3's upsampled map against its route) cuts nothing."""
    value, like = ctx.operands[0], ctx.operands[1].type.shape
    rank = value.type.rank
    axes = {a + rank if a < 0 else a for a in ctx.attributes.axes} if ctx.attributes.axes else set(range(rank))
    if len(like) != rank and not ctx.attributes.axes or any(not 0 <= a < min(rank, len(like)) for a in axes):
        raise ctx.unsupported(f"axes {ctx.attributes.axes} of shapes {value.type.shape} and {like}", attribute="axes")
    wanted_shape = tuple(like[a] if a in axes else size for a, size in enumerate(value.type.shape))
    if any(w > size for w, size in zip(wanted_shape, value.type.shape)):
        raise ctx.unsupported(f"the shape to cut to, {wanted_shape}, is larger than the input {value.type.shape}")
    for axis, (size, wanted) in enumerate(zip(value.type.shape, wanted_shape)):
        if wanted != size:
            value = ctx.add(SliceAxis(axis=axis, begin=0, end=wanted), value, suffix=f"_axis{axis}")
    return _unchanged(ctx, value)


@composite("argmax_channel", builds=(ArgMax,))
def argmax_channel(ctx: NodeContext) -> Value:
    """The index of the largest value along the last axis."""
    return ctx.add(ArgMax(axis=-1), *ctx.operands)


@attrs.frozen(kw_only=True)
class BroadcastAxis:
    axis: tuple[int, ...] = ()
    size: tuple[int, ...] = ()


@composite("broadcast_axis", "broadcast_axes", builds=(BroadcastTo,), attributes=BroadcastAxis)
def broadcast_axis(ctx: NodeContext) -> Value:
    """x repeated along the size-1 axes `axis` to `size`."""
    x, a = ctx.operands[0], ctx.attributes
    if len(a.axis) != len(a.size):
        raise ctx.unsupported(f"axis {a.axis} and size {a.size} differ in length", attribute="size")
    shape = [0] * x.type.rank
    for axis, size in zip(a.axis, a.size):
        shape[axis + x.type.rank if axis < 0 else axis] = size
    return ctx.add(BroadcastTo(shape=tuple(shape)), x)


@attrs.frozen(kw_only=True)
class SwapAxis:
    dim1: int = 0
    dim2: int = 0


@composite("SwapAxis", "swapaxes", builds=(Transpose,), attributes=SwapAxis)
def swap_axes(ctx: NodeContext) -> Value:
    x = ctx.operands[0]
    axes = list(range(x.type.rank))
    a, b = (d + x.type.rank if d < 0 else d for d in (ctx.attributes.dim1, ctx.attributes.dim2))
    axes[a], axes[b] = axes[b], axes[a]
    return ctx.add(Transpose(axes=tuple(axes)), x)


@attrs.frozen(kw_only=True)
class Slice:
    begin: tuple[int | None, ...] = ()
    end: tuple[int | None, ...] = ()
    step: tuple[int | None, ...] = ()


@composite("slice", "crop", builds=(SliceAxis, Reshape), attributes=Slice)
def slice_(ctx: NodeContext) -> Value:
    """x[b0:e0, b1:e1, …] with step 1 (None = the whole axis): one SliceAxis per axis that is cut."""
    a = ctx.attributes
    if any(s not in (None, 1) for s in a.step):
        raise ctx.unsupported(f"step {a.step}: only step 1 has a Caffe form", attribute="step")
    value = ctx.operands[0]
    for axis, (b, e) in enumerate(zip(a.begin, a.end)):
        size = value.type.shape[axis]
        if (b in (None, 0)) and (e is None or e == size):
            continue
        value = ctx.add(SliceAxis(axis=axis, begin=b or 0, end=e), value, suffix=f"_axis{axis}")
    return _unchanged(ctx, value)


def _squeezed(ctx: NodeContext, parts: list[Value], axis: int) -> list[Value]:
    """Each part without its size-1 `axis` (MXNet's squeeze_axis)."""
    squeezed = []
    for i, part in enumerate(parts):
        shape = part.type.shape[:axis] + part.type.shape[axis + 1:]
        squeezed.append(ctx.add(Reshape(shape=shape or (1,)), part, suffix=f"_squeeze{i}"))
    return squeezed


def _axis_and_size(x: Value, axis: int) -> tuple[int, int]:
    axis = axis + x.type.rank if axis < 0 else axis
    return axis, x.type.shape[axis]


def _equal_parts(ctx: NodeContext, count: int, axis: int, size: int, attribute: str) -> tuple[int, ...]:
    """The points that cut `size` into `count` equal parts."""
    if count < 1 or size % count:
        raise ctx.unsupported(f"{attribute} {count} does not divide axis {axis} of size {size}", attribute=attribute)
    return tuple(size // count * i for i in range(1, count))


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


@attrs.frozen(kw_only=True)
class SliceChannel:
    num_outputs: int
    axis: int = 1
    squeeze_axis: bool = False


@composite("SliceChannel", "split", builds=(Split, Reshape), attributes=SliceChannel)
def slice_channel(ctx: NodeContext) -> list[Value]:
    """x cut into num_outputs equal parts along `axis` (default 1); squeeze_axis drops that axis from each."""
    x, a = ctx.operands[0], ctx.attributes
    axis, size = _axis_and_size(x, a.axis)
    return _split(ctx, x, axis, _equal_parts(ctx, a.num_outputs, axis, size, "num_outputs"), a.squeeze_axis)


@attrs.frozen(kw_only=True)
class SplitV2:
    indices: tuple[int, ...] = ()
    sections: int = 0
    axis: int = 1
    squeeze_axis: bool = False


@composite("_split_v2", "split_v2", builds=(Split, Reshape), attributes=SplitV2)
def split_v2(ctx: NodeContext) -> list[Value]:
    """x cut along `axis` at `indices` (their first entry is 0), or into `sections` equal parts."""
    x, a = ctx.operands[0], ctx.attributes
    axis, size = _axis_and_size(x, a.axis)
    if a.sections > 0:
        points = _equal_parts(ctx, a.sections, axis, size, "sections")
    else:
        points = tuple(i for i in a.indices if i != 0)
    return _split(ctx, x, axis, points, a.squeeze_axis)


@attrs.frozen(kw_only=True)
class Crop:
    num_args: int = 1
    offset: tuple[int, int] = (0, 0)
    h_w: tuple[int, int] = (0, 0)
    center_crop: bool = False


@composite("Crop", builds=(SliceAxis, Reshape), attributes=Crop)
def crop(ctx: NodeContext) -> Value:
    """The legacy Crop: x's H×W window at `offset` (y, x), or centred with center_crop, sized `h_w` or like the
    second input (the FPN form after UpSampling)."""
    x, a = ctx.operands[0], ctx.attributes
    height, width = ctx.operands[1].type.shape[2:4] if len(ctx.operands) > 1 else a.h_w
    if x.type.rank != 4 or height < 1 or width < 1 or height > x.type.shape[2] or width > x.type.shape[3]:
        raise ctx.unsupported(f"a {height}×{width} window of input {x.type.shape}", attribute="h_w")
    if a.center_crop:
        offsets = ((x.type.shape[2] - height) // 2, (x.type.shape[3] - width) // 2)
    else:
        offsets = a.offset
    value = x
    for axis, begin, size in ((2, offsets[0], height), (3, offsets[1], width)):
        if (begin, size) != (0, value.type.shape[axis]):
            value = ctx.add(SliceAxis(axis=axis, begin=begin, end=begin + size), value, suffix=f"_axis{axis}")
    return _unchanged(ctx, value)


@attrs.frozen(kw_only=True)
class BlockSize:
    block_size: int


@composite("depth_to_space", builds=(Reshape, Transpose), attributes=BlockSize)
def depth_to_space(ctx: NodeContext) -> Value:
    """(N, b·b·C, H, W) → (N, C, H·b, W·b): channel (i·b + j)·C + c goes to offset (i, j) of channel c (MXNet's
    DCR order), as MXNet itself computes it: reshape, transpose (0, 3, 4, 1, 5, 2), reshape."""
    b = ctx.attributes.block_size
    x = ctx.operands[0]
    n, channels, h, w = x.type.shape
    if channels % (b * b):
        raise ctx.unsupported(f"block_size {b}: {b * b} does not divide the {channels} channels", attribute="block_size")
    blocks = ctx.add(Reshape(shape=(n, b, b, channels // (b * b), h, w)), x, suffix="_blocks")
    moved = ctx.add(Transpose(axes=(0, 3, 4, 1, 5, 2)), blocks, suffix="_move")
    return ctx.add(Reshape(shape=(n, channels // (b * b), h * b, w * b)), moved)


@composite("space_to_depth", builds=(Reshape, Transpose), attributes=BlockSize)
def space_to_depth(ctx: NodeContext) -> Value:
    """(N, C, H·b, W·b) → (N, b·b·C, H, W), the inverse of depth_to_space: reshape, transpose (0, 3, 5, 1, 2, 4),
    reshape."""
    b = ctx.attributes.block_size
    x = ctx.operands[0]
    n, channels, h, w = x.type.shape
    if h % b or w % b:
        raise ctx.unsupported(f"block_size {b} does not divide the input's {h}×{w}", attribute="block_size")
    cells = ctx.add(Reshape(shape=(n, channels, h // b, b, w // b, b)), x, suffix="_cells")
    moved = ctx.add(Transpose(axes=(0, 3, 5, 1, 2, 4)), cells, suffix="_move")
    return ctx.add(Reshape(shape=(n, channels * b * b, h // b, w // b)), moved)
