"""Emitter for Pad: Caffe has no padding layer, so padding is built from layers every consumer has.

Zero padding: a depthwise 1×1 Convolution with unit weights and pad (max(top, bottom), max(left, right)) — Caffe pads
a convolution's input with zeros, and x·1.0 is x exactly — then a Slice trims the surplus of an asymmetric pad.
Reflect and edge padding: a Slice takes out the rows (then the columns) to copy, and a Concat puts them around the
plane in mirrored order."""
from __future__ import annotations

import numpy as np

from backends.emitters import EmitContext, emitter
from backends.emitters.shared import convolution_geometry, slice_range
from compiler.ops.nn import Pad, PadMode


def _pad_legality(op, target) -> str | None:
    if op.attrs.mode is PadMode.CONSTANT and op.attrs.constant_value != 0:
        return (f"padding with {op.attrs.constant_value} has no exact form (Caffe pads with zeros, and x − c + c "
                "rounds)")
    return None


def _zero_pad(op, ctx: EmitContext) -> None:
    x = op.operands[0]
    n, c, h, w = x.type.shape
    top, bottom, left, right = op.attrs.hw
    pad = (max(top, bottom), max(left, right))
    param = {"num_output": c, "bias_term": False, "group": c}
    param.update(convolution_geometry((1, 1), (1, 1), pad))
    trims = [(axis, size, (p - lead, p - lead + inner + lead + trail))
             for axis, size, p, lead, trail, inner in ((2, h + 2 * pad[0], pad[0], top, bottom, h),
                                                       (3, w + 2 * pad[1], pad[1], left, right, w))
             if lead != trail]
    blob = ctx.top(op.result) if not trims else ctx.new_blob(f"{op.name}_padded")
    ctx.add("Convolution", name=op.name if not trims else f"{op.name}_padded", bottoms=[ctx.bottom(x)], tops=[blob],
            params={"convolution_param": param}, blobs=[np.ones((c, 1, 1, 1), np.float32)],
            source=op.result if not trims else None)
    for i, (axis, size, keep) in enumerate(trims):
        last = i == len(trims) - 1
        kept = ctx.top(op.result) if last else ctx.new_blob(f"{op.name}_trim{axis}")
        slice_range(ctx, op.name if last else f"{op.name}_trim{axis}", blob, axis, size, *keep, kept,
                    source=op.result if last else None)
        blob = kept


def _copied_rows(mode: str, size: int, before: int, after: int) -> tuple[list[int], list[int]]:
    """Indices copied before and after the plane along one axis, in output order."""
    if mode == "reflect":
        return list(range(before, 0, -1)), list(range(size - 2, size - 2 - after, -1))
    return [0] * before, [size - 1] * after


def _mirror_axis(op, ctx: EmitContext, blob: str, axis: int, size: int, before: int, after: int,
                 top: str | None) -> str:
    heads, tails = _copied_rows(op.attrs.mode, size, before, after)
    wanted = sorted(set(heads + tails))
    points = sorted({p for i in wanted for p in (i, i + 1) if 0 < p < size})
    starts = [0, *points]
    pieces = [ctx.new_blob(f"{op.name}_{axis}_{start}") for start in starts]
    ctx.add("Slice", name=f"{op.name}_rows{axis}", bottoms=[blob], tops=pieces,
            params={"slice_param": {"axis": axis, "slice_point": points}})
    piece_of = dict(zip(starts, pieces))
    unused = [p for start, p in piece_of.items() if start not in wanted]
    ctx.discard(f"{op.name}_rows{axis}_silence", unused)
    out = top or ctx.new_blob(f"{op.name}_axis{axis}")
    ctx.add("Concat", name=op.name if top else f"{op.name}_axis{axis}",
            bottoms=[piece_of[i] for i in heads] + [blob] + [piece_of[i] for i in tails], tops=[out],
            params={"concat_param": {"axis": axis}}, source=op.result if top else None)
    return out


@emitter(Pad, layers=("Convolution", "Slice", "Concat"), helpers=(slice_range,), legal=_pad_legality)
def emit_pad(op, ctx: EmitContext) -> None:
    if op.attrs.mode is PadMode.CONSTANT:
        _zero_pad(op, ctx)
        return
    _, _, h, w = op.operands[0].type.shape
    top, bottom, left, right = op.attrs.hw
    blob = ctx.bottom(op.operands[0])
    steps = [(2, h, top, bottom), (3, w, left, right)]
    steps = [s for s in steps if s[2] or s[3]]
    for i, (axis, size, before, after) in enumerate(steps):
        blob = _mirror_axis(op, ctx, blob, axis, size, before, after,
                            ctx.top(op.result) if i == len(steps) - 1 else None)
