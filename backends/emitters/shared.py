"""Layer-writing steps several emitters share. Each declares the layer types it writes (@writes); an emitter that calls
one names it in its own declaration (`helpers=`), so the legality check knows every layer it needs."""
from __future__ import annotations

from backends.emitters import EmitContext, writes  # noqa: F401  (writes: for the emitters' own helpers)


def geometry(prefix: str, values: tuple[int, int], square_name: str) -> dict:
    """Square geometry as one value; otherwise the explicit _h/_w pair every consumer reads."""
    if values[0] == values[1]:
        return {square_name: values[0]}
    return {f"{prefix}_h": values[0], f"{prefix}_w": values[1]}


def convolution_geometry(kernel, stride, pad) -> dict:
    """ConvolutionParameter geometry; its kernel_size/stride/pad are repeated fields, the _h/_w forms are not."""
    param = {}
    for prefix, values in (("kernel", kernel), ("stride", stride), ("pad", pad)):
        single = geometry(prefix, values, "kernel_size" if prefix == "kernel" else prefix)
        param.update({k: [v] if k in ("kernel_size", "stride", "pad") else v for k, v in single.items()})
    return param


@writes("Reshape")
def reshape_blob(ctx: EmitContext, name: str, bottom: str, shape, top: str | None = None, source=None) -> str:
    """bottom viewed as `shape` (explicit dims: consumers disagree on what a copied 0 dim refers to)."""
    top = top or ctx.new_blob(name)
    ctx.add("Reshape", name=name, bottoms=[bottom], tops=[top],
            params={"reshape_param": {"shape": {"dim": list(shape)}}}, source=source)
    return top


@writes("Slice", "Power")
def slice_range(ctx: EmitContext, name: str, bottom: str, axis: int, size: int, begin: int, end: int, top: str,
                source=None) -> None:
    """top = bottom[begin:end] along axis: a Slice at begin and end whose other parts are discarded (ctx.discard:
    a Silence, which never ends the net, since the layer that reads top follows it).

    A runtime asked for a layer's output returns its first top. When the kept part is not first (begin > 0) and
    it is a graph output, an identity Power copies it out, so that the output's layer has it as its first top."""
    points = [p for p in (begin, end) if 0 < p < size]
    copy_out = begin > 0 and source is not None and any(v is source for v in ctx.graph.outputs)
    part = ctx.new_blob(f"{name}_part") if copy_out else top
    tops, dropped = [], []
    for start in [0, *points]:
        if start == begin:
            tops.append(part)
        else:
            dropped.append(ctx.new_blob(f"{name}_unused{start}"))
            tops.append(dropped[-1])
    ctx.add("Slice", name=f"{name}_part" if copy_out else name, bottoms=[bottom], tops=tops,
            params={"slice_param": {"axis": axis, "slice_point": points}},
            source=source if begin == 0 else None)
    ctx.discard(f"{name}_silence", dropped)
    if copy_out:
        ctx.add("Power", name=name, bottoms=[part], tops=[top], source=source)


@writes("Power")
def negated(ctx: EmitContext, name: str, bottom: str) -> str:
    """−bottom (negation is exact)."""
    top = ctx.new_blob(name)
    ctx.add("Power", name=name, bottoms=[bottom], tops=[top], params={"power_param": {"scale": -1.0}})
    return top
