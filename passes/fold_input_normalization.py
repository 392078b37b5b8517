"""Make the model take raw pixels: fold the (x·input_scale − mean) / std preprocessing into the graph."""
from __future__ import annotations

import numpy as np

from compiler.errors import BadAttribute
from compiler.ops import Scale
from compiler.options import normalized_inputs
from passes.manager import PassContext, PassResult, compiler_pass
from passes.support.weights import input_channel_view, per_input_channel


def _per_channel(values, channels: int, name: str, default: float) -> np.ndarray:
    if values is None:
        return np.full(channels, default)
    array = np.asarray(values, np.float64)
    if array.size == 1:
        array = np.full(channels, float(array[0]))
    if array.shape != (channels,):
        raise BadAttribute(f"has {array.size} values for {channels} input channels", node="input", op="input",
                           attribute=name, hint=f"give one value or one per channel ({channels})")
    return array


@compiler_pass(
    before={"reorder_input_channels": ("mean and std are in the model's channel order; the reorder moves them with every "
                                   "other per-channel constant")},
    produces=(Scale,),
    pattern=("each image input (every rank-4 input, or those the options name), when the mean, std or "
             "input_scale option is set"),
    emits=("y = x·w + b per channel (axis 1) with w = input_scale/std, b = −mean/std: folded into the "
           "weights of the input's consumers when there is no mean (a mean does not fold exactly into "
           "zero padding) and every consumer is an INPUT_CHANNEL_WEIGHTS op whose definition names the "
           "weight's input-channel axis; otherwise one Scale {axis 1, bias} right after the input"),
    exact="yes up to float32 rounding of w, b and folded weights")
def fold_input_normalization(graph, ctx: PassContext) -> PassResult:
    options = ctx.options
    if not options.normalizes_inputs:
        return PassResult(0)
    chosen = normalized_inputs(graph, options)
    if not chosen:
        raise BadAttribute("mean, std or input_scale is set, but the model has no image input (N, C, H, W) to fold "
                           "them into", node="input", op="input", attribute="mean",
                           hint="name the input with Options(image_inputs=...), or convert without them")
    rewrites_done = 0
    for value in chosen:
        channels = value.type.shape[1]
        mean = _per_channel(options.mean, channels, "mean", 0.0)
        std = _per_channel(options.std, channels, "std", 1.0)
        if np.any(std == 0):
            raise BadAttribute("must not contain 0", node="input", op="input", attribute="std")
        weight = (options.input_scale if options.input_scale is not None else 1.0) / std
        bias = -mean / std
        ctx.record_input(value, scale=options.input_scale, mean=tuple(map(float, mean)) if options.mean is not None else None,
                         std=tuple(map(float, std)) if options.std is not None else None)
        consumers = value.users
        views = [input_channel_view(op, value) for op in consumers]
        if options.mean is None and consumers and all(v is not None for v in views):
            for op, view in zip(consumers, views):
                scaled = per_input_channel(op.operands[1].const.astype(np.float64), view, lambda w: w * weight)
                graph.set_operand(op, 1, graph.constant(scaled, op.operands[1].name + "_input_scaled"))
                rewrites_done += 1
            continue
        first = next(iter(graph), None)
        with graph.inserting_before(first):
            w_value = graph.constant(weight, f"{value.name}_normalize_weight")
            b_value = graph.constant(bias, f"{value.name}_normalize_bias")
            normalized = graph.add(Scale(axis=1, num_axes=1), value, w_value, b_value,
                                   name=f"{value.name}_normalize").result
        for op, index in list(value.uses):
            if op is not normalized.producer:
                graph.set_operand(op, index, normalized)
        graph.outputs = [normalized if v is value else v for v in graph.outputs]
        rewrites_done += 1
    return PassResult(rewrites_done)
