"""Training heads at inference: SoftmaxOutput and the regression heads return their data (or its softmax or sigmoid);
their label operand only feeds the training loss, so it is never bound."""
from __future__ import annotations

import attrs

from compiler.frontend.lowering import NodeContext, composite
from compiler.ir.graph import Value
from compiler.ops import Activation, Copy, Softmax

# Training heads whose inference output is their data (or its sigmoid).
REGRESSION_HEADS = {"LinearRegressionOutput": None, "MAERegressionOutput": None, "LogisticRegressionOutput": "sigmoid",
                    "SVMOutput": None, "MakeLoss": None, "make_loss": None}
HEAD_TRAINING_ATTRIBUTES = ("grad_scale", "normalization", "valid_thresh", "margin", "regularization_coefficient",
                            "use_linear")


@composite(*REGRESSION_HEADS, builds=(Copy, Activation), ignored=HEAD_TRAINING_ATTRIBUTES, training_only=(1,))
def regression_head(ctx: NodeContext) -> Value:
    act = REGRESSION_HEADS[ctx.op]
    return ctx.add(Activation(act_type=act) if act else Copy(), ctx.operands[0])


@attrs.frozen(kw_only=True)
class SoftmaxActivation:
    mode: str = attrs.field(default="instance", validator=attrs.validators.in_(("instance", "channel")))


@composite("SoftmaxActivation", builds=(Softmax,), attributes=SoftmaxActivation)
def softmax_activation(ctx: NodeContext) -> Value:
    return ctx.add(Softmax(axis=1 if ctx.attributes.mode == "channel" else -1), ctx.operands[0])


@attrs.frozen(kw_only=True)
class SoftmaxOutput:
    multi_output: bool = False
    preserve_shape: bool = False


SOFTMAX_OUTPUT_TRAINING_ATTRIBUTES = ("grad_scale", "ignore_label", "use_ignore", "normalization", "out_grad",
                                      "smooth_alpha")


@composite("SoftmaxOutput", "Softmax", builds=(Softmax,), attributes=SoftmaxOutput,
           ignored=SOFTMAX_OUTPUT_TRAINING_ATTRIBUTES, training_only=(1,))
def softmax_output(ctx: NodeContext) -> Value:
    data, a = ctx.operands[0], ctx.attributes
    if a.multi_output:
        axis = 1
    elif a.preserve_shape:
        axis = -1
    elif data.type.rank == 2:
        axis = 1
    else:
        raise ctx.unsupported(
            f"SoftmaxOutput on rank-{data.type.rank} data without multi_output/preserve_shape normalises over "
            "different axes in MXNet's CPU and oneDNN kernels", hint="set multi_output=True (axis 1) or "
            "preserve_shape=True (last axis) in the model, or flatten the data first")
    return ctx.add(Softmax(axis=axis), data)
