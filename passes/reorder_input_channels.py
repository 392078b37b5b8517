"""RGB → BGR: make the network read its image inputs with the channel axis reversed."""
from __future__ import annotations

from compiler.errors import UnsupportedOp
from compiler.ir.match import is_output
from compiler.ir.opdef import Trait
from compiler.options import bgr_inputs
from passes.manager import PassContext, PassResult, compiler_pass
from passes.support.weights import input_channel_view, per_input_channel


def _refuse(op, value, why: str) -> UnsupportedOp:
    return UnsupportedOp(f"reads the channel-reversed '{value.name}' and {why}, so reversing the input channels "
                         "cannot be made exact here", attribute="to_bgr",
                         hint="convert without --to-bgr and swap channels before the network", **op.error_context())


@compiler_pass(
    after={"fold_batchnorm": "it permutes the weights of the first layers once, after BatchNorm is folded into them"},
    rewrites=(Trait.INPUT_CHANNEL_WEIGHTS, Trait.CHANNELWISE),
    pattern=("when to_bgr is set, each image input (rank 4 with 3 channels, or the inputs named in the "
             "options) and the values derived from it through CHANNELWISE ops (activations, BatchNorm, "
             "Scale on axis 1, pooling, per-channel PReLU, last-axis dense layers …), up to "
             "INPUT_CHANNEL_WEIGHTS ops that read it as operand 0 with constant weights whose "
             "input-channel axis the op definition names"),
    emits=("the per-channel constants (channel_constants) of the channel-wise ops reversed; the "
           "weight-bearing ops' weights reversed along their input-channel axis (new constants each "
           "time)"),
    exact="yes (a permutation of constants)",
    skips=("nothing: any other consumer, and a reversed value that is a graph output, raise "
           "UnsupportedOp naming it"))
def reorder_input_channels(graph, ctx: PassContext) -> PassResult:
    if not ctx.options.to_bgr:
        return PassResult(0)
    rewrites_done = 0
    pending = list(bgr_inputs(graph, ctx.options))
    for value in pending:
        ctx.record_input(value, reversed_channels=True)
    seen: set[int] = set()
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if is_output(graph, value):
            producer = value.producer
            raise UnsupportedOp(f"'{value.name}' carries the reversed input channels and is a graph output",
                                attribute="to_bgr", hint="convert without --to-bgr",
                                **(producer.error_context() if producer else {"node": value.name, "op": "input"}))
        for op in value.users:
            shape_only = op.definition.shape_operands
            positions = [i for i, v in enumerate(op.operands) if v is value and i not in shape_only]
            if not positions:
                continue   # reads only the shape, which the channel order does not change
            if positions != [0]:
                raise _refuse(op, value, "uses it as more than its data operand")
            view = input_channel_view(op, value)
            if view is not None:
                reordered = per_input_channel(op.operands[1].const, view, lambda w: w[..., ::-1])
                graph.set_operand(op, 1, graph.constant(reordered, op.operands[1].name + "_bgr"))
                rewrites_done += 1
                continue
            constants = op.attrs.channel_constants(*[v.type for v in op.operands]) \
                if op.has(Trait.CHANNELWISE) else None
            if constants is None:
                raise _refuse(op, value, f"{op.kind} is not a channel-wise op"
                              if not op.has(Trait.INPUT_CHANNEL_WEIGHTS) else
                              "its weights do not hold the input channel on one axis (groups, or non-constant)")
            for i in constants:
                operand = op.operands[i]
                if operand.const is None:
                    raise _refuse(op, value, "has a non-constant per-channel operand")
                graph.set_operand(op, i, graph.constant(operand.const[::-1], operand.name + "_bgr"))
            rewrites_done += 1
            pending.extend(op.results)
    return PassResult(rewrites_done)
