"""L2Normalization (VGG-atrous SSD) → caffe-ssd's Normalize, with a following per-channel scale folded in."""
from __future__ import annotations

import numpy as np

from compiler.errors import UnsupportedOp
from compiler.ir.match import sole_producer
from compiler.ops import L2Normalization, Normalize, Scale
from compiler.ops.norm import L2Mode
from passes.manager import PassContext, PassResult, compiler_pass


@compiler_pass(
    after={"lower_broadcast_arithmetic": "GluonCV's learned scale is a Scale by then, which it takes into Normalize"},
    rewrites=(L2Normalization,),
    produces=(Normalize,),
    needs_layers=("Normalize",),
    pattern=("L2Normalization {mode channel or instance}, optionally followed by a bias-free Scale "
             "{axis 1} that is its only user (GluonCV's learned (1, C, 1, 1) scale); runs where the "
             "target has Normalize"),
    emits=("Normalize {across_spatial = channel_shared = (mode == instance), eps} whose scale blob is, "
           "in mode channel, that Scale's weights (ones without one), and in mode instance one shared 1 "
           "(OpenCV takes no per-channel scale across the sample; the Scale stays a layer)"),
    exact=("yes: both compute x / sqrt(Σx² + eps) with eps inside the root "
           "(docs/mxnet.md#l2normalization)"))
def lower_l2_normalization(graph, ctx: PassContext) -> PassResult:
    if "Normalize" not in ctx.layers:
        return PassResult(0)
    rewrites = 0
    for op in graph.ops_of(L2Normalization):
        if op.attrs.mode is L2Mode.SPATIAL:
            raise UnsupportedOp("mode 'spatial' (a norm per channel) has no Normalize equivalent",
                                attribute="mode", **op.error_context())
        x = op.operands[0]
        across = op.attrs.mode is L2Mode.INSTANCE
        users = op.result.users
        scale_op = users[0] if len(users) == 1 and users[0].isa(Scale) and not across else None
        if scale_op is not None and (len(scale_op.operands) != 2 or scale_op.operands[1].const is None
                                     or (scale_op.attrs.axis, scale_op.attrs.num_axes)
                                     != (1, 1) or sole_producer(scale_op.operands[0], L2Normalization) is None):
            scale_op = None
        # Across the whole sample, OpenCV takes a scale of one value only (or one per element): a shared 1.
        weights = scale_op.operands[1].const if scale_op is not None else \
            np.ones(1 if across else x.type.shape[1], np.float32)
        with graph.inserting_before(op):
            scale = graph.constant(weights, op.name + "_scale")
            normalized = graph.add(Normalize(across_spatial=across, channel_shared=across, eps=op.attrs.eps), x,
                                   scale, name=op.name + "_normalize", origin=op.origin).result
        if scale_op is not None:
            graph.replace_op(scale_op, normalized)
            graph.erase(op)
        else:
            graph.replace_op(op, normalized)
        rewrites += 1
    return PassResult(rewrites)
