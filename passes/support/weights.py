"""Weight rewrites shared by several passes (not a pass itself): folding y·s + t into the op that produces y, and
reading an op's weight along its input-channel axis. Both go through the op definitions' hooks, so they work for
any op that declares the trait and refuse (None) wherever the channel axis is not where they need it."""
from __future__ import annotations

import numpy as np

from compiler.ir.opdef import Trait
from compiler.ir.deferred import scaled_float32


def foldable_output_affine(producer, per_channel: bool) -> bool:
    """Whether `producer` can absorb y·s + t: constant weights, and for per-channel s/t an output-channel axis 1."""
    if producer is None or not producer.has(Trait.OUTPUT_CHANNEL_WEIGHTS):
        return False
    if any(v.const is None for v in producer.operands[1:]):
        return False
    return not per_channel or producer.attrs.outputs_on_channel_axis(producer.result.type)


def fold_output_affine(graph, producer, scale, shift, suffix: str) -> None:
    """Give a producer with OUTPUT_CHANNEL_WEIGHTS the weights W·s and bias b·s + t, with s and t per result channel
    (axis 1) or scalars, computed in float64 and rounded once. The caller checked foldable_output_affine."""
    weight = producer.operands[1].const
    scale, shift = np.asarray(scale, np.float64), np.asarray(shift, np.float64)
    if scale.ndim == 0 and shift.ndim == 0:
        # A scalar folds whatever the layout: every weight and every bias entry alike.
        new_weight = scaled_float32(weight, scale)
    else:
        channels = producer.result.type.shape[1]
        scale, shift = np.broadcast_to(scale, (channels,)), np.broadcast_to(shift, (channels,))
        new_weight = producer.attrs.scale_output_channels(weight, scale, producer.result.type)
    bias = (producer.operands[2].const.astype(np.float64) if len(producer.operands) > 2
            else np.zeros(producer.attrs.num_outputs))
    w_value = graph.constant(new_weight, f"{producer.operands[1].name}_{suffix}")
    b_value = graph.constant(bias * scale + shift, f"{producer.name}_bias_{suffix}")
    graph.set_operands(producer, (producer.operands[0], w_value, b_value))
    producer.result.ref = None   # it computes another value now (the caller hands it the folded op's reference)


def input_channel_view(op, value) -> tuple[tuple[int, ...], int] | None:
    """How `op` (INPUT_CHANNEL_WEIGHTS, reading `value` as operand 0 only) reads value's channels: the weight shape
    and axis that hold the input channel, or None when its weights cannot be rewritten per input channel."""
    if not op.has(Trait.INPUT_CHANNEL_WEIGHTS) or op.operands[0] is not value or value in op.operands[1:]:
        return None
    weight = op.operands[1].const
    if weight is None:
        return None
    layout = op.attrs.input_channel_layout(value.type, weight.shape)
    if layout is None:
        return None
    shape, axis = layout
    viewed = weight.reshape(shape)
    return (viewed.shape, axis) if viewed.shape[axis] == value.type.shape[1] else None


def per_input_channel(weight: np.ndarray, view, transform) -> np.ndarray:
    """weight with `transform` (an array function along the given axis) applied along its input-channel axis."""
    shape, axis = view
    moved = np.moveaxis(weight.reshape(shape), axis, -1)
    return np.moveaxis(transform(moved), -1, axis).reshape(weight.shape)
