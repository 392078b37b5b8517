"""Fold an explicit Pad into the convolution or max pooling that reads it."""
from __future__ import annotations

import attrs

from compiler.ir.match import is_output
from compiler.ops import Convolution, Pad, Pooling, SliceAxis
from compiler.ops.nn import PadMode, PoolType
from passes.manager import PassContext, PassResult, compiler_pass

# A pad value at or below this never wins a maximum over real activations (−inf and −FLT_MAX are the usual ones).
NEGLIGIBLE = -1e30


@attrs.frozen
class AxisPlan:
    """How one axis of a padded convolution or pooling becomes a symmetric one: pad P, the first output to keep,
    and whether the pooling rounds up (MXNet's 'full') so that windows over the larger trailing pad exist."""
    pad: int
    first: int = 0
    rounds_up: bool = False


def axis_plan(before: int, after: int, stride: int, pooling: bool) -> AxisPlan | None:
    """The symmetric form of windows over (before | data | after) padding, with the same start positions: P =
    before, with a pooling rounding up when after > before (its extra windows read the trailing pad, which never
    wins); or P = after, keeping outputs from (after − before)/stride on; None when neither applies."""
    if before >= after:
        return AxisPlan(before)
    if pooling:
        return AxisPlan(before, rounds_up=True)
    if (after - before) % stride:
        return None
    return AxisPlan(after, (after - before) // stride)


def _folds_into(pad_op, user, index: int) -> bool:
    c = pad_op.attrs.constant_value
    if index != 0 or pad_op.attrs.mode is not PadMode.CONSTANT:
        return False
    if user.isa(Convolution):
        return c == 0
    return user.isa(Pooling) and user.attrs.pool_type is PoolType.MAX and not user.attrs.global_pool and c <= NEGLIGIBLE


@compiler_pass(
    after={"eliminate_identities": "an identity between the Pad and its reader would hide the pair"},
    within=(Pad, Convolution, Pooling),
    produces=(Convolution, Pooling, SliceAxis),
    pattern=("Pad {constant c} read as the data of a Convolution (c = 0) or of a max Pooling that is "
             "not global (c ≤ −1e30: −inf, −FLT_MAX and the like)"),
    emits=("the convolution or pooling reading the unpadded data with its pad grown by the Pad's, per "
           "axis: P = before (+ its own pad) when before ≥ after, or for a pooling, which then rounds "
           "up (its windows over the longer trailing pad exist); for a convolution P = after when "
           "(after − before) is a multiple of the stride; then a SliceAxis keeps the outputs whose "
           "windows the asymmetric padding had"),
    exact=("yes: a convolution pads with zeros, a max pooling's padding never wins, and the kept "
           "windows start where MXNet's did; for c > −inf, as long as no window's largest activation is "
           "below c"),
    skips=("a convolution's asymmetric pad whose difference is not a multiple of the stride (the Pad "
           "stays: its emitter takes zeros exactly)"))
def fold_padding(graph, ctx: PassContext) -> PassResult:
    rewrites_done = 0
    for pad_op in graph.ops_of(Pad):
        top, bottom, left, right = pad_op.attrs.hw
        for user, index in list(pad_op.result.uses):
            if not _folds_into(pad_op, user, index):
                continue
            own, pooling = user.attrs.pad, user.isa(Pooling)
            plans = [axis_plan(top + own[0], bottom + own[0], user.attrs.stride[0], pooling),
                     axis_plan(left + own[1], right + own[1], user.attrs.stride[1], pooling)]
            if None in plans:
                ctx.skip(user, f"pad {pad_op.attrs.hw} is asymmetric by a step the stride {user.attrs.stride} "
                               "does not divide")
                continue
            folded = attrs.evolve(user.attrs, pad=tuple(plan.pad for plan in plans))
            if any(plan.rounds_up for plan in plans):
                folded = attrs.evolve(folded, pooling_convention="full")
            with graph.inserting_before(user):
                value = graph.add(folded, pad_op.operands[0], *user.operands[1:], name=user.name + "_padded",
                                  origin=user.origin).result
                for axis, plan in zip((2, 3), plans):
                    wanted = user.result.type.shape[axis]
                    if value.type.shape[axis] != wanted:
                        value = graph.add(SliceAxis(axis=axis, begin=plan.first, end=plan.first + wanted), value,
                                          name=f"{user.name}_kept{axis}", origin=user.origin).result
            graph.replace_op(user, value)
            rewrites_done += 1
        if not pad_op.result.uses and not is_output(graph, pad_op.result):
            graph.erase(pad_op)
    return PassResult(rewrites_done)
