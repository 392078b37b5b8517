"""RGB → BGR: make the network read its image inputs with the channel axis reversed."""
from __future__ import annotations

from compiler.errors import UnsupportedOp
from compiler.options import image_inputs_by_shape
from compiler.ir.match import is_output
from passes.manager import PassContext, PassResult

_PER_CHANNEL = {"BatchNorm": (1, 2, 3, 4), "Scale": (1, 2)}   # op kind -> operands holding (C,) constants


def image_inputs(graph, options) -> list:
    chosen = image_inputs_by_shape({v.name: v.type.shape for v in graph.inputs}, options.image_inputs)
    return [v for v in graph.inputs if v.name in chosen]


def _refuse(op, value, why: str) -> UnsupportedOp:
    return UnsupportedOp(f"reads the channel-reversed '{value.name}' and {why}, so reversing the input channels "
                         "cannot be made exact here", attribute="to_bgr",
                         hint="convert without --to-bgr and swap channels before the network", **op.error_context())


def reorder_input_channels(graph, ctx: PassContext) -> PassResult:
    """Pattern: when to_bgr is set, each image input (rank 4 with 3 channels, or the inputs named in the options) and
             the values derived from it channel by channel: through BatchNorm, Scale (axis 1) and element-wise
             activations (per-channel PReLU included) up to Convolutions (num_group 1) and FullyConnecteds that
             read it as operand 0 with constant weights
    Emits:   per-channel constants of the channel-wise ops reversed; the first weight-bearing ops' weights reversed
             along their input-channel axis (new constants each time)
    Exact:   yes (a permutation of constants)
    Skips:   nothing: any other consumer raises UnsupportedOp naming it"""
    if not ctx.options.to_bgr:
        return PassResult(0)
    rewrites = 0
    pending = list(image_inputs(graph, ctx.options))
    seen: set[int] = set()
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        channels = value.type.shape[1]
        if is_output(graph, value):
            raise UnsupportedOp(f"'{value.name}' carries the reversed channels and is a graph output",
                                node=value.name, op="output", attribute="to_bgr",
                                hint="convert without --to-bgr")
        for op in value.users:
            shape_only = getattr(op.attrs, "SHAPE_ONLY_OPERANDS", ())
            positions = [i for i, v in enumerate(op.operands) if v is value and i not in shape_only]
            if not positions:
                continue   # reads only the shape, which the channel order does not change
            if positions != [0]:
                raise _refuse(op, value, "uses it as more than its data operand")
            if op.kind in ("Convolution", "FullyConnected"):
                weight = op.operands[1].const
                if weight is None or (op.kind == "Convolution" and op.attrs.num_group != 1):
                    raise _refuse(op, value, "mixes channels by group or has non-constant weights")
                if op.kind == "Convolution":
                    reordered = weight[:, ::-1]
                else:
                    reordered = weight.reshape(weight.shape[0], channels, -1)[:, ::-1].reshape(weight.shape)
                graph.set_operand(op, 1, graph.constant(reordered, op.operands[1].name + "_bgr"))
                rewrites += 1
                continue
            if op.kind in _PER_CHANNEL and (op.kind != "Scale" or (op.attrs.axis, op.attrs.num_axes) == (1, 1)):
                constant_operands = [i for i in _PER_CHANNEL[op.kind] if i < len(op.operands)]
            elif op.kind == "Activation" or (op.kind == "LeakyReLU" and op.attrs.act_type != "prelu"):
                constant_operands = []
            elif op.kind == "LeakyReLU" and op.operands[1].type.shape == (channels,):
                constant_operands = [1]
            elif op.kind == "LeakyReLU":
                constant_operands = []   # one shared slope
            else:
                raise _refuse(op, value, f"{op.kind} is not a channel-wise op")
            for i in constant_operands:
                operand = op.operands[i]
                if operand.const is None:
                    raise _refuse(op, value, "has a non-constant per-channel operand")
                graph.set_operand(op, i, graph.constant(operand.const[::-1], operand.name + "_bgr"))
            rewrites += 1
            pending.append(op.result)
    return PassResult(rewrites)
