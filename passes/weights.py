"""Shared rewrite of passes that fold y·s + t into the layer producing y (not a pass itself)."""
from __future__ import annotations

import numpy as np


def fold_output_affine(graph, producer, scale, shift, suffix: str) -> None:
    """Give a Convolution, Deconvolution or FullyConnected with constant weights the weights W·s and bias b·s + t,
    with s and t per output channel (or scalars), computed in float64 and rounded once."""
    channels = producer.result.type.shape[1] if producer.kind != "FullyConnected" else producer.attrs.num_hidden
    scale = np.broadcast_to(np.asarray(scale, np.float64), (channels,))
    shift = np.broadcast_to(np.asarray(shift, np.float64), (channels,))
    weight = producer.operands[1].const
    if producer.kind == "Deconvolution":
        new_weight = producer.attrs.per_output_channel(weight, scale)
    else:
        new_weight = weight.astype(np.float64) * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    bias = producer.operands[2].const.astype(np.float64) if len(producer.operands) > 2 else np.zeros(channels)
    w_value = graph.constant(new_weight, f"{producer.operands[1].name}_{suffix}")
    b_value = graph.constant(bias * scale + shift, f"{producer.name}_bias_{suffix}")
    graph.set_operands(producer, (producer.operands[0], w_value, b_value))
